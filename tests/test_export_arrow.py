"""Parquet straight from the response bytes (``_export.body_to_table``): the same table as decoding the
events first, or None (the caller then decodes as usual)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shortpen_api_client._decode import decode_events
from shortpen_api_client._engine import ascending
from shortpen_api_client._export import body_to_table, events_to_table, parquet_schema
from shortpen_api_client._windows import Window
from shortpen_api_client.errors import InvalidResponseError
from shortpen_api_client.testing import FakeShortPen

from .test_export import created_ats, event, json_values, server_events

SCHEMA = parquet_schema()
WINDOW = Window(dt.date(2025, 1, 1), dt.date(2025, 1, 1))  # only named in error messages


def body(data: Any, **envelope: Any) -> bytes:
    document = {"success": True, "status_code": 200, "message": "", "data": data, **envelope}
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def decoded_table(content: bytes) -> Any:
    """What the export writes for this body when it decodes the events first."""
    return events_to_table(ascending(decode_events(content), WINDOW), SCHEMA)


def test_the_fakes_responses_take_the_arrow_path_and_give_the_same_table() -> None:
    fake = FakeShortPen(seed=5, events_per_day=300)
    content = body(fake.events("2025-03-28", "2025-04-02", workspace_id=31))
    table = body_to_table(content, SCHEMA)
    assert table is not None
    assert table.num_rows > 1000
    assert table.equals(decoded_table(content))
    assert table.schema.equals(SCHEMA, check_metadata=True)


def test_a_pretty_printed_body_gives_the_same_table() -> None:
    content = json.dumps({"success": True, "data": [event(1), event(2)]}, indent=2).encode()
    table = body_to_table(content, SCHEMA)
    assert table is not None
    assert table.equals(decoded_table(content))


def test_an_empty_window() -> None:
    table = body_to_table(body([]), SCHEMA)
    assert table is not None
    assert table.num_rows == 0


@pytest.mark.parametrize(
    "content",
    [
        body([event(2, "2025-01-01T10:00:00+00:00"), event(1, "2025-01-01T09:00:00+00:00")]),  # to sort
        body([{**event(1), "created_at": None}]),
        body([{k: v for k, v in event(1).items() if k != "created_at"}]),
        body(
            [{**event(1), "id": 1.0}]
        ),  # Arrow's Python conversion takes 1.0 for an int64; its JSON reader not
        body([event(1, domain=7)]),
        body([None]),
        body([event(1)], success=False),
        body([event(1)], success="true"),
        body(None),
        body({"id": 1}),
        body([event(1)]) + body([event(2)]),
        b"<html>502 Bad Gateway</html>",
        b"",
        body([event(1)])[:-3],
    ],
)
def test_what_it_cannot_read_exactly_goes_the_usual_way(content: bytes) -> None:
    assert body_to_table(content, SCHEMA) is None


unusual_events = st.one_of(
    server_events,
    server_events.map(lambda e: {**e, "id": float(e["id"] % 2**40)}),
    st.builds(lambda e, at: {**e, "created_at": at}, server_events, created_ats | json_values),
)


@settings(max_examples=150, deadline=None)
@given(events=st.lists(unusual_events, max_size=5))
def test_when_it_reads_a_body_it_is_the_table_of_the_decoded_events(events: list[dict[str, Any]]) -> None:
    content = body(events)
    table = body_to_table(content, SCHEMA)
    if table is None:
        return
    try:
        expected = decoded_table(content)
    except (InvalidResponseError, ValueError) as exc:
        pytest.fail(f"the Arrow path took a body the usual way refuses: {exc}")
    assert table.equals(expected)


@settings(max_examples=50, deadline=None)
@given(
    events=st.lists(server_events, max_size=5).map(
        lambda es: sorted(es, key=lambda e: dt.datetime.fromisoformat(e["created_at"]))  # by instant
    )
)
def test_ordinary_sorted_events_take_the_arrow_path(events: list[dict[str, Any]]) -> None:
    table = body_to_table(body(events), SCHEMA)
    assert table is not None
    assert table.equals(decoded_table(body(events)))
