"""Arguments the calendar, the clock or the folder cannot take are InvalidArgumentError naming them,
before any request (issue 14.10): never an OverflowError or a bare PermissionError later."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from shortpen_api_client import AsyncShortPen, ShortPen
from shortpen_api_client._windows import plan_windows
from shortpen_api_client.errors import InvalidArgumentError
from shortpen_api_client.testing import FakeShortPen

URL = "https://api.shortpen.com"


def client(fake: FakeShortPen, **options: Any) -> ShortPen:
    return ShortPen(fake.token, http_client=httpx.Client(transport=fake.transport(), base_url=URL), **options)


@pytest.mark.parametrize(
    ("start", "end", "named"),
    [
        ("9999-12-31", "9999-12-31", "start must be between 1900-01-01 and 2999-12-31, got 9999-12-31"),
        ("2025-01-01", dt.date.max, "end must be between 1900-01-01 and 2999-12-31, got 9999-12-31"),
        (dt.date.min, "2025-01-01", "start must be between 1900-01-01 and 2999-12-31, got 0001-01-01"),
        ("3000-01-01", "3000-01-02", "start must be between"),
    ],
)
@pytest.mark.parametrize("method", ["clicks", "clicks_table", "export", "sync"])
def test_dates_the_calendar_cannot_follow_are_refused_before_any_request(
    start: object, end: object, named: str, method: str, tmp_path: Path
) -> None:
    fake = FakeShortPen()
    calls = {
        "clicks": lambda sp: sp.clicks(start, end),
        "clicks_table": lambda sp: sp.clicks_table(start, end),
        "export": lambda sp: sp.export(start, end, tmp_path / "x.jsonl"),
        "sync": lambda sp: sp.sync(start, end, output_dir=tmp_path / "d"),
    }
    with client(fake) as sp, pytest.raises(InvalidArgumentError, match=named):
        calls[method](sp)
    assert fake.requests == []
    assert list(tmp_path.iterdir()) == []


def test_the_last_accepted_day_works() -> None:
    fake = FakeShortPen()
    with client(fake) as sp:
        assert list(sp.clicks("2999-12-30", "2999-12-31")) == []  # the fake has no clicks then


@pytest.mark.parametrize("window_days", [3_000_000, 10**30])
def test_a_huge_window_is_one_window(window_days: int) -> None:
    fake = FakeShortPen(events_per_day=5)
    with client(fake, window_days=window_days) as sp:
        events = list(sp.clicks("2999-12-01", "2999-12-31"))
    assert events == []
    assert [r.body for r in fake.requests] == [{"start": "2999-12-01", "end": "2999-12-31"}]
    assert plan_windows(dt.date(2999, 12, 1), dt.date(2999, 12, 31), 10**30)[0].end == dt.date(2999, 12, 31)


@pytest.mark.parametrize("seconds", [float("inf"), 1e12, float("nan"), 10_000_001])
@pytest.mark.parametrize("name", ["timeout", "total_timeout"])
def test_timeouts_past_what_the_clock_takes_are_refused(name: str, seconds: float) -> None:
    options: dict[str, Any] = {name: seconds}
    with pytest.raises(InvalidArgumentError, match=f"{name} must be a positive number of seconds, at most"):
        ShortPen("token", **options)
    with pytest.raises(InvalidArgumentError, match=name):
        AsyncShortPen("token", **options)


def test_the_longest_timeout_is_accepted() -> None:
    ShortPen("token", timeout=10_000_000, total_timeout=10_000_000).close()


def test_a_huge_lookback_is_refused_before_any_request(tmp_path: Path) -> None:
    fake = FakeShortPen()
    with (
        client(fake) as sp,
        pytest.raises(InvalidArgumentError, match="lookback_days must be an integer <= 36_525"),
    ):
        sp.sync("2025-01-01", "2025-01-02", output_dir=tmp_path / "d", lookback_days=10**6)
    assert fake.requests == []


def test_an_output_folder_that_cannot_be_written_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As root a read-only folder is writable, so the refusal is simulated where the file is created."""
    real_open = os.open

    def refuse(path: Any, flags: int, *args: Any) -> int:
        if flags & os.O_CREAT:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", refuse)
    fake = FakeShortPen()
    output = tmp_path / "clicks.jsonl"
    with client(fake) as sp, pytest.raises(InvalidArgumentError) as info:
        sp.export("2025-01-01", "2025-01-02", output)
    assert str(info.value) == f"cannot write {str(output)!r}: Permission denied in {str(tmp_path)!r}"
    assert ".tmp" not in str(info.value)  # not our hidden temporary file
    assert fake.requests == []


def test_a_dataset_folder_that_cannot_be_created_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: Path, *args: Any, **kwargs: Any) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    fake = FakeShortPen()
    with (
        client(fake) as sp,
        pytest.raises(InvalidArgumentError, match=r"output_dir .* cannot be written: Permission denied"),
    ):
        sp.sync("2025-01-01", "2025-01-02", output_dir=tmp_path / "d")
    assert fake.requests == []


# -- export to a stream --------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_to_a_binary_stream_writes_what_a_file_would(fmt: str, tmp_path: Path) -> None:
    fake = FakeShortPen(events_per_day=30)
    stream = io.BytesIO()
    with client(fake, window_days=2) as sp:
        report = sp.export("2025-01-01", "2025-01-05", stream, format=fmt)
        sp.export("2025-01-01", "2025-01-05", tmp_path / f"file.{fmt}")
    assert stream.getvalue() == (tmp_path / f"file.{fmt}").read_bytes()
    assert (report.path, report.format, report.bytes) == (None, fmt, len(stream.getvalue()))
    assert report.events == len(fake.events("2025-01-01", "2025-01-05")) > 0
    if fmt == "jsonl":
        assert [json.loads(line) for line in stream.getvalue().splitlines()] == fake.events(
            "2025-01-01", "2025-01-05"
        )


def test_async_export_to_a_stream() -> None:
    fake = FakeShortPen(events_per_day=30)
    stream = io.BytesIO()

    async def run() -> None:
        http = httpx.AsyncClient(transport=fake.transport(), base_url=URL)
        async with AsyncShortPen(fake.token, http_client=http) as sp:
            await sp.export("2025-01-01", "2025-01-03", stream)
        await http.aclose()

    asyncio.run(run())
    assert [json.loads(line) for line in stream.getvalue().splitlines()] == fake.events(
        "2025-01-01", "2025-01-03"
    )


def test_parquet_needs_a_file() -> None:
    fake = FakeShortPen()
    with client(fake) as sp, pytest.raises(InvalidArgumentError, match="Parquet needs a file"):
        sp.export("2025-01-01", "2025-01-02", io.BytesIO(), format="parquet")
    assert fake.requests == []
