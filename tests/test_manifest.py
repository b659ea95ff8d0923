"""The dataset's bookkeeping (``_manifest``): an append-only journal compacted into the manifest, so a
sync writes bytes in proportion to its days (it rewrote the whole manifest per window: quadratic),
and a crash at any step leaves records that read back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shortpen_api_client import SPEC_SHA256, __version__
from shortpen_api_client._dataset import JOURNAL_NAME, MANIFEST_NAME, Dataset, ManifestError
from shortpen_api_client._dataset_schema import CURRENT
from shortpen_api_client._manifest import Manifest

from .conftest import ROOT

LONG_AFTER = datetime(2030, 1, 1, tzinfo=UTC)
D1, D2, D3 = date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 3)


def write(dataset: Dataset, *days: date) -> None:
    dataset.write_days(
        {day: [] for day in days}, fetched_at=LONG_AFTER, client_version=__version__, spec_sha256=SPEC_SHA256
    )


def written_bytes() -> int:
    """Bytes this process has passed to write() so far (Linux)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise AssertionError("no wchar in /proc/self/io")


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="counts bytes with Linux's /proc/self/io")
def test_twenty_years_of_empty_days_write_bookkeeping_in_proportion_to_the_days(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The finding: 20 years of empty days, one window of 7 days at a time, wrote 1.08 GB (the
    manifest, rewritten per window). Now: the journal (about one manifest's worth) and one manifest."""
    monkeypatch.setattr(os, "fsync", lambda fd: None)  # durability is not what this test measures
    start = date(2000, 1, 1)
    days = [start + timedelta(days=i) for i in range((date(2020, 1, 1) - start).days)]
    assert len(days) == 7305
    dataset = Dataset(tmp_path, format="jsonl")
    before = written_bytes()
    for first in range(0, len(days), 7):
        write(dataset, *days[first : first + 7])
    dataset.close()
    bookkeeping = written_bytes() - before  # the day files are empty (JSONL): no data bytes
    manifest_size = (tmp_path / MANIFEST_NAME).stat().st_size
    assert len(json.loads((tmp_path / MANIFEST_NAME).read_bytes())["days"]) == 7305
    assert not (tmp_path / JOURNAL_NAME).exists()
    assert bookkeeping < 3 * manifest_size, (bookkeeping, manifest_size)


def test_records_go_to_the_journal_then_the_manifest_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rewrites: list[int] = []
    real = Manifest.compact

    def compact(self: Manifest) -> None:
        rewrites.append(1)
        real(self)

    monkeypatch.setattr(Manifest, "compact", compact)
    dataset = Dataset(tmp_path)
    write(dataset, D1, D2)
    write(dataset, D3)
    lines = (tmp_path / JOURNAL_NAME).read_text().splitlines()
    header = {"journal_version": 2, "format": "parquet", "source": None, "schema": CURRENT.to_json()}
    assert json.loads(lines[0]) == header
    assert [json.loads(line)["day"] for line in lines[1:]] == ["2025-01-01", "2025-01-02", "2025-01-03"]
    assert not (tmp_path / MANIFEST_NAME).exists()
    assert Dataset(tmp_path).complete_days() == {D1, D2, D3}  # the journal alone is enough to resume
    dataset.close()
    assert rewrites == [1]
    assert not (tmp_path / JOURNAL_NAME).exists()
    assert set(json.loads((tmp_path / MANIFEST_NAME).read_text())["days"]) == {
        "2025-01-01",
        "2025-01-02",
        "2025-01-03",
    }


def test_a_later_record_of_a_day_replaces_the_earlier(tmp_path: Path) -> None:
    with Dataset(tmp_path) as dataset:
        write(dataset, D1)
    dataset = Dataset(tmp_path)
    dataset.write_day(
        D1, [], fetched_at=datetime(2031, 1, 1, tzinfo=UTC), client_version="2", spec_sha256=SPEC_SHA256
    )
    assert Dataset(tmp_path).records[D1].client_version == "2"  # manifest says 1, journal says 2
    dataset.close()
    assert Dataset(tmp_path).records[D1].client_version == "2"


def test_a_short_write_to_the_journal_is_completed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """os.write may write part of a large batch (a signal): the rest follows, no record is lost."""
    real_write = os.write

    def short_write(fd: int, data: Any) -> int:
        return real_write(fd, bytes(data[:100]))

    dataset = Dataset(tmp_path)
    monkeypatch.setattr(os, "write", short_write)
    write(dataset, D1, D2, D3)
    monkeypatch.undo()
    assert set(Dataset(tmp_path).records) == {D1, D2, D3}
    dataset.close()


def test_a_torn_last_line_is_ignored_and_the_next_writer_starts_clean(tmp_path: Path) -> None:
    dataset = Dataset(tmp_path)
    write(dataset, D1)
    write(dataset, D2)
    journal = tmp_path / JOURNAL_NAME
    data = journal.read_bytes()
    journal.write_bytes(data[: -len(data.splitlines()[-1]) // 2 - 1])  # power cut mid-append
    rerun = Dataset(tmp_path)
    assert rerun.complete_days() == {D1}  # D2's record is torn: fetched again
    write(rerun, D2, D3)  # folds the old journal away first, so no line is glued to the torn one
    assert Dataset(tmp_path).complete_days() == {D1, D2, D3}
    for line in journal.read_text().splitlines():
        json.loads(line)


def test_killed_between_the_new_manifest_and_the_journals_removal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = Dataset(tmp_path)
    write(dataset, D1, D2)
    real_unlink = Path.unlink

    def killed(self: Path, missing_ok: bool = False) -> None:
        if self.name == JOURNAL_NAME:
            raise KeyboardInterrupt  # the process dies right after the manifest was replaced
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", killed)
    with pytest.raises(KeyboardInterrupt):
        dataset.close()
    monkeypatch.undo()
    assert (tmp_path / JOURNAL_NAME).exists()
    rerun = Dataset(tmp_path)  # the manifest and the journal hold the same records: replayed, no change
    assert rerun.complete_days() == {D1, D2}
    write(rerun, D3)
    rerun.close()
    assert Dataset(tmp_path).complete_days() == {D1, D2, D3}
    assert not (tmp_path / JOURNAL_NAME).exists()


def journal_with(tmp_path: Path, *lines: Any) -> Path:
    path = tmp_path / JOURNAL_NAME
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


@pytest.mark.parametrize(
    "lines",
    [
        ({"journal_version": 2, "format": "parquet", "source": None}, "{not json"),
        ({"journal_version": 2, "format": "parquet", "source": None}, [1, 2]),
        ({"journal_version": 2, "format": "parquet", "source": None}, {"day": "2025-01-01", "path": 1}),
        ({"journal_version": 9, "format": "parquet"},),
        ("{not json",),
    ],
)
def test_a_corrupt_journal_is_an_error_naming_it(tmp_path: Path, lines: tuple[Any, ...]) -> None:
    path = journal_with(tmp_path, *lines)
    with pytest.raises(ManifestError, match="corrupt") as info:
        Dataset(tmp_path)
    assert str(path) in str(info.value)


def test_a_journal_of_another_format_or_source_is_refused(tmp_path: Path) -> None:
    journal_with(tmp_path, {"journal_version": 2, "format": "csv", "source": None})
    with pytest.raises(
        ManifestError,
        match=r"^format parquet does not match .*, whose files are csv .*: sync it as csv, or use another folder",
    ):
        Dataset(tmp_path)
    journal_with(tmp_path, {"journal_version": 2, "format": "parquet", "source": {"workspace_id": 24}})
    with pytest.raises(
        ManifestError,
        match="holds the clicks of workspace 24; this sync is for workspace 31: use another folder",
    ):
        Dataset(tmp_path, source={"workspace_id": 31})


def test_the_bookkeeping_benchmark_runs(tmp_path: Path) -> None:
    """``benchmarks/sync_bookkeeping.py`` (the figures of the journal's change) still runs; no timing."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "sync_bookkeeping.py"), "1", "--format", "jsonl"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("years=1 (366 days, 53 windows of 7 days, jsonl): ")
