"""The synthetic data: local days and offsets (DST included), boundaries, ids, order, mix, volume, limits."""

from __future__ import annotations

import collections
import datetime as dt
import re
import zoneinfo
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from shortpen_api_client import _schema
from shortpen_api_client.testing import FakeShortPen, _store
from shortpen_api_client.testing._cache import SizedLRU
from shortpen_api_client.testing._data import SCAN_LIMIT, link_counts

from .conftest import PATH, WEEK, client_for

ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}")


def instants(events: list[dict[str, Any]]) -> list[dt.datetime]:
    return [dt.datetime.fromisoformat(e["created_at"]) for e in events]


def by_day(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    days: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for event in events:
        days[event["created_at"][:10]].append(event)
    return days


def test_envelope_and_event_fields(client: httpx.Client, fake: FakeShortPen) -> None:
    body = client.post(PATH, json=WEEK).json()
    assert list(body) == ["success", "status_code", "message", "data"]
    assert (body["success"], body["status_code"], body["message"]) == (True, 200, "")
    required = {f.name for f in _schema.EVENT if f.required}
    for event in body["data"]:
        assert required <= set(event) <= set(_schema.EVENT_NAMES)
        assert event["organization_id"] == fake.organization_id
        assert event["url_id"] in fake.url_ids(event["workspace_id"])
        assert ISO.fullmatch(event["created_at"])


def test_utc_is_the_default_timezone() -> None:
    events = FakeShortPen(events_per_day=20).events("2025-01-01", "2025-01-03")
    assert {e["created_at"][19:] for e in events} == {"+00:00"}
    assert events[0]["created_at"] == "2025-01-01T00:00:00+00:00"
    assert events[-1]["created_at"] == "2025-01-03T23:59:59+00:00"


@pytest.mark.parametrize(
    ("zone", "day", "first", "last", "hours"),
    [
        ("Europe/Berlin", "2025-03-30", "2025-03-30T00:00:00+01:00", "2025-03-30T23:59:59+02:00", 23),
        ("Europe/Berlin", "2025-10-26", "2025-10-26T00:00:00+02:00", "2025-10-26T23:59:59+01:00", 25),
        ("America/New_York", "2025-03-09", "2025-03-09T00:00:00-05:00", "2025-03-09T23:59:59-04:00", 23),
        ("Asia/Kolkata", "2025-03-30", "2025-03-30T00:00:00+05:30", "2025-03-30T23:59:59+05:30", 24),
        # Santiago springs forward at midnight: the local day starts at 01:00.
        ("America/Santiago", "2024-09-08", "2024-09-08T01:00:00-03:00", "2024-09-08T23:59:59-03:00", 23),
    ],
)
def test_local_days_and_offsets_incl_dst(zone: str, day: str, first: str, last: str, hours: int) -> None:
    tz = zoneinfo.ZoneInfo(zone)
    events = FakeShortPen(timezone=zone, events_per_day=400).events(day, day)
    assert events[0]["created_at"] == first
    assert events[-1]["created_at"] == last
    moments = instants(events)
    assert (moments[-1] - moments[0]).total_seconds() == hours * 3600 - 1
    for moment in moments:
        assert moment.astimezone(tz).isoformat() == moment.isoformat()  # the zone's offset at that instant
        assert moment.astimezone(tz).date().isoformat() == day
    assert len({m.utcoffset() for m in moments}) == len({first[19:], last[19:]})


def test_a_tzinfo_object_works_too() -> None:
    fake = FakeShortPen(timezone=dt.timezone(dt.timedelta(hours=-3, minutes=-30)), events_per_day=5)
    assert fake.events("2025-01-01", "2025-01-01")[0]["created_at"] == "2025-01-01T00:00:00-03:30"


def test_unknown_timezone_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        FakeShortPen(timezone="Mars/Olympus")


def test_every_day_has_clicks_in_its_first_and_last_second() -> None:
    fake = FakeShortPen(timezone="Europe/Berlin", events_per_day=10)
    days = by_day(fake.events("2025-01-01", "2025-12-31"))
    assert len(days) == 365
    for day, events in days.items():
        assert events[0]["created_at"][11:19] == "00:00:00", day
        assert events[-1]["created_at"][11:19] == "23:59:59", day


def test_events_ascend_by_created_at_then_id() -> None:
    fake = FakeShortPen(heavy_days={dt.date(2025, 1, 2): 20_000})
    events = fake.events("2025-01-01", "2025-01-03")
    keys = [(m, e["id"]) for m, e in zip(instants(events), events, strict=True)]
    assert keys == sorted(keys)
    assert len(set(instants(events))) < len(events)  # ties exist on a heavy day, broken by id


def test_ids_are_unique_across_workspaces_and_stable() -> None:
    fake = FakeShortPen(events_per_day=50)
    seen: list[int] = []
    for workspace_id in fake.workspace_ids:
        seen += [e["id"] for e in fake.events("2025-01-01", "2025-01-31", workspace_id=workspace_id)]
    assert len(seen) == len(set(seen))
    # Same event, same id: in a sub-range, in a fresh fake, through a request.
    window = fake.events("2025-01-10", "2025-01-12")
    again = FakeShortPen(events_per_day=50).events("2025-01-10", "2025-01-12")
    assert [e["id"] for e in window] == [e["id"] for e in again]
    assert {e["id"] for e in window} <= set(seen)


def test_a_realistic_mix_with_country_and_referrer_sometimes_absent() -> None:
    events = FakeShortPen(events_per_day=200).events("2025-01-01", "2025-01-14")
    assert {e.get("device_type") for e in events} == {"mobile", "desktop", "tablet", None}
    assert {e.get("platform") for e in events} == {"iOS", "Android", "Windows", "macOS", "Linux", None}
    assert len({e.get("browser") for e in events}) >= 5
    assert len({e["domain"] for e in events}) >= 2
    countries = [e["country"] for e in events if "country" in e]
    assert all(re.fullmatch(r"[A-Z]{2}", c) for c in countries)
    assert len(set(countries)) >= 10
    referrers = [e["referrer"] for e in events if "referrer" in e]
    assert all(urlparse(r).scheme and urlparse(r).netloc for r in referrers)
    assert 0 < len(countries) < len(events)
    assert 0 < len(referrers) < len(events)
    assert all(e.get("country", "x") is not None and e.get("referrer", "x") is not None for e in events)


def test_volume_varies_around_events_per_day() -> None:
    fake = FakeShortPen(events_per_day=100)
    counts = [len(v) for v in by_day(fake.events("2025-01-01", "2025-02-25")).values()]
    assert len(counts) == 56
    assert 90 <= sum(counts) / len(counts) <= 110
    assert len(set(counts)) > 10
    assert min(counts) >= 40
    assert max(counts) <= 160


def test_heavy_days_set_the_first_workspaces_count() -> None:
    day = dt.date(2025, 1, 2)
    fake = FakeShortPen(events_per_day=10, heavy_days={day: 5000})
    assert len(fake.events(day, day)) == 5000
    assert len(fake.events(day, day, workspace_id=fake.workspace_ids[1])) < 100
    assert len(fake.events(day - dt.timedelta(days=1), day - dt.timedelta(days=1))) < 100


def test_no_clicks_outside_the_accounts_history_and_zero_per_day() -> None:
    fake = FakeShortPen()
    assert fake.events("1970-01-01", "1999-12-31") == []
    assert fake.events("2100-01-01", "9999-12-31") == []
    assert FakeShortPen(events_per_day=0).events("2025-01-01", "2025-12-31") == []


def test_events_is_the_data_of_a_request(client: httpx.Client, fake: FakeShortPen) -> None:
    bodies: list[dict[str, Any]] = [WEEK, {**WEEK, "workspace_id": 47}, {**WEEK, "url_id": 503}]
    for body in bodies:
        assert client.post(PATH, json=body).json()["data"] == fake.events(
            body["start"], body["end"], workspace_id=body.get("workspace_id"), url_id=body.get("url_id")
        )
    assert fake.events(dt.date(2025, 1, 1), dt.date(2025, 1, 7)) == fake.events("2025-01-01", "2025-01-07")
    assert len(fake.requests) == 3  # events() is not a request


def test_events_refuses_what_the_api_refuses() -> None:
    fake = FakeShortPen()
    with pytest.raises(ValueError, match=r"^end: must be on or after start \(2025-01-07\)$"):
        fake.events("2025-01-07", "2025-01-01")
    with pytest.raises(ValueError, match="workspace_id: unknown workspace 5"):
        fake.events("2025-01-01", "2025-01-01", workspace_id=5)
    with pytest.raises(TypeError):
        fake.events(dt.datetime(2025, 1, 1), "2025-01-01")  # a datetime is no date here


def test_account_structure() -> None:
    fake = FakeShortPen(seed=123)
    assert fake.workspace_ids == [24, 31, 47]
    assert fake.url_ids(24)[0] == 501
    assert all(len(fake.url_ids(w)) >= 3 for w in fake.workspace_ids)
    with pytest.raises(ValueError, match="unknown workspace"):
        fake.url_ids(1)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"events_per_day": -1},
        {"heavy_days": {dt.date(2025, 1, 1): -5}},
        {"heavy_days": {dt.date(1990, 1, 1): 5}},
        {"max_events_per_response": -1},
    ],
)
def test_bad_arguments(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"events_per_day|heavy_days|max_events_per_response"):
        FakeShortPen(**kwargs)


def test_above_max_events_per_response_is_a_504_html_page() -> None:
    fake = FakeShortPen(events_per_day=50)
    week = len(fake.events("2025-01-01", "2025-01-07"))
    link = len(fake.events("2025-01-01", "2025-01-07", url_id=501))
    fake.max_events_per_response = week
    with client_for(fake) as http:
        assert http.post(PATH, json=WEEK).status_code == 200  # exactly at the limit
        fake.max_events_per_response = week - 1
        response = http.post(PATH, json=WEEK)
        assert response.status_code == 504
        assert response.headers["content-type"] == "text/html"
        assert "<title>504 Gateway Time-out</title>" in response.text
        fake.max_events_per_response = link  # the filtered count is what counts
        assert http.post(PATH, json={**WEEK, "url_id": 501}).status_code == 200
        assert http.post(PATH, json={**WEEK, "url_id": 501, "end": "2025-01-08"}).status_code == 504
        assert http.post(PATH, json={**WEEK, "end": "2025-01-01"}).status_code == 200


def test_a_huge_range_above_the_limit_is_refused_without_generating_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeShortPen(max_events_per_response=1000)
    monkeypatch.setattr(_store, "generate_day", no_generating)
    with client_for(fake) as http:
        response = http.post(PATH, json={"start": "2000-01-01", "end": "2099-12-31"})
        assert response.status_code == 504
        # With a link filter: its exact count, still without generating (issue 16.9: this one hung).
        response = http.post(PATH, json={"start": "1900-01-01", "end": "2042-12-31", "url_id": 501})
        assert response.status_code == 504


def no_generating(**kwargs: object) -> object:
    raise AssertionError("a day was generated")


@pytest.mark.parametrize("url_id", [None, 501, 508, 601])
def test_a_range_over_the_scan_limit_is_a_504_at_once_whatever_the_filter(
    monkeypatch: pytest.MonkeyPatch, url_id: int | None
) -> None:
    """No ``max_events_per_response``: the fake's own bound (SCAN_LIMIT clicks of the workspace)."""
    fake = FakeShortPen()  # 200 a day: about 1.9 million clicks a workspace from 2000 to today
    monkeypatch.setattr(_store, "generate_day", no_generating)
    body: dict[str, object] = {"start": "1883-01-01", "end": "2025-12-31"}  # 143 years
    if url_id is not None:
        body["url_id"] = url_id
    with client_for(fake) as http:
        response = http.post(PATH, json=body)
    assert response.status_code == 504
    assert "<title>504 Gateway Time-out</title>" in response.text


def test_the_scan_limit_counts_the_workspace_not_the_link() -> None:
    day = dt.date(2025, 1, 2)
    fake = FakeShortPen(events_per_day=1, heavy_days={day: SCAN_LIMIT}, max_events_per_response=None)
    with client_for(fake) as http:
        # The heavy day alone is at the limit (served), one more day of the workspace is above it,
        # even for a link that has only part of those clicks.
        over = {"start": "2025-01-02", "end": "2025-01-03", "url_id": 508}
        assert http.post(PATH, json=over).status_code == 504
        assert (
            http.post(PATH, json={"start": "2025-01-03", "end": "2025-01-04", "url_id": 508}).status_code
            == 200
        )


def test_link_counts_are_the_counts_of_the_generated_days() -> None:
    fake = FakeShortPen(seed=9, events_per_day=60)
    for workspace_id in fake.workspace_ids:
        for day in (dt.date(2025, 1, 1) + dt.timedelta(days=n) for n in range(0, 60, 7)):
            events = fake.events(day, day, workspace_id=workspace_id)
            index = fake.workspace_ids.index(workspace_id)
            expected = link_counts(seed=9, workspace_index=index, day=day, count=len(events))
            counted = collections.Counter(e["url_id"] for e in events)
            assert tuple(counted[u] for u in fake.url_ids(workspace_id)) == expected
            assert sum(expected) == len(events)


def test_no_clicks_after_today_in_the_accounts_timezone() -> None:
    # 23:30 UTC on 2025-01-10 is already 2025-01-11 in Tokyo.
    now = dt.datetime(2025, 1, 10, 23, 30, tzinfo=dt.UTC)
    utc = FakeShortPen(events_per_day=20, now=lambda: now)
    tokyo = FakeShortPen(events_per_day=20, timezone="Asia/Tokyo", now=lambda: now)
    assert utc.today() == dt.date(2025, 1, 10)
    assert tokyo.today() == dt.date(2025, 1, 11)
    assert {e["created_at"][:10] for e in utc.events("2025-01-09", "2025-01-20")} == {
        "2025-01-09",
        "2025-01-10",
    }
    assert {e["created_at"][:10] for e in tokyo.events("2025-01-10", "2025-01-20")} == {
        "2025-01-10",
        "2025-01-11",
    }
    assert len(utc.events("2025-01-10", "2025-01-10")) == len(
        FakeShortPen(events_per_day=20).events("2025-01-10", "2025-01-10")
    )  # today: whole
    with client_for(utc) as http:
        future = http.post(PATH, json={"start": "2025-01-11", "end": "2026-01-11"})
    assert (future.status_code, future.json()["data"]) == (200, [])


def test_the_clock_moves_with_time() -> None:
    now = [dt.datetime(2025, 1, 10, 12, tzinfo=dt.UTC)]
    fake = FakeShortPen(events_per_day=20, now=lambda: now[0])
    with client_for(fake) as http:
        assert http.post(PATH, json={"start": "2025-01-11", "end": "2025-01-11"}).json()["data"] == []
        now[0] += dt.timedelta(days=1)
        assert http.post(PATH, json={"start": "2025-01-11", "end": "2025-01-11"}).json()["data"]


def test_an_unknown_url_id_answers_no_events(client: httpx.Client) -> None:
    for url_id in (999, -1, 2**70, 601):  # 601 is a link of another workspace
        response = client.post(PATH, json={**WEEK, "url_id": url_id})
        assert (response.status_code, response.json()["data"]) == (200, []), url_id


def test_sized_lru_evicts_least_recently_used_by_size() -> None:
    lru: SizedLRU[bytes] = SizedLRU(budget=10)
    lru.put("a", b"aaaa", 4)
    lru.put("b", b"bbbb", 4)
    assert lru.get("a") == b"aaaa"  # a is now the most recent
    lru.put("c", b"cccc", 4)
    assert lru.get("b") is None
    assert lru.get("a") == b"aaaa"
    lru.put("big", b"x" * 11, 11)  # larger than the budget: never kept
    assert lru.get("big") is None
    assert len(lru) == 2


def test_a_repeated_request_is_served_from_the_byte_cache(client: httpx.Client, fake: FakeShortPen) -> None:
    first = client.post(PATH, json=WEEK).content
    days = (dt.date(2025, 1, 1).toordinal(), dt.date(2025, 1, 8).toordinal())
    cached = fake._clicks._bodies.get((0, None, *days))
    assert cached == first
    assert client.post(PATH, json={"end": "2025-01-07", "start": "2025-01-01"}).content == first
