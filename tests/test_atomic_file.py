"""What an export may replace (``_export.open_writer`` / ``AtomicFile``), what a replaced file keeps,
and which temporary files a later export removes."""

from __future__ import annotations

import os
import re
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from shortpen_api_client import InvalidArgumentError, ShortPen
from shortpen_api_client import _export as export_module
from shortpen_api_client._export import FOREIGN_STALE_SECONDS, host_id, open_writer, remove_stale_temps
from shortpen_api_client.testing import FakeShortPen

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX files: FIFOs, symlinks, modes, owners")

OTHER_HOST = "0000beef"  # the host id of a machine that is not this one
EVENT = {"id": 1, "workspace_id": 24, "organization_id": 3, "url_id": 501, "domain": "d", "created_at": "x"}


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def export(output: Path) -> None:
    with open_writer(output, "jsonl") as writer:
        writer.write_batch([EVENT])


def entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# -- 5. only a regular file is replaced ---------------------------------------------------------------------


def make_fifo(path: Path) -> str:
    os.mkfifo(path)
    return "not a regular file"


def make_device(path: Path) -> str:
    """A character device like /dev/null (1, 3). Making one needs root (CAP_MKNOD); without it,
    a FIFO stands in: the rule under test is "exists and is not a regular file", the same for both."""
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        os.mkfifo(path)
    return "not a regular file"


def make_socket(path: Path) -> str:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.close()  # the socket file stays
    return "not a regular file"


def make_symlink_to_devnull(path: Path) -> str:
    path.symlink_to("/dev/null")
    return "symbolic link"


def make_symlink_to_stdout(path: Path) -> str:
    path.symlink_to("/proc/self/fd/1")
    return "symbolic link"


def make_dangling_symlink(path: Path) -> str:
    path.symlink_to(path.parent / "nowhere.jsonl")
    return "symbolic link"


@pytest.mark.parametrize(
    "make",
    [
        make_fifo,
        make_device,
        make_socket,
        make_symlink_to_devnull,
        make_symlink_to_stdout,
        make_dangling_symlink,
    ],
)
def test_an_output_that_is_not_a_regular_file_is_refused_and_left_alone(
    tmp_path: Path, make: Callable[[Path], str]
) -> None:
    output = tmp_path / "out.jsonl"
    reason = make(output)
    before = os.lstat(output)
    with pytest.raises(InvalidArgumentError, match=reason) as info:
        open_writer(output)
    assert str(output) in str(info.value)
    after = os.lstat(output)
    assert (after.st_mode, after.st_ino, after.st_rdev) == (before.st_mode, before.st_ino, before.st_rdev)
    assert entries(tmp_path) == ["out.jsonl"]  # no temporary file either


def test_a_symlink_to_a_regular_file_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    target = tmp_path / "real.jsonl"
    target.write_text("yesterday\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    with pytest.raises(InvalidArgumentError, match="symbolic link"):
        export(link)
    assert link.is_symlink()
    assert target.read_text() == "yesterday\n"


def test_through_the_client_nothing_is_requested(tmp_path: Path) -> None:
    fake = FakeShortPen(seed=1)
    os.mkfifo(tmp_path / "out.jsonl")
    with ShortPen(fake.token, http_client=httpx.Client(transport=fake.transport())) as sp:
        with pytest.raises(InvalidArgumentError, match="not a regular file"):
            sp.export("2025-01-01", "2025-01-02", tmp_path / "out.jsonl")
    assert fake.requests == []


def test_a_symlink_put_at_the_output_during_the_export_is_not_replaced(tmp_path: Path) -> None:
    output = tmp_path / "out.jsonl"
    writer = open_writer(output)
    writer.write_batch([EVENT])
    output.symlink_to("/dev/null")  # planted while the export ran
    with pytest.raises(InvalidArgumentError, match="symbolic link"):
        writer.commit()
    assert output.is_symlink()
    assert entries(tmp_path) == ["out.jsonl"]  # the temporary file is gone


# -- 5. a replaced file keeps its mode and owner; a new one gets the umask's ----------------------------------


def test_a_replaced_file_keeps_its_mode(tmp_path: Path, umask_022: None) -> None:
    output = tmp_path / "out.jsonl"
    output.write_text("old\n")
    output.chmod(0o600)
    export(output)
    assert output.read_text().startswith('{"id":1')
    assert stat.S_IMODE(output.stat().st_mode) == 0o600  # not 0o644 from the umask


def test_a_new_file_gets_the_umasks_mode(tmp_path: Path, umask_022: None) -> None:
    export(tmp_path / "new.jsonl")
    assert stat.S_IMODE((tmp_path / "new.jsonl").stat().st_mode) == 0o644


def test_a_replaced_file_keeps_its_owner_and_group_when_run_as_root(tmp_path: Path, umask_022: None) -> None:
    output = tmp_path / "out.jsonl"
    output.write_text("old\n")
    output.chmod(0o640)
    root = os.geteuid() == 0
    # As root (CI runs as root) the file is given to another user first, as in the finding. Without
    # root no file can be given away, nor kept another user's by a rewrite: only the mode is checked.
    if root:
        os.chown(output, 4321, 8765)
    export(output)
    status = output.stat()
    assert stat.S_IMODE(status.st_mode) == 0o640
    if root:
        assert (status.st_uid, status.st_gid) == (4321, 8765)  # not root-owned


# -- 13. temporary files of killed writers ---------------------------------------------------------------------


def dead_pid() -> int:
    """The PID of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_temporary_names_carry_the_host_and_the_writers_pid(tmp_path: Path) -> None:
    writer = open_writer(tmp_path / "out.jsonl")
    (temp,) = [p.name for p in tmp_path.iterdir()]
    writer.abort()
    assert re.fullmatch(r"[0-9a-f]{8}", host_id())
    assert temp.startswith(f".out.jsonl.{host_id()}-{os.getpid()}.")
    assert temp.endswith(".tmp")


def test_the_host_id_tells_hosts_boots_and_pid_namespaces_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    here = host_id()
    host_id.cache_clear()
    monkeypatch.setattr(socket, "gethostname", lambda: "another-host")
    try:
        assert host_id() != here
    finally:
        host_id.cache_clear()


def test_an_export_removes_the_stale_temporary_files_of_dead_writers_of_this_host_only(
    tmp_path: Path,
) -> None:
    dead, alive = dead_pid(), os.getppid()  # our parent (pytest's shell or runner) is running
    host = host_id()
    stale = tmp_path / f".out.jsonl.{host}-{dead}.0123456789ab.tmp"
    live = tmp_path / f".out.jsonl.{host}-{alive}.0123456789ab.tmp"
    # another machine or container writing to the same folder: its PID means nothing here
    elsewhere = tmp_path / f".out.jsonl.{OTHER_HOST}-{dead}.0123456789ab.tmp"
    no_host = tmp_path / f".out.jsonl.{dead}.0123456789ab.tmp"  # an older name: the host is unknown
    legacy = tmp_path / ".out.jsonl.0123456789ab.tmp"  # 0.1.0's name, no PID: whose it is is unknown
    other = tmp_path / f".other.jsonl.{host}-{dead}.0123456789ab.tmp"  # another output's
    for path in (stale, live, elsewhere, no_host, legacy, other):
        with path.open("wb") as file:
            file.truncate(95 * 2**20)  # the finding's 95 MB of half an export (sparse: no disk used)
        os.utime(path, (0, 0))  # however old
    fake = FakeShortPen(seed=1, events_per_day=3)
    with ShortPen(fake.token, http_client=httpx.Client(transport=fake.transport())) as sp:
        sp.export("2025-01-01", "2025-01-02", tmp_path / "out.jsonl")
    assert entries(tmp_path) == sorted(
        [live.name, elsewhere.name, no_host.name, legacy.name, other.name, "out.jsonl"]
    )


def test_a_writer_on_another_host_keeps_its_file_while_it_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two hosts share the folder: host A's export is mid-write (its PID is not a process on host B);
    host B's export to the same output starts and sweeps: A's file stays, and A's export completes."""
    output = tmp_path / "out.jsonl"
    monkeypatch.setattr(export_module, "host_id", lambda: OTHER_HOST)
    writer_a = open_writer(output)
    writer_a.write_batch([EVENT])
    monkeypatch.setattr(export_module, "host_id", host_id)
    monkeypatch.setattr(export_module, "_is_running", lambda pid: False)  # no such PID on host B
    assert remove_stale_temps(output) == []
    writer_a.commit()
    assert output.read_bytes().count(b"\n") == 1


def test_remove_stale_temps_by_pid_or_under_the_folders_lock(tmp_path: Path) -> None:
    target = tmp_path / "part-0.parquet"
    host = host_id()
    mine = tmp_path / f".part-0.parquet.{host}-{os.getpid()}.00112233aabb.tmp"
    dead = tmp_path / f".part-0.parquet.{host}-{dead_pid()}.00112233aabb.tmp"
    theirs = tmp_path / f".part-0.parquet.{OTHER_HOST}-{dead_pid()}.00112233aabb.tmp"
    theirs_old = tmp_path / f".part-0.parquet.{OTHER_HOST}-1.00112233aabb.tmp"
    unknown_old = tmp_path / ".part-0.parquet.1.00112233aabb.tmp"
    for path in (mine, dead, theirs, theirs_old, unknown_old):
        path.write_bytes(b"")
    long_ago = time.time() - FOREIGN_STALE_SECONDS - 60
    for path in (theirs_old, unknown_old):
        os.utime(path, (long_ago, long_ago))
    assert remove_stale_temps(target) == [dead]
    # the dataset's sweep, under its lock: all of this host's; another host's once left untouched
    assert remove_stale_temps(target, folder_locked=True) == sorted([mine, theirs_old, unknown_old])
    assert theirs.exists()
