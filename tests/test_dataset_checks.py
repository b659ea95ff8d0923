"""A sync does not trust its records blindly (``_dataset``): a day is complete only when its file, at
the path derived from the day, is the one recorded (size and SHA-256); nothing outside the folder is
ever read, and no symlink in the folder is followed or written through."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from shortpen_api_client import SPEC_SHA256, AsyncShortPen, InvalidArgumentError, ShortPen, __version__
from shortpen_api_client._cli import cli
from shortpen_api_client._dataset import JOURNAL_NAME, MANIFEST_NAME, Dataset, ManifestError
from shortpen_api_client._dayfile import SAMPLE_BYTES
from shortpen_api_client.testing import FakeShortPen

LONG_AFTER = datetime(2030, 1, 1, tzinfo=UTC)
D1, D2, D3 = date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 3)


def events(day: date, count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": day.day * 100_000 + i,
            "workspace_id": 24,
            "organization_id": 3,
            "url_id": 501,
            "domain": "go.shortpen.com",
            "url_slug": hashlib.sha256(b"%d" % (day.day * 100_000 + i)).hexdigest()[:16],  # not compressible
            "created_at": f"{day.isoformat()}T10:{i % 60:02d}:00+01:00",
        }
        for i in range(count)
    ]


def write(dataset: Dataset, day: date, count: int = 5) -> None:
    dataset.write_day(
        day, events(day, count), fetched_at=LONG_AFTER, client_version=__version__, spec_sha256=SPEC_SHA256
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A dataset three folders deep, so that ``../../../`` leads to ``tmp_path``."""
    path = tmp_path / "a" / "b" / "ds"
    with Dataset(path) as dataset:
        for day in (D1, D2, D3):
            write(dataset, day)
    return path


def edit_manifest(folder: Path, day: date, **changes: Any) -> None:
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    manifest["days"][day.isoformat()].update(changes)
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest))


def to_skip(folder: Path) -> set[date]:
    """The days a rerun would keep (not fetch again), from a fresh look at the folder."""
    planned = Dataset(folder).plan(D1, D3, lookback_days=0)
    return {D1, D2, D3} - set(planned)


def test_every_day_is_kept_when_nothing_changed(folder: Path) -> None:
    assert to_skip(folder) == {D1, D2, D3}


def test_the_records_hold_each_files_sha256_and_row_count(folder: Path) -> None:
    dataset = Dataset(folder)
    for day, record in dataset.records.items():
        data = dataset.day_path(day).read_bytes()
        assert record.sha256 == hashlib.sha256(data).hexdigest()
        ends = data[:SAMPLE_BYTES] + data[max(SAMPLE_BYTES, len(data) - SAMPLE_BYTES) :]
        assert record.sample_sha256 == hashlib.sha256(ends).hexdigest()
        assert record.bytes == len(data)
        assert record.events == pq.read_metadata(dataset.day_path(day)).num_rows == 5


BIG = 6000  # events a day: every format's file is larger than the two 64 KiB ends the default reads


@pytest.fixture(params=["parquet", "jsonl", "csv"])
def large(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str]:
    """A dataset of three large days in each format."""
    path = tmp_path / "ds"
    with Dataset(path, format=request.param) as dataset:
        for day in (D1, D2, D3):
            write(dataset, day, BIG)
        assert dataset.day_path(D2).stat().st_size > 2 * SAMPLE_BYTES
    return path, request.param


def to_skip_large(folder: Path, fmt: str, *, verify: bool = False) -> set[date]:
    planned = Dataset(folder, format=fmt).plan(D1, D3, lookback_days=0, verify=verify)
    return {D1, D2, D3} - set(planned)


def flip_a_middle_byte(path: Path) -> None:
    with path.open("r+b") as file:  # in place, as a failing disk or a stray write would
        file.seek(path.stat().st_size // 2)
        byte = file.read(1)
        file.seek(-1, os.SEEK_CUR)
        file.write(bytes([byte[0] ^ 0x01]))


@pytest.mark.parametrize("verify", [False, True])
def test_a_partition_zeroed_in_place_at_the_same_size_is_fetched_again(
    large: tuple[Path, str], verify: bool
) -> None:
    folder, fmt = large
    path = Dataset(folder, format=fmt).day_path(D2)
    size = path.stat().st_size
    with path.open("r+b") as file:  # in place: same inode, same size
        file.write(b"\0" * size)
    assert path.stat().st_size == size
    assert to_skip_large(folder, fmt, verify=verify) == {D1, D3}


@pytest.mark.parametrize(("where", "offset"), [("head", 10), ("tail", -10)])
def test_a_byte_changed_in_either_end_is_caught_by_the_default_check(
    large: tuple[Path, str], where: str, offset: int
) -> None:
    folder, fmt = large
    path = Dataset(folder, format=fmt).day_path(D2)
    with path.open("r+b") as file:
        file.seek(offset, os.SEEK_SET if offset >= 0 else os.SEEK_END)
        byte = file.read(1)
        file.seek(-1, os.SEEK_CUR)
        file.write(bytes([byte[0] ^ 0x01]))
    assert to_skip_large(folder, fmt) == {D1, D3}


def test_a_byte_flipped_in_the_middle_of_a_jsonl_day_is_caught_by_verify_only(tmp_path: Path) -> None:
    """The documented limit of the default check: it reads the ends of the file, not its middle."""
    folder = tmp_path / "ds"
    with Dataset(folder, format="jsonl") as dataset:
        for day in (D1, D2, D3):
            write(dataset, day, BIG)
    flip_a_middle_byte(Dataset(folder, format="jsonl").day_path(D2))
    assert to_skip_large(folder, "jsonl") == {D1, D2, D3}
    assert to_skip_large(folder, "jsonl", verify=True) == {D1, D3}


def test_a_parquet_footer_that_does_not_hold_the_recorded_rows_is_not_complete(folder: Path) -> None:
    edit_manifest(folder, D2, events=4)  # the file holds 5 rows
    assert to_skip(folder) == {D1, D3}


def test_a_small_file_is_checked_whole_by_the_default_check(folder: Path) -> None:
    path = Dataset(folder).day_path(D2)
    assert path.stat().st_size <= 2 * SAMPLE_BYTES
    flip_a_middle_byte(path)
    assert to_skip(folder) == {D1, D3}


def test_a_record_without_a_sample_is_checked_by_its_full_hash(tmp_path: Path) -> None:
    """Records written before ``sample_sha256`` existed: a JSONL or CSV day is hashed in full."""
    folder = tmp_path / "ds"
    with Dataset(folder, format="jsonl") as dataset:
        for day in (D1, D2, D3):
            write(dataset, day, BIG)
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    for entry in manifest["days"].values():
        del entry["sample_sha256"]
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest))
    assert to_skip_large(folder, "jsonl") == {D1, D2, D3}
    flip_a_middle_byte(Dataset(folder, format="jsonl").day_path(D2))
    assert to_skip_large(folder, "jsonl") == {D1, D3}


def test_sync_verify_hashes_every_kept_day_in_full(tmp_path: Path) -> None:
    fake = FakeShortPen(seed=3, events_per_day=1500)
    with fake_client(fake) as sp:
        sp.sync("2025-01-01", "2025-01-03", output_dir=tmp_path, format="jsonl")
        flip_a_middle_byte(tmp_path / "date=2025-01-02" / "part-0.jsonl")
        kept = sp.sync("2025-01-01", "2025-01-03", output_dir=tmp_path, format="jsonl", lookback_days=0)
        verified = sp.sync(
            "2025-01-01", "2025-01-03", output_dir=tmp_path, format="jsonl", lookback_days=0, verify=True
        )
    assert (kept.days_fetched, verified.days_fetched) == (0, 1)
    assert fake.requests[-1].body["start"] == fake.requests[-1].body["end"] == "2025-01-02"
    assert Dataset(tmp_path, format="jsonl").is_complete(D2, verify=True)


@pytest.mark.anyio
async def test_async_sync_verify_hashes_every_kept_day_in_full(tmp_path: Path) -> None:
    fake = FakeShortPen(seed=3, events_per_day=1500)
    async with AsyncShortPen(fake.token, http_client=httpx.AsyncClient(transport=fake.transport())) as asp:
        await asp.sync("2025-01-01", "2025-01-03", output_dir=tmp_path, format="jsonl")
        flip_a_middle_byte(tmp_path / "date=2025-01-02" / "part-0.jsonl")
        kept = await asp.sync(
            "2025-01-01", "2025-01-03", output_dir=tmp_path, format="jsonl", lookback_days=0
        )
        verified = await asp.sync(
            "2025-01-01", "2025-01-03", output_dir=tmp_path, format="jsonl", lookback_days=0, verify=True
        )
    assert (kept.days_fetched, verified.days_fetched) == (0, 1)


def test_the_cli_sync_has_verify(tmp_path: Path) -> None:
    fake = FakeShortPen(seed=3, events_per_day=1500)
    runner = CliRunner(env={"SHORTPEN_TOKEN": fake.token})
    with fake.serve() as url:
        args = ["sync", "-o", str(tmp_path), "--start", "2025-01-01", "--end", "2025-01-03"]
        args += ["--format", "jsonl", "--lookback-days", "0", "--base-url", url]
        assert runner.invoke(cli, args).exit_code == 0
        flip_a_middle_byte(tmp_path / "date=2025-01-02" / "part-0.jsonl")
        kept = runner.invoke(cli, args)
        verified = runner.invoke(cli, [*args, "--verify"])
    assert (kept.exit_code, verified.exit_code) == (0, 0), verified.output
    assert re.search(r"\b0 days? fetched, 3 already complete", kept.output), kept.output
    assert re.search(r"\b1 days? fetched, 2 already complete", verified.output), verified.output
    assert "--verify" in runner.invoke(cli, ["sync", "--help"]).output


def test_a_record_pointing_at_another_days_file_is_not_complete(folder: Path) -> None:
    dataset = Dataset(folder)
    d1 = dataset.records[D1]
    dataset.day_path(D2).unlink()  # D2's file is gone; its record now names D1's file, size and hash
    edit_manifest(folder, D2, path=d1.path, bytes=d1.bytes, sha256=d1.sha256)
    assert to_skip(folder) == {D1, D3}
    assert not Dataset(folder).is_complete(D2)


def test_a_record_whose_path_is_not_the_derived_one_is_not_complete(folder: Path) -> None:
    # even though the day's own file is there and intact: the record was tampered with
    edit_manifest(folder, D2, path="date=2025-01-02/../date=2025-01-02/part-0.parquet")
    assert to_skip(folder) == {D1, D3}


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every path the code under test stats or opens."""
    seen: list[str] = []
    for name in ("open", "stat", "lstat"):
        real = getattr(os, name)

        def spy(path: Any, *args: Any, _real: Any = real, **kwargs: Any) -> Any:

            seen_path = os.path.abspath(os.fspath(path)) if isinstance(path, str | os.PathLike) else ""  # noqa: PTH100
            seen.append(seen_path)
            return _real(path, *args, **kwargs)

        monkeypatch.setattr(os, name, spy)
    return seen


def test_a_record_pointing_outside_the_folder_is_never_followed(
    folder: Path, tmp_path: Path, opened: list[str]
) -> None:
    outside = tmp_path / "etc" / "hostname"  # folder/../../../etc/hostname
    outside.parent.mkdir()
    outside.write_text("build-host-7\n")
    assert (folder / "../../../etc/hostname").resolve() == outside.resolve()
    hostname = outside.read_bytes()
    Dataset(folder).day_path(D2).unlink()
    edit_manifest(
        folder,
        D2,
        path="../../../etc/hostname",
        bytes=len(hostname),
        sha256=hashlib.sha256(hostname).hexdigest(),
    )
    opened.clear()
    assert to_skip(folder) == {D1, D3}
    root = folder.resolve()
    assert opened, "the spy saw nothing"
    # only the folder, what is in it, and its parents (the lock's path is made canonical) are looked at
    allowed = {str(root), *map(str, root.parents)}
    outside_paths = [p for p in opened if p and p not in allowed and not p.startswith(f"{root}{os.sep}")]
    assert outside_paths == []
    assert str(outside) not in opened


@pytest.mark.skipif(os.name != "posix", reason="symlinks")
def test_a_symlinked_day_file_or_directory_is_not_complete_and_not_written_through(
    folder: Path, tmp_path: Path
) -> None:
    dataset = Dataset(folder)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # D2: the file replaced by a symlink to an identical copy outside the folder
    shutil.copy(dataset.day_path(D2), elsewhere / "d2.parquet")
    dataset.day_path(D2).unlink()
    dataset.day_path(D2).symlink_to(elsewhere / "d2.parquet")
    # D3: the day's directory replaced by a symlink to an identical copy outside the folder
    shutil.copytree(dataset.day_path(D3).parent, elsewhere / "d3")
    shutil.rmtree(dataset.day_path(D3).parent)
    dataset.day_path(D3).parent.symlink_to(elsewhere / "d3", target_is_directory=True)
    assert to_skip(folder) == {D1}
    before = {p.name: p.read_bytes() for p in elsewhere.rglob("*.parquet")}
    with pytest.raises(InvalidArgumentError, match="symbolic link"):
        write(dataset, D2)
    with pytest.raises(InvalidArgumentError, match="not a directory"):
        write(dataset, D3)
    assert {p.name: p.read_bytes() for p in elsewhere.rglob("*.parquet")} == before


def test_a_fifo_as_day_file_does_not_hang_the_plan(folder: Path) -> None:
    path = Dataset(folder).day_path(D2)
    path.unlink()
    os.mkfifo(path)  # opening it for reading would block until a writer came
    assert to_skip(folder) == {D1, D3}


def test_a_version_1_manifest_is_read_and_its_days_fetched_again(folder: Path) -> None:
    """0.1.0 recorded no checksum: its days cannot be verified, so they are fetched once more."""
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    manifest["manifest_version"] = 1
    for entry in manifest["days"].values():
        del entry["sha256"]
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest))
    assert to_skip(folder) == set()
    with Dataset(folder) as dataset:
        write(dataset, D1)
    assert to_skip(folder) == {D1}
    assert json.loads((folder / MANIFEST_NAME).read_text())["manifest_version"] == 2


@pytest.mark.skipif(os.name != "posix", reason="symlinks")
def test_a_window_with_a_day_that_cannot_be_written_records_none_of_its_days(tmp_path: Path) -> None:
    """A window's days are written concurrently; all of them have finished (written or failed) before
    anything is recorded or raised, and a failed window records nothing."""
    folder = tmp_path / "ds"
    folder.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (folder / "date=2025-01-02").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    dataset = Dataset(folder)
    with pytest.raises(InvalidArgumentError, match="date=2025-01-02"):
        dataset.write_days(
            {day: events(day, 50) for day in (D1, D2, D3)},
            fetched_at=LONG_AFTER,
            client_version=__version__,
            spec_sha256=SPEC_SHA256,
        )
    assert dataset.records == {}
    assert Dataset(folder).complete_days() == set()
    assert list((tmp_path / "elsewhere").iterdir()) == []
    assert list(folder.rglob("*.tmp")) == []  # the other days' writers finished and cleaned up
    dataset.close()


# -- no symlink in the folder is followed: the sweep of temporary files, the records -------------------------


def fake_client(fake: FakeShortPen) -> ShortPen:
    return ShortPen(fake.token, http_client=httpx.Client(transport=fake.transport()), window_days=7)


@pytest.mark.skipif(os.name != "posix", reason="symlinks")
def test_the_temp_sweep_does_not_delete_through_a_symlinked_day_directory(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / f".part-0.jsonl.{2**22 + 7}.{'ab' * 6}.tmp"  # a dead writer's name, outside
    victim.write_text("not yours\n")
    os.utime(victim, (1e9, 1e9))  # long untouched: stale by any rule, were it in the folder
    folder = tmp_path / "ds"
    folder.mkdir()
    (folder / "date=2024-12-31").symlink_to(outside, target_is_directory=True)
    fake = FakeShortPen(seed=2, events_per_day=3)
    with fake_client(fake) as sp:
        sp.sync("2025-01-01", "2025-01-02", output_dir=folder, format="jsonl")
    assert victim.read_text() == "not yours\n"
    assert Dataset(folder, format="jsonl").remove_stale_temps() == []
    assert victim.exists()


@pytest.mark.skipif(os.name != "posix", reason="symlinks")
@pytest.mark.parametrize("name", [JOURNAL_NAME, MANIFEST_NAME])
def test_a_dangling_symlink_as_journal_or_manifest_is_refused_and_creates_nothing(
    tmp_path: Path, name: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    folder = tmp_path / "ds"
    folder.mkdir()
    (folder / name).symlink_to(outside / "created")
    fake = FakeShortPen(seed=2, events_per_day=3)
    with fake_client(fake) as sp, pytest.raises(ManifestError, match="symbolic link"):
        sp.sync("2025-01-01", "2025-01-02", output_dir=folder, format="jsonl")
    assert fake.requests == []
    assert list(outside.iterdir()) == []
    assert (folder / name).is_symlink()


@pytest.mark.skipif(os.name != "posix", reason="symlinks")
@pytest.mark.parametrize("name", [JOURNAL_NAME, MANIFEST_NAME])
def test_a_journal_or_manifest_symlinked_to_a_valid_one_elsewhere_is_not_read(
    folder: Path, tmp_path: Path, name: str
) -> None:
    write(Dataset(folder), D1)  # not closed: a journal is left, as by a killed sync
    assert (folder / JOURNAL_NAME).exists()
    elsewhere = tmp_path / f"elsewhere{name}"
    (folder / name).rename(elsewhere)
    (folder / name).symlink_to(elsewhere)
    with pytest.raises(ManifestError, match="symbolic link"):
        Dataset(folder)
