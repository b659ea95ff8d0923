"""The day-partitioned dataset (``_dataset``): layout, manifest, plan, and crash safety."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shortpen_api_client import SPEC_SHA256, __version__
from shortpen_api_client._arrow import column_names
from shortpen_api_client._dataset import (
    JOURNAL_NAME,
    MANIFEST_NAME,
    Dataset,
    DayRecord,
    ManifestError,
    split_by_day,
    utc_offsets,
)
from shortpen_api_client._export import FOREIGN_STALE_SECONDS, host_id
from shortpen_api_client._manifest import Manifest

from ._dataset_writer import DAYS, expected_events

Event = dict[str, Any]
LONG_AFTER = datetime(2030, 1, 1, tzinfo=UTC)  # a fetch made long after every day below ended
D1, D2, D3, D4, D5 = (date(2025, 1, d) for d in range(1, 6))


def event(id: int, created_at: str, **fields: Any) -> Event:
    return {
        "id": id,
        "workspace_id": 24,
        "organization_id": 3,
        "url_id": 501,
        "domain": "go.shortpen.com",
        "created_at": created_at,
        **fields,
    }


def day_events(day: date, count: int, *, first_id: int = 0, offset: str = "+01:00") -> list[Event]:
    return [
        event(first_id + i, f"{day.isoformat()}T{i % 24:02d}:{i % 60:02d}:00{offset}", country="FR")
        for i in range(count)
    ]


def write(dataset: Dataset, day: date, events: list[Event], fetched_at: datetime = LONG_AFTER) -> None:
    dataset.write_day(day, events, fetched_at=fetched_at, client_version=__version__, spec_sha256=SPEC_SHA256)


def files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


# -- layout -------------------------------------------------------------------------------------------------


def test_layout_is_hive_partitioned_and_readable_by_pyarrow_dataset(tmp_path: Path) -> None:
    out = tmp_path / "clicks"
    dataset = Dataset(out)
    write(dataset, D1, day_events(D1, 3))
    write(dataset, D2, [])  # an empty day still gets its (empty) file
    write(dataset, D3, day_events(D3, 2, first_id=100))
    data_files = [
        "date=2025-01-01/part-0.parquet",
        "date=2025-01-02/part-0.parquet",
        "date=2025-01-03/part-0.parquet",
    ]
    assert files(out) == [JOURNAL_NAME, *data_files]  # the days written since the manifest
    dataset.close()
    assert files(out) == [MANIFEST_NAME, *data_files]  # compacted
    # a temporary file left by a killed writer is not data either
    (out / "date=2025-01-03" / ".part-0.parquet.0123456789ab.tmp").write_bytes(b"half a file")

    read = ds.dataset(out, format="parquet", partitioning="hive")
    assert sorted(Path(f).relative_to(out).as_posix() for f in read.files) == data_files
    table = read.to_table()
    assert table.column_names == [*column_names(), "date"]  # the day comes from the path only
    rows = sorted(table.to_pylist(), key=lambda r: r["id"])
    assert [(r["id"], str(r["date"])) for r in rows] == [
        (0, "2025-01-01"),
        (1, "2025-01-01"),
        (2, "2025-01-01"),
        (100, "2025-01-03"),
        (101, "2025-01-03"),
    ]
    assert pq.read_table(out / "date=2025-01-01/part-0.parquet").column_names == list(column_names())


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_other_formats_use_the_same_layout(tmp_path: Path, fmt: str) -> None:
    with Dataset(tmp_path, format=fmt) as dataset:
        write(dataset, D1, day_events(D1, 2))
    assert dataset.day_path(D1) == tmp_path / f"date=2025-01-01/part-0.{fmt}"
    assert files(tmp_path) == [MANIFEST_NAME, f"date=2025-01-01/part-0.{fmt}"]
    assert json.loads((tmp_path / MANIFEST_NAME).read_text())["format"] == fmt


def test_the_manifest_records_each_day(tmp_path: Path) -> None:
    dataset = Dataset(tmp_path)
    fetched_at = datetime.fromisoformat("2025-01-10T09:00:00+01:00")
    write(dataset, D1, day_events(D1, 3), fetched_at)
    write(dataset, D2, [], fetched_at)
    dataset.close()
    manifest = json.loads((tmp_path / MANIFEST_NAME).read_text())
    assert manifest["manifest_version"] == 2
    assert manifest["format"] == "parquet"
    assert manifest["days"]["2025-01-01"] == {
        "path": "date=2025-01-01/part-0.parquet",
        "events": 3,
        "bytes": dataset.day_path(D1).stat().st_size,
        "sha256": hashlib.sha256(dataset.day_path(D1).read_bytes()).hexdigest(),
        "fetched_at": "2025-01-10T08:00:00Z",
        "utc_offsets": ["+01:00"],
        "client_version": __version__,
        "spec_sha256": SPEC_SHA256,
        "sample_sha256": hashlib.sha256(dataset.day_path(D1).read_bytes()).hexdigest(),  # a small file: whole
    }
    assert manifest["days"]["2025-01-02"]["events"] == 0
    assert manifest["days"]["2025-01-02"]["utc_offsets"] == []
    # a new Dataset on the same folder reads the same records back
    assert Dataset(tmp_path).records == dataset.records
    assert Dataset(tmp_path).complete_days() == {D1, D2}


def test_write_day_replaces_the_previous_file_of_the_day(tmp_path: Path) -> None:
    dataset = Dataset(tmp_path)
    write(dataset, D1, day_events(D1, 2))
    write(dataset, D1, day_events(D1, 3))  # a lookback refetch: the late click is in
    assert pq.read_table(dataset.day_path(D1)).column("id").to_pylist() == [0, 1, 2]
    assert dataset.records[D1].events == 3
    dataset.close()
    assert files(tmp_path) == [MANIFEST_NAME, "date=2025-01-01/part-0.parquet"]


def test_write_day_refuses_events_of_another_day(tmp_path: Path) -> None:
    dataset = Dataset(tmp_path)
    events = [*day_events(D1, 2), event(7301, "2025-01-02T00:00:00+01:00")]
    with pytest.raises(
        ValueError, match="event 7301 has created_at '2025-01-02T00:00:00\\+01:00', not on 2025-01-01"
    ):
        write(dataset, D1, events)
    assert list(tmp_path.iterdir()) == []


def test_write_day_needs_an_aware_fetched_at(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        write(Dataset(tmp_path), D1, [], datetime(2025, 1, 2))


def test_temporary_files_of_a_killed_writer_are_removed(tmp_path: Path) -> None:
    dataset = Dataset(tmp_path)
    long_ago = time.time() - 2 * FOREIGN_STALE_SECONDS
    for day in (D1, D2):
        (tmp_path / f"date={day}").mkdir()
        (tmp_path / f"date={day}" / ".part-0.parquet.0123456789ab.tmp").write_bytes(b"half")
    (tmp_path / f".{MANIFEST_NAME}.ba9876543210.tmp").write_bytes(b"{")
    (tmp_path / "date=2025-01-02" / ".part-0.parquet.mine.tmp").write_bytes(b"not a writer's name")
    # older names carry no host (or no PID): whose they are is unknown, so only once long untouched
    (tmp_path / "date=2025-01-02" / ".part-0.parquet.1.00112233aabb.tmp").write_bytes(b"half")
    for old in [
        *tmp_path.glob("date=*/.part-0.parquet.*.tmp"),
        tmp_path / f".{MANIFEST_NAME}.ba9876543210.tmp",
    ]:
        os.utime(old, (long_ago, long_ago))
    (tmp_path / "date=2025-01-02" / ".part-0.parquet.2.00112233aabb.tmp").write_bytes(b"fresh")
    # today's names carry the host and the writer's PID: under the folder's lock even a live PID's
    # file of this host is stale; another host's is kept while it may be written
    (tmp_path / "date=2025-01-02" / f".part-0.parquet.{host_id()}-1.00112233aabb.tmp").write_bytes(b"half")
    (tmp_path / "date=2025-01-02" / ".part-0.parquet.0000beef-1.00112233aabb.tmp").write_bytes(b"theirs")
    write(dataset, D1, [])  # writes leave them alone: a sync sweeps once, when it starts
    assert dataset.remove_stale_temps() == [
        tmp_path / f".{MANIFEST_NAME}.ba9876543210.tmp",
        tmp_path / "date=2025-01-01/.part-0.parquet.0123456789ab.tmp",
        tmp_path / "date=2025-01-02/.part-0.parquet.0123456789ab.tmp",
        tmp_path / "date=2025-01-02/.part-0.parquet.1.00112233aabb.tmp",
        tmp_path / f"date=2025-01-02/.part-0.parquet.{host_id()}-1.00112233aabb.tmp",
    ]
    dataset.close()
    assert files(tmp_path) == sorted(
        [
            MANIFEST_NAME,
            "date=2025-01-01/part-0.parquet",
            "date=2025-01-02/.part-0.parquet.mine.tmp",  # not a name our writers use: not ours to delete
            "date=2025-01-02/.part-0.parquet.2.00112233aabb.tmp",
            "date=2025-01-02/.part-0.parquet.0000beef-1.00112233aabb.tmp",
        ]
    )


# -- plan ---------------------------------------------------------------------------------------------------


def test_plan_on_a_first_run_is_every_day(tmp_path: Path) -> None:
    assert Dataset(tmp_path / "new").plan(D1, D5, lookback_days=2) == [D1, D2, D3, D4, D5]


def test_plan_on_a_rerun_is_the_missing_days_and_the_lookback(tmp_path: Path) -> None:
    dataset = Dataset(tmp_path)
    for day in (D1, D2, D4):
        write(dataset, day, day_events(day, 1))
    assert dataset.plan(D1, D5, lookback_days=0) == [D3, D5]
    assert dataset.plan(D1, D5, lookback_days=1) == [D3, D5]
    assert dataset.plan(D1, D5, lookback_days=2) == [D3, D4, D5]
    assert dataset.plan(D1, D4, lookback_days=1) == [D3, D4]
    assert dataset.plan(D1, D2, lookback_days=0) == []
    assert dataset.plan(D1, D5, lookback_days=30) == [D1, D2, D3, D4, D5]


def test_plan_refetches_a_day_fetched_before_its_lookback_had_passed(tmp_path: Path) -> None:
    dataset = Dataset(tmp_path)
    # D1 (+01:00) ends at 2025-01-01T23:00Z; fetched 12 hours later, with 2 days of lookback
    write(dataset, D1, day_events(D1, 1), datetime(2025, 1, 2, 11, tzinfo=UTC))
    assert dataset.plan(D1, D1, lookback_days=0) == []
    assert dataset.plan(D1, D5, lookback_days=2) == [D1, D2, D3, D4, D5]  # not settled yet
    write(dataset, D1, day_events(D1, 2), datetime(2025, 1, 3, 23, tzinfo=UTC))  # 2 days after its end
    assert dataset.plan(D1, D1, lookback_days=2) == [D1]  # still the last days of this range
    assert dataset.plan(D1, D5, lookback_days=2) == [D2, D3, D4, D5]  # settled
    # an empty day has no offset: it is taken to end as late as a day can (UTC-12)
    write(dataset, D2, [], datetime(2025, 1, 3, 11, 59, tzinfo=UTC))
    assert D2 in dataset.plan(D1, D5, lookback_days=0)
    write(dataset, D2, [], datetime(2025, 1, 3, 12, 0, tzinfo=UTC))
    assert D2 not in dataset.plan(D1, D5, lookback_days=0)


def test_a_day_file_missing_from_the_manifest_is_fetched_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = Dataset(tmp_path)
    write(dataset, D1, day_events(D1, 1))

    def killed(self: Manifest, records: list[DayRecord]) -> None:
        raise KeyboardInterrupt  # the process dies after the day's file, before its record

    monkeypatch.setattr(Manifest, "append", killed)
    with pytest.raises(KeyboardInterrupt):
        write(dataset, D2, day_events(D2, 2))
    monkeypatch.undo()
    assert dataset.day_path(D2).exists()

    rerun = Dataset(tmp_path)
    assert rerun.complete_days() == {D1}
    assert rerun.plan(D1, D2, lookback_days=0) == [D2]
    write(rerun, D2, day_events(D2, 2))
    ids = ds.dataset(tmp_path, format="parquet", partitioning="hive").to_table().column("id").to_pylist()
    assert sorted(ids) == [0, 0, 1]  # D1's one event, D2's two: exactly once
    assert rerun.plan(D1, D2, lookback_days=0) == []


def test_a_day_whose_file_is_gone_or_changed_is_not_complete(tmp_path: Path) -> None:
    dataset = Dataset(tmp_path)
    for day in (D1, D2):
        write(dataset, day, day_events(day, 2))
    dataset.day_path(D1).unlink()
    with dataset.day_path(D2).open("ab") as f:
        f.write(b"x")
    assert dataset.complete_days() == set()
    assert dataset.plan(D1, D2, lookback_days=0) == [D1, D2]


@pytest.mark.parametrize(
    ("start", "end", "lookback", "match"),
    [(D2, D1, 0, "start 2025-01-02 is after end 2025-01-01"), (D1, D2, -1, "lookback_days")],
)
def test_plan_refuses_bad_arguments(
    tmp_path: Path, start: date, end: date, lookback: int, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        Dataset(tmp_path).plan(start, end, lookback_days=lookback)


# -- the manifest, when it cannot be trusted ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "corrupt"),
        ("[]", "corrupt"),
        ('{"manifest_version": 99, "format": "parquet", "days": {}}', "unknown manifest_version 99"),
        ('{"manifest_version": 1, "format": "parquet"}', "corrupt"),
        ('{"manifest_version": 1, "format": "parquet", "days": {"2025-13-01": {}}}', "corrupt"),
        ('{"manifest_version": 1, "format": "parquet", "days": {"2025-01-01": {"path": 1}}}', "corrupt"),
    ],
)
def test_a_corrupt_manifest_is_an_error_naming_the_file(tmp_path: Path, content: str, reason: str) -> None:
    (tmp_path / MANIFEST_NAME).write_text(content)
    with pytest.raises(ManifestError, match=reason) as info:
        Dataset(tmp_path)
    assert str(tmp_path / MANIFEST_NAME) in str(info.value)
    assert (tmp_path / MANIFEST_NAME).read_text() == content  # left as it was


def test_a_manifest_with_a_bad_entry_names_it(tmp_path: Path) -> None:
    with Dataset(tmp_path) as dataset:
        write(dataset, D1, [])
    manifest = json.loads((tmp_path / MANIFEST_NAME).read_text())
    manifest["days"]["2025-01-01"]["events"] = "3"
    (tmp_path / MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(ManifestError, match="'events' must be a int"):
        Dataset(tmp_path)


def test_a_manifest_of_another_format_is_an_error(tmp_path: Path) -> None:
    write(Dataset(tmp_path, format="jsonl"), D1, [])
    with pytest.raises(
        ManifestError, match=r"^format parquet does not match the dataset in .*, whose files are jsonl"
    ):
        Dataset(tmp_path)


def test_an_unreadable_manifest_is_an_error(tmp_path: Path) -> None:
    (tmp_path / MANIFEST_NAME).mkdir()
    with pytest.raises(ManifestError, match="cannot read the dataset manifest"):
        Dataset(tmp_path)


def test_a_bad_format_or_a_file_as_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'xlsx'"):
        Dataset(tmp_path, format="xlsx")
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="not a directory"):
        Dataset(tmp_path / "file")


# -- splitting a window into days ----------------------------------------------------------------------------


def test_split_by_day_has_an_entry_for_every_day() -> None:
    events = [*day_events(D1, 2), *day_events(D3, 1, first_id=10)]
    split = split_by_day(events, [D1, D2, D3])
    assert split == {D1: events[:2], D2: [], D3: events[2:]}
    assert list(split) == [D1, D2, D3]


def test_split_by_day_uses_the_local_date_as_sent() -> None:
    late = event(1, "2025-01-01T23:30:00-05:00")  # 2025-01-02 in UTC, but the account's day is D1
    assert split_by_day([late], [D1, D2]) == {D1: [late], D2: []}


def test_split_by_day_names_an_event_outside_the_window() -> None:
    with pytest.raises(
        ValueError,
        match=re.escape(
            "event 7301 has created_at '2025-01-04T00:00:00Z', outside the window 2025-01-01..2025-01-02"
        ),
    ):
        split_by_day([event(7301, "2025-01-04T00:00:00Z")], [D1, D2])


@settings(max_examples=50, deadline=None)
@given(
    offsets=st.lists(st.integers(0, 6), max_size=30),
    first=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 1, 1)),
    length=st.integers(7, 10),
)
def test_split_by_day_keeps_every_event_once_in_order(offsets: list[int], first: date, length: int) -> None:
    days = [first + timedelta(days=i) for i in range(length)]
    events = [
        event(i, f"{(first + timedelta(days=o)).isoformat()}T12:00:00+02:00")
        for i, o in enumerate(sorted(offsets))
    ]
    split = split_by_day(events, days)
    assert list(split) == days
    assert [e for group in split.values() for e in group] == events
    assert all(e["created_at"][:10] == day.isoformat() for day, group in split.items() for e in group)


# -- offsets ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("created_ats", "expected"),
    [
        ([], ()),
        (["2025-01-01T00:00:00+01:00", "2025-01-01T10:00:00.250+01:00"], ("+01:00",)),
        (["2025-03-30T01:00:00+01:00", "2025-03-30T03:00:00+02:00"], ("+01:00", "+02:00")),  # DST
        (["2025-01-01T00:00:00Z"], ("+00:00",)),
        (["2025-01-01T00:00:00-0330"], ("-03:30",)),
        (["2025-01-01T00:00:00+05:45:30"], ("+05:45:30",)),
    ],
)
def test_utc_offsets(created_ats: list[str], expected: tuple[str, ...]) -> None:
    assert utc_offsets([event(i, c) for i, c in enumerate(created_ats)]) == expected


def test_utc_offsets_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match=r"event 5: .* has no offset"):
        utc_offsets([event(5, "2025-01-01T00:00:00")])


# -- kill -9 at any moment -----------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs kill -9")
def test_a_writer_killed_at_any_moment_then_rerun_ends_with_exactly_the_events(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    first, last = DAYS[0], DAYS[-1]
    expected = sorted(e["id"] for day in DAYS for e in expected_events(day))
    # mid first pass (days missing), mid rewrite (days replaced), later (journal appends and compactions)
    for delay in (0.2, 0.45, 0.7):
        child = subprocess.Popen(
            [sys.executable, "-m", "tests._dataset_writer", str(tmp_path)],
            cwd=root,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n"
        time.sleep(delay)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()
        # the rerun: whatever the moment of the kill, the records read and plan() says what to fetch
        dataset = Dataset(tmp_path)
        dataset.remove_stale_temps()
        for day in dataset.plan(first, last, lookback_days=0):
            write(dataset, day, expected_events(day))
        assert dataset.plan(first, last, lookback_days=0) == []
        table = ds.dataset(tmp_path, format="parquet", partitioning="hive").to_table()
        assert sorted(table.column("id").to_pylist()) == expected
        assert not list(tmp_path.rglob(".*"))  # no temporary file left
