"""The columnar API (``clicks_table`` / ``clicks_batches``): the events of clicks(), in its order, with
the Parquet export's schema; the same on AsyncShortPen; and the fast paths hold on realistic bodies
(counted: ``_decode.FALLBACKS``)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shortpen_api_client import AnalyticsEvent, AsyncShortPen, ShortPen, _async_client, _formats
from shortpen_api_client._arrow import arrow_schema
from shortpen_api_client._arrow_body import body_to_table, window_table
from shortpen_api_client._decode import FALLBACKS
from shortpen_api_client.testing import FakeShortPen

from ._realistic import in_order, realistic

RANGE = (dt.date(2025, 3, 24), dt.date(2025, 4, 6))  # a DST change (Europe/Berlin, 2025-03-30)
URL = "https://api.shortpen.com"


@pytest.fixture(scope="module")
def fake() -> FakeShortPen:
    return FakeShortPen(seed=11, events_per_day=150, timezone="Europe/Berlin")


def instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def test_clicks_table_is_exactly_the_fakes_events_in_order(fake: FakeShortPen) -> None:
    http = httpx.Client(transport=fake.transport(), base_url=URL)
    with ShortPen(fake.token, http_client=http, window_days=3) as client:
        table = client.clicks_table(*RANGE, workspace_id=31)
    want = fake.events(*RANGE, workspace_id=31)
    assert table.num_rows == len(want) > 1000
    assert table.column("id").to_pylist() == [e["id"] for e in want]
    rows = table.to_pylist()
    for row, sent in zip(rows, want, strict=True):
        assert row["created_at"] == instant(sent["created_at"])
        offset = instant(sent["created_at"]).utcoffset()
        assert offset is not None
        assert row["created_at_offset"] == offset.total_seconds() // 60
        assert row["_extra"] is None
        assert {k: row[k] for k in sent if k != "created_at"} == {
            k: v for k, v in sent.items() if k != "created_at"
        }
    instants = table.column("created_at").to_pylist()
    assert instants == sorted(instants)


def test_same_schema_as_the_parquet_export_and_the_same_rows(fake: FakeShortPen, tmp_path: Path) -> None:
    http = httpx.Client(transport=fake.transport(), base_url=URL)
    with ShortPen(fake.token, http_client=http, window_days=4) as client:
        batches = list(client.clicks_batches(*RANGE))
        client.export(*RANGE, tmp_path / "clicks.parquet")
    written = pq.read_table(tmp_path / "clicks.parquet")
    assert all(batch.schema.equals(written.schema, check_metadata=True) for batch in batches)
    assert written.schema.equals(arrow_schema(), check_metadata=True)
    assert pa.Table.from_batches(batches).equals(written)
    assert len(batches) == 4  # one a window: 14 days in windows of 4


def test_async_gives_the_same_table_and_batches(fake: FakeShortPen) -> None:
    http = httpx.Client(transport=fake.transport(), base_url=URL)
    with ShortPen(fake.token, http_client=http, window_days=3) as client:
        expected = client.clicks_table(*RANGE)

    async def run() -> tuple[Any, list[Any]]:
        async with AsyncShortPen(
            fake.token,
            base_url=URL,
            window_days=3,
            http_client=httpx.AsyncClient(transport=fake.transport(), base_url=URL),
        ) as client:
            table = await client.clicks_table(*RANGE)
            batches = [batch async for batch in client.clicks_batches(*RANGE)]
        return table, batches

    table, batches = asyncio.run(run())
    assert table.equals(expected)
    assert pa.Table.from_batches(batches, schema=arrow_schema()).equals(expected)


def test_an_empty_range_is_an_empty_table_with_the_schema(fake: FakeShortPen) -> None:
    http = httpx.Client(transport=fake.transport(), base_url=URL)
    with ShortPen(fake.token, http_client=http) as client:
        table = client.clicks_table("2025-01-01", "2025-01-02", url_id=999)
    assert table.num_rows == 0
    assert table.schema.equals(arrow_schema(), check_metadata=True)


def test_bad_arguments_are_refused_before_any_request() -> None:
    fake = FakeShortPen()
    http = httpx.Client(transport=fake.transport(), base_url=URL)
    with ShortPen(fake.token, http_client=http) as client, pytest.raises(ValueError, match="start"):
        client.clicks_batches("2025-13-01", "2025-01-02")
    assert fake.requests == []


# -- realistic bodies: the fast paths hold ------------------------------------------------------------------


def realistic_transport(fake: FakeShortPen) -> httpx.MockTransport:
    """The fake's events of each requested window, shaped like a real server's (tests/_realistic.py)."""

    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        events = realistic(fake.events(body["start"], body["end"]), seed=hash(body["start"]) % 1000)
        return httpx.Response(200, json={"success": True, "status_code": 200, "message": "", "data": events})

    return httpx.MockTransport(handle)


def expected_realistic(fake: FakeShortPen, window_days: int) -> list[dict[str, Any]]:
    start, end = RANGE
    out = []
    while start <= end:
        last = min(start + dt.timedelta(days=window_days - 1), end)
        out += in_order(realistic(fake.events(start, last), seed=hash(start.isoformat()) % 1000))
        start = last + dt.timedelta(days=1)
    return out


def test_realistic_bodies_take_the_fast_paths_in_every_columnar_path(
    fake: FakeShortPen, tmp_path: Path
) -> None:
    before = dict(FALLBACKS)
    http = httpx.Client(transport=realistic_transport(fake), base_url=URL)
    with ShortPen(fake.token, http_client=http, window_days=3) as client:
        table = client.clicks_table(*RANGE)
        client.export(*RANGE, tmp_path / "clicks.parquet")
        models = list(client.clicks(*RANGE))
    assert dict(FALLBACKS) == before  # no body fell back to the Python path, no event to from_dict
    want = expected_realistic(fake, 3)
    assert table.column("id").to_pylist() == [e["id"] for e in want] == [m.id for m in models]
    assert pq.read_table(tmp_path / "clicks.parquet").equals(table)
    assert models == [AnalyticsEvent.from_dict(e) for e in want]  # additional_properties included
    extras = table.column("_extra").to_pylist()
    assert all(json.loads(x).keys() == {"session_ms", "utm_source"} for x in extras)
    nulls = table.column("country").null_count
    assert 0.1 < nulls / table.num_rows < 0.35  # absent and null both null (the fake's own absences too)


def test_async_reads_bodies_through_the_fast_path_in_the_decoding_thread(
    fake: FakeShortPen, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AsyncShortPen converts each window as ShortPen does: from the body with pyarrow's reader, in
    the decoding thread, never on the event loop (it decoded JSON on the loop and converted after:
    0.35x of ShortPen's Parquet export)."""
    readers: list[str] = []

    def watched(real: Any) -> Any:
        def read(content: bytes, *args: Any) -> Any:
            readers.append(threading.current_thread().name)
            return real(content, *args)

        return read

    monkeypatch.setattr(_async_client, "window_table", watched(window_table))  # the names both modules use
    monkeypatch.setattr(_formats, "body_to_table", watched(body_to_table))
    before = dict(FALLBACKS)

    async def main() -> pa.Table:
        http = httpx.AsyncClient(transport=realistic_transport(fake), base_url=URL)
        async with AsyncShortPen(fake.token, http_client=http, window_days=3) as client:
            table = await client.clicks_table(*RANGE)
            await client.export(*RANGE, tmp_path / "clicks.parquet")
            return table

    table = asyncio.run(main())
    windows = 5  # 14 days in windows of 3
    assert len(readers) == 2 * windows
    assert {name.split("_")[0] for name in readers} == {"shortpen-decode"}
    assert dict(FALLBACKS) == before
    assert table.column("id").to_pylist() == [e["id"] for e in expected_realistic(fake, 3)]
    assert pq.read_table(tmp_path / "clicks.parquet").equals(table)
