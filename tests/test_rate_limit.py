"""Both clients against ``FakeShortPen(rate_limit=RateLimit(...))``: a 429 slows the whole client
down, not only the window that got it. Time is a fake clock shared by the client (its ``clock`` and
``sleep``) and the fake (its ``clock``): nothing waits for real, and the fake's token bucket refills
only as the client's sleeps move that clock."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import logging
import math
import selectors
import threading
from typing import Any

import httpx
import pytest

from shortpen_api_client import APITimeoutError, AsyncShortPen, InvalidArgumentError, Progress, ShortPen
from shortpen_api_client.testing import FakeShortPen, Fault, FaultKind, FaultPlan, RateLimit, RecordedRequest

from .test_client_behaviour import ok

START = dt.date(2025, 1, 1)


def days(count: int, first: dt.date = START) -> tuple[dt.date, dt.date]:
    return first, first + dt.timedelta(days=count - 1)


class FakeTime:
    """A clock that only the sleeps move; safe to share between threads."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds
            self.sleeps.append(seconds)

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)
        await asyncio.sleep(0)  # let the other tasks run, as a real sleep would


def limited_fake(time: FakeTime, per_second: float = 2, burst: int = 2) -> FakeShortPen:
    return FakeShortPen(
        seed=3,
        events_per_day=5,
        rate_limit=RateLimit(per_second=per_second, burst=burst),
        clock=time.clock,
    )


def sync_client(fake: FakeShortPen, time: FakeTime, **options: Any) -> ShortPen:
    return ShortPen(
        fake.token,
        http_client=httpx.Client(transport=fake.transport()),
        window_days=1,
        sleep=time.sleep,
        clock=time.clock,
        **options,
    )


def async_client(fake: FakeShortPen, time: FakeTime, **options: Any) -> AsyncShortPen:
    return AsyncShortPen(
        fake.token,
        http_client=httpx.AsyncClient(transport=fake.transport()),
        window_days=1,
        sleep=time.async_sleep,
        clock=time.clock,
        **options,
    )


def limited(requests: list[RecordedRequest]) -> list[RecordedRequest]:
    return [r for r in requests if r.fault is not None and r.fault.kind is FaultKind.RATE_LIMIT]


def check_one_at_a_time(fake: FakeShortPen, time: FakeTime) -> None:
    """What one window at a time meets at 2/s, burst 2: the third request finds the bucket empty
    (429, Retry-After 1); then nothing is sent for that second, and the rest is paced below the
    limit, so that no second 429 comes."""
    requests = fake.requests
    assert [r.at for r in requests[:3]] == [1000.0, 1000.0, 1000.0]
    (rejected,) = limited(requests)
    assert rejected.number == 3
    assert rejected.fault is not None
    assert rejected.fault.retry_after == 1
    after = [r.at for r in requests[3:]]
    assert after[0] == pytest.approx(1001.0)  # Retry-After honoured, to the second
    gaps = [b - a for a, b in itertools.pairwise(after)]
    assert all(gap >= 0.5 for gap in gaps)  # never faster than 2 a second again
    assert gaps == sorted(gaps, reverse=True)  # ... but speeding up, success after success
    assert time.sleeps[0] == 1.0


def test_sync_one_window_at_a_time_meets_one_429_and_then_keeps_the_pace() -> None:
    time = FakeTime()
    fake = limited_fake(time)
    seen: list[Progress] = []
    with sync_client(fake, time, max_concurrency=1, progress=seen.append) as client:
        events = [event.to_dict() for event in client.clicks(*days(12))]
    assert events == fake.events(*days(12))
    assert len(fake.requests) == 13
    check_one_at_a_time(fake, time)
    assert [p.rate for p in seen[:2]] == [None, None]  # no 429 yet
    rates = [p.rate or 0.0 for p in seen[2:]]
    assert 1.4 < rates[0] < 1.5  # 0.7 x the 2 a second that got through, grown by one success
    assert rates == sorted(rates)  # growing back
    assert {p.concurrency for p in seen} == {1}


@pytest.mark.anyio
async def test_async_one_window_at_a_time_sends_exactly_what_the_sync_client_sends() -> None:
    sync_time, async_time = FakeTime(), FakeTime()
    sync_fake, async_fake = limited_fake(sync_time), limited_fake(async_time)
    with sync_client(sync_fake, sync_time, max_concurrency=1) as client:
        want = [event.to_dict() for event in client.clicks(*days(12))]
    async with async_client(async_fake, async_time, max_concurrency=1) as aclient:
        got = [event.to_dict() async for event in aclient.clicks(*days(12))]
    assert got == want == async_fake.events(*days(12))
    check_one_at_a_time(async_fake, async_time)
    assert [(r.at, r.body, r.fault) for r in async_fake.requests] == [
        (r.at, r.body, r.fault) for r in sync_fake.requests
    ]
    assert async_time.sleeps == sync_time.sleeps


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock jumps to its next timer instead of waiting for it: tasks sleep
    exactly as long as they ask, side by side, in no real time (nothing here waits for real I/O:
    the fake is in-process)."""

    def __init__(self) -> None:
        self.virtual = 1000.0
        super().__init__(selector=_Jumping(self))

    def time(self) -> float:
        return self.virtual


class _Jumping(selectors.DefaultSelector):
    def __init__(self, loop: VirtualTimeLoop) -> None:
        super().__init__()
        self.loop = loop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(0)
        if not ready and timeout:
            self.loop.virtual += timeout
        return ready


def in_virtual_time(per_second: float, windows: int, **options: Any) -> tuple[FakeShortPen, float]:
    """``AsyncShortPen.clicks`` over ``windows`` one-day windows from a fake limited to
    ``per_second`` (burst as much) whose answers take 20 ms, on a virtual-time loop; checks the
    data; returns the fake and the seconds it took."""
    loop = VirtualTimeLoop()
    fake = FakeShortPen(
        seed=3,
        events_per_day=5,
        rate_limit=RateLimit(per_second=per_second),
        faults=FaultPlan(rate=1.0, kinds=[Fault.latency(0.02)]),  # answers take 20 ms (virtual)
        clock=loop.time,
    )

    async def fetch() -> list[dict[str, Any]]:
        async with AsyncShortPen(
            fake.token,
            http_client=httpx.AsyncClient(transport=fake.transport()),
            window_days=1,
            clock=loop.time,
            **options,
        ) as client:
            return [event.to_dict() async for event in client.clicks(*days(windows))]

    try:
        started = loop.time()
        events = loop.run_until_complete(fetch())
        seconds = loop.time() - started
    finally:
        loop.close()
    assert events == fake.events(*days(windows))
    return fake, seconds


@pytest.mark.parametrize(("per_second", "windows"), [(2, 30), (4, 40)])
def test_async_default_settings_meet_few_429s_close_to_the_floor(per_second: float, windows: int) -> None:
    """The issue's target, in virtual time: every window at the default concurrency, yet at most
    15% of the requests answered 429 and within 1.3x of windows / rate (before: about half 429s)."""
    fake, seconds = in_virtual_time(per_second, windows)
    requests = fake.requests
    assert len(limited(requests)) <= 0.15 * len(requests)
    assert len(requests) - len(limited(requests)) == windows
    assert seconds <= 1.3 * windows / per_second


def test_async_max_requests_per_second_at_the_limit_meets_no_429() -> None:
    fake, seconds = in_virtual_time(2, 30, max_requests_per_second=2)
    assert limited(fake.requests) == []
    assert seconds == pytest.approx(29 / 2, abs=0.1)


def test_sync_max_requests_per_second_at_the_limit_meets_no_429() -> None:
    time = FakeTime()
    fake = limited_fake(time)
    with sync_client(fake, time, max_concurrency=1, max_requests_per_second=2) as client:
        events = [event.to_dict() for event in client.clicks(*days(20))]
    assert events == fake.events(*days(20))
    assert limited(fake.requests) == []
    assert [r.at for r in fake.requests] == [1000.0 + i / 2 for i in range(20)]


def test_sync_a_new_client_sends_one_request_alone_before_opening_up() -> None:
    """The slow start, in the thread driver: while the first request is unanswered, no other goes
    out (a client that opened with all eight at once would put seven more on the wire here)."""
    lock = threading.Lock()
    arrived: list[str] = []
    during_first: list[str] = []
    in_flight = [0, 0]  # now, most ever

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:
            first = not arrived
            arrived.append(json.loads(request.content)["start"])
            in_flight[0] += 1
            in_flight[1] = max(in_flight)
        if first:
            threading.Event().wait(0.3)  # time enough for seven more requests, were they sent
            with lock:
                during_first.extend(arrived[1:])
        else:
            threading.Event().wait(0.01)  # the others overlap
        with lock:
            in_flight[0] -= 1
        return ok(request)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    seen: list[Progress] = []
    with ShortPen("t", http_client=http, window_days=1, progress=seen.append) as client:
        assert len(list(client.clicks(*days(40)))) == 80
    assert during_first == []
    concurrency = [p.concurrency for p in seen]
    assert concurrency[0] == 2  # then it opens up, one more per success,
    assert concurrency == sorted(concurrency)
    assert concurrency[-1] == 8  # to max_concurrency
    assert in_flight[1] > 1  # and fetches side by side


def test_the_calls_of_one_client_share_what_it_learned() -> None:
    time = FakeTime()
    fake = limited_fake(time)
    with sync_client(fake, time, max_concurrency=1) as client:
        list(client.clicks(*days(6)))
        first_call = len(fake.requests)
        list(client.clicks(*days(6, first=dt.date(2025, 2, 1))))
    second = fake.requests[first_call:]
    assert limited(fake.requests[:first_call])  # the first call found the limit
    assert limited(second) == []
    assert all(b.at - a.at >= 0.5 for a, b in itertools.pairwise(second))  # paced from the start


def test_the_cut_is_logged_at_info_with_the_window_and_the_new_limits(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="shortpen_api_client")
    time = FakeTime()
    fake = limited_fake(time)
    with sync_client(fake, time, max_concurrency=1) as client:
        list(client.clicks(*days(4)))
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert messages[0] == (
        "2025-01-03: rate limited (429): new requests wait 1.0 s; concurrency 1 -> 1 of 1, "
        "rate unlimited -> 1.4/s"
    )
    assert fake.token not in caplog.text


@pytest.mark.parametrize("value", [0, -1, 0.0, True, "2", math.nan, math.inf, [2]])
@pytest.mark.parametrize("client_class", [ShortPen, AsyncShortPen])
def test_max_requests_per_second_must_be_a_positive_number(
    client_class: type[ShortPen | AsyncShortPen], value: object
) -> None:
    with pytest.raises(
        InvalidArgumentError, match=r"max_requests_per_second must be a positive number"
    ) as info:
        client_class("t", max_requests_per_second=value)  # type: ignore[arg-type]
    assert repr(value) in str(info.value)


@pytest.mark.parametrize("value", [None, 1, 0.5, 100])
def test_max_requests_per_second_accepts_positive_numbers_and_none(value: float | None) -> None:
    with ShortPen("t", max_requests_per_second=value):
        pass


# -- a floor on max_requests_per_second: no absurd wait ----------------------------------------------------


@pytest.mark.parametrize("value", [1e-300, 5e-324, 0.001, 0.0099])
@pytest.mark.parametrize("client_class", [ShortPen, AsyncShortPen])
def test_max_requests_per_second_below_the_floor_is_refused_naming_it(
    client_class: type[ShortPen | AsyncShortPen], value: float
) -> None:
    """1e-300 used to pass, then ask for a sleep of 1e300 s: an OverflowError in the sync client, a
    hang in the async one."""
    with pytest.raises(
        InvalidArgumentError,
        match=r"max_requests_per_second must be at least 0\.01 \(one request every 100 s\)",
    ) as info:
        client_class("t", max_requests_per_second=value)
    assert repr(value) in str(info.value)


def unlimited_fake(time: FakeTime) -> FakeShortPen:
    return FakeShortPen(seed=3, events_per_day=2, clock=time.clock)


def test_sync_at_the_floor_each_request_waits_100_s_and_no_more() -> None:
    """(One window at a time: the threads of a wider call would move the shared fake clock during
    each other's attempts; the bound for many windows at once is the throttle's, tests/test_throttle.py.)"""
    time = FakeTime()
    fake = unlimited_fake(time)
    with sync_client(fake, time, max_concurrency=1, max_requests_per_second=0.01) as client:
        events = [event.to_dict() for event in client.clicks(*days(6))]
    assert events == fake.events(*days(6))
    assert [r.at for r in fake.requests] == [1000.0 + 100 * i for i in range(6)]
    assert time.sleeps == [100.0] * 5


@pytest.mark.anyio
@pytest.mark.parametrize("max_concurrency", [1, 4])
async def test_async_at_the_floor_no_sleep_is_longer_than_the_windows_at_once_at_100_s(
    max_concurrency: int,
) -> None:
    time = FakeTime()
    fake = unlimited_fake(time)
    async with async_client(
        fake, time, max_concurrency=max_concurrency, max_requests_per_second=0.01
    ) as client:
        events = [event.to_dict() async for event in client.clicks(*days(6))]
    assert events == fake.events(*days(6))
    if max_concurrency == 1:  # (with more, the tasks' fake sleeps add up on the shared clock)
        assert [r.at for r in fake.requests] == [1000.0 + 100 * i for i in range(6)]
    assert time.sleeps
    assert max(time.sleeps) <= max_concurrency * 100


def test_sync_no_sleep_goes_past_the_total_timeout() -> None:
    """At one request every 100 s, a 250 s call sends three and gives up before the fourth's wait."""
    time = FakeTime()
    fake = unlimited_fake(time)
    with (
        sync_client(fake, time, max_concurrency=1, max_requests_per_second=0.01, total_timeout=250) as client,
        pytest.raises(APITimeoutError) as info,
    ):
        list(client.clicks(*days(6)))
    assert info.value.phase == "total"
    assert [r.at for r in fake.requests] == [1000.0, 1100.0, 1200.0]
    assert time.now <= 1250.0


@pytest.mark.anyio
async def test_async_no_sleep_goes_past_the_total_timeout() -> None:
    time = FakeTime()
    fake = unlimited_fake(time)
    with pytest.raises(APITimeoutError) as info:
        async with async_client(
            fake, time, max_concurrency=1, max_requests_per_second=0.01, total_timeout=250
        ) as client:
            [event async for event in client.clicks(*days(6))]
    assert info.value.phase == "total"
    assert [r.at for r in fake.requests] == [1000.0, 1100.0, 1200.0]
    assert time.now <= 1250.0
