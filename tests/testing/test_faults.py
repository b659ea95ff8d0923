"""Each fault kind through the in-process transport, with httpx.Client and httpx.AsyncClient."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import time

import anyio
import httpx
import pytest

from shortpen_api_client.testing import FakeShortPen, Fault, FaultKind, FaultPlan

from .conftest import BASE_URL, PATH, WEEK, auth, client_for


def faulty(*faults: Fault, events_per_day: int = 20) -> FakeShortPen:
    """A fake whose first requests get these faults, in order."""
    return FakeShortPen(events_per_day=events_per_day, faults=FaultPlan(dict(enumerate(faults, 1))))


def real_body(fake: FakeShortPen) -> bytes:
    """The response to WEEK without a fault (from a fresh fake with the same data)."""
    twin = FakeShortPen(seed=fake.seed, events_per_day=fake.events_per_day)
    with client_for(twin) as http:
        return http.post(PATH, json=WEEK).content


def test_rate_limit_with_retry_after_seconds() -> None:
    with client_for(faulty(Fault.rate_limit(2))) as http:
        response = http.post(PATH, json=WEEK)
        assert response.status_code == 429
        assert response.headers["retry-after"] == "2"
        assert response.json() == {
            "success": False,
            "status_code": 429,
            "message": "Too Many Attempts.",
            "data": None,
        }
        assert http.post(PATH, json=WEEK).status_code == 200  # only request 1 was scripted


@pytest.mark.parametrize(
    "when",
    [
        dt.datetime(2025, 1, 1, 12, 0, 5, tzinfo=dt.UTC),
        dt.datetime(2025, 1, 1, 12, 0, 5),  # naive: UTC
        dt.datetime(2025, 1, 1, 13, 0, 5, tzinfo=dt.timezone(dt.timedelta(hours=1))),
    ],
)
def test_rate_limit_with_retry_after_http_date(when: dt.datetime) -> None:
    with client_for(faulty(Fault.rate_limit(when))) as http:
        assert http.post(PATH, json=WEEK).headers["retry-after"] == "Wed, 01 Jan 2025 12:00:05 GMT"


def test_rate_limit_with_retry_after_relative_http_date() -> None:
    before = dt.datetime.now(dt.UTC)
    with client_for(faulty(Fault.rate_limit(dt.timedelta(seconds=30)))) as http:
        header = http.post(PATH, json=WEEK).headers["retry-after"]
    assert header.endswith(" GMT")
    delay = (email.utils.parsedate_to_datetime(header) - before).total_seconds()
    assert 30 <= delay <= 33


def test_rate_limit_without_retry_after() -> None:
    with client_for(faulty(Fault.rate_limit(None))) as http:
        response = http.post(PATH, json=WEEK)
    assert response.status_code == 429
    assert "retry-after" not in response.headers


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_error_json_envelope(status: int) -> None:
    with client_for(faulty(Fault.server_error(status, retry_after=7))) as http:
        response = http.post(PATH, json=WEEK)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.headers["retry-after"] == "7"
    body = response.json()
    assert (body["success"], body["status_code"]) == (False, status)


@pytest.mark.parametrize(("status", "title"), [(500, "Internal Server Error"), (502, "Bad Gateway")])
def test_server_error_html_page(status: int, title: str) -> None:
    with client_for(faulty(Fault.server_error(status, html=True))) as http:
        response = http.post(PATH, json=WEEK)
    assert response.status_code == status
    assert response.headers["content-type"] == "text/html"
    assert f"<title>{status} {title}</title>" in response.text


def test_success_false_is_a_200_error_envelope() -> None:
    fault = Fault.success_false(status_code=503, message="Analytics are being rebuilt.")
    with client_for(faulty(fault)) as http:
        response = http.post(PATH, json=WEEK)
    assert response.status_code == 200
    assert response.json() == {
        "success": False,
        "status_code": 503,
        "message": "Analytics are being rebuilt.",
        "data": None,
    }


def test_html_200() -> None:
    with client_for(faulty(Fault.html_200())) as http:
        response = http.post(PATH, json=WEEK)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html"
    assert response.text.startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("fraction", [0.0, 0.5, 0.999])
def test_truncated_json_is_a_complete_response_with_invalid_json(fraction: float) -> None:
    fake = faulty(Fault.truncated_json(fraction=fraction))
    with client_for(fake) as http:
        response = http.post(PATH, json=WEEK)
    real = real_body(fake)
    assert response.status_code == 200
    assert int(response.headers["content-length"]) == len(response.content) < len(real)
    assert real.startswith(response.content)
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_drop_connection_raises_remote_protocol_error() -> None:
    fake = faulty(Fault.drop_connection())
    with client_for(fake) as http:
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            http.post(PATH, json=WEEK)
        assert http.post(PATH, json=WEEK).status_code == 200
    assert [r.fault for r in fake.requests] == [Fault.drop_connection(), None]


def test_truncated_body_raises_while_reading_it() -> None:
    fake = faulty(Fault.truncated_body(fraction=0.25))
    real = real_body(fake)
    with client_for(fake) as http:
        with http.stream("POST", PATH, json=WEEK) as response:
            assert response.status_code == 200  # the headers arrive ...
            assert int(response.headers["content-length"]) == len(real)
            received: list[bytes] = []
            with pytest.raises(httpx.RemoteProtocolError, match=f"expected {len(real)}"):
                received.extend(response.iter_raw())  # ... the body does not
        assert b"".join(received) == real[: len(real) // 4]
        assert http.post(PATH, json=WEEK).content == real


def test_latency_waits_before_responding() -> None:
    with client_for(faulty(Fault.latency(0.05))) as http:
        started = time.monotonic()
        assert http.post(PATH, json=WEEK).status_code == 200
        assert time.monotonic() - started >= 0.05


def test_latency_longer_than_the_read_timeout_is_a_read_timeout() -> None:
    fake = faulty(Fault.latency(30))
    with client_for(fake, timeout=httpx.Timeout(5, read=0.05)) as http:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            http.post(PATH, json=WEEK)
        assert time.monotonic() - started < 1


def test_slow_drip_delivers_the_whole_body_slowly() -> None:
    fake = faulty(Fault.slow_drip(0.01, chunks=5))
    with client_for(fake) as http:
        started = time.monotonic()
        response = http.post(PATH, json=WEEK)
        assert time.monotonic() - started >= 0.04
    assert response.content == real_body(fake)


def test_slow_drip_with_pauses_longer_than_the_read_timeout_is_a_read_timeout() -> None:
    fake = faulty(Fault.slow_drip(30, chunks=3))
    with client_for(fake, timeout=httpx.Timeout(5, read=0.05)) as http, pytest.raises(httpx.ReadTimeout):
        http.post(PATH, json=WEEK)


def test_handle_itself_never_waits_and_raises_for_a_drop() -> None:
    fake = faulty(Fault.latency(30), Fault.slow_drip(30), Fault.drop_connection())
    request = httpx.Request("POST", f"{BASE_URL}{PATH}", json=WEEK, headers=auth(fake.token))
    started = time.monotonic()
    assert fake.handle(request).status_code == 200
    assert fake.handle(request).status_code == 200
    assert time.monotonic() - started < 1
    with pytest.raises(httpx.RemoteProtocolError):
        fake.handle(request)


@pytest.mark.parametrize(
    "call",
    [
        lambda: Fault.rate_limit(-1),
        lambda: Fault.server_error(404),
        lambda: Fault.truncated_json(fraction=1.0),
        lambda: Fault.truncated_body(fraction=-0.1),
        lambda: Fault.latency(-1),
        lambda: Fault.slow_drip(-1),
        lambda: Fault.slow_drip(0.1, chunks=1),
        lambda: FaultPlan(rate=1.5),
        lambda: FaultPlan(rate=0.5, kinds=()),
        lambda: FaultPlan({0: Fault.html_200()}),
    ],
)
def test_bad_fault_arguments(call: object) -> None:
    assert callable(call)
    with pytest.raises(ValueError, match=r"must|rate|kinds|1-based"):
        call()


def test_every_kind_has_a_constructor() -> None:
    built = {
        Fault.rate_limit().kind,
        Fault.server_error().kind,
        Fault.success_false().kind,
        Fault.html_200().kind,
        Fault.truncated_json().kind,
        Fault.drop_connection().kind,
        Fault.truncated_body().kind,
        Fault.latency(1).kind,
        Fault.slow_drip().kind,
    }
    assert built == set(FaultKind)


# -- httpx.AsyncClient ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_client_gets_the_same_bytes(fake: FakeShortPen, async_client: httpx.AsyncClient) -> None:
    response = await async_client.post(PATH, json=WEEK)
    assert response.status_code == 200
    assert response.json()["data"] == fake.events("2025-01-01", "2025-01-07")


@pytest.mark.anyio
async def test_async_latency_does_not_block_the_event_loop() -> None:
    fake = faulty(Fault.latency(0.3))
    finished: list[str] = []
    async with httpx.AsyncClient(
        transport=fake.transport(), base_url=BASE_URL, headers=auth(fake.token)
    ) as http:

        async def call(name: str, after: float) -> None:
            await anyio.sleep(after)
            assert (await http.post(PATH, json=WEEK)).status_code == 200
            finished.append(name)

        started = time.monotonic()
        async with anyio.create_task_group() as group:
            group.start_soon(call, "slow", 0)  # request 1: the latency fault
            group.start_soon(call, "fast", 0.01)
    assert finished == ["fast", "slow"]
    assert time.monotonic() - started < 0.6


@pytest.mark.anyio
async def test_async_socket_level_faults() -> None:
    fake = faulty(
        Fault.drop_connection(),
        Fault.truncated_body(),
        Fault.slow_drip(0.01, chunks=3),
        Fault.latency(30),
        Fault.slow_drip(30, chunks=2),
    )
    timeout = httpx.Timeout(5, read=0.05)
    async with httpx.AsyncClient(
        transport=fake.transport(), base_url=BASE_URL, headers=auth(fake.token), timeout=timeout
    ) as http:
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            await http.post(PATH, json=WEEK)
        with pytest.raises(httpx.RemoteProtocolError, match="complete message body"):
            await http.post(PATH, json=WEEK)
        assert (await http.post(PATH, json=WEEK)).content == real_body(fake)
        with pytest.raises(httpx.ReadTimeout):
            await http.post(PATH, json=WEEK)
        with pytest.raises(httpx.ReadTimeout):
            await http.post(PATH, json=WEEK)
        assert (await http.post(PATH, json=WEEK)).status_code == 200


@pytest.mark.parametrize(
    "fault",
    [
        Fault.rate_limit(1),
        Fault.rate_limit(None),
        Fault.rate_limit(dt.timedelta(seconds=3)),
        Fault.server_error(502, html=True, retry_after=dt.datetime(2025, 1, 1, tzinfo=dt.UTC)),
        Fault.success_false(status_code=503, message="x"),
        Fault.html_200(),
        Fault.truncated_json(fraction=0.25),
        Fault.drop_connection(),
        Fault.truncated_body(),
        Fault.latency(0.5),
        Fault.slow_drip(0.01, chunks=3),
    ],
    ids=repr,
)
def test_repr_is_the_constructor_call(fault: Fault) -> None:
    assert eval(repr(fault), {"Fault": Fault, "datetime": dt}) == fault  # noqa: S307 - our own repr
