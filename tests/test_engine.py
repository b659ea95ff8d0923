"""The window protocol on its own, as h11's tests feed a connection bytes: no HTTP, no threads, no
clock. Each test drives ``Run.protocol`` with outcomes (and the times they happened) and checks what
it decides: attempt, sleep, retry, split or give up; the too-large streak; the request budget; the
call's deadline; and what it logs."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

import pytest

from shortpen_api_client import _engine
from shortpen_api_client._engine import Attempt, Budget, Outcome, Run, Settings, Sleep, Step, Woke
from shortpen_api_client._retry import RetryPolicy
from shortpen_api_client._windows import Window
from shortpen_api_client.errors import (
    APIConnectionError,
    APITimeoutError,
    BadRequestError,
    InvalidResponseError,
    RateLimitError,
    RequestBudgetExceededError,
    ResponseTooLargeError,
    ServerError,
    ShortPenError,
    WindowTooLargeError,
)

TOKEN = "spk_engine_test_9c1e"
WEEK = Window(dt.date(2025, 1, 1), dt.date(2025, 1, 7))
Answer = Callable[[Attempt], "list[str] | ShortPenError"]


def make_run(windows: list[Window] | None = None, *, started: float = 0.0, **options: object) -> Run:
    settings: dict[str, object] = {
        "base_url": "https://api.shortpen.com",
        "token": TOKEN,
        "timeout": 60.0,
        "total_timeout": None,
        "window_days": 7,
        "max_concurrency": 8,
        "max_requests": None,
        "max_response_bytes": 1000,
        "max_buffered_bytes": 5000,
        "policy": RetryPolicy(jitter=0.0),
    }
    settings.update(options)
    return Run(
        Settings(**settings),  # type: ignore[arg-type]
        windows or [WEEK],
        workspace_id=None,
        url_id=None,
        started=started,
    )


def days(window: Window) -> list[str]:
    """A window's "events": one per day, so the halves of a split join back exactly."""
    return [day.isoformat() for day in window.each_day()]


class Driver:
    """Drives one window's protocol as a driver would: each attempt takes ``cost`` seconds of the
    driver's clock and is answered by ``answer``; each sleep moves the clock on by its length."""

    def __init__(self, run: Run, answer: Answer, *, cost: float = 1.0, now: float = 0.0) -> None:
        self.run = run
        self.answer = answer
        self.cost = cost
        self.now = now
        self.steps: list[Step] = []

    def fetch(self, window: Window = WEEK) -> list[str]:
        protocol = self.run.protocol(window, self.now)
        step = next(protocol)
        try:
            while True:
                self.steps.append(step)
                if isinstance(step, Attempt):
                    self.now += self.cost
                    answer = self.answer(step)
                    if isinstance(answer, ShortPenError):
                        step = protocol.send(Outcome(error=answer, at=self.now))
                    else:
                        step = protocol.send(Outcome(events=answer, status=200, at=self.now))
                else:
                    self.now += step.seconds
                    step = protocol.send(Woke(self.now))
        except StopIteration as done:
            events: list[str] = done.value
            return events

    @property
    def attempts(self) -> list[tuple[str, int]]:
        return [(str(s.window), s.number) for s in self.steps if isinstance(s, Attempt)]

    @property
    def sleeps(self) -> list[float]:
        return [s.seconds for s in self.steps if isinstance(s, Sleep)]


def failing(*errors: ShortPenError) -> Answer:
    """The given errors, in turn, then success."""
    queue = list(errors)
    return lambda attempt: queue.pop(0) if queue else days(attempt.window)


def too_large_over(max_days: int, error: Callable[[], ShortPenError]) -> Answer:
    return lambda attempt: error() if attempt.window.days > max_days else days(attempt.window)


def test_one_attempt_that_succeeds() -> None:
    run = make_run()
    driver = Driver(run, failing())
    assert driver.fetch() == days(WEEK)
    assert driver.steps == [Attempt(WEEK, 1, 60.0)]
    assert (run.stats.requests, run.stats.retries, run.stats.splits) == (1, 0, 0)


def test_transient_failures_are_retried_with_exponential_backoff() -> None:
    run = make_run()
    errors = [ServerError(503, "down"), APIConnectionError("reset"), InvalidResponseError("html")]
    driver = Driver(run, failing(*errors))
    assert driver.fetch() == days(WEEK)
    assert driver.attempts == [("2025-01-01..2025-01-07", n) for n in (1, 2, 3, 4)]
    assert driver.sleeps == [0.5, 1.0, 2.0]
    assert run.stats.retries == 3


def test_retries_give_up_with_the_last_error_after_max_retries() -> None:
    run = make_run(policy=RetryPolicy(max_retries=2, jitter=0.0))
    driver = Driver(run, lambda attempt: ServerError(503, f"down {attempt.number}"))
    with pytest.raises(ServerError, match="down 3"):
        driver.fetch()
    assert len(driver.attempts) == 3


def test_a_bad_request_is_never_retried() -> None:
    driver = Driver(make_run(), failing(BadRequestError(400, "end before start")))
    with pytest.raises(BadRequestError):
        driver.fetch()
    assert driver.attempts == [("2025-01-01..2025-01-07", 1)]
    assert driver.sleeps == []


def test_retry_after_is_honoured_and_a_429_never_splits() -> None:
    driver = Driver(make_run(), failing(*[RateLimitError(429, "slow", retry_after=7.0)] * 4))
    assert driver.fetch() == days(WEEK)
    assert driver.sleeps == [7.0] * 4
    assert {window for window, _ in driver.attempts} == {"2025-01-01..2025-01-07"}


def test_a_413_splits_at_once_down_to_what_the_server_answers() -> None:
    run = make_run()
    driver = Driver(run, too_large_over(2, lambda: ServerError(413, "too large")))
    assert driver.fetch() == days(WEEK)  # in order, each day once
    assert driver.attempts == [
        ("2025-01-01..2025-01-07", 1),
        ("2025-01-01..2025-01-04", 1),
        ("2025-01-01..2025-01-02", 1),
        ("2025-01-03..2025-01-04", 1),
        ("2025-01-05..2025-01-07", 1),
        ("2025-01-05..2025-01-06", 1),
        ("2025-01-07", 1),
    ]
    assert driver.sleeps == []
    assert run.stats.splits == 3


def test_a_response_past_max_response_bytes_splits_at_once() -> None:
    driver = Driver(make_run(), too_large_over(4, lambda: ResponseTooLargeError(1000)))
    assert driver.fetch() == days(WEEK)
    assert driver.attempts[:3] == [
        ("2025-01-01..2025-01-07", 1),
        ("2025-01-01..2025-01-04", 1),
        ("2025-01-05..2025-01-07", 1),
    ]


def test_a_one_day_window_over_max_response_bytes_names_the_day_and_the_limit() -> None:
    day = Window(dt.date(2025, 1, 3), dt.date(2025, 1, 3))
    driver = Driver(make_run([day]), lambda attempt: ResponseTooLargeError(1000, window=day.as_tuple()))
    with pytest.raises(WindowTooLargeError, match=r"^2025-01-03: .*max_response_bytes=1,000") as info:
        driver.fetch(day)
    assert (info.value.day, info.value.limit) == (day.start, 1000)
    assert isinstance(info.value.__cause__, ResponseTooLargeError)
    assert len(driver.attempts) == 1  # never retried: the same day would be as large again


def test_a_504_splits_only_when_it_happens_twice_in_a_row() -> None:
    twice = Driver(make_run(), failing(ServerError(504, "gateway"), ServerError(504, "gateway")))
    twice.fetch()
    assert twice.attempts[:3] == [
        ("2025-01-01..2025-01-07", 1),
        ("2025-01-01..2025-01-07", 2),
        ("2025-01-01..2025-01-04", 1),
    ]
    broken = Driver(
        make_run(),
        failing(ServerError(504, "gateway"), ServerError(503, "down"), ServerError(504, "gateway")),
    )
    broken.fetch()
    assert broken.attempts == [("2025-01-01..2025-01-07", n) for n in (1, 2, 3, 4)]


def test_with_no_retry_left_a_504_splits_at_once() -> None:
    driver = Driver(
        make_run(policy=RetryPolicy(max_retries=0)), too_large_over(4, lambda: ServerError(504, "x"))
    )
    assert driver.fetch() == days(WEEK)
    assert driver.attempts[1] == ("2025-01-01..2025-01-04", 1)


def test_a_timeout_before_any_byte_is_retried_and_never_split() -> None:
    """A hung server is not a busy window: no split, and the error says where it stopped."""
    run = make_run()
    driver = Driver(run, lambda attempt: APITimeoutError("no response", phase="headers"))
    with pytest.raises(APITimeoutError) as info:
        driver.fetch()
    assert info.value.phase == "headers"
    assert driver.attempts == [("2025-01-01..2025-01-07", n) for n in (1, 2, 3, 4, 5)]
    assert run.stats.splits == 0


def test_a_timeout_after_the_response_had_started_splits_when_it_persists() -> None:
    driver = Driver(make_run(), too_large_over(4, lambda: APITimeoutError("slow body", phase="read")))
    assert driver.fetch() == days(WEEK)
    assert driver.attempts[:3] == [
        ("2025-01-01..2025-01-07", 1),
        ("2025-01-01..2025-01-07", 2),
        ("2025-01-01..2025-01-04", 1),
    ]


def test_a_one_day_window_that_stays_too_large_names_the_day() -> None:
    day = Window(dt.date(2025, 1, 9), dt.date(2025, 1, 9))
    driver = Driver(make_run([day]), lambda attempt: ServerError(504, "gateway", window=day.as_tuple()))
    with pytest.raises(WindowTooLargeError, match=r"^2025-01-09: .*HTTP 504") as info:
        driver.fetch(day)
    assert info.value.limit is None
    assert len(driver.attempts) == 2


def test_the_request_budget_is_shared_by_the_windows_of_a_run() -> None:
    second = Window(dt.date(2025, 1, 8), dt.date(2025, 1, 14))
    run = make_run([WEEK, second], max_requests=3, policy=RetryPolicy(max_retries=10, jitter=0.0))
    Driver(run, failing(ServerError(503, "down"))).fetch(WEEK)  # two requests
    driver = Driver(run, lambda attempt: ServerError(503, "down"))
    with pytest.raises(RequestBudgetExceededError, match="budget of 3 requests"):
        driver.fetch(second)
    assert driver.attempts == [("2025-01-08..2025-01-14", 1)]  # the third, and last, request
    assert run.stats.requests == 3


def test_attempts_are_shortened_to_the_time_left_before_the_deadline() -> None:
    run = make_run(total_timeout=10.0, started=100.0)
    driver = Driver(run, failing(ServerError(503, "down")), cost=4.0, now=100.0)
    driver.fetch()
    first, second = (s for s in driver.steps if isinstance(s, Attempt))
    assert first.timeout == 10.0  # not the 60 s timeout: only 10 s are left
    assert second.timeout == pytest.approx(10.0 - 4.0 - 0.5)  # after a 4 s attempt and a 0.5 s sleep


def test_no_sleep_past_the_deadline() -> None:
    run = make_run(total_timeout=10.0)
    driver = Driver(run, lambda attempt: RateLimitError(429, "slow", retry_after=4.0), cost=0.5)
    with pytest.raises(APITimeoutError, match="total_timeout of 10s") as info:
        driver.fetch()
    assert info.value.phase == "total"
    assert isinstance(info.value.__cause__, RateLimitError)
    assert driver.sleeps == [4.0, 4.0]  # 0.5 + 4 + 0.5 + 4 + 0.5: a third sleep would end at 13.5
    assert driver.now == 9.5


def test_the_halves_of_a_split_start_from_the_clock_of_the_last_outcome() -> None:
    """A split's second half is attempted when the first is done: its timeout counts from then."""
    run = make_run(total_timeout=70.0)
    driver = Driver(run, too_large_over(4, lambda: ServerError(413, "too large")), cost=10.0)
    driver.fetch()
    timeouts = [(str(s.window), s.timeout) for s in driver.steps if isinstance(s, Attempt)]
    assert timeouts == [
        ("2025-01-01..2025-01-07", 60.0),
        ("2025-01-01..2025-01-04", 60.0),  # at 10 s: 60 s left
        ("2025-01-05..2025-01-07", 50.0),  # at 20 s, when the first half is done: 50 s left
    ]


def test_windows_start_while_those_in_flight_hold_less_than_the_byte_budget() -> None:
    budget = Budget(make_run(max_concurrency=3, max_buffered_bytes=5000).settings)
    day = Window(dt.date(2025, 1, 1), dt.date(2025, 1, 1))
    assert budget.may_start([], 3)  # one window always may, however large
    assert budget.may_start([(WEEK, 4000), (day, 999)], 3)
    assert not budget.may_start([(WEEK, 4000), (day, 1000)], 3)  # the bytes held are the bound
    assert not budget.may_start([(day, 0)] * 3, 3)  # and the count (the throttle's concurrency)
    assert not budget.may_start([(day, 0)], 1)


def test_a_window_not_yet_received_counts_as_much_per_day_as_the_last_one_delivered() -> None:
    """Else windows just started (nothing received yet) would look empty, and all would start."""
    budget = Budget(make_run(max_buffered_bytes=5000).settings)
    assert budget.held([(WEEK, 0)]) == 0  # nothing known yet
    budget.delivered(WEEK, 3500)  # 500 bytes a day
    assert budget.held([(WEEK, 0), (Window(dt.date(2025, 1, 8), dt.date(2025, 1, 9)), 1200)]) == 3500 + 1200
    assert not budget.may_start([(WEEK, 0), (WEEK, 0)], 8)  # two weeks expected: 7000 bytes


def test_the_token_is_taken_out_of_errors_before_anything_sees_them(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="shortpen_api_client")
    driver = Driver(make_run(), lambda attempt: BadRequestError(400, f"bad token {TOKEN}"))
    with pytest.raises(BadRequestError) as info:
        driver.fetch()
    assert TOKEN not in str(info.value)
    assert TOKEN not in caplog.text


def test_retries_are_logged_at_info_and_give_ups_at_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="shortpen_api_client")
    run = make_run(policy=RetryPolicy(max_retries=1, jitter=0.0))
    with pytest.raises(ServerError):
        Driver(run, lambda attempt: ServerError(503, "maintenance", window=WEEK.as_tuple())).fetch()
    (retry, give_up) = caplog.records
    assert (retry.levelname, retry.getMessage()) == (
        "INFO",
        "retrying 2025-01-01..2025-01-07 in 0.50s: attempt 1 of 2 failed: HTTP 503: maintenance",
    )
    assert (give_up.levelname, give_up.getMessage()) == (
        "WARNING",
        "giving up on 2025-01-01..2025-01-07 after 2 attempts: HTTP 503: maintenance",
    )


def test_the_protocol_reads_no_clock_and_takes_no_lock() -> None:
    """Sans-I/O: time comes in with the outcomes, stopping is the driver's; nothing to wait on."""
    imported = {getattr(value, "__name__", "") for value in vars(_engine).values()}
    assert not imported & {"time", "threading", "asyncio"}
    assert not hasattr(make_run(), "clock")
    assert not hasattr(make_run(), "stopped")
