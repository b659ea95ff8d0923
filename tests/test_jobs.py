"""export() and sync() through the facade, against FakeShortPen: content equal to the server's
events in every format, all-or-nothing exports, resumable syncs and lookback replacement."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from shortpen_api_client import AsyncShortPen, InvalidArgumentError, ServerError, ShortPen
from shortpen_api_client._lock import LOCK_NAME
from shortpen_api_client._schema import EVENT_NAMES as FIELDS
from shortpen_api_client.testing import FakeShortPen, Fault, FaultPlan

from .conftest import ROOT

RANGE = ("2025-01-01", "2025-02-15")


def client(fake: FakeShortPen, **options: Any) -> ShortPen:
    options.setdefault("sleep", lambda seconds: None)
    return ShortPen(fake.token, http_client=httpx.Client(transport=fake.transport()), **options)


def instant(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def fake() -> FakeShortPen:
    faults = FaultPlan(rate=0.2, kinds=(Fault.server_error(502, html=True), Fault.truncated_json()), seed=3)
    return FakeShortPen(seed=17, events_per_day=30, timezone="America/New_York", faults=faults)


def test_jsonl_export_is_exactly_what_the_server_sent(fake: FakeShortPen, tmp_path: Path) -> None:
    with client(fake, window_days=5) as sp:
        report = sp.export(*RANGE, tmp_path / "clicks.jsonl")
    want = fake.events(*RANGE)
    assert read_jsonl(tmp_path / "clicks.jsonl") == want  # same keys, same order, created_at as sent
    assert report.events == len(want)
    assert report.bytes == (tmp_path / "clicks.jsonl").stat().st_size
    assert report.windows == 10
    assert report.requests == report.windows + report.retries
    assert report.retries > 0  # the fault plan really fired


def test_csv_export_has_the_spec_columns_and_every_event(fake: FakeShortPen, tmp_path: Path) -> None:
    with client(fake) as sp:
        report = sp.export(*RANGE, tmp_path / "clicks.csv")
    with (tmp_path / "clicks.csv").open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert tuple(reader.fieldnames or ()) == (*FIELDS, "_extra")
    want = fake.events(*RANGE)
    assert len(rows) == report.events == len(want)
    for row, event in zip(rows, want, strict=True):
        expected = {name: "" if event.get(name) is None else str(event[name]) for name in FIELDS}
        assert row == {**expected, "_extra": ""}  # the fake sends no field the spec does not know


def test_parquet_export_has_typed_columns_and_exact_instants(fake: FakeShortPen, tmp_path: Path) -> None:
    with client(fake) as sp:
        report = sp.export(*RANGE, tmp_path / "clicks.parquet")
    table = pq.read_table(tmp_path / "clicks.parquet")
    assert str(table.schema.field("id").type) == "int64"
    assert str(table.schema.field("created_at").type) == "timestamp[us, tz=UTC]"
    want = fake.events(*RANGE)
    assert table.num_rows == report.events == len(want)
    rows = table.to_pylist()
    for row, event in zip(rows, want, strict=True):
        assert row["created_at"] == instant(event["created_at"])  # same instant, offset applied
        offset = instant(event["created_at"]).utcoffset()
        assert offset is not None
        assert row.pop("created_at_offset") * 60 == offset.total_seconds()
        assert {k: v for k, v in row.items() if k != "created_at" and v is not None} == {
            k: v for k, v in event.items() if k != "created_at"
        }


def test_format_argument_overrides_the_suffix(fake: FakeShortPen, tmp_path: Path) -> None:
    with client(fake) as sp:
        report = sp.export("2025-01-01", "2025-01-02", tmp_path / "clicks.txt", format="jsonl")
    assert report.format == "jsonl"
    assert read_jsonl(tmp_path / "clicks.txt") == fake.events("2025-01-01", "2025-01-02")


def test_a_failure_mid_range_leaves_no_file(tmp_path: Path) -> None:
    fake = FakeShortPen(seed=1, events_per_day=20, faults=FaultPlan({5: Fault.server_error(503)}))
    output = tmp_path / "clicks.parquet"
    with client(fake, window_days=1, max_concurrency=1, max_retries=0) as sp, pytest.raises(ServerError):
        sp.export("2025-01-01", "2025-01-10", output)
    assert len(fake.requests) == 5  # four windows were written to the temporary file before it failed
    assert list(tmp_path.iterdir()) == []


def test_a_failed_export_keeps_the_previous_file(tmp_path: Path) -> None:
    output = tmp_path / "clicks.jsonl"
    output.write_text("yesterday's export\n")
    fake = FakeShortPen(seed=1, faults=FaultPlan(rate=1.0, kinds=(Fault.server_error(500),)))
    with client(fake, max_retries=1) as sp, pytest.raises(ServerError):
        sp.export("2025-01-01", "2025-01-03", output)
    assert output.read_text() == "yesterday's export\n"
    assert [p.name for p in tmp_path.iterdir()] == ["clicks.jsonl"]


@pytest.mark.parametrize(
    ("name", "fmt", "match"),
    [
        ("clicks.xlsx", None, "format is needed"),
        ("clicks.csv", "parquet", "contradicts the suffix"),
        ("clicks.csv", "xml", "'xml'"),
        ("missing/clicks.csv", None, "does not exist"),
    ],
)
def test_bad_outputs_are_refused_before_any_request(
    tmp_path: Path, name: str, fmt: str | None, match: str
) -> None:
    fake = FakeShortPen(seed=1)
    with client(fake) as sp, pytest.raises(ValueError, match=match):
        sp.export("2025-01-01", "2025-01-03", tmp_path / name, format=fmt)
    assert fake.requests == []


@pytest.mark.anyio
async def test_async_export_equals_the_sync_export(fake: FakeShortPen, tmp_path: Path) -> None:
    async def no_sleep(seconds: float) -> None:
        return None

    async with AsyncShortPen(
        fake.token, http_client=httpx.AsyncClient(transport=fake.transport()), sleep=no_sleep
    ) as asp:
        report = await asp.export(*RANGE, tmp_path / "async.jsonl")
    with client(fake) as sp:
        sp.export(*RANGE, tmp_path / "sync.jsonl")
    assert (tmp_path / "async.jsonl").read_bytes() == (tmp_path / "sync.jsonl").read_bytes()
    assert report.events == len(fake.events(*RANGE))


# -- sync --------------------------------------------------------------------------------------------


def dataset_events(folder: Path) -> dict[str, list[int]]:
    """Event ids per day partition, read the way DuckDB or Spark would (hive partitioning)."""
    table = pads.dataset(folder, format="parquet", partitioning="hive").to_table(columns=["id", "date"])
    days: dict[str, list[int]] = {}
    for row in table.to_pylist():
        days.setdefault(str(row["date"]), []).append(row["id"])
    return days


def expected_by_day(fake: FakeShortPen, start: str, end: str) -> dict[str, list[int]]:
    days: dict[str, list[int]] = {}
    for event in fake.events(start, end):
        days.setdefault(event["created_at"][:10], []).append(event["id"])
    return days


def test_sync_writes_one_partition_per_day_readable_as_a_dataset(fake: FakeShortPen, tmp_path: Path) -> None:
    with client(fake) as sp:
        report = sp.sync("2025-01-01", "2025-01-20", output_dir=tmp_path / "ds")
    assert report.days_fetched == 20
    assert report.days_skipped == 0
    assert dataset_events(tmp_path / "ds") == expected_by_day(fake, "2025-01-01", "2025-01-20")
    manifest = json.loads((tmp_path / "ds" / "_manifest.json").read_text())
    day = manifest["days"]["2025-01-05"]
    assert day["events"] == len(expected_by_day(fake, "2025-01-05", "2025-01-05")["2025-01-05"])
    assert day["utc_offsets"] == ["-05:00"]


def test_a_rerun_skips_complete_days_but_refetches_the_lookback(tmp_path: Path) -> None:
    first = FakeShortPen(seed=1, events_per_day=10)
    with client(first) as sp:
        sp.sync("2025-01-01", "2025-01-10", output_dir=tmp_path)
    late = FakeShortPen(seed=2, events_per_day=10)  # the same days, with clicks that arrived late
    with client(late) as sp:
        report = sp.sync("2025-01-01", "2025-01-10", output_dir=tmp_path, lookback_days=3)
    assert report.days_fetched == 3
    assert report.days_skipped == 7
    assert [(r.body["start"], r.body["end"]) for r in late.requests] == [("2025-01-08", "2025-01-10")]
    got = dataset_events(tmp_path)
    want = {
        **expected_by_day(first, "2025-01-01", "2025-01-07"),
        **expected_by_day(late, "2025-01-08", "2025-01-10"),
    }
    assert got == want


def test_sync_end_defaults_to_yesterday(tmp_path: Path) -> None:
    fake = FakeShortPen(seed=1, events_per_day=1)
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    with client(fake) as sp:
        report = sp.sync(yesterday - dt.timedelta(days=2), output_dir=tmp_path)
    assert report.end == yesterday
    assert report.days_fetched == 3


def partitions(folder: Path) -> int:
    return len(list(folder.glob("date=*/part-0.parquet")))


SYNC_SCRIPT = """
import sys
import threading
from shortpen_api_client import ShortPen
url, token, folder = sys.argv[1:4]
with ShortPen(token, base_url=url, window_days=1, max_concurrency=1) as sp:
    sp.sync("2025-01-01", "2025-01-31", output_dir=folder)
"""


@pytest.mark.slow
def test_a_sync_killed_at_any_point_resumes_exactly(tmp_path: Path) -> None:
    """kill -9 the syncing process at several moments; a rerun ends with exactly the server's events."""
    fake = FakeShortPen(
        seed=9,
        events_per_day=40,
        faults=FaultPlan(rate=1.0, kinds=(Fault.latency(0.12),)),
        timezone="Europe/Paris",
    )
    folder = tmp_path / "ds"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with fake.serve() as url:
        for extra_wait in (0.0, 0.05, 0.09):  # a whole run takes 31 x 0.12 s: it is killed mid-way
            before = partitions(folder)
            proc = subprocess.Popen(
                [sys.executable, "-c", SYNC_SCRIPT, url, fake.token, str(folder)], env=env
            )
            deadline = time.monotonic() + 60
            while partitions(folder) <= before and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.01)  # wait for this run to write a day, then kill it a moment later
            time.sleep(extra_wait)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            assert proc.returncode == -signal.SIGKILL
        assert 1 <= partitions(folder) < 31  # really stopped part-way, after some progress
        subprocess.run([sys.executable, "-c", SYNC_SCRIPT, url, fake.token, str(folder)], env=env, check=True)
    assert dataset_events(folder) == expected_by_day(fake, "2025-01-01", "2025-01-31")
    leftovers = [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("part-0")]
    # the journal was compacted into the manifest; the lock's file may stay (it is free: flock)
    assert sorted(p.name for p in leftovers if p.name != LOCK_NAME) == ["_manifest.json"]


def test_a_dataset_folder_holds_one_source_only(tmp_path: Path) -> None:
    fake = FakeShortPen(seed=1, events_per_day=3)
    with client(fake) as sp:
        sp.sync("2025-01-01", "2025-01-03", output_dir=tmp_path, workspace_id=24)
        with pytest.raises(
            InvalidArgumentError,
            match=r"holds the clicks of https://api\.shortpen\.com, workspace 24 \(all links\); this sync is "
            r"for workspace 31: use another folder",
        ) as info:
            sp.sync("2025-01-01", "2025-01-03", output_dir=tmp_path, workspace_id=31)
    assert (info.value.argument, info.value.value) == ("output_dir", tmp_path)
    assert len(fake.requests) == 1  # refused before any request
    manifest = json.loads((tmp_path / "_manifest.json").read_text())
    assert manifest["source"] == {"api": "https://api.shortpen.com", "workspace_id": 24, "url_id": None}


@pytest.mark.anyio
async def test_async_sync_writes_the_same_dataset_and_resumes(tmp_path: Path) -> None:
    fake = FakeShortPen(seed=4, events_per_day=15)

    async def no_sleep(seconds: float) -> None:
        return None

    async with AsyncShortPen(
        fake.token, http_client=httpx.AsyncClient(transport=fake.transport()), sleep=no_sleep
    ) as asp:
        first = await asp.sync("2025-01-01", "2025-01-10", output_dir=tmp_path)
        again = await asp.sync("2025-01-01", "2025-01-10", output_dir=tmp_path, lookback_days=2)
    assert (first.days_fetched, again.days_fetched, again.days_skipped) == (10, 2, 8)
    assert dataset_events(tmp_path) == expected_by_day(fake, "2025-01-01", "2025-01-10")


def dataset_writer_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("shortpen-dataset")]


def test_a_failed_sync_leaves_no_writer_thread(tmp_path: Path) -> None:
    """The first window (7 days, written by the day writers) succeeds, the second fails for good."""
    assert dataset_writer_threads() == []
    fake = FakeShortPen(seed=4, events_per_day=5, faults=FaultPlan({2: Fault.server_error(500)}))
    with client(fake, max_retries=0, max_concurrency=1) as sp, pytest.raises(ServerError):
        sp.sync("2025-01-01", "2025-01-14", output_dir=tmp_path)
    assert len(fake.requests) == 2
    assert (tmp_path / "date=2025-01-07").is_dir()  # the writers did write the first window
    assert dataset_writer_threads() == []


@pytest.mark.anyio
async def test_a_failed_async_sync_leaves_no_writer_thread(tmp_path: Path) -> None:
    assert dataset_writer_threads() == []
    fake = FakeShortPen(seed=4, events_per_day=5, faults=FaultPlan({2: Fault.server_error(500)}))

    async def no_sleep(seconds: float) -> None:
        return None

    async with AsyncShortPen(
        fake.token,
        http_client=httpx.AsyncClient(transport=fake.transport()),
        sleep=no_sleep,
        max_retries=0,
        max_concurrency=1,
    ) as asp:
        with pytest.raises(ServerError):
            await asp.sync("2025-01-01", "2025-01-14", output_dir=tmp_path)
    assert (tmp_path / "date=2025-01-07").is_dir()
    assert dataset_writer_threads() == []
