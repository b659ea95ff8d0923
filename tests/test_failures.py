"""How a call fails and what it holds, with both drivers (issue 11 item 2, issue 15 item 4): retries
are logged at INFO and give-ups at WARNING; a failure is raised as soon as it is known, even while
earlier windows are still in flight; once a call has stopped nothing more is logged for it; and the
windows in flight are bounded by the bytes they hold (``max_buffered_bytes``)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import pytest

from shortpen_api_client import AsyncShortPen, AuthenticationError, ServerError, ShortPen, _drive
from shortpen_api_client._body import Body
from shortpen_api_client._windows import Window

from .test_client_behaviour import TOKEN, error, ok

LOGGER = "shortpen_api_client"


def start_of(request: httpx.Request) -> str:
    start: str = json.loads(request.content)["start"]
    return start


def ours(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [(r.levelname, r.getMessage()) for r in caplog.records if r.name == LOGGER]


WARM_UP = ("2024-01-01", "2024-01-08")
"""A call of eight one-day windows that a test's handler answers at once (``warmed``): after it, the
client's throttle, which starts a new client at one window at a time (slow start), lets
``max_concurrency`` windows be fetched at once, as these tests need."""


def warmed(handler: Callable[[httpx.Request], Any]) -> Callable[[httpx.Request], Any]:
    """``handler``, except for the warm-up call's windows (answered at once)."""

    def answer(request: httpx.Request) -> Any:
        return ok(request) if start_of(request) < "2025" else handler(request)

    return answer


def async_warmed(
    handler: Callable[[httpx.Request], Coroutine[Any, Any, httpx.Response]],
) -> Callable[[httpx.Request], Coroutine[Any, Any, httpx.Response]]:
    async def answer(request: httpx.Request) -> httpx.Response:
        return ok(request) if start_of(request) < "2025" else await handler(request)

    return answer


def wait_for_threads_since(before: set[threading.Thread]) -> None:
    """Join every thread started since ``before`` (the sync driver's workers, I/O and decoding
    threads): after this, whatever they were going to log has been logged."""
    for thread in set(threading.enumerate()) - before:
        thread.join(timeout=30)
        assert not thread.is_alive(), thread.name


# -- retries at INFO, give-ups at WARNING -------------------------------------------------------------


def test_retries_are_logged_at_info_and_the_give_up_at_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    http = httpx.Client(transport=httpx.MockTransport(lambda r: error(503, "maintenance")))
    with ShortPen(TOKEN, http_client=http, sleep=lambda s: None, max_retries=2) as sp:
        with pytest.raises(ServerError):
            list(sp.clicks("2025-01-01", "2025-01-07"))
    levels = [level for level, _ in ours(caplog)]
    assert levels == ["INFO", "INFO", "WARNING"]
    first, _, give_up = (message for _, message in ours(caplog))
    assert first.startswith("retrying 2025-01-01..2025-01-07 in 0.")  # window, then the wait
    assert first.endswith("s: attempt 1 of 3 failed: HTTP 503: maintenance")  # attempt, cause
    assert give_up == "giving up on 2025-01-01..2025-01-07 after 3 attempts: HTTP 503: maintenance"


@pytest.mark.anyio
async def test_the_async_client_logs_retries_and_give_ups_alike(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)

    async def no_sleep(seconds: float) -> None:
        return None

    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: error(503, "maintenance")))
    async with AsyncShortPen(TOKEN, http_client=http, sleep=no_sleep, max_retries=2) as sp:
        with pytest.raises(ServerError):
            _ = [e async for e in sp.clicks("2025-01-01", "2025-01-07")]
    assert [level for level, _ in ours(caplog)] == ["INFO", "INFO", "WARNING"]


# -- a failure is raised as soon as it is known -------------------------------------------------------


def test_a_later_window_that_fails_is_raised_while_an_earlier_one_is_still_in_flight() -> None:
    release = threading.Event()  # never set before the assertions
    blocked = threading.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        if start_of(request) == "2025-01-01":
            blocked.set()
            release.wait(30)
            return ok(request)
        blocked.wait(30)  # answer once the first window is surely in flight
        return error(401, "invalid token")

    http = httpx.Client(transport=httpx.MockTransport(warmed(handler)))
    sp = ShortPen(TOKEN, http_client=http, window_days=1, max_concurrency=2, timeout=20, max_retries=0)
    list(sp.clicks(*WARM_UP))
    try:
        with pytest.raises(AuthenticationError, match="2025-01-02: HTTP 401"):
            list(sp.clicks("2025-01-01", "2025-01-02"))
        assert blocked.is_set()
        assert not release.is_set()  # the first window was still waiting for its answer
    finally:
        release.set()
        sp.close()


@pytest.mark.anyio
async def test_the_async_client_raises_a_later_failure_at_once_too() -> None:
    release = asyncio.Event()
    blocked = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        if start_of(request) == "2025-01-01":
            blocked.set()
            await release.wait()
            return ok(request)
        await blocked.wait()  # answer once the first window is surely in flight
        return error(401, "invalid token")

    http = httpx.AsyncClient(transport=httpx.MockTransport(async_warmed(handler)))
    async with AsyncShortPen(TOKEN, http_client=http, window_days=1, max_concurrency=2, timeout=20) as sp:
        _ = [e async for e in sp.clicks(*WARM_UP)]
        with pytest.raises(AuthenticationError, match="2025-01-02: HTTP 401"):
            _ = [e async for e in sp.clicks("2025-01-01", "2025-01-02")]
        assert not release.is_set()


# -- once stopped, nothing more is logged -------------------------------------------------------------


def test_a_window_waiting_to_retry_when_the_call_fails_stays_quiet(caplog: pytest.LogCaptureFixture) -> None:
    """The second window is sleeping before a retry when the first fails; when it wakes, the call
    is over: it sends nothing and logs nothing (not even at DEBUG)."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    sleeping = threading.Event()
    wake = threading.Event()
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(start_of(request))
        if start_of(request) == "2025-01-01":
            sleeping.wait(30)  # fail once the other window is asleep
            return error(401, "invalid token")
        return error(503, "busy")

    def sleep(seconds: float) -> None:
        sleeping.set()
        wake.wait(30)

    http = httpx.Client(transport=httpx.MockTransport(warmed(handler)))
    before = set(threading.enumerate())
    with ShortPen(TOKEN, http_client=http, sleep=sleep, window_days=1, max_concurrency=2) as sp:
        list(sp.clicks(*WARM_UP))
        with pytest.raises(AuthenticationError):
            list(sp.clicks("2025-01-01", "2025-01-02"))
        logged = ours(caplog)
        wake.set()
        wait_for_threads_since(before)
    assert ours(caplog) == logged  # nothing after the failure
    assert sorted(sent) == ["2025-01-01", "2025-01-02"]  # and no retry was sent


def test_windows_whose_connection_breaks_after_the_call_failed_stay_quiet(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The report of issue 11: after a failure, in-flight windows whose connections then break
    (the client is closed) logged ``giving up on ... ReadError``. They stay quiet."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    entered = threading.Semaphore(0)
    release = threading.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        if start_of(request) == "2025-01-01":
            for _ in range(3):
                entered.acquire(timeout=30)
            return error(401, "invalid token")
        entered.release()
        release.wait(30)
        raise httpx.ReadError("[Errno 9] Bad file descriptor")

    http = httpx.Client(transport=httpx.MockTransport(warmed(handler)))
    sp = ShortPen(
        TOKEN, http_client=http, sleep=lambda s: None, window_days=1, max_concurrency=4, max_retries=0
    )
    list(sp.clicks(*WARM_UP))
    before = set(threading.enumerate())
    with pytest.raises(AuthenticationError):
        list(sp.clicks("2025-01-01", "2025-01-04"))
    logged = ours(caplog)
    sp.close()
    release.set()
    wait_for_threads_since(before)
    assert ours(caplog) == logged
    assert not any("ReadError" in message for _, message in logged)


# -- windows in flight are bounded by bytes -----------------------------------------------------------


def concurrency_seen(driver: str, expect: int, **options: Any) -> int:
    """The most requests the server had at once, fetching 4 one-day windows, 4 at a time at most.
    Each request waits for ``expect`` to be in (or, expecting one, for a moment, in case another
    comes in anyway)."""
    lock = threading.Lock()
    now = [0]
    peak = [0]
    crowd = threading.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:
            now[0] += 1
            peak[0] = max(peak[0], now[0])
            if now[0] >= max(expect, 2):
                crowd.set()
        crowd.wait(30 if expect > 1 else 0.1)
        with lock:
            now[0] -= 1
        return ok(request)

    options.update(window_days=1, max_concurrency=4)
    if driver == "sync":
        http = httpx.Client(transport=httpx.MockTransport(warmed(handler)))
        with ShortPen(TOKEN, http_client=http, **options) as sp:
            list(sp.clicks(*WARM_UP))
            assert len(list(sp.clicks("2025-01-01", "2025-01-04"))) == 8
        return peak[0]

    async def fetch() -> None:
        async def async_handler(request: httpx.Request) -> httpx.Response:
            return await asyncio.to_thread(handler, request)

        http = httpx.AsyncClient(transport=httpx.MockTransport(async_warmed(async_handler)))
        async with AsyncShortPen(TOKEN, http_client=http, **options) as sp:
            _ = [e async for e in sp.clicks(*WARM_UP)]
            assert len([e async for e in sp.clicks("2025-01-01", "2025-01-04")]) == 8

    asyncio.run(fetch())
    return peak[0]


@pytest.mark.parametrize("driver", ["sync", "async"])
def test_no_window_starts_while_those_in_flight_hold_the_byte_budget(
    driver: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every window is made to look as if it held 10 MB from the start: with a budget of 1 MB, one
    window at a time; with 100 MB, the four that max_concurrency allows."""
    monkeypatch.setattr(_drive.Held, "bytes", lambda self: 10 << 20)
    assert concurrency_seen(driver, 1, max_buffered_bytes=1 << 20) == 1
    assert concurrency_seen(driver, 4, max_buffered_bytes=100 << 20) == 4


DAY = Window(dt.date(2025, 1, 1), dt.date(2025, 1, 1))


def test_a_window_holds_the_bytes_of_its_bodies_and_drops_a_failed_attempts() -> None:
    held = _drive.Held()
    failed, kept = held.exchange(), held.exchange()
    failed.begin(httpx.Response(200, content=b"x" * 1000), limit=10_000, window=DAY)
    kept.begin(httpx.Response(200, content=b"y" * 300), limit=10_000, window=DAY)
    assert held.bytes() == 1300
    held.drop(failed)
    assert held.bytes() == 300
    assert isinstance(kept.body, Body)
