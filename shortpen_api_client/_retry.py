"""The retry policy, in three small pure functions: which failures to retry, how long the server
asked us to wait (``Retry-After``), and how long to back off otherwise (exponential, jittered).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import random
from collections.abc import Callable

import attrs

from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    InvalidResponseError,
    ResponseTooLargeError,
    ShortPenError,
)

#: Statuses worth another attempt: the request may well succeed later.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: Failures that mean "this window is too big for one response": split rather than insist.
#: 413 (and a response past ``max_response_bytes``) splits at once; a 504, or a timeout after the
#: response had started, splits only when it happens again after a retry.
SPLIT_AT_ONCE_STATUSES = frozenset({413})
TOO_LARGE_STATUSES = frozenset({504})


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How often and how long to retry one window.

    ``max_retries`` retries follow the first attempt. Waits grow ``initial_delay * 2**n`` up to
    ``max_delay``, minus up to ``jitter`` (a fraction) at random so that concurrent windows do not
    retry in lockstep. A ``Retry-After`` from the server wins, capped at ``max_retry_after``.
    """

    max_retries: int = 4
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    jitter: float = 0.25


def should_retry(error: ShortPenError) -> bool:
    """Transient failures: connection problems, timeouts, 408/429/5xx, and a malformed 200."""
    if isinstance(error, APIStatusError):
        return error.status_code in RETRYABLE_STATUSES
    if isinstance(error, APITimeoutError):
        return error.phase != "total"
    return isinstance(error, APIConnectionError | InvalidResponseError)


def is_too_large(error: ShortPenError) -> bool:
    """Failures that suggest the window holds too many clicks for one response: 413, 504, a
    response past ``max_response_bytes``, and a timeout once the response had started (``"read"``).
    A timeout before any byte of the response (``"headers"``) is not: a hung server is not a busy
    window, and splitting it would only multiply the requests."""
    if isinstance(error, APIStatusError):
        return error.status_code in TOO_LARGE_STATUSES or error.status_code in SPLIT_AT_ONCE_STATUSES
    if isinstance(error, ResponseTooLargeError):
        return True
    return isinstance(error, APITimeoutError) and error.phase == "read"


def splits_at_once(error: ShortPenError) -> bool:
    """Too large without a doubt: a 413, or a response past ``max_response_bytes`` (retrying the
    same window would get the same answer)."""
    if isinstance(error, APIStatusError):
        return error.status_code in SPLIT_AT_ONCE_STATUSES
    return isinstance(error, ResponseTooLargeError)


def parse_retry_after(value: str | None, *, now: Callable[[], dt.datetime] | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP-date. ``None`` when
    absent or unparseable; never negative."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        current = now() if now is not None else dt.datetime.now(dt.UTC)
        seconds = (when - current).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def backoff(
    policy: RetryPolicy,
    retry: int,
    *,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to sleep before retry number ``retry`` (1 for the first retry)."""
    if retry_after is not None:
        return min(retry_after, policy.max_retry_after)
    delay = min(policy.initial_delay * 2.0 ** (retry - 1), policy.max_delay)
    draw = (rng or _RNG).random()
    return delay * (1 - policy.jitter * draw)


_RNG = random.Random()  # noqa: S311  (jitter needs spread, not cryptographic randomness)
