"""A client against a rate-limited server in virtual time: the window protocol (``Run.protocol``),
the drivers' rule for launching windows (at most ``Run.concurrency`` not yet delivered, delivered in
date order) and the fake's token bucket, stepped by one event queue. No thread, no socket, no
real wait: the same run gives the same numbers every time, in milliseconds."""

from __future__ import annotations

import collections
import datetime as dt
import functools
import heapq
import itertools
from collections.abc import Callable, Generator

import attrs

from shortpen_api_client._body import DEFAULT_MAX_RESPONSE_BYTES
from shortpen_api_client._client_base import DEFAULT_MAX_BUFFERED_BYTES
from shortpen_api_client._engine import Attempt, Chunk, Outcome, Run, Sent, Settings, Sleep, Step, Woke
from shortpen_api_client._retry import RetryPolicy
from shortpen_api_client._throttle import Throttle
from shortpen_api_client._windows import Window
from shortpen_api_client.errors import RateLimitError
from shortpen_api_client.testing import RateLimit
from shortpen_api_client.testing._limits import TokenBucket

Protocol = Generator[Step, Sent, Chunk]


@attrs.frozen(kw_only=True)
class Result:
    requests: int
    limited: int
    seconds: float
    """Virtual time from the first request to the last window delivered."""
    delivered: list[Window]
    sent: list[tuple[float, bool]]
    """(time a request reached the server, whether it was answered 429), in order."""

    @property
    def limited_share(self) -> float:
        return self.limited / self.requests


def settings(
    *,
    max_concurrency: int = 8,
    max_retries: int = 4,
    max_rps: float | None = None,
    total_timeout: float | None = None,
) -> Settings:
    return Settings(
        base_url="https://api.shortpen.com",
        token="simulated",
        timeout=60.0,
        total_timeout=total_timeout,
        window_days=1,
        max_concurrency=max_concurrency,
        max_requests=None,
        max_response_bytes=DEFAULT_MAX_RESPONSE_BYTES,
        max_buffered_bytes=DEFAULT_MAX_BUFFERED_BYTES,
        policy=RetryPolicy(max_retries=max_retries),
        max_requests_per_second=max_rps,
    )


def one_day_windows(count: int, first: dt.date = dt.date(2025, 1, 1)) -> list[Window]:
    return [Window(first + dt.timedelta(days=i), first + dt.timedelta(days=i)) for i in range(count)]


class Simulation:
    """One client (one throttle) and one server, in virtual time."""

    def __init__(
        self,
        limit: RateLimit,
        *,
        latency: float = 0.02,
        max_concurrency: int = 8,
        max_retries: int = 4,
        max_rps: float | None = None,
        quick_refusals: bool = False,
        cold: float = 0.0,
    ) -> None:
        """``latency``: seconds from sending a request to its answer (the server decides halfway);
        ``quick_refusals``: a 429 comes back at once, as from a gateway in front of the API;
        ``cold``: the first three answers take this much longer (a server warming up)."""
        self.now = 0.0
        self.latency = latency
        self.quick_refusals = quick_refusals
        self.cold = cold
        self.bucket = TokenBucket(limit, 0.0)
        self.settings = settings(max_concurrency=max_concurrency, max_retries=max_retries, max_rps=max_rps)
        self.throttle = Throttle(max_concurrency=max_concurrency, max_rate=max_rps)
        self.sent: list[tuple[float, bool]] = []
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()

    def call(self, windows: list[Window]) -> Result:
        """One ``clicks()`` call over ``windows``, to its end; the counts are this call's."""
        first_request, started = len(self.sent), self.now
        run = Run(
            self.settings,
            windows,
            workspace_id=None,
            url_id=None,
            started=self.now,
            throttle=self.throttle,
        )
        todo = iter(windows)
        pending: collections.deque[tuple[Window, list[Chunk]]] = collections.deque()
        delivered: list[Window] = []

        def fill() -> None:
            while len(pending) < run.concurrency and (window := next(todo, None)) is not None:
                box: list[Chunk] = []
                pending.append((window, box))
                protocol = run.protocol(window, self.now)
                self._step(protocol, functools.partial(next, protocol), box, deliver)

        def deliver() -> None:
            while pending and pending[0][1]:
                window, (events,) = pending.popleft()
                run.delivered(window, events, now=self.now)
                delivered.append(window)
            fill()

        fill()
        while self._queue:
            self.now, _, action = heapq.heappop(self._queue)
            action()
        sent = self.sent[first_request:]
        return Result(
            requests=len(sent),
            limited=sum(1 for _, limited in sent if limited),
            seconds=self.now - started,
            delivered=delivered,
            sent=sent,
        )

    def _at(self, delay: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._queue, (self.now + delay, next(self._order), action))

    def _step(
        self, protocol: Protocol, advance: Callable[[], Step], box: list[Chunk], deliver: Callable[[], None]
    ) -> None:
        """Advance one window's protocol and schedule what its next step asks for."""
        try:
            step = advance()
        except StopIteration as done:
            box.append(done.value)
            deliver()
            return
        if isinstance(step, Sleep):
            self._at(
                step.seconds,
                lambda: self._step(protocol, lambda: protocol.send(Woke(self.now)), box, deliver),
            )
        else:
            assert isinstance(step, Attempt)
            self._at(self.latency / 2, lambda: self._arrive(protocol, step.window, box, deliver))

    def _arrive(
        self, protocol: Protocol, window: Window, box: list[Chunk], deliver: Callable[[], None]
    ) -> None:
        retry_after = self.bucket.take(self.now)
        self.sent.append((self.now, retry_after is not None))
        delay = self.latency / 2 + (self.cold if len(self.sent) <= 3 else 0.0)

        def answer() -> Outcome:  # stamped with the time it reaches the client
            if retry_after is None:
                events: list[dict[str, str]] = [{"day": window.start.isoformat()}]
                return Outcome(events=events, status=200, at=self.now)
            error = RateLimitError(
                429, "Too Many Attempts.", retry_after=float(retry_after), window=window.as_tuple()
            )
            return Outcome(error=error, status=429, at=self.now)

        if retry_after is not None and self.quick_refusals:
            delay = 0.0
        self._at(delay, lambda: self._step(protocol, lambda: protocol.send(answer()), box, deliver))


def simulate(limit: RateLimit, windows: int, **options: float | bool) -> Result:
    """One call of ``windows`` one-day windows by a new client (see ``Simulation`` for the options)."""
    return Simulation(limit, **options).call(one_day_windows(windows))  # type: ignore[arg-type]
