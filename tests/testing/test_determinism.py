"""Same seed, same bytes; each fault reproducible from its plan, whatever order requests arrive in."""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

import httpx
import pytest

from shortpen_api_client.testing import FakeShortPen, Fault, FaultKind, FaultPlan

from .conftest import PATH, WEEK, client_for

Outcome = tuple[Any, ...]

ALL_KINDS = [
    Fault.rate_limit(3),
    Fault.rate_limit(dt.datetime(2030, 1, 1, tzinfo=dt.UTC)),
    Fault.server_error(500),
    Fault.server_error(502, html=True),
    Fault.server_error(503, retry_after=1),
    Fault.success_false(),
    Fault.html_200(),
    Fault.truncated_json(),
    Fault.drop_connection(),
    Fault.truncated_body(),
    Fault.latency(0.001),
    Fault.slow_drip(0.001, chunks=3),
]

WINDOWS = [
    {
        "start": (dt.date(2025, 1, 1) + dt.timedelta(days=3 * i)).isoformat(),
        "end": (dt.date(2025, 1, 3) + dt.timedelta(days=3 * i)).isoformat(),
    }
    for i in range(40)
]


def outcome(http: httpx.Client, body: Any) -> Outcome:
    """What a client sees: the whole response, or the error."""
    try:
        response = http.post(PATH, json=body)
    except httpx.HTTPError as exc:
        return (type(exc).__name__, str(exc))
    return (response.status_code, tuple(response.headers.multi_items()), response.content)


def test_same_seed_same_bytes() -> None:
    bodies: list[dict[str, Any]] = [WEEK, {**WEEK, "workspace_id": 31}, {**WEEK, "url_id": 505}]
    runs = []
    for _ in range(2):
        with client_for(FakeShortPen(seed=42, timezone="Europe/Berlin")) as http:
            runs.append([http.post(PATH, json=body).content for body in bodies])
    assert runs[0] == runs[1]


def test_different_seed_different_data_same_account() -> None:
    one, two = FakeShortPen(seed=1), FakeShortPen(seed=2)
    assert one.events("2025-01-01", "2025-01-07") != two.events("2025-01-01", "2025-01-07")
    assert one.workspace_ids == two.workspace_ids
    assert one.url_ids(24) == two.url_ids(24)


def test_the_timezone_moves_days_not_the_generator() -> None:
    utc = FakeShortPen(seed=3).events("2025-06-01", "2025-06-01")
    tokyo = FakeShortPen(seed=3, timezone="Asia/Tokyo").events("2025-06-01", "2025-06-01")
    assert [e["id"] for e in utc] == [e["id"] for e in tokyo]  # same local-day clicks ...
    assert {e["created_at"][19:] for e in tokyo} == {"+09:00"}  # ... in local time


@pytest.mark.parametrize("fault", ALL_KINDS, ids=lambda f: f.kind.value)
def test_each_scripted_fault_is_reproducible(fault: Fault) -> None:
    runs = []
    for _ in range(2):
        fake = FakeShortPen(seed=5, faults=FaultPlan({2: fault}))
        with client_for(fake) as http:
            runs.append([outcome(http, WEEK) for _ in range(3)])
        assert [r.fault for r in fake.requests] == [None, fault, None]
    assert runs[0] == runs[1]
    if fault.kind in (FaultKind.LATENCY, FaultKind.SLOW_DRIP):
        assert runs[0][0] == runs[0][1] == runs[0][2]  # late or slow, but the same response
    else:
        assert runs[0][0] == runs[0][2] != runs[0][1]


@pytest.mark.parametrize("fault", ALL_KINDS, ids=lambda f: f.kind.value)
def test_each_rate_drawn_fault_is_reproducible(fault: Fault) -> None:
    runs = []
    for _ in range(2):
        fake = FakeShortPen(faults=FaultPlan(rate=0.5, kinds=[fault], seed=9))
        with client_for(fake) as http:
            runs.append([outcome(http, body) for body in WINDOWS[:8]])
    assert runs[0] == runs[1]
    assert 0 < sum(r.fault is not None for r in fake.requests) < 8


def rate_plan(seed: int = 11) -> FaultPlan:
    return FaultPlan(rate=0.3, seed=seed)  # the default kinds: every transient fault


def outcomes_in_order(order: list[int], *, plan: FaultPlan) -> dict[tuple[int, int], Outcome]:
    """Outcome per (window, n-th time it was sent), sending WINDOWS[i] for each i in ``order``."""
    fake = FakeShortPen(events_per_day=2, faults=plan)
    sent: dict[int, int] = {}
    seen: dict[tuple[int, int], Outcome] = {}
    with client_for(fake) as http:
        for i in order:
            sent[i] = sent.get(i, 0) + 1
            seen[(i, sent[i])] = outcome(http, WINDOWS[i])
    return seen


def test_rate_draw_does_not_depend_on_arrival_order() -> None:
    order = [i for i in range(len(WINDOWS)) for _ in range(3)]  # each window, then its two retries
    shuffled = order.copy()
    random.Random(0).shuffle(shuffled)
    forward = outcomes_in_order(order, plan=rate_plan())
    assert outcomes_in_order(shuffled, plan=rate_plan()) == forward
    assert outcomes_in_order(order[::-1], plan=rate_plan()) == forward
    faulted = [k for k, v in forward.items() if v[0] != 200 or b'"success":true' not in v[-1]]
    assert 0.15 * len(forward) < len(faulted) < 0.45 * len(forward)
    # A retry of the same window gets a fresh draw: some windows fail once and then succeed.
    assert any(k[1] == 1 and (k[0], 2) not in faulted for k in faulted)


def test_rate_draw_depends_on_the_plans_seed() -> None:
    order = list(range(len(WINDOWS)))
    assert outcomes_in_order(order, plan=rate_plan(1)) != outcomes_in_order(order, plan=rate_plan(2))


def test_rate_draw_keys_on_the_json_not_its_spelling() -> None:
    plan = FaultPlan(rate=0.5, kinds=[Fault.server_error(503)], seed=4)
    compact, spaced = FakeShortPen(faults=plan), FakeShortPen(faults=plan)
    with client_for(compact) as a, client_for(spaced) as b:
        for body in WINDOWS[:16]:
            reordered = json.dumps(dict(reversed(body.items())), indent=2).encode()
            assert a.post(PATH, json=body).status_code == b.post(PATH, content=reordered).status_code


def test_rate_one_always_and_rate_zero_never() -> None:
    always = FakeShortPen(faults=FaultPlan(rate=1.0, kinds=[Fault.html_200()]))
    never = FakeShortPen(faults=FaultPlan(rate=0.0))
    with client_for(always) as a, client_for(never) as n:
        for body in WINDOWS[:5]:
            assert a.post(PATH, json=body).headers["content-type"] == "text/html"
            assert n.post(PATH, json=body).status_code == 200


def test_scripted_wins_over_the_rate() -> None:
    plan = FaultPlan({1: Fault.server_error(500)}, rate=1.0, kinds=[Fault.html_200()])
    with client_for(FakeShortPen(faults=plan)) as http:
        assert http.post(PATH, json=WEEK).status_code == 500
        assert http.post(PATH, json=WEEK).headers["content-type"] == "text/html"


def test_every_request_counts_for_scripted_numbers(fake: FakeShortPen) -> None:
    fake.faults = FaultPlan({3: Fault.server_error(503)})
    with client_for(fake) as http:
        assert http.get("/nowhere").status_code == 404
        assert http.post(PATH, json=WEEK, headers={"Authorization": ""}).status_code == 401
        assert http.post(PATH, json=WEEK).status_code == 503
    assert [r.number for r in fake.requests] == [1, 2, 3]


def test_fault_for_is_a_pure_function() -> None:
    plan = FaultPlan(rate=0.5, seed=3)
    draws = [plan.fault_for(number=n, key=b"POST /v1/analytics\n{}", occurrence=n) for n in range(1, 50)]
    again = [plan.fault_for(number=n, key=b"POST /v1/analytics\n{}", occurrence=n) for n in range(1, 50)]
    assert draws == again
    assert any(d is None for d in draws)
    assert any(d is not None for d in draws)
