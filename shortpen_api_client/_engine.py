"""What the sync and async clients share: the settings, the per-call run (window plan, request
budget, deadline, statistics), and the window protocol that decides between retrying, splitting
and giving up.

The protocol is sans-I/O: a generator that yields what to do next (``Attempt`` a request, or
``Sleep``) and receives the outcome, so ``ShortPen`` (threads) and ``AsyncShortPen`` (tasks) run
exactly the same decisions and differ only in their I/O loop. Before each attempt it asks the
client's ``Throttle`` (``_throttle``) when it may send, and tells it how the attempt went; the
drivers launch at most ``Run.concurrency`` windows at once.
"""

from __future__ import annotations

import functools
import logging
import math
import random
import threading
from collections.abc import Callable, Generator
from typing import Any, Protocol, Self

import attrs
import httpx

from . import _decode, _spec
from ._edges import Events, checked
from ._generated.api.analytics import get_analytics
from ._generated.models import AnalyticsRequest
from ._redact import scrub
from ._retry import (
    SPLIT_AT_ONCE_STATUSES,
    RetryPolicy,
    backoff,
    is_too_large,
    parse_retry_after,
    should_retry,
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
)

logger = logging.getLogger("shortpen_api_client")

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
    """Counters of one call; updated from several threads, hence the lock."""

    windows: int = 0
    windows_done: int = 0
    requests: int = 0
    retries: int = 0
    splits: int = 0
    events: int = 0
    _lock: threading.Lock = attrs.field(factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)


@attrs.frozen
class Attempt:
    """Send one request for ``window``; ``number`` counts attempts of this window from 1."""

    window: Window
    number: int


@attrs.frozen
class Sleep:
    seconds: float


class Chunk(Protocol):
    """A window's events as the worker delivers them: the event dicts, or what a call converts them
    to (models, an encoded batch); ``len`` counts events and ``+`` joins the halves of a split window."""

    def __len__(self) -> int: ...

    def __add__(self, other: Self, /) -> Self: ...


@attrs.frozen(kw_only=True)
class Outcome:
    """What one attempt gave: the events, or the error; the status (if any) and how long it took."""

    events: Chunk | None = None
    error: ShortPenError | None = None
    status: int | None = None
    elapsed: float = 0.0


Step = Attempt | Sleep


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


def transport_error(exc: httpx.TransportError, window: Window) -> APIConnectionError:
    """The ``APIConnectionError`` for an httpx transport failure (never includes headers)."""
    name = type(exc).__name__
    detail = str(exc) or name
    if isinstance(exc, httpx.TimeoutException):
        phase = {"ConnectTimeout": "connect", "PoolTimeout": "pool"}.get(name, "read")
        return APITimeoutError(f"{name}: {detail}", phase=phase, window=window.as_tuple())
    return APIConnectionError(f"{name}: {detail}", window=window.as_tuple())


def redact(error: ShortPenError, secret: str) -> ShortPenError:
    """The error with ``secret`` (in any form ``_redact.scrub`` knows) taken out of its message: the
    last guard before an exception or a log line (the decoder already scrubbed what it quoted)."""
    error.args = tuple(scrub(a, secret) if isinstance(a, str) else a for a in error.args)
    if isinstance(error, APIStatusError):
        error.message = scrub(error.message, secret)
    return error


def failure(
    exc: httpx.TransportError | ShortPenError, window: Window, *, status: int | None, elapsed: float
) -> Outcome:
    """The ``Outcome`` of an attempt that raised (a passed total deadline is raised: no retry helps)."""
    error = transport_error(exc, window) if isinstance(exc, httpx.TransportError) else exc
    if isinstance(error, APITimeoutError) and error.phase == "total":
        raise error
    return Outcome(error=error, status=status, elapsed=elapsed)


class Cancelled(Exception):
    """The consumer stopped iterating: in-flight windows stop at their next step."""


class Run:
    """One ``clicks()``/``export()`` call: its windows, budget, deadline and counters."""

    def __init__(
        self,
        settings: Settings,
        windows: list[Window],
        *,
        workspace_id: int | None,
        url_id: int | None,
        clock: Callable[[], float],
        rng: random.Random | None = None,
        progress: Callable[[Progress], None] | None = None,
        throttle: Throttle | None = None,
    ) -> None:
        self.settings = settings
        self.workspace_id = workspace_id
        self.url_id = url_id
        self.clock = clock
        self.rng = rng
        self.progress = progress
        self.windows = windows
        self.stats = Stats(windows=len(windows))
        days = sum(window.days for window in windows)
        self.max_requests = settings.max_requests or default_max_requests(
            days, len(self.windows), settings.policy
        )
        self.started = clock()
        self.deadline = None if settings.total_timeout is None else self.started + settings.total_timeout
        self.stopped = threading.Event()
        """Set when the consumer stops (or fails): windows in flight stop at their next step."""
        self.throttle = throttle or Throttle(
            max_concurrency=settings.max_concurrency, max_rate=settings.max_requests_per_second
        )
        """The client's rate control (shared by its calls), or this call's own."""

    @property
    def concurrency(self) -> int:
        """Windows the drivers may fetch at once now (the throttle's; never a window split)."""
        return self.throttle.concurrency

    def attempt_timeout(self, window: Window) -> float:
        """Seconds the next attempt may take: ``timeout``, or less when the call's deadline is near."""
        if self.deadline is None:
            return self.settings.timeout
        remaining = self.deadline - self.clock()
        if remaining <= 0:
            raise self.deadline_error(window)
        return min(self.settings.timeout, remaining)

    def deadline_error(self, window: Window) -> APITimeoutError:
        return APITimeoutError(
            f"the call's total_timeout of {self.settings.total_timeout:g}s has passed",
            phase="total",
            window=window.as_tuple(),
        )

    def protocol(self, window: Window) -> Generator[Step, Outcome | None, Chunk]:
        """Fetch one window: retry transient failures, split windows too large to answer.

        Yields ``Attempt``/``Sleep`` steps; the driver sends back an ``Outcome`` for each attempt.
        Returns the window's events in order, or raises the ``ShortPenError`` that ended it.
        """
        too_large_streak = 0
        retries = 0
        awake = -math.inf  # the time this window has slept until (an injected sleep may not move the clock)
        while True:
            if self.stopped.is_set():
                raise Cancelled
            ticket, awake = yield from self._paced(window, awake)
            self._charge_request(window)
            outcome = yield Attempt(window, retries + 1)
            assert outcome is not None  # noqa: S101  (the drivers always answer an Attempt)
            if outcome.error is not None:
                redact(outcome.error, self.settings.token)
            self._log_attempt(window, retries + 1, outcome)
            self._tell_throttle(window, ticket, outcome, max(self.clock(), awake))
            if outcome.error is None:
                assert outcome.events is not None  # noqa: S101  (an Outcome holds events or an error)
                return outcome.events
            error = outcome.error
            if is_too_large(error):
                too_large_streak += 1
                at_once = isinstance(error, APIStatusError) and error.status_code in SPLIT_AT_ONCE_STATUSES
                no_retry_left = retries >= self.settings.policy.max_retries
                if at_once or too_large_streak >= 2 or no_retry_left:
                    if window.days == 1:
                        logger.info("giving up on %s: %s", window, error)
                        raise WindowTooLargeError(window.start, error)
                    return (yield from self._split(window, error))
            else:
                too_large_streak = 0
            if not should_retry(error) or retries >= self.settings.policy.max_retries:
                logger.info("giving up on %s after %d attempt(s): %s", window, retries + 1, error)
                raise error
            retries += 1
            retry_after = error.retry_after if isinstance(error, APIStatusError) else None
            delay = backoff(self.settings.policy, retries, retry_after=retry_after, rng=self.rng)
            if self.deadline is not None and self.clock() + delay >= self.deadline:
                raise self.deadline_error(window) from error
            self.stats.add(retries=1)
            awake = max(self.clock(), awake) + delay
            yield Sleep(delay)

    def _paced(self, window: Window, awake: float) -> Generator[Step, Outcome | None, tuple[Ticket, float]]:
        """Sleep until the client's throttle lets this window send (the hold after a 429, the pace);
        the ticket, and the time this window has slept until."""
        now = max(self.clock(), awake)
        ticket = self.throttle.acquire(now)
        while True:
            if ticket.at > now:
                if self.deadline is not None and ticket.at >= self.deadline:
                    raise self.deadline_error(window)
                yield Sleep(ticket.at - now)
                if self.stopped.is_set():
                    raise Cancelled
                now = awake = max(self.clock(), ticket.at)
            confirmed = self.throttle.confirm(ticket)
            if confirmed == ticket:
                return ticket, awake
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

    def _split(self, window: Window, error: ShortPenError) -> Generator[Step, Outcome | None, Chunk]:
        first, second = window.halves()
        logger.info("splitting %s into %s and %s after: %s", window, first, second, error)
        self.stats.add(splits=1)
        events = yield from self.protocol(first)
        return events + (yield from self.protocol(second))

    def _charge_request(self, window: Window) -> None:
        with self.stats._lock:
            if self.stats.requests >= self.max_requests:
                raise RequestBudgetExceededError(
                    f"this range has used its budget of {self.max_requests} requests "
                    "(raise max_requests, or use a smaller window_days)",
                    window=window.as_tuple(),
                )
            self.stats.requests += 1

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

    def delivered(self, window: Window, events: Chunk) -> None:
        """Count a delivered window and tell the progress callback."""
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
                    elapsed=self.clock() - self.started,
                    concurrency=limits.concurrency,
                    rate=limits.rate,
                )
            )


def default_max_requests(days: int, windows: int, policy: RetryPolicy) -> int:
    """Enough for every window to be split down to single days and each piece retried twice,
    far more than a healthy server ever needs, but finite."""
    return (2 * days + windows) * min(3, policy.max_retries + 1) + 16
