"""``shape="realistic"`` (issue 15.1): data shaped like a real server's, beyond what the spec promises.

Optional fields absent and null (``test_spec_driven.py`` counts them), fields the spec does not know,
milliseconds on some timestamps, ties and small inversions in ``created_at`` order, a DST day; and
``fake.events()`` still exactly what one request returns, in the server's order.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import zoneinfo
from typing import Any

import httpx
import pytest
from openapi_core.exceptions import OpenAPIError
from openapi_core.validation.schemas.exceptions import InvalidSchemaValue

from shortpen_api_client import ShortPen
from shortpen_api_client._schema import EVENT_NAMES
from shortpen_api_client.testing import FakeShortPen

from .conftest import PATH, client_for, validate_response, validate_schema

RANGE = ("2025-03-29", "2025-03-31")  # 2025-03-30 has 23 hours in Berlin
MILLISECONDS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}")


@pytest.fixture(scope="module")
def realistic() -> FakeShortPen:
    return FakeShortPen(seed=15, events_per_day=400, timezone="Europe/Berlin", shape="realistic")


@pytest.fixture(scope="module")
def events(realistic: FakeShortPen) -> list[dict[str, Any]]:
    return realistic.events(*RANGE)


def instant(event: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(event["created_at"])


def test_every_event_has_fields_the_spec_does_not_know(events: list[dict[str, Any]]) -> None:
    for event in events:
        assert isinstance(event["beta_flags"], list)
        assert all(isinstance(flag, str) for flag in event["beta_flags"])
        assert event["utm"] is None or set(event["utm"]) == {"source", "medium", "campaign"}
        assert list(event)[-2:] == ["beta_flags", "utm"]  # after the spec's fields
    assert any(event["utm"] for event in events)
    assert any(event["beta_flags"] for event in events)


def test_some_timestamps_have_milliseconds(events: list[dict[str, Any]]) -> None:
    with_ms = [e for e in events if MILLISECONDS.fullmatch(e["created_at"])]
    assert 0.1 < len(with_ms) / len(events) < 0.3
    assert len({e["created_at"][20:23] for e in with_ms}) > 50  # not a constant
    for event in events:
        assert (
            instant(event)
            .astimezone(zoneinfo.ZoneInfo("Europe/Berlin"))
            .isoformat(timespec="milliseconds" if "." in event["created_at"] else "seconds")
            == event["created_at"]
        )  # the zone's offset at that instant, DST included


def test_ties_and_small_inversions_in_created_at_order(events: list[dict[str, Any]]) -> None:
    pairs = list(itertools.pairwise(events))
    ties = sum(a["created_at"] == b["created_at"] for a, b in pairs)
    inversions = sum(instant(a) > instant(b) for a, b in pairs)
    assert ties > 0.01 * len(events)
    assert 0 < inversions < 0.06 * len(events)
    # Small: an event is never far from where the sorted order would put it.
    ranks = sorted(range(len(events)), key=lambda i: (instant(events[i]), events[i]["id"]))
    assert max(abs(position - rank) for position, rank in enumerate(ranks)) <= 3
    assert len({e["id"] for e in events}) == len(events)


def test_a_dst_day_has_both_offsets(events: list[dict[str, Any]]) -> None:
    day = [e for e in events if e["created_at"].startswith("2025-03-30")]
    offsets = {e["created_at"][-6:] for e in day}
    assert offsets == {"+01:00", "+02:00"}
    span = max(map(instant, day)) - min(map(instant, day))
    assert span < dt.timedelta(hours=23)


def test_beyond_the_spec_only_by_its_nulls(events: list[dict[str, Any]]) -> None:
    """Unknown fields are allowed (no ``additionalProperties`` in the spec); nulls are not."""
    for event in events:
        validate_schema(
            "AnalyticsEvent", {k: v for k, v in event.items() if v is not None or k not in EVENT_NAMES}
        )
    with pytest.raises(InvalidSchemaValue):
        validate_schema(
            "AnalyticsEvent", next(e for e in events if any(e.get(n, 0) is None for n in EVENT_NAMES))
        )


def test_events_is_exactly_what_a_request_returns_in_the_servers_order(realistic: FakeShortPen) -> None:
    start, end = RANGE
    with client_for(realistic) as http:
        whole = http.post(PATH, json={"start": start, "end": end})
        link = http.post(PATH, json={"start": start, "end": end, "url_id": 502})
    validate_response_envelope(whole)
    assert whole.json()["data"] == realistic.events(start, end)
    assert link.json()["data"] == [e for e in realistic.events(start, end) if e["url_id"] == 502]
    assert link.json()["data"] == realistic.events(start, end, url_id=502)


def validate_response_envelope(response: httpx.Response) -> None:
    """The envelope is the spec's, whatever its events hold."""
    body = response.json()
    validate_schema("AnalyticsResponse", {**body, "data": []})
    with pytest.raises(OpenAPIError):
        validate_response(response)  # the nulls: beyond the spec on purpose


def test_same_seed_same_events_and_the_default_shape_is_plain(events: list[dict[str, Any]]) -> None:
    again = FakeShortPen(seed=15, events_per_day=400, timezone="Europe/Berlin", shape="realistic")
    assert again.events(*RANGE) == events
    plain = FakeShortPen(seed=15, events_per_day=400, timezone="Europe/Berlin").events(*RANGE)
    assert not any("." in e["created_at"] for e in plain)
    assert not any({"beta_flags", "utm"} & set(e) for e in plain)
    assert [(instant(e), e["id"]) for e in plain] == sorted((instant(e), e["id"]) for e in plain)


def test_the_client_reads_realistic_data(realistic: FakeShortPen) -> None:
    """``clicks()`` yields every event once, by instant, ties in the server's order (a stable sort)."""
    http = httpx.Client(transport=realistic.transport())
    with ShortPen(realistic.token, http_client=http) as client:
        got = [(e.id, e.created_at) for e in client.clicks(*RANGE)]
    expected = sorted(realistic.events(*RANGE), key=instant)
    assert got == [(e["id"], instant(e)) for e in expected]


def test_an_unknown_shape_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="'spec', 'realistic'"):
        FakeShortPen(shape="messy")
