"""What the client does with hostile or broken servers (issue 14, items 6 and 7), on loopback, with
both drivers: no response is read past ``max_response_bytes`` (an endless body, a gzip bomb, a huge
``Content-Length``), a window over it is split, and a server that never answers is a timeout, never
"too many clicks"."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import socket
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from shortpen_api_client import (
    APITimeoutError,
    AsyncShortPen,
    InvalidArgumentError,
    ResponseTooLargeError,
    ServerError,
    ShortPen,
    WindowTooLargeError,
    _drive,
)
from shortpen_api_client._body import Body

from . import _bad_servers as bad
from .conftest import ROOT
from .test_client_behaviour import Recorder, ok

TOKEN = "spk_test_hostile_7f3a"
LIMIT = 1 << 20
DRIVERS = ["sync", "async"]


async def _no_sleep(seconds: float) -> None:
    return None


def fetch(driver: str, start: str, end: str, **options: Any) -> list[dict[str, Any]]:
    """Every event of [start, end] as dicts, by ``ShortPen`` or ``AsyncShortPen`` (``driver``)."""
    if driver == "sync":
        with ShortPen(TOKEN, sleep=lambda seconds: None, **options) as sp:
            return [event.to_dict() for event in sp.clicks(start, end)]

    async def fetch_async() -> list[dict[str, Any]]:
        async with AsyncShortPen(TOKEN, sleep=_no_sleep, **options) as sp:
            return [event.to_dict() async for event in sp.clicks(start, end)]

    return asyncio.run(fetch_async())


@pytest.fixture
def bodies(monkeypatch: pytest.MonkeyPatch) -> list[Body]:
    """Every ``Body`` the drivers read a response into: how much of each was read."""
    made: list[Body] = []

    class Spy(Body):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(_drive, "Body", Spy)
    return made


@functools.cache
def gzip_bomb() -> Callable[..., None]:
    return bad.bomb(256 << 20)  # 0.25 MB of gzip, 256 MiB inflated


# -- 14.6: max_response_bytes ----------------------------------------------------------------------


@pytest.mark.parametrize("driver", DRIVERS)
def test_an_endless_body_is_read_no_further_than_the_limit(driver: str, bodies: list[Body]) -> None:
    with bad.Server(bad.endless()) as server:
        with pytest.raises(WindowTooLargeError, match=r"^2025-01-03: .*max_response_bytes=1,048,576") as info:
            fetch(driver, "2025-01-03", "2025-01-03", base_url=server.url, max_response_bytes=LIMIT)
    assert (info.value.day, info.value.limit) == (dt.date(2025, 1, 3), LIMIT)
    assert isinstance(info.value.__cause__, ResponseTooLargeError)
    (body,) = bodies  # one attempt: the same day would be as large again
    assert LIMIT < body.received <= LIMIT + 65536  # stopped at the first chunk past the limit
    assert server.requests == 1


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_gzip_bomb_is_inflated_one_byte_past_the_limit_and_no_further(
    driver: str, bodies: list[Body]
) -> None:
    with bad.Server(gzip_bomb()) as server:
        with pytest.raises(WindowTooLargeError) as info:
            fetch(driver, "2025-01-03", "2025-01-03", base_url=server.url, max_response_bytes=LIMIT)
    assert info.value.limit == LIMIT
    (body,) = bodies
    assert body.received == LIMIT + 1  # httpx's own decoder would have inflated whole 64 KiB reads
    assert server.sent < 4 << 20


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_huge_content_length_is_refused_before_reading(driver: str, bodies: list[Body]) -> None:
    with bad.Server(bad.huge_length(2 << 30)) as server:
        with pytest.raises(WindowTooLargeError, match="Content-Length is 2,147,483,648") as info:
            fetch(driver, "2025-01-03", "2025-01-03", base_url=server.url, max_response_bytes=LIMIT)
    cause = info.value.__cause__
    assert isinstance(cause, ResponseTooLargeError)
    assert cause.declared == 2 << 30
    assert bodies == []  # refused on the headers: no Body was ever fed


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_window_over_the_limit_is_split_and_stays_exact(driver: str) -> None:
    def size(days: int) -> int:
        start = dt.date(2025, 1, 1)
        body = {"start": start.isoformat(), "end": (start + dt.timedelta(days=days - 1)).isoformat()}
        return len(ok(httpx.Request("POST", "https://x/", json=body), per_day=20).content)

    handler = Recorder(functools.partial(ok, per_day=20))
    if driver == "sync":
        http: Any = httpx.Client(transport=httpx.MockTransport(handler))
    else:
        http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    got = fetch(
        driver, "2025-01-01", "2025-01-04", http_client=http, window_days=4, max_response_bytes=size(2)
    )
    days = [dt.date(2025, 1, d).toordinal() for d in (1, 2, 3, 4)]
    assert [e["id"] for e in got] == [day * 100 + i for day in days for i in range(20)]
    assert handler.windows == [
        ("2025-01-01", "2025-01-04"),  # over the limit: split at once, never retried
        ("2025-01-01", "2025-01-02"),
        ("2025-01-03", "2025-01-04"),
    ]


@pytest.mark.parametrize("driver", DRIVERS)
def test_an_error_status_with_an_endless_body_stays_that_error(driver: str, bodies: list[Body]) -> None:
    """Only the start of an error body is read (for its message): a 503 is retried, never split."""
    with bad.Server(bad.endless("503 Service Unavailable")) as server:
        with pytest.raises(ServerError) as info:
            fetch(driver, "2025-01-01", "2025-01-07", base_url=server.url, max_retries=1)
    assert info.value.status_code == 503
    assert server.requests == 2
    assert all(body.received == 64 * 1024 for body in bodies)


@pytest.mark.parametrize("name", ["max_response_bytes", "max_buffered_bytes"])
@pytest.mark.parametrize("value", [0, -1, 1.5, True, "1"])
def test_byte_limits_are_validated(name: str, value: object) -> None:
    for client in (ShortPen, AsyncShortPen):
        with pytest.raises(InvalidArgumentError, match=f"{name} must be an integer >= 1, got {value!r}"):
            client(TOKEN, **{name: value})  # type: ignore[arg-type]


RSS_SCRIPT = """
import asyncio, sys
from shortpen_api_client import AsyncShortPen, ShortPen, WindowTooLargeError
driver, url = sys.argv[1], sys.argv[2]
options = dict(base_url=url, max_response_bytes=8 << 20, timeout=10)
def peak():  # this process's own high-water mark (ru_maxrss would start at the parent's peak)
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
async def fetch_async():
    async with AsyncShortPen("t", **options) as sp:
        return [e async for e in sp.clicks("2025-01-03", "2025-01-03")]
before = peak()
try:
    if driver == "sync":
        with ShortPen("t", **options) as sp:
            list(sp.clicks("2025-01-03", "2025-01-03"))
    else:
        asyncio.run(fetch_async())
except WindowTooLargeError:
    print(peak() - before)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="reads VmHWM from /proc/self/status")
@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("kind", ["endless", "bomb"])
def test_peak_memory_stays_bounded_by_the_limit(driver: str, kind: str) -> None:
    """In a fresh process, reading an endless body or a 256 MiB gzip bomb under an 8 MiB limit adds
    a few times the limit to the peak RSS at most (the bomb alone would add 256 MiB)."""
    respond = bad.endless() if kind == "endless" else gzip_bomb()
    with bad.Server(respond) as server:
        done = subprocess.run(
            [sys.executable, "-c", RSS_SCRIPT, driver, server.url],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    grew = int(done.stdout)
    assert grew < 40 << 20, f"peak RSS grew by {grew / 2**20:.0f} MiB"


# -- 14.7: a hung server is a timeout, not a window too large ----------------------------------------


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_server_that_never_answers_is_a_timeout_with_its_phase(driver: str) -> None:
    with bad.Server(bad.silent) as server:
        with pytest.raises(APITimeoutError, match=r"^2025-01-01\.\.2025-01-07: ") as info:
            fetch(driver, "2025-01-01", "2025-01-07", base_url=server.url, timeout=0.2, max_retries=2)
    assert info.value.phase == "headers"
    assert "clicks" not in str(info.value)  # never claims what was never seen
    assert server.requests == 3  # retried, never split


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_response_that_stops_after_its_headers_splits_like_a_slow_window(driver: str) -> None:
    with bad.Server(bad.headers_then_silent) as server:
        with pytest.raises(WindowTooLargeError, match=r"^2025-01-01: ") as info:
            fetch(driver, "2025-01-01", "2025-01-02", base_url=server.url, timeout=0.2, window_days=2)
    cause = info.value.__cause__
    assert isinstance(cause, APITimeoutError)
    assert cause.phase == "read"
    assert server.requests == 4  # the two days twice (a timeout may be a hiccup), then day one twice


@pytest.mark.skipif(
    sys.platform != "linux", reason="relies on Linux dropping connections past a full accept queue"
)
@pytest.mark.parametrize("driver", DRIVERS)
def test_a_server_that_accepts_no_connection_is_a_connect_timeout(driver: str) -> None:
    """A full accept queue: the connection never completes. Retried, never split."""
    with socket.create_server(("127.0.0.1", 0), backlog=0) as listener:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        queued: list[socket.socket] = []
        while len(queued) < 8:  # fill the accept queue: the next connection hangs
            try:
                queued.append(socket.create_connection(listener.getsockname(), timeout=0.2))
            except TimeoutError:
                break
        try:
            with pytest.raises(APITimeoutError) as info:
                fetch(driver, "2025-01-01", "2025-01-07", base_url=url, timeout=0.2, max_retries=1)
        finally:
            for connection in queued:
                connection.close()
    assert info.value.phase == "connect"


def test_the_phase_of_an_attempt_follows_httpcores_trace() -> None:
    exchange = _drive.Exchange()
    assert exchange.phase == "headers"  # a transport that does not trace (a mock): before the response
    steps = [
        ("connection.connect_tcp.started", "connect"),
        ("connection.connect_tcp.complete", "connect"),
        ("http11.send_request_headers.started", "write"),
        ("http11.send_request_body.complete", "write"),
        ("http11.receive_response_headers.started", "headers"),
    ]
    for event, phase in steps:
        exchange.trace(event, {})
        assert exchange.phase == phase, event
    exchange.started = True  # the headers are in
    assert exchange.phase == "read"
