"""One writer per dataset folder (``_lock.FolderLock``): a second sync fails at once, naming the
folder; the lock goes with the sync, and with a process killed by ``kill -9``."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pyarrow.dataset as pads
import pytest

from shortpen_api_client import DatasetLockedError, InvalidArgumentError, ServerError, ShortPen, SyncReport
from shortpen_api_client._lock import LOCK_NAME, FolderLock
from shortpen_api_client.testing import FakeShortPen, Fault, FaultPlan

from .conftest import ROOT

START, END = "2025-01-01", "2025-01-10"


def client(fake: FakeShortPen, **options: Any) -> ShortPen:
    return ShortPen(fake.token, http_client=httpx.Client(transport=fake.transport()), **options)


class GatedFake(FakeShortPen):
    """A fake that holds every request until the test opens its gate: the first sync is then
    certainly mid-run (holding the folder) while the test tries the others, however slow the machine."""

    def __init__(self) -> None:
        super().__init__(seed=5, events_per_day=20)
        self.arrived = threading.Event()
        self.gate = threading.Event()

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.arrived.set()
        if not self.gate.wait(timeout=120):
            raise AssertionError("the test never opened the gate")
        return super().handle(request)


def ids_by_day(folder: Path) -> dict[str, list[int]]:
    table = pads.dataset(folder, format="parquet", partitioning="hive").to_table(columns=["id", "date"])
    days: dict[str, list[int]] = {}
    for row in table.to_pylist():
        days.setdefault(str(row["date"]), []).append(row["id"])
    return days


def expected(fake: FakeShortPen) -> dict[str, list[int]]:
    days: dict[str, list[int]] = {}
    for event in fake.events(START, END):
        days.setdefault(event["created_at"][:10], []).append(event["id"])
    return days


# -- the lock itself ---------------------------------------------------------------------------------------


def held(lock: FolderLock) -> bool:
    return lock.locked  # (a function: mypy would narrow the property across the with block)


def test_a_second_holder_is_refused_at_once_and_release_is_idempotent(tmp_path: Path) -> None:
    first, second = FolderLock(tmp_path), FolderLock(tmp_path)
    with first.lock():
        assert held(first)
        with pytest.raises(DatasetLockedError, match="another sync is writing") as info:
            second.acquire_lock()
        assert str(tmp_path) in str(info.value)
        assert not held(second)
    assert not held(first)
    first.release_lock()  # twice: nothing happens
    second.acquire_lock()  # free again
    second.release_lock()
    second.release_lock()


def test_a_blocking_acquire_gives_up_after_its_timeout(tmp_path: Path) -> None:
    with FolderLock(tmp_path).lock(), pytest.raises(DatasetLockedError):
        FolderLock(tmp_path).acquire_lock(blocking=True, timeout=0.05)


@pytest.mark.skipif(os.name != "posix", reason="symlinks")
def test_a_symlink_as_lock_file_is_refused_and_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    folder = tmp_path / "ds"
    folder.mkdir()
    (folder / LOCK_NAME).symlink_to(victim)
    with pytest.raises(InvalidArgumentError, match="not a regular file"):
        FolderLock(folder).acquire_lock()
    assert victim.read_text() == "precious\n"


# -- two syncs -------------------------------------------------------------------------------------------------


def test_a_second_sync_on_the_folder_fails_at_once_and_the_first_completes(tmp_path: Path) -> None:
    """Four overlapping syncs made three fail with FileNotFoundError (a later one's start-up cleanup
    deleted an earlier one's temporary file). Now the later ones are refused before doing anything."""
    folder = tmp_path / "ds"
    first_fake = GatedFake()
    results: list[SyncReport | BaseException] = []

    def first_sync() -> None:
        try:
            with client(first_fake, window_days=1, max_concurrency=1) as sp:
                results.append(sp.sync(START, END, output_dir=folder))
        except BaseException as exc:  # handed to the test thread
            results.append(exc)

    thread = threading.Thread(target=first_sync)
    thread.start()
    try:
        assert first_fake.arrived.wait(timeout=60), "the first sync sent no request"
        for _ in range(3):  # the three later syncs of the finding
            later_fake = FakeShortPen(seed=5, events_per_day=20)
            with client(later_fake) as sp, pytest.raises(DatasetLockedError) as info:
                sp.sync(START, END, output_dir=folder)
            assert later_fake.requests == []  # refused before any request
            assert f"another sync is writing to the dataset folder {str(folder)!r}" in str(info.value)
    finally:
        first_fake.gate.set()
        thread.join()
    (report,) = results
    assert isinstance(report, SyncReport), report
    assert report.days_fetched == 10
    assert ids_by_day(folder) == expected(first_fake)
    # released when the sync returned: the next one runs (and finds every day complete)
    again = FakeShortPen(seed=5, events_per_day=20)
    with client(again) as sp:
        assert sp.sync(START, END, output_dir=folder, lookback_days=0).days_skipped == 10
    assert again.requests == []


def test_the_lock_is_released_when_a_sync_fails(tmp_path: Path) -> None:
    failing = FakeShortPen(seed=5, faults=FaultPlan(rate=1.0, kinds=(Fault.server_error(500),)))
    with client(failing, max_retries=0) as sp, pytest.raises(ServerError):
        sp.sync(START, END, output_dir=tmp_path)
    FolderLock(tmp_path).acquire_lock()  # free


def test_the_lock_is_released_when_the_sync_is_refused_for_its_manifest(tmp_path: Path) -> None:
    fake = FakeShortPen(seed=5, events_per_day=2)
    with client(fake) as sp:
        sp.sync(START, END, output_dir=tmp_path, format="jsonl")
        with pytest.raises(
            InvalidArgumentError,
            match=r"^format parquet does not match the dataset in .*, whose files are jsonl",
        ):
            sp.sync(START, END, output_dir=tmp_path)  # parquet
    FolderLock(tmp_path).acquire_lock()  # free


SYNC_SCRIPT = """
import sys
from shortpen_api_client import ShortPen
url, token, folder = sys.argv[1:4]
with ShortPen(token, base_url=url, window_days=1, max_concurrency=1) as sp:
    sp.sync("2025-01-01", "2025-01-10", output_dir=folder)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs kill -9")
def test_a_sync_in_another_process_holds_the_lock_until_it_is_killed(tmp_path: Path) -> None:
    folder = tmp_path / "ds"
    fake = GatedFake()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with fake.serve() as url:
        proc = subprocess.Popen([sys.executable, "-c", SYNC_SCRIPT, url, fake.token, str(folder)], env=env)
        try:
            assert fake.arrived.wait(timeout=60), "the other process sent no request"
            other = FakeShortPen(seed=5, events_per_day=20)
            with client(other) as sp, pytest.raises(DatasetLockedError, match="another sync is writing"):
                sp.sync(START, END, output_dir=folder)
            # the command line says it in one line, and exits 2
            cli = subprocess.run(
                [sys.executable, "-m", "shortpen_api_client.cli", "sync", "-o", str(folder), "--start", START,
                 "--end", END],
                env={**env, "SHORTPEN_TOKEN": fake.token, "SHORTPEN_BASE_URL": url},
                capture_output=True, text=True, timeout=60, check=False,
            )  # fmt: skip
            assert cli.returncode == 2, cli.stderr
            assert cli.stderr.startswith("shortpen: error: another sync is writing to the dataset folder")
            assert len(cli.stderr.splitlines()) == 1
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            fake.gate.set()
        assert proc.returncode == -signal.SIGKILL
        # the kernel dropped the dead process's lock: a new sync takes it and completes the dataset
        with ShortPen(fake.token, base_url=url) as sp:
            sp.sync(START, END, output_dir=folder)
    assert ids_by_day(folder) == expected(fake)


def test_the_filelock_floor_is_the_version_the_lock_is_tested_with() -> None:
    """pyproject's lower bound on filelock is the locked (tested) version's major.minor: a service may
    not resolve an older filelock whose behaviour (O_NOFOLLOW, thread_local, release) is unchecked."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (requirement,) = [r for r in pyproject["project"]["dependencies"] if r.startswith("filelock")]
    floor = re.fullmatch(r"filelock>=(\d+)\.(\d+)(?:\.\d+)?", requirement)
    assert floor is not None, requirement
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    (locked,) = [p["version"] for p in lock["package"] if p["name"] == "filelock"]
    assert floor.groups() == tuple(locked.split(".")[:2]), (requirement, locked)
