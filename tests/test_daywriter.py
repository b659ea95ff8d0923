"""Day files made durable in batches (``_daywriter``): when a batch is recorded, what a failure leaves,
and the same dataset either way (batched with syncfs, or one file at a time)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from shortpen_api_client import SPEC_SHA256, ServerError, ShortPen, __version__
from shortpen_api_client import _daywriter as daywriter
from shortpen_api_client._dataset import Dataset
from shortpen_api_client._daywriter import FLUSH_DAYS, FLUSH_SECONDS, DayWriter
from shortpen_api_client._durable import syncfs_available
from shortpen_api_client._schema import EVENT
from shortpen_api_client.testing import FakeShortPen, Fault, FaultPlan

from .test_jobs import dataset_events, expected_by_day

D1 = date(2025, 1, 1)
FETCHED_AT = datetime(2030, 1, 1, tzinfo=UTC)


def client(fake: FakeShortPen, **options: Any) -> ShortPen:
    return ShortPen(
        fake.token, http_client=httpx.Client(transport=fake.transport()), sleep=lambda s: None, **options
    )


def stage(writer: DayWriter, first: date, count: int) -> None:
    days: dict[date, list[dict[str, Any]]] = {first + timedelta(days=i): [] for i in range(count)}
    writer.stage(
        days, fields=EVENT, fetched_at=FETCHED_AT, client_version=__version__, spec_sha256=SPEC_SHA256
    )


def due(writer: DayWriter) -> bool:
    return writer.due  # (a function: mypy would narrow the property across the asserts)


def test_a_batch_is_due_after_its_days_or_its_seconds(tmp_path: Path) -> None:
    now = [100.0]
    writer = DayWriter(tmp_path, "jsonl", batched=True, clock=lambda: now[0])
    stage(writer, D1, FLUSH_DAYS - 1)
    assert not due(writer)
    stage(writer, D1 + timedelta(days=FLUSH_DAYS), 1)
    assert due(writer)  # FLUSH_DAYS staged
    assert len(writer.publish()) == FLUSH_DAYS
    assert not due(writer)
    stage(writer, D1, 1)
    now[0] += FLUSH_SECONDS - 0.01
    assert not due(writer)
    now[0] += 0.01
    assert due(writer)  # a second since the last publish
    writer.shutdown()


@pytest.mark.parametrize("batched", [True, False])
def test_staged_days_are_renamed_into_place_only_when_published(tmp_path: Path, batched: bool) -> None:
    if batched and not syncfs_available():
        pytest.skip("syncfs: Linux 5.8+")
    writer = DayWriter(tmp_path, "jsonl", batched=batched)
    stage(writer, D1, 3)
    placed = sorted(p.name for p in tmp_path.glob("date=*/part-0.jsonl"))
    assert placed == ([] if batched else ["part-0.jsonl"] * 3)  # one by one: durable as written
    assert len(writer.publish()) == 3
    assert len(list(tmp_path.glob("date=*/part-0.jsonl"))) == 3
    assert list(tmp_path.rglob("*.tmp")) == []
    writer.shutdown()


@pytest.mark.parametrize("empty", [True, False])
def test_a_failed_day_stages_none_of_its_window_and_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, empty: bool
) -> None:
    """The third of four days fails: the two written before it are removed, none is staged (a window of
    empty days is written in this thread, others in the writer threads: both ways)."""
    writes = []
    real = DayWriter._write

    def third_fails(self: DayWriter, target: Path, events: Any, fields: Any) -> Any:
        writes.append(target)
        if len(writes) == 3:
            raise OSError(28, "No space left on device")
        return real(self, target, events, fields)

    monkeypatch.setattr(DayWriter, "_write", third_fails)
    writer = DayWriter(tmp_path, "jsonl", batched=True)
    events = [] if empty else [{"id": 1, "created_at": "2025-01-01T10:00:00+00:00"}]
    days: dict[date, list[dict[str, Any]]] = {
        D1 + timedelta(days=i): events if i == 0 else [] for i in range(4)
    }
    with pytest.raises(OSError, match="No space"):
        writer.stage(
            days, fields=EVENT, fetched_at=FETCHED_AT, client_version=__version__, spec_sha256=SPEC_SHA256
        )
    assert len(writes) >= 3
    assert list(tmp_path.rglob("*.tmp")) == []
    assert writer.publish() == []
    writer.shutdown()


def test_a_failed_publish_records_nothing_and_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(directories: Any) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(daywriter, "syncfs_available", lambda: True)
    monkeypatch.setattr(daywriter, "syncfs", failing)
    dataset = Dataset(tmp_path, format="jsonl")
    with pytest.raises(OSError, match="Input/output"):
        dataset.write_days(
            {D1: [], D1 + timedelta(days=1): []},
            fetched_at=FETCHED_AT,
            client_version=__version__,
            spec_sha256=SPEC_SHA256,
        )
    assert dataset.records == {}
    assert list(tmp_path.rglob("*.tmp")) == []
    assert list(tmp_path.glob("date=*/part-0.jsonl")) == []
    dataset.close()
    assert Dataset(tmp_path, format="jsonl").records == {}


def test_the_days_written_before_a_failed_window_are_recorded(tmp_path: Path) -> None:
    """Windows are recorded in batches; a sync that fails still records the days it wrote."""
    fake = FakeShortPen(seed=4, events_per_day=5, faults=FaultPlan({3: Fault.server_error(500)}))
    with client(fake, max_concurrency=1, max_retries=0) as sp, pytest.raises(ServerError):
        sp.sync("2025-01-01", "2025-01-21", output_dir=tmp_path)
    complete = Dataset(tmp_path).complete_days()
    assert complete == {D1 + timedelta(days=i) for i in range(14)}  # two windows of seven


@pytest.mark.parametrize("batched", [True, False])
def test_the_same_dataset_either_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batched: bool) -> None:
    if batched and not syncfs_available():
        pytest.skip("syncfs: Linux 5.8+")
    monkeypatch.setattr(daywriter, "syncfs_available", lambda: batched)
    fake = FakeShortPen(seed=9, events_per_day=20)
    with client(fake) as sp:
        sp.sync("2025-01-01", "2025-02-10", output_dir=tmp_path)
        again = sp.sync("2025-01-01", "2025-02-10", output_dir=tmp_path)
    assert again.days_skipped == 41 - 3
    assert dataset_events(tmp_path) == expected_by_day(fake, "2025-01-01", "2025-02-10")
    assert not list(tmp_path.rglob(".*.tmp"))
