"""AsyncShortPen runs the same decisions as ShortPen over tasks and one httpx.AsyncClient."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from shortpen_api_client import (
    APITimeoutError,
    AsyncShortPen,
    AuthenticationError,
    InvalidArgumentError,
    ShortPen,
    WindowTooLargeError,
)

from .test_client_behaviour import TOKEN, Recorder, error, ok

pytestmark = pytest.mark.anyio


class AsyncSleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def async_client(handler: Recorder, sleeps: AsyncSleeps | None = None, **options: object) -> AsyncShortPen:
    return AsyncShortPen(
        TOKEN,
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        sleep=sleeps or AsyncSleeps(),
        **options,  # type: ignore[arg-type]
    )


async def test_same_events_as_the_sync_client() -> None:
    failed: list[str] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        start = json.loads(request.content)["start"]
        if start == "2025-01-10" and not failed:
            failed.append(start)
            return error(502, "bad gateway")
        return ok(request)

    async with async_client(Recorder(flaky), window_days=3, max_concurrency=3) as sp:
        got = [e async for e in sp.clicks("2025-01-01", "2025-02-15")]
    with ShortPen(TOKEN, http_client=httpx.Client(transport=httpx.MockTransport(ok)), window_days=5) as sync:
        want = list(sync.clicks("2025-01-01", "2025-02-15"))
    assert [e.to_dict() for e in got] == [e.to_dict() for e in want]
    assert len(got) == 46 * 2
    assert failed == ["2025-01-10"]  # the retry really happened


async def test_split_and_retry_decisions_match_the_sync_client() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body["start"] <= "2025-01-03" <= body["end"] and body["start"] != body["end"]:
            return error(413, "too large")
        return ok(request)

    rec = Recorder(handler)
    async with async_client(rec, window_days=4) as sp:
        events = [e async for e in sp.clicks("2025-01-01", "2025-01-04")]
    assert len(events) == 8
    assert rec.windows == [
        ("2025-01-01", "2025-01-04"),
        ("2025-01-01", "2025-01-02"),
        ("2025-01-03", "2025-01-04"),
        ("2025-01-03", "2025-01-03"),
        ("2025-01-04", "2025-01-04"),
    ]


async def test_a_single_day_that_fails_names_the_day() -> None:
    rec = Recorder(lambda r: httpx.Response(504, text="<html>504</html>"))
    async with async_client(rec, window_days=1) as sp:
        with pytest.raises(WindowTooLargeError, match=r"^2025-01-09: "):
            _ = [e async for e in sp.clicks("2025-01-09", "2025-01-09")]
    assert len(rec.windows) == 2


async def test_401_is_not_retried() -> None:
    rec = Recorder(lambda r: error(401, "invalid token"))
    async with async_client(rec) as sp:
        with pytest.raises(AuthenticationError, match="invalid token"):
            _ = [e async for e in sp.clicks("2025-01-01", "2025-01-01")]
    assert len(rec.windows) == 1


async def test_bad_input_raises_at_the_call() -> None:
    rec = Recorder(ok)
    async with async_client(rec) as sp:
        with pytest.raises(InvalidArgumentError, match="'2025-02-29'"):
            sp.clicks("2025-02-29", "2025-03-01")
    assert rec.windows == []


async def test_attempt_timeout_is_a_wall_clock_bound() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return ok(request)

    sleeps = AsyncSleeps()
    sp = AsyncShortPen(
        TOKEN,
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(slow)),
        sleep=sleeps,
        timeout=0.05,
        window_days=1,
    )
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(APITimeoutError, match=r"timeout=0\.05s") as info:
        _ = [e async for e in sp.clicks("2025-01-01", "2025-01-01")]
    assert loop.time() - started < 1.0  # five attempts of 0.05 s, not five of 5 s
    assert info.value.phase == "headers"  # nothing had arrived: retried, never called too large
    assert len(sleeps.calls) == 4
    await sp.aclose()


async def test_token_not_in_repr() -> None:
    async with async_client(Recorder(ok)) as sp:
        assert TOKEN not in repr(sp)
        assert TOKEN not in repr(sp.generated_client)
        assert "https://api.shortpen.com" in repr(sp)
