"""The facade against FakeShortPen, in-process (transport) and on a loopback socket (served):
every click of a range exactly once, whatever the server does."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from shortpen_api_client import (
    APITimeoutError,
    AsyncShortPen,
    AuthenticationError,
    BadRequestError,
    ShortPen,
    WindowTooLargeError,
)
from shortpen_api_client.testing import FakeShortPen, Fault, FaultPlan

QUARTER = (dt.date(2025, 1, 1), dt.date(2025, 3, 31))
NO_SLEEP: Callable[[float], None] = lambda seconds: None  # noqa: E731  (tests never wait for backoff)


def as_dicts(events: Any) -> list[dict[str, Any]]:
    return [event.to_dict() for event in events]


def canonical(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events compared by value: created_at parsed, so '+00:00' and its re-serialization agree."""
    return [{**e, "created_at": dt.datetime.fromisoformat(e["created_at"])} for e in events]


@pytest.fixture(params=["transport", "served"])
def connect(request: pytest.FixtureRequest) -> Iterator[Callable[..., ShortPen]]:
    """A factory of ShortPen clients wired to a fake, in-process or over loopback."""
    stack: list[Any] = []

    def make(fake: FakeShortPen, **options: Any) -> ShortPen:
        options.setdefault("sleep", NO_SLEEP)
        if request.param == "transport":
            client = ShortPen(fake.token, http_client=httpx.Client(transport=fake.transport()), **options)
        else:
            serving = fake.serve()
            url = serving.__enter__()
            stack.append(serving)
            client = ShortPen(fake.token, base_url=url, **options)
        stack.append(client)
        return client

    yield make
    for item in reversed(stack):
        if isinstance(item, ShortPen):
            item.close()
        else:
            item.__exit__(None, None, None)


def test_a_quarter_event_for_event(connect: Callable[..., ShortPen]) -> None:
    fake = FakeShortPen(seed=11, events_per_day=60)
    with connect(fake) as sp:
        got = as_dicts(sp.clicks(*QUARTER))
    want = fake.events(*QUARTER)
    assert len(want) > 5000
    assert canonical(got) == canonical(want)
    assert len({e["id"] for e in got}) == len(got)
    windows = sorted((r.body["start"], r.body["end"]) for r in fake.requests)
    assert len(windows) == 13
    assert windows[0] == ("2025-01-01", "2025-01-07")


def test_another_workspace_and_a_url_filter(connect: Callable[..., ShortPen]) -> None:
    fake = FakeShortPen(seed=3, events_per_day=40)
    other = fake.workspace_ids[1]
    link = fake.url_ids(other)[0]
    with connect(fake) as sp:
        workspace = as_dicts(sp.clicks("2025-02-01", "2025-02-20", workspace_id=other))
        one_link = as_dicts(sp.clicks("2025-02-01", "2025-02-20", workspace_id=other, url_id=link))
    assert canonical(workspace) == canonical(fake.events("2025-02-01", "2025-02-20", workspace_id=other))
    assert {e["workspace_id"] for e in workspace} == {other}
    assert one_link
    assert {e["url_id"] for e in one_link} == {link}
    assert canonical(one_link) == canonical(
        fake.events("2025-02-01", "2025-02-20", workspace_id=other, url_id=link)
    )
    assert {r.body.get("url_id") for r in fake.requests} == {None, link}


def test_a_non_utc_account_keeps_local_midnight_events_in_their_day() -> None:
    fake = FakeShortPen(seed=5, timezone="Asia/Tokyo", events_per_day=30)
    with ShortPen(fake.token, http_client=httpx.Client(transport=fake.transport()), window_days=1) as sp:
        events = list(sp.clicks("2025-06-01", "2025-06-03"))
    assert {e.created_at.utcoffset() for e in events} == {dt.timedelta(hours=9)}
    first_seconds = [e for e in events if e.created_at.time() == dt.time(0, 0, 0)]
    last_seconds = [e for e in events if e.created_at.time() == dt.time(23, 59, 59)]
    assert {e.created_at.date() for e in first_seconds} == {dt.date(2025, 6, d) for d in (1, 2, 3)}
    assert {e.created_at.date() for e in last_seconds} == {dt.date(2025, 6, d) for d in (1, 2, 3)}
    # each local day came from its own one-day window: nothing crossed a window boundary
    assert canonical(as_dicts(events)) == canonical(fake.events("2025-06-01", "2025-06-03"))


def test_unknown_response_fields_are_kept() -> None:
    fake = FakeShortPen(seed=2, events_per_day=5)

    def with_extra_fields(request: httpx.Request) -> httpx.Response:
        response = fake.handle(request)
        document = json.loads(response.read())
        for event in document["data"]:
            event["utm_campaign"] = "spring"
        return httpx.Response(200, json=document)

    with ShortPen(
        fake.token, http_client=httpx.Client(transport=httpx.MockTransport(with_extra_fields))
    ) as sp:
        events = list(sp.clicks("2025-01-01", "2025-01-02"))
    assert events
    assert all(e.additional_properties == {"utm_campaign": "spring"} for e in events)
    assert all(e["utm_campaign"] == "spring" for e in events)


def test_a_heavy_window_is_split_and_still_exact(connect: Callable[..., ShortPen]) -> None:
    heavy = dt.date(2025, 1, 15)
    fake = FakeShortPen(seed=8, events_per_day=50, heavy_days={heavy: 900}, max_events_per_response=1000)
    with connect(fake, window_days=14) as sp:
        got = as_dicts(sp.clicks("2025-01-01", "2025-01-31"))
    assert canonical(got) == canonical(fake.events("2025-01-01", "2025-01-31"))
    windows = [(r.body["start"], r.body["end"]) for r in fake.requests]
    assert windows.count(("2025-01-15", "2025-01-28")) == 2  # the heavy window: tried, retried ...
    halves = [w for w in windows if w[0] == "2025-01-15" and w != ("2025-01-15", "2025-01-28")]
    assert halves
    assert halves[0] == ("2025-01-15", "2025-01-21")
    assert windows.count(("2025-01-01", "2025-01-14")) == 1  # the light windows: once each


def test_a_day_over_the_limit_fails_naming_the_day(connect: Callable[..., ShortPen]) -> None:
    heavy = dt.date(2025, 1, 9)
    fake = FakeShortPen(seed=8, events_per_day=10, heavy_days={heavy: 2000}, max_events_per_response=1000)
    with connect(fake, window_days=7) as sp, pytest.raises(WindowTooLargeError) as info:
        list(sp.clicks("2025-01-08", "2025-01-14"))
    assert info.value.day == heavy
    assert str(info.value).startswith("2025-01-09: ")
    assert "HTTP 504" in str(info.value)


def test_exact_under_a_one_in_three_mix_of_faults(connect: Callable[..., ShortPen]) -> None:
    faults = FaultPlan(
        rate=1 / 3,
        kinds=(
            Fault.rate_limit(retry_after=1),
            Fault.server_error(502, html=True),
            Fault.drop_connection(),
            Fault.truncated_body(),
            Fault.truncated_json(),
        ),
        seed=4,
    )
    fake = FakeShortPen(seed=21, events_per_day=40, faults=faults)
    with connect(fake, window_days=3, max_retries=8) as sp:
        got = as_dicts(sp.clicks(*QUARTER))
    assert canonical(got) == canonical(fake.events(*QUARTER))
    faulted = [r.fault for r in fake.requests if r.fault is not None]
    assert len(faulted) >= 10  # the mix really happened
    assert len(fake.requests) == 30 + len(faulted)  # every fault cost exactly one retry


@pytest.mark.parametrize("case", ["401", "400"])
def test_401_and_400_are_not_retried(connect: Callable[..., ShortPen], case: str) -> None:
    fake = FakeShortPen(seed=1)
    with connect(fake) as sp:
        if case == "401":
            fake.token = "rotated-elsewhere"
            with pytest.raises(AuthenticationError) as auth:
                list(sp.clicks("2025-01-01", "2025-01-03"))
            assert auth.value.status_code == 401
        else:
            with pytest.raises(BadRequestError, match="workspace_id") as bad:
                list(sp.clicks("2025-01-01", "2025-01-03", workspace_id=999))
            assert bad.value.status_code == 400
    assert len(fake.requests) == 1


def test_bad_input_sends_no_request(connect: Callable[..., ShortPen]) -> None:
    fake = FakeShortPen(seed=1)
    with connect(fake) as sp:
        for start, end in [
            ("2025-01-05", "2025-01-01"),
            ("2025-02-29", "2025-03-01"),
            ("2025-1-1", "2025-01-02"),
        ]:
            with pytest.raises(ValueError, match="start"):
                sp.clicks(start, end)
    assert fake.requests == []


def test_token_absent_from_repr_and_debug_logs(
    connect: Callable[..., ShortPen], caplog: pytest.LogCaptureFixture, request: pytest.FixtureRequest
) -> None:
    caplog.set_level(logging.DEBUG)
    fake = FakeShortPen(
        seed=1, token="spk_live_canary_0d6e8b", faults=FaultPlan({1: Fault.server_error(503)})
    )
    with connect(fake) as sp:
        assert fake.token not in repr(sp)
        list(sp.clicks("2025-01-01", "2025-01-02"))
    assert "status=503" in caplog.text
    loggers = {r.name.split(".")[0] for r in caplog.records}
    over_a_socket = {"httpcore"} if "served" in request.node.name else set()  # a MockTransport skips httpcore
    assert {"httpx", "shortpen_api_client", *over_a_socket} <= loggers  # all of them were really logging
    assert fake.token not in caplog.text


def test_a_slow_drip_is_bounded_by_the_attempt_timeout() -> None:
    """httpx's timeouts are per read; a server dripping bytes defeats them but not ours."""
    fake = FakeShortPen(
        seed=1, events_per_day=5, faults=FaultPlan(rate=1.0, kinds=(Fault.slow_drip(0.15, chunks=12),))
    )
    with (
        fake.serve() as url,
        ShortPen(fake.token, base_url=url, timeout=0.4, max_retries=1, sleep=NO_SLEEP) as sp,
    ):
        started = time.monotonic()
        with pytest.raises(WindowTooLargeError) as info:
            list(sp.clicks("2025-01-01", "2025-01-01"))
        elapsed = time.monotonic() - started
    assert isinstance(info.value.__cause__, APITimeoutError)
    assert "timeout=0.4s" in str(info.value)
    # two attempts, each cut off within timeout + one read (the drip would take 1.65 s each)
    assert elapsed < 2 * (0.4 + 0.15) + 0.5


@pytest.mark.anyio
async def test_async_client_gives_the_same_events_as_the_sync_one() -> None:
    faults = FaultPlan(rate=0.25, kinds=(Fault.server_error(502, html=True), Fault.drop_connection()), seed=9)
    fake = FakeShortPen(seed=13, events_per_day=40, faults=faults)

    async def no_sleep(seconds: float) -> None:
        return None

    async with AsyncShortPen(
        fake.token, http_client=httpx.AsyncClient(transport=fake.transport()), sleep=no_sleep, max_retries=8
    ) as asp:
        got = [e.to_dict() async for e in asp.clicks(*QUARTER)]
    with ShortPen(
        fake.token, http_client=httpx.Client(transport=fake.transport()), sleep=NO_SLEEP, max_retries=8
    ) as sp:
        want = as_dicts(sp.clicks(*QUARTER))
    assert got == want
    assert canonical(got) == canonical(fake.events(*QUARTER))


@pytest.mark.anyio
async def test_async_client_served() -> None:
    fake = FakeShortPen(seed=13, events_per_day=20, faults=FaultPlan({2: Fault.truncated_body()}))

    async def no_sleep(seconds: float) -> None:
        return None

    with fake.serve() as url:
        async with AsyncShortPen(fake.token, base_url=url, sleep=no_sleep, max_concurrency=2) as asp:
            got = [e.to_dict() async for e in asp.clicks("2025-01-01", "2025-01-31")]
    assert canonical(got) == canonical(fake.events("2025-01-01", "2025-01-31"))
    assert len(fake.requests) == 6
