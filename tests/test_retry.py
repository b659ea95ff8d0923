"""The retry policy: what is retried, Retry-After parsing, jittered exponential backoff."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from shortpen_api_client._retry import RetryPolicy, backoff, is_too_large, parse_retry_after, should_retry
from shortpen_api_client.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    InvalidResponseError,
    RateLimitError,
    ServerError,
    ShortPenError,
)


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (APIConnectionError("reset"), True),
        (APITimeoutError("slow", phase="read"), True),
        (APITimeoutError("no connection", phase="connect"), True),
        (APITimeoutError("deadline", phase="total"), False),
        (InvalidResponseError("html"), True),
        (APIStatusError(408, "timeout"), True),
        (RateLimitError(429, "slow down"), True),
        (ServerError(500, "oops"), True),
        (ServerError(502, "bad gateway"), True),
        (ServerError(503, "unavailable"), True),
        (ServerError(504, "gateway timeout"), True),
        (BadRequestError(400, "end before start"), False),
        (AuthenticationError(401, "bad token"), False),
        (APIStatusError(404, "not found"), False),
        (APIStatusError(413, "too large"), False),
        (ServerError(501, "not implemented"), False),
    ],
)
def test_should_retry(error: ShortPenError, retried: bool) -> None:
    assert should_retry(error) is retried


@pytest.mark.parametrize(
    ("error", "too_large"),
    [
        (ServerError(504, "gateway timeout"), True),
        (APIStatusError(413, "too large"), True),
        (APITimeoutError("slow", phase="read"), True),
        (APITimeoutError("no connection", phase="connect"), False),
        (RateLimitError(429, "slow down"), False),  # 429 is never a reason to split
        (ServerError(502, "bad gateway"), False),
        (APIConnectionError("reset"), False),
    ],
)
def test_is_too_large(error: ShortPenError, too_large: bool) -> None:
    assert is_too_large(error) is too_large


NOW = dt.datetime(2025, 1, 1, 12, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("3", 3.0),
        (" 2.5 ", 2.5),
        ("0", 0.0),
        ("-4", 0.0),
        ("Wed, 01 Jan 2025 12:00:07 GMT", 7.0),
        ("Wed, 01 Jan 2025 11:59:00 GMT", 0.0),  # in the past: retry now
        ("soon", None),
        ("", None),
        ("nan", None),
        (None, None),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, now=lambda: NOW) == seconds


def test_backoff_grows_exponentially_up_to_the_cap_without_jitter() -> None:
    policy = RetryPolicy(initial_delay=0.5, max_delay=4.0, jitter=0.0)
    assert [backoff(policy, n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]


def test_backoff_jitter_stays_within_its_fraction() -> None:
    policy = RetryPolicy(initial_delay=1.0, max_delay=60.0, jitter=0.25)
    rng = random.Random(7)
    delays = [backoff(policy, 3, rng=rng) for _ in range(500)]
    assert all(3.0 <= d <= 4.0 for d in delays)
    assert max(delays) - min(delays) > 0.5  # really spread


def test_retry_after_wins_and_is_capped() -> None:
    policy = RetryPolicy(max_retry_after=30.0)
    assert backoff(policy, 1, retry_after=12.0) == 12.0
    assert backoff(policy, 1, retry_after=0.0) == 0.0
    assert backoff(policy, 1, retry_after=3600.0) == 30.0
