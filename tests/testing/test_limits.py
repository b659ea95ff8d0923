"""``FakeShortPen(rate_limit=RateLimit(...))``: a token bucket answered with 429 + Retry-After, on
the fake's own clock (a test's fake clock here, so nothing waits), both ways in."""

from __future__ import annotations

import httpx
import pytest

from shortpen_api_client.testing import FakeShortPen, Fault, FaultKind, FaultPlan, RateLimit

from .conftest import PATH, WEEK, auth, client_for


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def limited(
    per_second: float, burst: int | None = None, faults: FaultPlan | None = None
) -> tuple[FakeShortPen, Clock]:
    clock = Clock()
    limit = RateLimit(per_second=per_second, burst=burst)
    return FakeShortPen(events_per_day=20, rate_limit=limit, faults=faults, clock=clock), clock


def statuses(http: httpx.Client, count: int) -> list[tuple[int, str | None]]:
    answers = [http.post(PATH, json=WEEK) for _ in range(count)]
    return [(a.status_code, a.headers.get("retry-after")) for a in answers]


def test_a_full_bucket_then_429_with_the_seconds_until_a_token_is_back() -> None:
    fake, clock = limited(per_second=2, burst=3)
    with client_for(fake) as http:
        assert statuses(http, 5) == [(200, None)] * 3 + [(429, "1")] * 2
        clock.now += 0.5  # one token back
        assert statuses(http, 2) == [(200, None), (429, "1")]
        clock.now += 10  # full again, never more than the burst
        assert statuses(http, 4) == [(200, None)] * 3 + [(429, "1")]
        response = http.post(PATH, json=WEEK)
    assert response.json() == {
        "success": False,
        "status_code": 429,
        "message": "Too Many Attempts.",
        "data": None,
    }
    assert response.headers["content-type"] == "application/json"


def test_retry_after_rounds_up_to_whole_seconds() -> None:
    fake, clock = limited(per_second=0.25)  # burst: 1, a token every 4 s
    with client_for(fake) as http:
        assert statuses(http, 2) == [(200, None), (429, "4")]
        clock.now += 1.5
        assert statuses(http, 1) == [(429, "3")]  # 2.5 s to go
        clock.now += 2.5
        assert statuses(http, 1) == [(200, None)]


def test_rejected_requests_take_no_token() -> None:
    fake, clock = limited(per_second=1, burst=1)
    with client_for(fake) as http:
        assert statuses(http, 1) == [(200, None)]
        for _ in range(4):
            clock.now += 0.2
            assert statuses(http, 1) == [(429, "1")]
        clock.now += 0.2  # 1.0 s after the success: exactly one token back, none spent meanwhile
        assert statuses(http, 1) == [(200, None)]


def test_the_bucket_counts_every_request_and_is_recorded_as_the_fault() -> None:
    fake, _ = limited(per_second=1, burst=1, faults=FaultPlan({2: Fault.server_error(503)}))
    with client_for(fake) as http:
        http.post(PATH, json=WEEK)
        assert http.post(PATH, json=WEEK).status_code == 429  # the limit comes before the plan
        assert http.post(PATH, json={"start": "bad"}, headers=auth("wrong")).status_code == 429
    requests = fake.requests
    assert [r.number for r in requests] == [1, 2, 3]
    assert [r.fault for r in requests] == [None, Fault.rate_limit(1), Fault.rate_limit(1)]
    assert [r.at for r in requests] == [50.0, 50.0, 50.0]  # the fake's clock
    assert requests[1].fault is not None
    assert requests[1].fault.kind is FaultKind.RATE_LIMIT


@pytest.mark.anyio
async def test_the_async_way_in_meets_the_same_bucket() -> None:
    fake, clock = limited(per_second=2, burst=2)
    async with httpx.AsyncClient(
        transport=fake.transport(), base_url="https://api.shortpen.com", headers=auth(fake.token)
    ) as http:
        codes = [(await http.post(PATH, json=WEEK)).status_code for _ in range(3)]
        clock.now += 0.5
        codes.append((await http.post(PATH, json=WEEK)).status_code)
    assert codes == [200, 200, 429, 200]


def test_served_on_a_socket_it_answers_the_same() -> None:
    fake, clock = limited(per_second=2, burst=1)
    with fake.serve() as base_url, httpx.Client(base_url=base_url, headers=auth(fake.token)) as http:
        assert statuses(http, 2) == [(200, None), (429, "1")]
        clock.now += 0.5
        assert statuses(http, 1) == [(200, None)]


def test_without_a_rate_limit_nothing_is_limited() -> None:
    fake = FakeShortPen(events_per_day=20)
    assert fake.rate_limit is None
    with client_for(fake) as http:
        assert {status for status, _ in statuses(http, 20)} == {200}


def test_the_setting_defaults_to_a_burst_of_one_second_of_its_rate() -> None:
    assert RateLimit(per_second=2).capacity == 2
    assert RateLimit(per_second=2.5).capacity == 3
    assert RateLimit(per_second=0.1).capacity == 1
    assert RateLimit(per_second=2, burst=5).capacity == 5
    fake, _ = limited(per_second=3)
    assert fake.rate_limit == RateLimit(per_second=3)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"per_second": 0}, "per_second must be a positive number, got 0"),
        ({"per_second": -1.5}, "per_second.*-1.5"),
        ({"per_second": float("inf")}, "per_second.*inf"),
        ({"per_second": True}, "per_second.*True"),
        ({"per_second": 2, "burst": 0}, "burst must be an integer >= 1, got 0"),
        ({"per_second": 2, "burst": 1.5}, "burst.*1.5"),
    ],
)
def test_bad_settings_are_refused(options: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RateLimit(**options)  # type: ignore[arg-type]
