"""The window rules on their own (``_edges``): a reference implementation, written plainly, against
the one the client runs; and the cross-window half (``Delivery``)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shortpen_api_client._edges import Delivery, Events, checked
from shortpen_api_client.errors import InvalidResponseError

WINDOW = (dt.date(2025, 3, 29), dt.date(2025, 3, 30))
Event = dict[str, Any]


def event(ident: int, created_at: str) -> Event:
    return {
        "id": ident,
        "workspace_id": 1,
        "organization_id": 1,
        "url_id": 1,
        "domain": "d",
        "created_at": created_at,
    }


stamps = st.builds(
    lambda day, seconds, micros, offset: (
        f"{day}T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        + (f".{micros:06d}" if micros else "")
        + offset
    ),
    st.sampled_from(["2025-03-28", "2025-03-29", "2025-03-30", "2025-03-31"]),
    st.sampled_from([0, 1, 3600, 43200, 86399]),
    st.sampled_from([0, 0, 500_000]),
    st.sampled_from(["+01:00", "+02:00", "-07:00", "Z"]),
)
events_lists = st.lists(st.builds(event, st.integers(1, 6), stamps), max_size=8)


def reference(events: list[Event]) -> list[Event] | str:
    """The README's rules, one event at a time: the kept events, or "mismatch"."""
    days = {"2025-03-29", "2025-03-30"}
    kept = []
    for e in events:
        if e["created_at"][:10] in days:
            kept.append(e)
        elif not (
            e["created_at"][:10] == "2025-03-31"
            and e["created_at"][11:19] == "00:00:00"
            and "." not in e["created_at"]
        ):
            return "mismatch"
    kept.sort(key=lambda e: dt.datetime.fromisoformat(e["created_at"]))  # stable
    seen: set[int] = set()
    out = []
    for e in kept:
        if e["id"] not in seen:
            seen.add(e["id"])
            out.append(e)
    return out


@settings(max_examples=300, deadline=None)
@given(events=events_lists)
def test_checked_follows_the_rules(events: list[Event]) -> None:
    expected = reference(events)
    if expected == "mismatch":
        with pytest.raises(
            InvalidResponseError, match=r"^2025-03-29\.\.2025-03-30: event .* outside the window's days"
        ):
            checked(events, WINDOW)
        return
    result = checked(events, WINDOW)
    assert list(result) == expected
    assert result.instants == [dt.datetime.fromisoformat(e["created_at"]) for e in expected]
    assert result.tail == {e["id"] for e in expected if e["created_at"].startswith("2025-03-30")}
    assert result.trim.repeated + result.trim.outside == len(events) - len(expected)


@settings(max_examples=200, deadline=None)
@given(first=events_lists, second=events_lists)
def test_the_halves_of_a_split_window_join_with_each_id_once(first: list[Event], second: list[Event]) -> None:
    a, b = reference(first), reference(second)
    if a == "mismatch" or b == "mismatch":
        return
    joined = checked(first, WINDOW) + checked(second, WINDOW)
    ids = [e["id"] for e in joined]
    assert len(ids) == len(set(ids))
    assert joined.instants == [dt.datetime.fromisoformat(e["created_at"]) for e in joined]


def test_delivery_drops_what_the_previous_window_delivered_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    deliver = Delivery()
    first = checked([event(1, "2025-03-29T10:00:00Z"), event(2, "2025-03-30T23:00:00+01:00")], WINDOW)
    second_window = (dt.date(2025, 3, 31), dt.date(2025, 4, 1))
    second = checked(
        [event(2, "2025-03-31T00:30:00+01:00"), event(3, "2025-03-31T01:00:00+01:00")], second_window
    )
    with caplog.at_level(logging.WARNING, logger="shortpen_api_client"):
        assert [e["id"] for e in deliver(WINDOW, first)] == [1, 2]
        kept = deliver(second_window, second)
    assert [e["id"] for e in kept] == [3]
    assert isinstance(kept, Events)
    assert kept.instants == [dt.datetime.fromisoformat("2025-03-31T01:00:00+01:00")]
    assert [r.getMessage() for r in caplog.records] == [
        "2025-03-31..2025-04-01: dropped 1 event(s) by the exactly-once rules: "
        "1 repeating an id the previous window delivered"
    ]


def test_only_the_last_days_ids_are_kept_across_windows() -> None:
    deliver = Delivery()
    deliver(WINDOW, checked([event(1, "2025-03-29T10:00:00Z"), event(2, "2025-03-30T10:00:00Z")], WINDOW))
    assert deliver.seen == {2}
