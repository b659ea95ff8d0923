"""What the sync and async clients share: the settings, the per-call run (window plan, request
budget, deadline, statistics), and the window protocol that decides between retrying, splitting
and giving up.

The protocol is sans-I/O, as h11's connection is: a generator that yields what to do next
(``Attempt`` a request, or ``Sleep``) and is sent what happened (an ``Outcome``, or ``Woke``), each
stamped with the driver's clock. It reads no clock, waits on nothing and takes no lock, so
``ShortPen`` (threads) and ``AsyncShortPen`` (tasks) run exactly the same decisions and differ only
in their I/O loop, and tests drive it with outcomes alone (``tests/test_engine.py``). Stopping is
the driver's business: it simply stops sending. A ``Run`` is not thread-safe: a driver makes one
step at a time into it (``ShortPen`` holds a lock around each). Before each attempt the protocol
asks the client's ``Throttle`` (``_throttle``, shared by the client's calls, with a lock of its own)
when it may send, and tells it how the attempt went; the drivers launch at most ``Run.concurrency``
windows at once.
"""

from __future__ import annotations

import functools
import logging
import math
import random
from collections.abc import Callable, Generator, Sequence
from typing import Any, Protocol, Self

import attrs
import httpx

from . import _decode, _spec
from ._edges import Events, checked
from ._generated.api.analytics import get_analytics
from ._generated.models import AnalyticsRequest
from ._redact import scrub_exception
from ._retry import (
    RetryPolicy,
    backoff,
    is_too_large,
    parse_retry_after,
    should_retry,
    splits_at_once,
)
from ._throttle import Throttle, Ticket
from ._version import __version__
from ._windows import Window
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    RequestBudgetExceededError,
    ShortPenError,
    WindowTooLargeError,
    _prefix,
)

logger = logging.getLogger("shortpen_api_client")
# A library's loggers get a NullHandler only (the logging HOWTO's advice): the application decides
# where records go, and without logging configured a WARNING is not printed on stderr by Python's
# last-resort handler (the CLI's one-line errors stay one line).
logger.addHandler(logging.NullHandler())

USER_AGENT = f"shortpen-api-client/{__version__} (spec {_spec.SPEC_VERSION})"
Event = dict[str, Any]


@attrs.frozen(kw_only=True)
class Settings:
    """A client's configuration, validated by the client's constructor."""

    base_url: str
    token: str = attrs.field(repr=False)
    timeout: float
    total_timeout: float | None
    window_days: int
    max_concurrency: int
    max_requests: int | None
    max_response_bytes: int
    max_buffered_bytes: int
    policy: RetryPolicy
    max_requests_per_second: float | None = None

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "User-Agent": USER_AGENT}


@attrs.frozen(kw_only=True)
class Progress:
    """Passed to the ``progress`` callback each time a window has been delivered."""

    window: Window
    window_events: int
    windows_done: int
    windows_planned: int
    events: int
    requests: int
    retries: int
    splits: int
    elapsed: float
    concurrency: int = 0
    """Windows the client fetches at once now (it adapts to 429s; at most ``max_concurrency``)."""
    rate: float | None = None
    """Requests a second the client allows itself now; None: unpaced (no 429 yet, no maximum)."""


@attrs.define(kw_only=True)
class Stats:
    """Counters of one call (as single-threaded as the ``Run`` that holds them)."""

    windows: int = 0
    windows_done: int = 0
    requests: int = 0
    retries: int = 0
    splits: int = 0
    events: int = 0

    def add(self, **counts: int) -> None:
        for name, value in counts.items():
            setattr(self, name, getattr(self, name) + value)


@attrs.frozen
class Attempt:
    """Send one request for ``window``, taking at most ``timeout`` seconds by the wall clock;
    ``number`` counts attempts of this window from 1."""

    window: Window
    number: int
    timeout: float


@attrs.frozen
class Sleep:
    """Wait ``seconds`` (backoff), then send ``Woke``."""

    seconds: float


@attrs.frozen
class Woke:
    """Sent after a ``Sleep``: the driver's clock when it woke."""

    at: float


class Chunk(Protocol):
    """A window's events as the worker delivers them: the event dicts, or what a call converts them
    to (models, an encoded batch); ``len`` counts events and ``+`` joins the halves of a split window."""

    def __len__(self) -> int: ...

    def __add__(self, other: Self, /) -> Self: ...


@attrs.frozen(kw_only=True)
class Outcome:
    """What one attempt gave: the events, or the error; the status (if any), how long it took, and
    the driver's clock when it ended (``at``)."""

    events: Chunk | None = None
    error: ShortPenError | None = None
    status: int | None = None
    elapsed: float = 0.0
    at: float


Step = Attempt | Sleep
Sent = Outcome | Woke
"""What a driver sends the protocol: an ``Outcome`` for an ``Attempt``, ``Woke`` after a ``Sleep``."""


def request_kwargs(window: Window, workspace_id: int | None, url_id: int | None) -> dict[str, Any]:
    """Method, path and JSON body of one window's request, from the generated endpoint."""
    body = AnalyticsRequest(
        start=window.start,
        end=window.end,
        workspace_id=workspace_id,
        url_id=url_id,
    )
    return get_analytics._get_kwargs(body=body)


def interpret(response: httpx.Response, content: bytes, window: Window, secret: str) -> Events:
    """Events of a successful response; raises the matching ``ShortPenError`` otherwise (with
    ``secret``, the token, taken out of any server text it quotes before that text is cut)."""
    content_type = response.headers.get("content-type", "")
    if response.status_code == 200:
        events = _decode.decode_events(
            content, content_type=content_type, window=window.as_tuple(), secret=secret
        )
        return ascending(events, window, content)
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    raise _decode.status_error(
        response.status_code,
        content,
        content_type=content_type,
        retry_after=retry_after,
        window=window.as_tuple(),
        secret=secret,
    )


def ascending(events: list[Event], window: Window, content: bytes | None = None) -> Events:
    """A window's events by the window rules (``_edges``): checked against the spec, ascending by
    instant (a stable sort), each id once, edge spills dropped. ``content``, the body they were
    decoded from, lets a body that orjson would have changed be decoded again exactly."""
    exact = None
    if content is not None and _decode.LOSSY_INTEGERS:
        exact = functools.partial(_decode.exact_events, content)
    return checked(events, window.as_tuple(), exact=exact)


def transport_error(exc: httpx.TransportError, window: Window, *, started: bool) -> APIConnectionError:
    """The ``APIConnectionError`` for an httpx transport failure (never includes headers).
    ``started``: the response's headers had arrived, so a read timeout is in the body (``"read"``),
    not before any byte of the response (``"headers"``)."""
    name = type(exc).__name__
    detail = str(exc) or name
    if isinstance(exc, httpx.TimeoutException):
        phase = timeout_phase(started) if isinstance(exc, httpx.ReadTimeout) else _PHASES.get(name, "read")
        return APITimeoutError(f"{name}: {detail}", phase=phase, window=window.as_tuple())
    return APIConnectionError(f"{name}: {detail}", window=window.as_tuple())


_PHASES = {"ConnectTimeout": "connect", "PoolTimeout": "pool", "WriteTimeout": "write"}


def timeout_phase(started: bool) -> str:
    """``"read"`` once the response had started (its headers arrived), else ``"headers"``."""
    return "read" if started else "headers"


_WAITING_FOR = {
    "connect": "no connection",
    "write": "the request not sent",
    "headers": "no response",
    "read": "the response still arriving",
}


def attempt_timed_out(seconds: float, phase: str, window: Window) -> APITimeoutError:
    """The error of an attempt cut off by its wall-clock bound, saying where it was."""
    waiting = _WAITING_FOR.get(phase, "no complete response")
    return APITimeoutError(f"{waiting} after timeout={seconds:g}s", phase=phase, window=window.as_tuple())


def redact(error: ShortPenError, secret: str) -> ShortPenError:
    """The error with ``secret`` (in any form ``_redact.scrub`` knows) taken out of its message and
    its chain's: the last guard before a log line (the decoder already scrubbed what it quoted; the
    public methods scrub again what reaches the caller)."""
    scrub_exception(error, secret)  # a ShortPenError's text is its (scrubbed) arguments
    return error


def failure(
    exc: httpx.TransportError | ShortPenError,
    window: Window,
    *,
    status: int | None,
    started: bool,
    elapsed: float,
    at: float,
) -> Outcome:
    """The ``Outcome`` of an attempt that raised."""
    error = transport_error(exc, window, started=started) if isinstance(exc, httpx.TransportError) else exc
    return Outcome(error=error, status=status, elapsed=elapsed, at=at)


class Cancelled(Exception):
    """The call has stopped (the consumer stopped iterating, or a window failed): windows in flight
    stop at their next step, and nothing more is logged for them."""


class Run:
    """One ``clicks()``/``export()`` call: its windows, budget, deadline and counters.

    ``started`` is the driver's clock at the start of the call. Not thread-safe: a driver makes one
    call into a ``Run`` (a protocol step, ``delivered``) at a time.
    """

    def __init__(
        self,
        settings: Settings,
        windows: list[Window],
        *,
        workspace_id: int | None,
        url_id: int | None,
        started: float,
        rng: random.Random | None = None,
        progress: Callable[[Progress], None] | None = None,
        throttle: Throttle | None = None,
    ) -> None:
        self.settings = settings
        self.workspace_id = workspace_id
        self.url_id = url_id
        self.rng = rng
        self.progress = progress
        self.windows = windows
        self.stats = Stats(windows=len(windows))
        days = sum(window.days for window in windows)
        self.max_requests = settings.max_requests or default_max_requests(
            days, len(self.windows), settings.policy
        )
        self.started = started
        self.deadline = None if settings.total_timeout is None else started + settings.total_timeout
        self.throttle = throttle or Throttle(
            max_concurrency=settings.max_concurrency, max_rate=settings.max_requests_per_second
        )
        """The client's rate control (shared by its calls), or this call's own."""

    @property
    def concurrency(self) -> int:
        """Windows the drivers may fetch at once now (the throttle's; never a window split)."""
        return self.throttle.concurrency

    def deadline_error(self, window: Window) -> APITimeoutError:
        return APITimeoutError(
            f"the call's total_timeout of {self.settings.total_timeout:g}s has passed",
            phase="total",
            window=window.as_tuple(),
        )

    def protocol(self, window: Window, now: float) -> Generator[Step, Sent, Chunk]:
        """Fetch one window: retry transient failures, split windows too large to answer.

        ``now`` is the driver's clock. Yields ``Attempt``/``Sleep`` steps; the driver sends back an
        ``Outcome`` for each attempt and ``Woke`` after each sleep. Returns the window's events in
        order, or raises the ``ShortPenError`` that ended it.
        """
        events, _ = yield from self._fetch(window, now)
        return events

    def _fetch(self, window: Window, now: float) -> Generator[Step, Sent, tuple[Chunk, float]]:
        """``protocol``, also returning the clock of the last thing sent (where a split's second
        half starts)."""
        policy = self.settings.policy
        too_large_streak = 0
        retries = 0
        awake = -math.inf  # the time this window has slept until (an injected sleep may not move the clock)
        while True:
            ticket, now, awake = yield from self._paced(window, now, awake)
            self._charge_request(window)
            outcome = yield Attempt(window, retries + 1, self._attempt_timeout(window, now))
            assert isinstance(outcome, Outcome)  # noqa: S101  (the drivers answer an Attempt so)
            now = outcome.at
            if outcome.error is not None:
                redact(outcome.error, self.settings.token)
            self._log_attempt(window, retries + 1, outcome)
            self._tell_throttle(window, ticket, outcome, max(now, awake))
            if outcome.error is None:
                assert outcome.events is not None  # noqa: S101  (an Outcome holds events or an error)
                return outcome.events, now
            error = outcome.error
            if is_too_large(error):
                too_large_streak += 1
                no_retry_left = retries >= policy.max_retries
                if splits_at_once(error) or too_large_streak >= 2 or no_retry_left:
                    if window.days == 1:
                        raise self._give_up(window, retries + 1, WindowTooLargeError(window.start, error))
                    return (yield from self._split(window, error, now))
            else:
                too_large_streak = 0
            if not should_retry(error) or retries >= policy.max_retries:
                raise self._give_up(window, retries + 1, error)
            retries += 1
            retry_after = error.retry_after if isinstance(error, APIStatusError) else None
            delay = backoff(policy, retries, retry_after=retry_after, rng=self.rng)
            if self.deadline is not None and now + delay >= self.deadline:
                raise self._give_up(window, retries, self.deadline_error(window)) from error
            self.stats.retries += 1
            logger.info(
                "retrying %s in %.2fs: attempt %d of %d failed: %s",
                window,
                delay,
                retries,
                policy.max_retries + 1,
                _reason(error),
            )
            awake = max(now, awake) + delay
            woke = yield Sleep(delay)
            assert isinstance(woke, Woke)  # noqa: S101  (the drivers answer a Sleep so)
            now = woke.at

    def _paced(
        self, window: Window, now: float, awake: float
    ) -> Generator[Step, Sent, tuple[Ticket, float, float]]:
        """Sleep until the client's throttle lets this window send (the hold after a 429, the pace);
        the ticket, the driver's clock, and the time this window has slept until."""
        at = max(now, awake)
        ticket = self.throttle.acquire(at)
        while True:
            if ticket.at > at:
                if self.deadline is not None and ticket.at >= self.deadline:
                    raise self._give_up(window, None, self.deadline_error(window))
                woke = yield Sleep(ticket.at - at)
                assert isinstance(woke, Woke)  # noqa: S101  (the drivers answer a Sleep so)
                now = woke.at
                at = awake = max(now, ticket.at)
            confirmed = self.throttle.confirm(ticket)
            if confirmed == ticket:
                return ticket, now, awake
            ticket = confirmed

    def _tell_throttle(self, window: Window, ticket: Ticket, outcome: Outcome, now: float) -> None:
        """A success lets the client speed up again; a 429 slows the whole client down."""
        error = outcome.error
        if error is None:
            change = self.throttle.succeeded(ticket, now)
        elif isinstance(error, APIStatusError) and error.status_code == 429:
            retry_after = error.retry_after
            if retry_after is not None:
                retry_after = min(retry_after, self.settings.policy.max_retry_after)
            change = self.throttle.throttled(ticket, now, retry_after)
        else:
            return
        if change is not None and change.cut:
            logger.info("%s: %s", window, change)
        elif change is not None:
            logger.info("%s", change)

    def _attempt_timeout(self, window: Window, now: float) -> float:
        """Seconds the next attempt may take: ``timeout``, or less when the call's deadline is near."""
        if self.deadline is None:
            return self.settings.timeout
        remaining = self.deadline - now
        if remaining <= 0:
            raise self._give_up(window, None, self.deadline_error(window))
        return min(self.settings.timeout, remaining)

    def _split(
        self, window: Window, error: ShortPenError, now: float
    ) -> Generator[Step, Sent, tuple[Chunk, float]]:
        first, second = window.halves()
        logger.info("splitting %s into %s and %s after: %s", window, first, second, _reason(error))
        self.stats.splits += 1
        events, now = yield from self._fetch(first, now)
        rest, now = yield from self._fetch(second, now)
        return events + rest, now

    def _charge_request(self, window: Window) -> None:
        if self.stats.requests >= self.max_requests:
            raise self._give_up(
                window,
                None,
                RequestBudgetExceededError(
                    f"this range has used its budget of {self.max_requests} requests "
                    "(raise max_requests, or use a smaller window_days)",
                    window=window.as_tuple(),
                ),
            )
        self.stats.requests += 1

    def _give_up(self, window: Window, attempts: int | None, error: ShortPenError) -> ShortPenError:
        """Log the error that ends ``window`` (WARNING: an operator should see it) and return it."""
        tried = f" after {attempts} attempt{'s' if attempts != 1 else ''}" if attempts else ""
        logger.warning("giving up on %s%s: %s", window, tried, _reason(error))
        return error

    def _log_attempt(self, window: Window, number: int, outcome: Outcome) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "window=%s attempt=%d status=%s events=%s elapsed=%.3fs%s",
                window,
                number,
                outcome.status if outcome.status is not None else "-",
                len(outcome.events) if outcome.events is not None else "-",
                outcome.elapsed,
                f" error={outcome.error}" if outcome.error is not None else "",
            )

    def delivered(self, window: Window, events: Chunk, *, now: float) -> None:
        """Count a delivered window and tell the progress callback (``now``: the driver's clock)."""
        self.stats.add(windows_done=1, events=len(events))
        if self.progress is not None:
            stats = self.stats
            limits = self.throttle.limits()
            self.progress(
                Progress(
                    window=window,
                    window_events=len(events),
                    windows_done=stats.windows_done,
                    windows_planned=stats.windows,
                    events=stats.events,
                    requests=stats.requests,
                    retries=stats.retries,
                    splits=stats.splits,
                    elapsed=now - self.started,
                    concurrency=limits.concurrency,
                    rate=limits.rate,
                )
            )


def _reason(error: ShortPenError) -> str:
    """The error's message without its window prefix (log lines name the window already)."""
    return str(error).removeprefix(_prefix(error.window))


class Budget:
    """Which windows may start: up to ``concurrency`` in flight (fetched, not yet delivered),
    and only while they hold less than ``max_buffered_bytes`` of response between them, so that
    memory is bounded by bytes, not only by a count of windows. With none in flight, one always may.

    A window counts what it has received or, until its response is complete, as much per day as the
    last window delivered held: a window just started counts before its first byte arrives (else
    every window would look empty when the next one is admitted). Used by the consumer's side of a
    driver only.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._per_day = 0.0

    def may_start(self, in_flight: Sequence[tuple[Window, int]], concurrency: int) -> bool:
        """``in_flight``: each window in flight, with the bytes it has received so far;
        ``concurrency``: how many may be in flight now (``Run.concurrency``: the throttle's)."""
        if not in_flight:
            return True
        if len(in_flight) >= concurrency:
            return False
        return self.held(in_flight) < self._settings.max_buffered_bytes

    def held(self, in_flight: Sequence[tuple[Window, int]]) -> int:
        return sum(max(received, round(self._per_day * window.days)) for window, received in in_flight)

    def delivered(self, window: Window, size: int) -> None:
        """A window's response was ``size`` bytes (the next windows are expected alike)."""
        self._per_day = size / window.days


def default_max_requests(days: int, windows: int, policy: RetryPolicy) -> int:
    """Enough for every window to be split down to single days and each piece retried twice,
    far more than a healthy server ever needs, but finite."""
    return (2 * days + windows) * min(3, policy.max_retries + 1) + 16
