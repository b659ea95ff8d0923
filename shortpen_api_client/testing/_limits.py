"""The fake's rate limit: a token bucket, as an API gateway keeps one per token.

``RateLimit`` is the setting (what you pass to ``FakeShortPen(rate_limit=...)``); ``TokenBucket`` is
its state, which the fake updates under its lock with the time of its own ``clock``, so a test that
gives the fake a fake clock decides when tokens come back and never waits for them.
"""

from __future__ import annotations

import math

import attrs

_EPSILON = 1e-9
"""Refills are sums of float products: a token due at exactly this moment counts as back."""


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise ValueError(f"{attribute.name} must be a positive number, got {value!r}")


def _burst(instance: RateLimit, attribute: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"burst must be an integer >= 1, got {value!r}")


@attrs.frozen(kw_only=True)
class RateLimit:
    """At most ``burst`` requests at once, then ``per_second`` on average (a token bucket).

    The bucket holds ``burst`` tokens (default: ``per_second`` rounded up) and starts full; it
    refills at ``per_second`` tokens a second. Every request the fake receives, whatever its token,
    takes one; a request that finds the bucket empty takes none and is answered 429 (the JSON error
    envelope, as ``Fault.rate_limit``) with ``Retry-After``: the whole seconds until a token is
    back, rounded up, at least 1.
    """

    per_second: float = attrs.field(validator=_positive)
    burst: int | None = attrs.field(default=None, validator=_burst)

    @property
    def capacity(self) -> int:
        return self.burst if self.burst is not None else max(1, math.ceil(self.per_second))


class TokenBucket:
    """The state of one ``RateLimit``: tokens left at the time of the last request. Not locked:
    the fake calls it under its own lock."""

    def __init__(self, limit: RateLimit, now: float) -> None:
        self.limit = limit
        self.tokens = float(limit.capacity)
        self.updated = now

    def take(self, now: float) -> int | None:
        """Take a token at ``now``: None when there was one, else the Retry-After in seconds."""
        elapsed = max(0.0, now - self.updated)
        self.updated = max(self.updated, now)
        self.tokens = min(float(self.limit.capacity), self.tokens + elapsed * self.limit.per_second)
        if self.tokens >= 1.0 - _EPSILON:
            self.tokens = max(0.0, self.tokens - 1.0)
            return None
        return max(1, math.ceil((1.0 - self.tokens) / self.limit.per_second))
