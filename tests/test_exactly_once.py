"""Hostile bodies, in every path: exactly once at window edges, and a response that breaks the spec is
an InvalidResponseError naming the window (and the field), never a silent change or a bare error.

Every path is one function below (``deliver``): clicks(), clicks_table(), clicks_batches(), export to
JSONL / CSV / Parquet, sync, each on ShortPen and on AsyncShortPen. The servers are httpx
``MockTransport`` handlers that answer each window with what the scenario says.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from shortpen_api_client import AsyncShortPen, ShortPen, _decode
from shortpen_api_client.errors import InvalidResponseError

Event = dict[str, Any]
Scenario = Callable[[dt.date, dt.date], list[Event]]
START, END = dt.date(2025, 1, 1), dt.date(2025, 1, 4)  # two windows of two days
PATHS = ["clicks", "table", "batches", "jsonl", "csv", "parquet", "sync"]


def event(ident: int, created_at: str, **fields: Any) -> Event:
    return {
        "id": ident,
        "workspace_id": 24,
        "organization_id": 3,
        "url_id": 501,
        "domain": "go.shortpen.com",
        "country": "DE",
        "created_at": created_at,
        **fields,
    }


def day_events(day: dt.date) -> list[Event]:
    """Three clicks a local day (+01:00), the first at local midnight; ids from the day."""
    base = (day - START).days * 10 + 10
    return [
        event(base + 1, f"{day}T00:00:00+01:00"),
        event(base + 2, f"{day}T12:00:00.250+01:00"),
        event(base + 3, f"{day}T23:59:59+01:00"),
    ]


def honest(start: dt.date, end: dt.date) -> list[Event]:
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    return [e for d in days for e in day_events(d)]


ALL = honest(START, END)
ALL_IDS = [e["id"] for e in ALL]


def transport(
    scenario: Scenario, raw: Callable[[dt.date, dt.date], bytes] | None = None
) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        start, end = dt.date.fromisoformat(body["start"]), dt.date.fromisoformat(body["end"])
        if raw is not None:
            return httpx.Response(200, content=raw(start, end), headers={"content-type": "application/json"})
        document = {"success": True, "status_code": 200, "message": "", "data": scenario(start, end)}
        return httpx.Response(200, json=document)

    return httpx.MockTransport(handle)


def _rows(path: str, tmp: Path) -> list[dict[str, Any]]:
    if path == "jsonl":
        return [json.loads(line) for line in (tmp / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    if path == "csv":
        with (tmp / "out.csv").open(newline="", encoding="utf-8") as file:
            return [{**row, "id": int(row["id"])} for row in csv.DictReader(file)]
    if path == "parquet":
        rows: list[dict[str, Any]] = pq.read_table(tmp / "out.parquet").to_pylist()
        return rows
    days = sorted((tmp / "dataset").glob("date=*/part-0.parquet"))
    return [row for day in days for row in pq.read_table(day).to_pylist()]


def deliver(path: str, tmp: Path, scenario: Scenario, *, asynchronous: bool = False, **kw: Any) -> list[Any]:
    """The ids (or rows) one path delivers for START..END against ``scenario``."""
    options: dict[str, Any] = {"base_url": "https://api.shortpen.com", "window_days": 2, "max_retries": 0}
    if asynchronous:
        return asyncio.run(_deliver_async(path, tmp, scenario, options, **kw))
    http = httpx.Client(transport=transport(scenario, **kw), base_url=options["base_url"])
    with ShortPen("test-token", http_client=http, **options) as client:
        if path == "clicks":
            return [e.to_dict() for e in client.clicks(START, END)]
        if path == "table":
            table: list[Any] = client.clicks_table(START, END).to_pylist()
            return table
        if path == "batches":
            return [row for batch in client.clicks_batches(START, END) for row in batch.to_pylist()]
        if path == "sync":
            client.sync(START, END, output_dir=tmp / "dataset")
        else:
            client.export(START, END, tmp / f"out.{path}")
    return _rows(path, tmp)


async def _deliver_async(
    path: str, tmp: Path, scenario: Scenario, options: dict[str, Any], **kw: Any
) -> list[Any]:
    async def no_sleep(seconds: float) -> None:
        pass

    http = httpx.AsyncClient(transport=transport(scenario, **kw), base_url=options["base_url"])
    async with AsyncShortPen("test-token", http_client=http, sleep=no_sleep, **options) as client:
        if path == "clicks":
            return [e.to_dict() async for e in client.clicks(START, END)]
        if path == "table":
            table: list[Any] = (await client.clicks_table(START, END)).to_pylist()
            return table
        if path == "batches":
            return [row async for batch in client.clicks_batches(START, END) for row in batch.to_pylist()]
        if path == "sync":
            await client.sync(START, END, output_dir=tmp / "dataset")
        else:
            await client.export(START, END, tmp / f"out.{path}")
    await http.aclose()
    return _rows(path, tmp)


def ids(rows: list[Any]) -> list[int]:
    return [row["id"] for row in rows]


every_path = pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
each_path = pytest.mark.parametrize("path", PATHS)


# -- exactly once ------------------------------------------------------------------------------------------


def inclusive_end(start: dt.date, end: dt.date) -> list[Event]:
    """Each answer also carries the next day's first click (local midnight): an inclusive end."""
    return [*honest(start, end), day_events(end + dt.timedelta(days=1))[0]]


def repeated(start: dt.date, end: dt.date) -> list[Event]:
    """The same click twice in a window, and the last click of a window again in the next one."""
    events = honest(start, end)
    events.insert(2, dict(events[1]))
    if start > START:  # the previous window's last event, sent again (at another instant)
        events.insert(0, event(ALL_IDS[5], f"{start}T00:30:00+01:00"))
    return events


@every_path
@each_path
@pytest.mark.parametrize("scenario", [inclusive_end, repeated])
def test_each_event_once_in_range_and_one_warning_per_window(
    path: str, asynchronous: bool, scenario: Scenario, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="shortpen_api_client"):
        rows = deliver(path, tmp_path, scenario, asynchronous=asynchronous)
    assert ids(rows) == ALL_IDS
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2  # one per window, each naming its window and its counts
    if scenario is inclusive_end:
        assert warnings[0].startswith("2025-01-01..2025-01-02: dropped 1 event(s)")
        assert "1 at the first instant of the next day" in warnings[1]
    else:
        assert "1 repeating an id earlier in the window" in warnings[0]
        assert "1 repeating an id the previous window delivered" in warnings[1]


def hours_into_the_next_day(start: dt.date, end: dt.date) -> list[Event]:
    """UTC days shown in local time, say: a window reaches three hours into the next day."""
    return [*honest(start, end), event(99, f"{end + dt.timedelta(days=1)}T03:00:00+01:00")]


@every_path
@each_path
def test_a_window_reaching_past_its_days_is_an_error_not_a_trim(
    path: str, asynchronous: bool, tmp_path: Path
) -> None:
    with pytest.raises(
        InvalidResponseError, match=r"^2025-01-01\.\.2025-01-02: event 99 .*outside the window"
    ):
        deliver(path, tmp_path, hours_into_the_next_day, asynchronous=asynchronous)
    assert not list(tmp_path.glob("out.*"))  # an export leaves no file


# -- values that break the spec ---------------------------------------------------------------------------


def with_first(**fields: Any) -> Scenario:
    def scenario(start: dt.date, end: dt.date) -> list[Event]:
        events = honest(start, end)
        events[0] = {**events[0], **fields}
        return events

    return scenario


BROKEN = {
    "wrong type": (with_first(id="abc"), r"'id' = 'abc' \(str\), not an integer"),
    "required null": (with_first(workspace_id=None), r"'workspace_id' = null, not an integer"),
    "required absent": (with_first(domain=...), r"has no 'domain', a required field"),
    "bool for int": (with_first(url_id=True), r"'url_id' = True \(bool\), not an integer"),
    "beyond 64 bits": (with_first(id=2**70), r"'id' = 1180591620717411303424, beyond a 64-bit integer"),
    "no offset": (with_first(created_at="2025-01-01T10:00:00"), r"without a UTC offset"),
    "not a date-time": (with_first(created_at="yesterday"), r"'yesterday', not an ISO 8601 date-time"),
}


def _drop_ellipsis(scenario: Scenario) -> Scenario:
    return lambda s, e: [{k: v for k, v in ev.items() if v is not ...} for ev in scenario(s, e)]


@every_path
@each_path
@pytest.mark.parametrize("case", list(BROKEN))
def test_a_value_that_breaks_the_spec_names_the_window_and_the_field(
    path: str, asynchronous: bool, case: str, tmp_path: Path
) -> None:
    scenario, message = BROKEN[case]
    with pytest.raises(InvalidResponseError, match=r"^2025-01-01\.\.2025-01-02: event .*" + message):
        deliver(path, tmp_path, _drop_ellipsis(scenario), asynchronous=asynchronous)


def test_beyond_64_bits_is_reported_exactly_with_and_without_orjson(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = with_first(id=2**70)
    with pytest.raises(InvalidResponseError, match="1180591620717411303424") as with_orjson:
        deliver("clicks", tmp_path, scenario)
    monkeypatch.setattr(_decode, "_loads", _decode.loads_exact)
    monkeypatch.setattr(_decode, "LOSSY_INTEGERS", False)
    with pytest.raises(InvalidResponseError) as stdlib:
        deliver("clicks", tmp_path, scenario)
    assert str(stdlib.value) == str(with_orjson.value)


def test_a_big_integer_in_an_unknown_field_is_kept_exactly(tmp_path: Path) -> None:
    """orjson would read it as a float: the body is decoded again with the standard library."""
    scenario = with_first(ref=2**70, nested={"a": [2**65]})
    for path in ("clicks", "jsonl"):
        rows = deliver(path, tmp_path, scenario)
        assert rows[0]["ref"] == 2**70
        assert rows[0]["nested"] == {"a": [2**65]}
    rows = deliver("csv", tmp_path, scenario)
    assert rows[0]["_extra"] == '{"nested":{"a":[36893488147419103232]},"ref":1180591620717411303424}'


@pytest.mark.parametrize("decoder", ["orjson", "stdlib"])
def test_a_body_nested_too_deep_is_an_invalid_response_not_a_recursion_error(
    decoder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if decoder == "stdlib":
        monkeypatch.setattr(_decode, "_loads", _decode.loads_exact)
        monkeypatch.setattr(_decode, "LOSSY_INTEGERS", False)
    deep = b'{"success": true, "data": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}"
    with pytest.raises(
        InvalidResponseError, match=r"^2025-01-01\.\.2025-01-02: a 200 response that is not valid JSON"
    ):
        deliver("clicks", tmp_path, honest, raw=lambda s, e: deep)


# -- fields the spec does not know ------------------------------------------------------------------------


@every_path
@each_path
def test_unknown_fields_are_kept_and_named_once(
    path: str, asynchronous: bool, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    scenario = with_first(utm_source="mail", beta=None)
    with caplog.at_level(logging.INFO, logger="shortpen_api_client"):
        rows = deliver(path, tmp_path, scenario, asynchronous=asynchronous)
    infos = [r.getMessage() for r in caplog.records if "the spec does not know" in r.getMessage()]
    assert len(infos) == 1
    assert "beta, utm_source" in infos[0]
    first = rows[0]
    if path in ("clicks", "jsonl"):
        assert (first["utm_source"], first["beta"]) == ("mail", None)  # as sent
    else:
        assert first["_extra"] == '{"utm_source":"mail"}'  # nulls left out, keys sorted
        assert rows[1]["_extra"] in (None, "")
