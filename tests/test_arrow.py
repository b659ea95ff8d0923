"""Arrow straight from the response bytes (``_arrow.body_to_table``): once the window rules have run,
the same table as decoding and checking the events first; or None (the caller then decodes as usual),
counted in ``_decode.FALLBACKS``."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shortpen_api_client._arrow import arrow_schema, events_columns, events_to_table
from shortpen_api_client._arrow_body import body_to_table, readable
from shortpen_api_client._decode import FALLBACKS, decode_events
from shortpen_api_client._engine import ascending
from shortpen_api_client._windows import Window
from shortpen_api_client.errors import InvalidResponseError
from shortpen_api_client.testing import FakeShortPen

from ._realistic import body, in_order, realistic
from .test_export import created_ats, event, json_values, server_events

SCHEMA = arrow_schema()
DAY = Window(dt.date(2025, 1, 1), dt.date(2025, 1, 1))
BERLIN_DST = Window(dt.date(2025, 3, 27), dt.date(2025, 4, 1))  # 2025-03-30 has 23 hours


def decoded_table(content: bytes, window: Window = DAY) -> Any:
    """What the export writes for this body when it decodes and checks the events first."""
    return events_columns(ascending(decode_events(content), window, content)).table


def arrow_table(content: bytes, window: Window = DAY) -> Any:
    """What the Arrow path gives for this body once the window is delivered; None if it declined."""
    columns = body_to_table(content, SCHEMA)
    if columns is None:
        return None
    edged, _, _ = columns.edge(window.as_tuple(), frozenset())
    return edged.table


def test_the_fakes_responses_take_the_arrow_path_and_give_the_same_table() -> None:
    fake = FakeShortPen(seed=5, events_per_day=300, timezone="Europe/Berlin")
    content = body(fake.events(BERLIN_DST.start, BERLIN_DST.end, workspace_id=31))
    table = arrow_table(content, BERLIN_DST)
    assert table is not None
    assert table.num_rows > 1000
    assert table.equals(decoded_table(content, BERLIN_DST))
    assert table.schema.equals(SCHEMA, check_metadata=True)


def test_realistic_bodies_take_the_arrow_path_with_no_fallback() -> None:
    """Absent and null optionals, unknown fields, sub-second stamps, ties, inversions, a DST day."""
    fake = FakeShortPen(seed=5, events_per_day=300, timezone="Europe/Berlin")
    events = realistic(fake.events(BERLIN_DST.start, BERLIN_DST.end, workspace_id=31))
    content = body(events)
    before = FALLBACKS["arrow"]
    table = arrow_table(content, BERLIN_DST)
    assert FALLBACKS["arrow"] == before
    assert table is not None
    assert table.equals(decoded_table(content, BERLIN_DST))
    expected = in_order(events)
    assert table.column("id").to_pylist() == [e["id"] for e in expected]  # sorted, ties as sent
    assert table.column("_extra").to_pylist()[:3] == [
        json.dumps({"session_ms": e["session_ms"], "utm_source": e["utm_source"]}, ensure_ascii=False)
        .replace(", ", ",")
        .replace(": ", ":")
        for e in expected[:3]
    ]
    offsets = set(table.column("created_at_offset").to_pylist())
    assert offsets == {60, 120}  # CET and CEST


def test_a_pretty_printed_body_gives_the_same_table() -> None:
    content = json.dumps({"success": True, "data": [event(1), event(2)]}, indent=2).encode()
    table = arrow_table(content)
    assert table is not None
    assert table.equals(decoded_table(content))


def test_an_empty_window() -> None:
    table = arrow_table(body([]))
    assert table is not None
    assert table.num_rows == 0


def test_unknown_text_that_looks_like_a_date_time_stays_text() -> None:
    """pyarrow infers a timestamp from such text: it is read again as text, never converted."""
    content = body([event(1, seen_at="2025-01-01T00:00:00"), event(2, seen_at="2024-12-31 10:00:00")])
    table = arrow_table(content)
    assert table is not None
    assert table.column("_extra").to_pylist() == [
        '{"seen_at":"2025-01-01T00:00:00"}',
        '{"seen_at":"2024-12-31 10:00:00"}',
    ]
    assert table.equals(decoded_table(content))


@pytest.mark.parametrize(
    "content",
    [
        body([{**event(1), "created_at": None}]),
        body([{k: v for k, v in event(1).items() if k != "created_at"}]),
        body([{k: v for k, v in event(1).items() if k != "domain"}]),  # a required field
        body([{**event(1), "id": 1.0}]),  # Arrow's Python conversion takes 1.0 for an int64; JSON not
        body([{**event(1), "id": 2**70}]),
        body([event(1, domain=7)]),
        body([event(1, "2025-01-01T09:30:00")]),  # no offset
        body([event(1, extra=1.5)]),  # an unknown float: the usual path writes it
        body([event(1, extra=[1])]),
        body([event(1, extra="tab\there")]),  # a control character to escape
        body([None]),
        body([event(1)], success=False),
        body([event(1)], success="true"),
        body(None),
        body({"id": 1}),
        body([event(1)]) + body([event(2)]),
        b"<html>502 Bad Gateway</html>",
        b"",
        body([event(1)])[:-3],
        body([event(1, domain="x")]).replace(b'"x"', b'"\xff"'),  # not UTF-8: pyarrow's reader takes it
        body([event(1, extra="x")]).replace(b'"x"', b'"\xff"'),
        b"\xef\xbb\xbf" + body([event(1)]),  # a byte order mark: pyarrow's reader takes it too
    ],
)
def test_what_it_cannot_read_exactly_goes_the_usual_way_and_is_counted(content: bytes) -> None:
    before = FALLBACKS["arrow"]
    assert body_to_table(content, SCHEMA) is None
    assert FALLBACKS["arrow"] == before + 1


def test_edge_spills_and_repeated_ids_are_dropped_when_the_window_is_delivered() -> None:
    events = [
        event(1, "2025-01-01T00:00:00+01:00"),
        event(2, "2025-01-01T12:00:00+01:00"),
        event(2, "2025-01-01T13:00:00+01:00"),  # the same id again: dropped
        event(3, "2025-01-02T00:00:00+01:00"),  # the first instant of the next day: dropped
    ]
    columns = body_to_table(body(events), SCHEMA)
    assert columns is not None
    edged, dropped, tail = columns.edge(DAY.as_tuple(), frozenset({1}))
    assert edged.table.column("id").to_pylist() == [2]
    assert (edged.trim.repeated, edged.trim.outside, dropped.delivered) == (1, 1, 1)
    assert tail == frozenset({1, 2})  # the ids of the window's last day, before the cross-window drop


def test_an_event_hours_into_the_next_day_is_a_mismatch_not_a_drop() -> None:
    columns = body_to_table(body([event(1), event(2, "2025-01-02T03:00:00+01:00")]), SCHEMA)
    assert columns is not None
    with pytest.raises(InvalidResponseError, match=r"^2025-01-01: event 2 .* local time 2025-01-02T03:00:00"):
        columns.edge(DAY.as_tuple(), frozenset())


unusual_events = st.one_of(
    server_events,
    server_events.map(lambda e: {**e, "id": float(e["id"] % 2**40)}),
    st.builds(lambda e, at: {**e, "created_at": at}, server_events, created_ats | json_values),
)


def _wide(events: list[dict[str, Any]]) -> Window:
    """A window holding every event's local date (when they have one)."""
    days = sorted({e["created_at"][:10] for e in events if isinstance(e.get("created_at"), str)})
    try:
        return Window(dt.date.fromisoformat(days[0]), dt.date.fromisoformat(days[-1]))
    except (IndexError, ValueError):
        return DAY


@settings(max_examples=150, deadline=None)
@given(events=st.lists(unusual_events, max_size=5))
def test_when_it_reads_a_body_it_is_the_table_of_the_checked_events(events: list[dict[str, Any]]) -> None:
    content = body(events)
    window = _wide(events)
    table = arrow_table(content, window)
    if table is None:
        return
    try:
        expected = decoded_table(content, window)
    except (InvalidResponseError, ValueError) as exc:
        pytest.fail(f"the Arrow path took a body the usual way refuses: {exc}")
    assert table.equals(expected)


@settings(max_examples=50, deadline=None)
@given(events=st.lists(server_events, max_size=5, unique_by=lambda e: e["id"]))
def test_ordinary_events_take_the_arrow_path(events: list[dict[str, Any]]) -> None:
    plain = [{k: v for k, v in e.items() if not isinstance(v, float | list | dict)} for e in events]
    content = body(plain)
    if any("\\u00" in json.dumps(e.get("_"), ensure_ascii=False) for e in plain):
        return
    columns = body_to_table(content, SCHEMA)
    if columns is None:  # only an unknown field with a control character, or of two JSON types, declines
        if not readable(pa, content):  # or a text that looks like a nested container (":[", ",[")
            texts = [str(x) for e in plain for item in e.items() for x in item]
            assert any(re.search(r"[:\[,][ \t\n\r]*[\[{]", text) for text in texts), texts
            return
        unknown = [(k, v) for e in plain for k, v in e.items() if k not in SCHEMA.names and v is not None]
        kinds: dict[str, set[type]] = {}
        for key, value in unknown:
            kinds.setdefault(key, set()).add(type(value))
        assert any(isinstance(v, str) and any(ord(c) < 32 for c in v) for _, v in unknown) or any(
            len(types) > 1 for types in kinds.values()
        )
        return
    window = _wide(plain)
    table, _, _ = columns.edge(window.as_tuple(), frozenset())
    assert table.table.equals(decoded_table(content, window))


def test_events_to_table_matches_the_schema_for_plain_lists() -> None:
    table = events_to_table([event(1, beta=True)])
    assert table.schema.equals(SCHEMA, check_metadata=True)
    assert table.column("_extra").to_pylist() == ['{"beta":true}']
    assert pa.types.is_int16(table.schema.field("created_at_offset").type)
