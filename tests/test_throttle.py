"""The client's rate control on its own (``_throttle.Throttle``, fed times and outcomes), inside the
window protocol (``Run.protocol``, fed outcomes, no I/O), and against a rate-limited server in
virtual time (``_simulation``)."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import math
import threading

import hypothesis
import pytest
from hypothesis import strategies as st

from shortpen_api_client._drive import Control
from shortpen_api_client._engine import Attempt, Cancelled, Outcome, Progress, Run, Sleep, Woke
from shortpen_api_client._throttle import (
    MIN_MAX_RATE,
    MIN_RATE,
    RATE_DECREASE,
    RATE_INCREASE,
    UNPACED_ABOVE,
    Change,
    Limits,
    Throttle,
    Ticket,
)
from shortpen_api_client._windows import Window
from shortpen_api_client.errors import APITimeoutError, RateLimitError, ServerError
from shortpen_api_client.testing import RateLimit

from ._simulation import Simulation, one_day_windows, settings, simulate

# -- the controller alone -------------------------------------------------------------------------


def rate_of(throttle: Throttle) -> float:
    rate = throttle.limits().rate
    assert rate is not None
    return rate


def slept(step: object) -> float:
    assert isinstance(step, Sleep)
    return step.seconds


def succeed(throttle: Throttle, times: int, now: float = 0.0) -> list[Change]:
    changes = []
    for _ in range(times):
        change = throttle.succeeded(throttle.acquire(now), now)
        if change is not None:
            changes.append(change)
    return changes


def test_a_new_client_starts_with_one_window_and_adds_one_per_success_up_to_its_maximum() -> None:
    throttle = Throttle(max_concurrency=8)
    seen = [throttle.concurrency]
    for _ in range(9):
        succeed(throttle, 1)
        seen.append(throttle.concurrency)
    assert seen == [1, 2, 3, 4, 5, 6, 7, 8, 8, 8]
    assert throttle.limits() == Limits(concurrency=8, rate=None)


def test_unpaced_until_the_first_429() -> None:
    throttle = Throttle(max_concurrency=8)
    tickets = [throttle.acquire(5.0) for _ in range(20)]
    assert {ticket.at for ticket in tickets} == {5.0}


def test_a_429_holds_every_new_request_for_retry_after_and_cuts_concurrency_and_rate() -> None:
    throttle = Throttle(max_concurrency=8)
    succeed(throttle, 3, now=10.0)  # slow start: concurrency 4; three accepted within the last second
    ticket = throttle.acquire(10.3)
    change = throttle.throttled(ticket, 10.3, retry_after=1.0)  # (answered at once)
    assert change is not None
    assert change.cut
    assert throttle.concurrency == 2  # halved
    rate = rate_of(throttle)
    assert rate == pytest.approx(RATE_DECREASE * 3)  # 0.7 x the rate the API accepted
    assert change.before == Limits(concurrency=4, rate=None)
    assert change.after == Limits(concurrency=2, rate=rate)
    assert change.hold == pytest.approx(1.0)
    first = throttle.acquire(10.4)
    assert first.at == pytest.approx(11.3)  # not before Retry-After has passed, whoever asks
    second = throttle.acquire(10.4)
    assert second.at == pytest.approx(11.3 + 1 / rate)  # then paced evenly


def test_the_accepted_rate_is_measured_over_retry_after_when_it_is_longer_than_a_second() -> None:
    throttle = Throttle(max_concurrency=8)
    for t in (0.0, 1.0, 2.0, 3.0):
        throttle.succeeded(throttle.acquire(t), t)
    throttle.throttled(throttle.acquire(4.5), 4.5, retry_after=4.0)
    # three successes in the 4 s before the 429 (none in the last second): 0.75 a second
    assert throttle.limits().rate == pytest.approx(RATE_DECREASE * 3 / 4)


def test_requests_in_flight_at_the_first_cut_and_accepted_after_it_count_in_its_measure() -> None:
    throttle = Throttle(max_concurrency=8)
    succeed(throttle, 1, now=0.0)
    accepted, refused = throttle.acquire(0.0), throttle.acquire(0.0)  # sent together
    throttle.throttled(refused, 0.1, retry_after=1.0)  # the 429 comes back first
    assert throttle.limits().rate == pytest.approx(RATE_DECREASE * 1)  # one success in the last second
    throttle.succeeded(accepted, 0.3)  # the other one was accepted: the API took two, not one
    assert throttle.limits().rate == pytest.approx(RATE_DECREASE * 2)
    later = throttle.acquire(1.1)
    throttle.succeeded(later, 1.2)  # sent after the cut: an ordinary success, a small step up
    assert throttle.limits().rate == pytest.approx(
        RATE_DECREASE * 2 + RATE_INCREASE * 2 / (RATE_DECREASE * 2)
    )


def test_a_429_before_any_success_cuts_concurrency_but_cannot_guess_a_rate() -> None:
    throttle = Throttle(max_concurrency=8)
    succeed(throttle, 3, now=0.0)
    change = throttle.throttled(throttle.acquire(5.0), 5.0, retry_after=None)  # nothing in the last second
    assert change is not None
    assert throttle.limits() == Limits(concurrency=2, rate=None)
    assert throttle.acquire(5.0).at == 5.0  # no Retry-After: no hold


def test_one_cut_per_overload_429s_of_requests_scheduled_before_it_only_extend_the_hold() -> None:
    throttle = Throttle(max_concurrency=8)
    succeed(throttle, 7)  # concurrency 8
    in_flight = [throttle.acquire(0.0) for _ in range(6)]
    assert throttle.throttled(in_flight[0], 0.1, retry_after=1.0) is not None
    limits = throttle.limits()
    for ticket in in_flight[1:]:
        assert throttle.throttled(ticket, 0.2, retry_after=2.0) is None
    assert throttle.limits() == limits  # cut once, not six times
    assert throttle.acquire(0.3).at == pytest.approx(2.2)  # but the longest hold counts


def test_a_429_after_the_cut_cuts_again() -> None:
    throttle = Throttle(max_concurrency=8)
    succeed(throttle, 3)
    throttle.throttled(throttle.acquire(0.0), 0.0, retry_after=1.0)
    rate = rate_of(throttle)
    later = throttle.acquire(0.5)
    assert throttle.throttled(later, 1.2, retry_after=1.0) is not None
    assert throttle.concurrency == 1
    assert rate_of(throttle) == pytest.approx(RATE_DECREASE * rate)


def test_requests_scheduled_before_a_cut_are_rescheduled_after_its_hold() -> None:
    throttle = Throttle(max_concurrency=8)
    succeed(throttle, 3)
    throttle.throttled(throttle.acquire(0.0), 0.0, retry_after=1.0)
    rate = rate_of(throttle)
    waiting = [throttle.acquire(1.0), throttle.acquire(1.0)]  # paced after the hold
    assert throttle.confirm(waiting[0]) == waiting[0]  # nothing happened since: send it
    throttle.throttled(throttle.acquire(1.0), 1.0, retry_after=3.0)  # a new overload meanwhile
    moved = [throttle.confirm(ticket) for ticket in waiting]
    assert moved[0].at == pytest.approx(4.0)
    assert moved[1].at == pytest.approx(4.0 + 1 / (RATE_DECREASE * rate))
    assert [throttle.confirm(ticket) for ticket in moved] == moved


def test_after_a_cut_concurrency_grows_by_one_per_round_of_successes() -> None:
    throttle = Throttle(max_concurrency=8)
    succeed(throttle, 3)  # 4
    throttle.throttled(throttle.acquire(0.0), 0.0, retry_after=1.0)  # 2
    seen = []
    for _ in range(6):
        succeed(throttle, 1)
        seen.append(throttle.concurrency)
    assert seen == [2, 2, 3, 3, 3, 4]  # + 1/concurrency a success: one more a round of them


def test_after_a_cut_the_rate_grows_linearly_back_to_where_it_was_cut() -> None:
    throttle = Throttle(max_concurrency=8)
    succeed(throttle, 3)
    throttle.throttled(throttle.acquire(0.0), 0.0, retry_after=1.0)
    base = 3.0  # three successes in the last second
    rate = rate_of(throttle)
    assert rate == pytest.approx(RATE_DECREASE * base)
    succeed(throttle, 1)
    assert throttle.limits().rate == pytest.approx(rate + RATE_INCREASE * base / rate)
    # Sending at the rate, it grows by RATE_INCREASE x base a second: 7.5 s back to base.
    seconds = 1 / rate
    while (current := throttle.limits().rate) is not None and current < base:
        succeed(throttle, 1)
        seconds += 1 / current
    assert seconds == pytest.approx((1 - RATE_DECREASE) / RATE_INCREASE, rel=0.05)


def test_grown_to_twice_the_rate_of_the_last_cut_without_a_429_pacing_stops() -> None:
    throttle = Throttle(max_concurrency=8)
    succeed(throttle, 3)
    throttle.throttled(throttle.acquire(0.0), 0.0, retry_after=1.0)  # 2.1/s, cut from 3
    steps = succeed(throttle, 400)
    assert throttle.limits() == Limits(concurrency=8, rate=None)
    assert str(steps[-1]) == "rate limit easing: concurrency 8 of 8, rate unlimited"
    assert steps[-2].after.rate is not None
    assert steps[-2].after.rate < UNPACED_ABOVE * 3
    # the next 429 measures afresh (two successes in its last second), not 0.7 x a grown rate
    succeed(throttle, 2, now=100.0)
    throttle.throttled(throttle.acquire(100.0), 100.0, retry_after=1.0)
    assert rate_of(throttle) == pytest.approx(RATE_DECREASE * 2)


def test_other_failures_neither_cut_nor_grow() -> None:
    throttle = Throttle(max_concurrency=8)
    throttle.acquire(0.0)  # a request that ends in a 503 or a timeout tells the throttle nothing
    assert throttle.limits() == Limits(concurrency=1, rate=None)


def test_the_rate_never_falls_below_its_minimum() -> None:
    throttle = Throttle(max_concurrency=2, max_rate=1.0)
    for t in range(40):
        throttle.throttled(throttle.acquire(float(t)), float(t), retry_after=None)
    assert throttle.limits() == Limits(concurrency=1, rate=MIN_RATE)


def test_max_rate_paces_from_the_first_request_skips_the_slow_start_and_is_never_exceeded() -> None:
    throttle = Throttle(max_concurrency=8, max_rate=2.0)
    assert throttle.limits() == Limits(concurrency=8, rate=2.0)
    assert [throttle.acquire(0.0).at for _ in range(4)] == [0.0, 0.5, 1.0, 1.5]
    succeed(throttle, 50, now=2.0)
    assert throttle.limits().rate == 2.0
    throttle.throttled(throttle.acquire(30.0), 30.0, retry_after=1.0)
    assert throttle.limits().rate == pytest.approx(1.4)
    succeed(throttle, 200, now=31.0)
    assert throttle.limits().rate == 2.0  # grew back, and no further


def test_changes_are_reported_for_cuts_and_steps_of_the_recovery_not_the_slow_start() -> None:
    throttle = Throttle(max_concurrency=4)
    assert succeed(throttle, 5) == []  # slow start to 4: nothing to report
    cut = throttle.throttled(throttle.acquire(0.0), 0.0, retry_after=2.0)
    assert str(cut) == (
        "rate limited (429): new requests wait 2.0 s; concurrency 4 -> 2 of 4, rate unlimited -> 1.8/s"
    )
    steps = succeed(throttle, 12)
    assert [str(step) for step in steps[:2]] == [
        "rate limit easing: concurrency 3 of 4, rate 1.9/s",
        "rate limit easing: concurrency 4 of 4, rate 2.1/s",
    ]
    for before, after in itertools.pairwise(steps):
        assert before.after == after.before
        grew = after.after.concurrency > after.before.concurrency
        assert grew or after.after.rate >= 1.1 * after.before.rate  # type: ignore[operator]


def test_shared_by_threads_every_request_keeps_its_own_slot_of_the_pace() -> None:
    throttle = Throttle(max_concurrency=8, max_rate=100.0)
    tickets: list[Ticket] = []
    lock = threading.Lock()

    def worker() -> None:
        mine = [throttle.acquire(0.0) for _ in range(200)]
        with lock:
            tickets.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    times = sorted(ticket.at for ticket in tickets)
    assert times == pytest.approx([i / 100 for i in range(1600)])


# -- inside the window protocol (sans-I/O: outcomes fed by hand) ----------------------------------

DAY = Window(dt.date(2025, 1, 1), dt.date(2025, 1, 1))
NEXT_DAY = Window(dt.date(2025, 1, 2), dt.date(2025, 1, 2))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make_run(clock: Clock, throttle: Throttle | None = None, **options: object) -> Run:
    return Run(
        settings(**options),  # type: ignore[arg-type]
        [DAY, NEXT_DAY],
        workspace_id=None,
        url_id=None,
        started=clock.now,
        throttle=throttle,
    )


def ok(window: Window, at: float) -> Outcome:
    events: list[dict[str, str]] = [{"day": window.start.isoformat()}]
    return Outcome(events=events, status=200, at=at)


def too_many(window: Window, retry_after: float | None, *, at: float) -> Outcome:
    error = RateLimitError(429, "slow down", retry_after=retry_after, window=window.as_tuple())
    return Outcome(error=error, at=at)


def test_a_429_in_one_window_makes_the_others_wait_for_retry_after() -> None:
    clock = Clock()
    run = make_run(clock)
    succeed(run.throttle, 1, now=clock.now)
    first, second = run.protocol(DAY, clock.now), run.protocol(NEXT_DAY, clock.now)
    assert next(first) == Attempt(DAY, 1, 60.0)
    assert next(second) == Attempt(NEXT_DAY, 1, 60.0)  # both sent before anything is known
    assert first.send(too_many(DAY, retry_after=3.0, at=clock.now)) == Sleep(
        3.0
    )  # its own backoff: Retry-After
    rate = rate_of(run.throttle)  # 0.7 x one success in the 3 s of Retry-After
    assert rate == pytest.approx(RATE_DECREASE / 3)
    third = run.protocol(NEXT_DAY, clock.now)  # a window starting now (say, of the next call)
    assert slept(next(third)) == pytest.approx(3.0)  # held as well: the whole client slows down
    with pytest.raises(StopIteration):
        second.send(ok(NEXT_DAY, clock.now))  # the one already in flight is not undone
    clock.now += 3.0
    assert third.send(Woke(clock.now)) == Attempt(NEXT_DAY, 1, 60.0)
    assert slept(first.send(Woke(clock.now))) == pytest.approx(1 / rate)  # and from now on, paced
    clock.now += 1 / rate
    assert first.send(Woke(clock.now)) == Attempt(DAY, 2, 60.0)


def test_with_an_injected_sleep_that_does_not_move_the_clock_nothing_waits_twice() -> None:
    clock = Clock()  # never moves: as with sleep=waits.append
    run = make_run(clock)
    protocol = run.protocol(DAY, clock.now)
    assert next(protocol) == Attempt(DAY, 1, 60.0)
    assert protocol.send(too_many(DAY, retry_after=2.0, at=clock.now)) == Sleep(2.0)
    assert protocol.send(Woke(clock.now)) == Attempt(
        DAY, 2, 60.0
    )  # slept until the hold's end, as far as it knows
    with pytest.raises(StopIteration):
        protocol.send(ok(DAY, clock.now))


def test_a_wait_for_the_throttle_that_would_pass_the_total_timeout_raises_at_once() -> None:
    clock = Clock()
    run = make_run(clock, total_timeout=10.0)
    succeed(run.throttle, 1, now=clock.now)
    run.throttle.throttled(run.throttle.acquire(clock.now), clock.now, retry_after=30.0)
    with pytest.raises(APITimeoutError) as info:
        next(run.protocol(DAY, clock.now))
    assert info.value.phase == "total"


def test_a_stopped_call_gives_up_after_a_throttle_wait() -> None:
    """Stopping is the driver's (``Control``): a window that wakes from the throttle's wait after the
    call stopped takes no further step."""
    clock = Clock()
    throttle = Throttle(max_concurrency=8)
    succeed(throttle, 1, now=clock.now)
    throttle.throttled(throttle.acquire(clock.now), clock.now, retry_after=5.0)
    control = Control(make_run(clock, throttle))
    protocol, step = control.start(DAY, clock.now)
    assert isinstance(step, Sleep)
    control.stop()
    with pytest.raises(Cancelled):
        control.step(protocol, Woke(clock.now))


def test_other_failures_leave_the_limits_alone() -> None:
    clock = Clock()
    run = make_run(clock)
    protocol = run.protocol(DAY, clock.now)
    next(protocol)
    step = protocol.send(Outcome(error=ServerError(503, "down"), status=503, at=clock.now))
    assert isinstance(step, Sleep)
    assert run.throttle.limits() == Limits(concurrency=1, rate=None)


def test_cuts_and_recovery_are_logged_at_info_with_the_window(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="shortpen_api_client")
    clock = Clock()
    run = make_run(clock)
    succeed(run.throttle, 1, now=clock.now)
    protocol = run.protocol(DAY, clock.now)
    next(protocol)
    protocol.send(too_many(DAY, retry_after=1.0, at=clock.now))
    record, retry = caplog.records
    assert retry.getMessage().startswith("retrying 2025-01-01 in 1.00s")  # the window's own retry
    assert record.levelno == logging.INFO
    assert record.getMessage() == (
        "2025-01-01: rate limited (429): new requests wait 1.0 s; concurrency 2 -> 1 of 8, rate unlimited -> 0.7/s"
    )
    clock.now += 1.0
    protocol.send(Woke(clock.now))
    with pytest.raises(StopIteration):
        protocol.send(ok(DAY, clock.now))
    assert caplog.records[-1].getMessage() == "rate limit easing: concurrency 2 of 8, rate 0.76/s"


def test_progress_shows_the_current_concurrency_and_rate() -> None:
    clock = Clock()
    seen: list[Progress] = []
    run = Run(settings(), [DAY], workspace_id=None, url_id=None, started=clock.now, progress=seen.append)
    events: list[dict[str, str]] = [{"day": "2025-01-01"}]
    run.delivered(DAY, events, now=clock.now)
    succeed(run.throttle, 3, now=clock.now)
    run.throttle.throttled(run.throttle.acquire(clock.now), clock.now, retry_after=1.0)
    run.delivered(DAY, events, now=clock.now)
    assert [(p.concurrency, p.rate) for p in seen] == [(1, None), (2, rate_of(run.throttle))]
    assert seen[1].rate == pytest.approx(RATE_DECREASE * 3)


# -- against a rate-limited server, in virtual time ------------------------------------------------


def test_the_issue_s_target_thirty_one_day_windows_at_2_per_second_with_default_settings() -> None:
    result = simulate(RateLimit(per_second=2, burst=2), 30)
    assert result.delivered == one_day_windows(30)
    assert result.limited_share <= 0.15
    assert result.seconds <= 1.3 * 30 / 2


@pytest.mark.parametrize(
    ("per_second", "windows", "options"),
    [
        (2, 30, {"max_concurrency": 1}),
        (4, 40, {}),
        (10, 200, {"latency": 0.05}),
        (1, 30, {}),
        (2, 30, {"latency": 0.5}),
        (2, 30, {"quick_refusals": True}),  # 429s come back at once, clicks later
        (2, 30, {"cold": 0.5}),  # the first answers are slow: the limit shows up later
    ],
)
def test_few_429s_and_close_to_the_floor_across_limits_and_latencies(
    per_second: float, windows: int, options: dict[str, float]
) -> None:
    """Beyond the issue's case (at most 15%, above), other limits and servers stay under 20%."""
    result = simulate(RateLimit(per_second=per_second), windows, **options)
    assert result.delivered == one_day_windows(windows)
    assert result.limited_share <= 0.2
    latency, concurrency = options.get("latency", 0.02), options.get("max_concurrency", 8)
    assert result.seconds <= 1.3 * max(windows / per_second, windows * latency / concurrency)


def test_without_the_controller_half_the_requests_would_be_429s() -> None:
    """The simulation is not lenient: with a throttle that never slows down (the old behaviour:
    each window honours Retry-After alone) it meets the issue's figures."""

    class Blind(Throttle):
        def __init__(self) -> None:
            super().__init__(max_concurrency=8, max_rate=None)
            self._concurrency = 8.0

        def throttled(self, ticket: Ticket, now: float, retry_after: float | None) -> Change | None:
            return None

    simulation = Simulation(RateLimit(per_second=2, burst=2), max_retries=10)
    simulation.throttle = Blind()
    result = simulation.call(one_day_windows(30))
    assert result.limited_share >= 0.3


def test_max_requests_per_second_at_the_limit_meets_no_429_at_all() -> None:
    result = simulate(RateLimit(per_second=2, burst=2), 30, max_rps=2.0)
    assert result.limited == 0
    assert result.seconds == pytest.approx(29 / 2, abs=0.1)


def test_the_next_call_of_the_same_client_starts_from_what_the_last_one_learned() -> None:
    simulation = Simulation(RateLimit(per_second=2, burst=2))
    first = simulation.call(one_day_windows(30))
    second = simulation.call(one_day_windows(30, first=dt.date(2025, 3, 1)))
    # The first call opens unpaced (its first requests go out together) and finds the limit ...
    assert first.sent[2][0] - first.sent[0][0] < 0.1
    assert first.limited >= 2
    # ... which the second call knows from its first request on: paced, never two at once.
    gaps = [b - a for (a, _), (b, _) in itertools.pairwise(second.sent)]
    assert min(gaps) > 0.3
    assert second.limited_share <= 0.1
    assert second.seconds <= 1.3 * 30 / 2


def test_the_hold_is_kept_by_every_window_after_the_first_cut() -> None:
    """Once a 429 has come back, no request of the client is sent before its Retry-After has
    passed (those already sent by then may still arrive)."""
    simulation = Simulation(RateLimit(per_second=2, burst=2))
    result = simulation.call(one_day_windows(30))
    half = simulation.latency / 2
    first_429 = next(t for t, limited in result.sent if limited)
    answered = first_429 + half
    early = [t - half for t, _ in result.sent if answered + 1e-9 < t - half < answered + 1.0]
    assert early == []
    assert any(limited for _, limited in result.sent[1:])


# -- no wait is absurd: the floor of max_rate bounds every ticket ----------------------------------------


@pytest.mark.parametrize("max_rate", [1e-300, 5e-324, MIN_MAX_RATE / 2, 0.0, -1.0, math.inf, math.nan])
def test_a_max_rate_below_the_floor_or_not_finite_is_refused(max_rate: float) -> None:
    with pytest.raises(ValueError, match=r"max_rate must be from 0\.01"):
        Throttle(max_concurrency=1, max_rate=max_rate)


@hypothesis.settings(deadline=None, max_examples=200)
@hypothesis.given(data=st.data(), max_concurrency=st.integers(1, 8), paced=st.booleans())
def test_no_ticket_is_further_ahead_than_the_windows_at_once_at_the_slowest_pace_plus_a_hold(
    data: st.DataObject, max_concurrency: int, paced: bool
) -> None:
    """Windows acquire, wait for their ticket, confirm it (again after a cut), send and are answered
    (success or 429 with a Retry-After up to the 60 s honoured), in any order, as the engine's
    windows do: at most ``max_concurrency`` hold a ticket. No ticket is ever more than
    ``max_concurrency / MIN_MAX_RATE + 60`` s ahead (with a max_rate of 1e-300, it was 1e300 s)."""
    throttle = Throttle(max_concurrency=max_concurrency, max_rate=MIN_MAX_RATE if paced else None)
    bound = max_concurrency / MIN_MAX_RATE + 60 + 1e-6
    now = 0.0
    waiting: list[Ticket] = []
    sent: list[Ticket] = []
    for _ in range(data.draw(st.integers(1, 150), label="steps")):
        action = data.draw(st.sampled_from(["acquire", "wake", "answer", "time"]), label="action")
        if action == "acquire" and len(waiting) + len(sent) < max_concurrency:
            waiting.append(throttle.acquire(now))
            assert waiting[-1].at - now <= bound
        elif action == "wake" and waiting:
            ticket = waiting.pop(data.draw(st.integers(0, len(waiting) - 1), label="window"))
            now = max(now, ticket.at)
            confirmed = throttle.confirm(ticket)
            assert confirmed.at - now <= bound
            (sent if confirmed == ticket else waiting).append(confirmed)
        elif action == "answer" and sent:
            ticket = sent.pop(data.draw(st.integers(0, len(sent) - 1), label="window"))
            if data.draw(st.booleans(), label="success"):
                throttle.succeeded(ticket, now)
            else:
                retry_after = data.draw(st.none() | st.floats(0, 60), label="retry_after")
                throttle.throttled(ticket, now, retry_after)
        elif action == "time":
            now += data.draw(st.floats(0, 200), label="seconds")
