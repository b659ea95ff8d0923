"""Client-side rate control: how many windows a client fetches at once, and how fast it sends.

One ``Throttle`` per client, shared by every window of every call, so that a 429 slows the whole
client down rather than the one window that got it. It is sans-I/O: the caller passes the time in
and does any waiting itself; a lock makes it safe to share between the sync client's threads (the
async client's tasks use it the same way, never holding the lock across an ``await``).

What it does, after botocore's "adaptive" retry mode (a client-side token bucket whose rate is cut
on throttling and grows back) and TCP's congestion control (slow start, then additive increase and
multiplicative decrease). The SRE book's client-side throttling rejects requests locally once the
backend refuses many; a client that must fetch every window delays them instead:

- **Concurrency** (windows fetched at once). A client that knows nothing of the API's limit starts
  at 1 and adds one per success up to ``max_concurrency`` (slow start: doubling every round trip),
  so that it does not open with ``max_concurrency`` requests at once into a small burst allowance.
  Each 429 halves it (at least 1); after that it grows by ``1 / concurrency`` per success (one per
  round of that many successes) back up to ``max_concurrency``.
- **Hold.** A 429 with ``Retry-After`` holds every new request of the client until it has passed.
- **Rate** (requests a second, paced evenly). Unlimited until the first 429; then 0.7 times the
  rate the API was accepting: the successes of the last ``max(1 s, Retry-After)``, and those of the
  requests still in flight (often answered after a quick 429), over that span. Each later 429 cuts
  the current rate to 0.7 of it. Each success adds
  ``RATE_INCREASE`` of the rate at the last cut per second of sending, so the rate climbs back
  linearly and probes past the old limit as slowly (a cubic curve, as botocore's, overshoots more
  against a small burst allowance); grown to twice that rate without a 429, pacing stops. ``max_rate``
  (``max_requests_per_second``) paces from the first request and is never exceeded; such a client
  skips the slow start.

Only one cut per overload: a 429 answering a request that was scheduled before the last cut changes
nothing but the hold (its cause has been answered). Requests already scheduled when a cut comes are
rescheduled under the new pace (``confirm``). Other failures (5xx, timeouts) neither cut nor grow.
"""

from __future__ import annotations

import collections
import math
import threading

import attrs

CONCURRENCY_DECREASE = 0.5
"""Concurrency is halved on a 429 (TCP Reno's multiplicative decrease)."""
RATE_DECREASE = 0.7
"""The rate after a 429, as a share of the rate before (botocore's CUBIC beta)."""
RATE_INCREASE = 0.04
"""Per second of sending, the rate grows by this share of the rate at the last cut: back from 0.7 to
1.0 of it in about 7.5 s, then past it as slowly. Against a token bucket whose burst is a second of
its rate, that is a 429 every 10 to 15 s; faster growth meets more 429s, slower spends more time
below the limit (0.02 to 0.05 compared in ``tests/_simulation.py``'s virtual time)."""
UNPACED_ABOVE = 2.0
"""A rate grown to this many times the rate of the last cut without another 429 means the limit has
moved (or was never the bottleneck): pacing stops, and the next 429 measures the rate afresh,
rather than cutting a rate that has grown far past what is sent, 0.7 at a time."""
MIN_RATE = 0.05
"""Requests a second never fall below this (one every 20 s), whatever the 429s."""
MIN_MAX_RATE = 0.01
"""The smallest ``max_requests_per_second`` (one request every 100 s). A slower pace is no use to
anyone fetching clicks, and it bounds every wait the throttle asks for: at most ``max_concurrency``
requests are scheduled at once, so a ticket is never more than ``max_concurrency / MIN_MAX_RATE``
seconds ahead, plus a hold of at most 60 s (the longest ``Retry-After`` honoured). A rate of
``1e-300`` used to ask for a sleep of ``1e300`` s (an ``OverflowError`` in the sync client, a hang
in the async one)."""
_WINDOW = 60.0
"""Successes older than this are forgotten (the longest Retry-After honoured is 60 s)."""


@attrs.frozen
class Ticket:
    """Permission to send one request at ``at`` (the caller's clock), under the pace of cut number
    ``generation``."""

    at: float
    generation: int


@attrs.frozen
class Limits:
    """The throttle's current limits: windows at once, and requests a second (None: unpaced)."""

    concurrency: int
    rate: float | None


@attrs.frozen
class Change:
    """A change of the limits worth an INFO line: a cut after a 429, or a step of the recovery."""

    before: Limits
    after: Limits
    maximum: int
    """The client's ``max_concurrency``."""
    hold: float = 0.0
    """Seconds for which new requests wait (after a 429 with Retry-After)."""
    cut: bool = False

    def __str__(self) -> str:
        if not self.cut:
            return f"rate limit easing: concurrency {self.after.concurrency} of {self.maximum}, rate {_rate(self.after.rate)}"
        held = f"new requests wait {self.hold:.1f} s; " if self.hold > 0 else ""
        return (
            f"rate limited (429): {held}concurrency {self.before.concurrency} -> {self.after.concurrency} "
            f"of {self.maximum}, rate {_rate(self.before.rate)} -> {_rate(self.after.rate)}"
        )


def _rate(rate: float | None) -> str:
    """Requests a second for messages: two significant digits."""
    return "unlimited" if rate is None else f"{float(f'{rate:.2g}'):g}/s"


class Throttle:
    """The rate control of one client (see the module's docstring). Times are the caller's clock."""

    def __init__(self, *, max_concurrency: int, max_rate: float | None = None) -> None:
        if max_rate is not None and not MIN_MAX_RATE <= max_rate < math.inf:
            raise ValueError(f"max_rate must be from {MIN_MAX_RATE} to a finite number, got {max_rate!r}")
        self.max_concurrency = max_concurrency
        self.max_rate = max_rate
        self._lock = threading.Lock()
        self._slow_start = max_rate is None
        self._concurrency = 1.0 if max_rate is None else float(max_concurrency)
        self._rate = max_rate
        self._base = max_rate or 0.0
        """The rate at the last cut (or ``max_rate``): the increase is a share of it."""
        self._measured_over: float | None = None
        """The seconds over which the last cut measured the accepted rate (None: it cut a pace)."""
        self._hold_until = -math.inf
        self._next_at = -math.inf
        self._generation = 0
        self._successes: collections.deque[float] = collections.deque()
        self._reported = self._limits()

    @property
    def concurrency(self) -> int:
        """Windows a call may fetch at once now (1 to ``max_concurrency``)."""
        return int(self._concurrency)

    def limits(self) -> Limits:
        with self._lock:
            return self._limits()

    def acquire(self, now: float) -> Ticket:
        """Schedule one request: it may be sent at the returned ticket's ``at`` (``now`` or later)."""
        with self._lock:
            return self._schedule(now)

    def confirm(self, ticket: Ticket) -> Ticket:
        """The ticket, or a later one when a 429 has cut the limits since it was scheduled (call it
        at ``ticket.at``, just before sending; send when it comes back unchanged)."""
        with self._lock:
            if ticket.generation == self._generation:
                return ticket
            return self._schedule(ticket.at)

    def succeeded(self, ticket: Ticket, now: float) -> Change | None:
        """A request scheduled with ``ticket`` was answered (not with a 429) at ``now``."""
        with self._lock:
            self._successes.append(now)
            while self._successes and self._successes[0] <= now - _WINDOW:
                self._successes.popleft()
            if self._slow_start:
                self._concurrency = min(float(self.max_concurrency), self._concurrency + 1)
            else:
                self._concurrency = min(
                    float(self.max_concurrency), self._concurrency + 1 / self._concurrency
                )
            if self._measured_over is not None and ticket.generation == self._generation - 1:
                # In flight when the cut measured what the API accepts, accepted after it (429s
                # often come back faster than clicks): it belongs in that measure.
                self._base += 1 / self._measured_over
                self._rate = (self._rate or 0.0) + RATE_DECREASE / self._measured_over
            elif self._rate is not None and self._base > 0:
                self._rate += RATE_INCREASE * self._base / self._rate
            if self._rate is not None and self.max_rate is not None:
                self._rate = min(self._rate, self.max_rate)
            elif self._rate is not None and self._rate >= UNPACED_ABOVE * self._base:
                self._rate, self._base = None, 0.0
            return self._recovery()

    def throttled(self, ticket: Ticket, now: float, retry_after: float | None) -> Change | None:
        """A request scheduled with ``ticket`` was answered 429 at ``now``, with this ``Retry-After``
        (seconds, None without one): hold new requests, and cut the limits once per overload."""
        with self._lock:
            hold = retry_after or 0.0
            self._hold_until = max(self._hold_until, now + hold)
            if ticket.generation != self._generation:
                return None  # sent before the last cut, which already answered this overload
            before = self._limits()
            self._generation += 1
            self._slow_start = False
            self._concurrency = max(1.0, self._concurrency * CONCURRENCY_DECREASE)
            if self._rate is None:
                # What the API accepted: the successes of the last second (or of Retry-After, when
                # longer), and later those of the requests still in flight (``succeeded``).
                self._measured_over = window = max(1.0, hold)
                accepted = sum(1 for t in self._successes if t > now - window) / window
                rate = RATE_DECREASE * accepted if accepted > 0 else None
            else:
                self._measured_over = None
                rate = RATE_DECREASE * self._rate
            if rate is not None:
                rate = max(MIN_RATE, rate)
                self._base = rate / RATE_DECREASE
                self._rate = rate if self.max_rate is None else min(rate, self.max_rate)
            self._next_at = self._hold_until
            self._reported = after = self._limits()
            return Change(
                before, after, self.max_concurrency, hold=max(0.0, self._hold_until - now), cut=True
            )

    def _schedule(self, now: float) -> Ticket:
        at = max(now, self._hold_until)
        if self._rate is not None:
            at = max(at, self._next_at)
            self._next_at = at + min(1 / self._rate, 1 / MIN_MAX_RATE)  # never slower than the floor
        return Ticket(at, self._generation)

    def _limits(self) -> Limits:
        return Limits(int(self._concurrency), self._rate)

    def _recovery(self) -> Change | None:
        """A step of the recovery after a 429, when it is one worth reporting: concurrency up by
        one, or the rate up by a tenth since the last report. The slow start is not reported."""
        if self._generation == 0:
            return None
        now, last = self._limits(), self._reported
        grown = (
            now.concurrency != last.concurrency
            or (now.rate is None) != (last.rate is None)
            or (now.rate is not None and last.rate is not None and now.rate >= 1.1 * last.rate)
        )
        if not grown:
            return None
        self._reported = now
        return Change(last, now, self.max_concurrency)
