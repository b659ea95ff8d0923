"""The fake on a real loopback socket: the same bytes, keep-alive, concurrency, socket faults, shutdown."""

from __future__ import annotations

import concurrent.futures
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shortpen_api_client.testing import FakeShortPen, Fault, FaultPlan
from shortpen_api_client.testing._server import MAX_BODY_BYTES

from .conftest import PATH, WEEK, auth, client_for, validate_response, validate_schema

Outcome = tuple[Any, ...]


def served_client(base_url: str, fake: FakeShortPen, **kwargs: Any) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers=auth(fake.token), **kwargs)


@pytest.fixture
def served(fake: FakeShortPen) -> Iterator[httpx.Client]:
    with fake.serve() as base_url, served_client(base_url, fake) as http:
        yield http


def port_of(base_url: str) -> int:
    return int(base_url.rsplit(":", 1)[1])


def test_a_week_a_missing_token_and_end_before_start(fake: FakeShortPen) -> None:
    with fake.serve() as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=base_url) as http:
            week = http.post(PATH, json=WEEK, headers=auth(fake.token))
            anonymous = http.post(PATH, json=WEEK)
            backwards = http.post(
                PATH, json={"start": "2025-01-07", "end": "2025-01-01"}, headers=auth(fake.token)
            )
    assert week.status_code == 200
    validate_response(week)
    assert week.json()["data"] == fake.events("2025-01-01", "2025-01-07")
    assert anonymous.status_code == 401
    validate_response(anonymous)
    assert backwards.status_code == 400
    validate_response(backwards)
    assert backwards.json()["message"] == "end: must be on or after start (2025-01-07)"


def test_served_bytes_are_the_transports(fake: FakeShortPen, served: httpx.Client) -> None:
    with client_for(fake) as in_process:
        for body in (WEEK, {**WEEK, "url_id": 502}, {"start": "x"}):
            a, b = served.post(PATH, json=body), in_process.post(PATH, json=body)
            assert (a.status_code, a.content) == (b.status_code, b.content)
            assert a.headers["content-type"] == b.headers["content-type"]


def test_requests_are_recorded_without_the_token(fake: FakeShortPen, served: httpx.Client) -> None:
    served.post(PATH, json=WEEK)
    (recorded,) = fake.requests
    assert (recorded.method, recorded.path, recorded.body) == ("POST", PATH, WEEK)
    assert recorded.headers["authorization"] == "Bearer [redacted]"
    assert fake.token not in repr(recorded)
    assert fake.token not in repr(fake)
    assert 0 < recorded.at <= time.monotonic()


def test_keep_alive_reuses_one_connection(served: httpx.Client) -> None:
    addresses = set()
    for _ in range(5):
        response = served.post(PATH, json=WEEK)
        addresses.add(response.extensions["network_stream"].get_extra_info("client_addr"))
    assert len(addresses) == 1


def test_concurrent_connections(fake: FakeShortPen) -> None:
    windows = [{"start": f"2025-01-{d:02d}", "end": f"2025-01-{d + 1:02d}"} for d in range(1, 25)]
    with (
        fake.serve() as base_url,
        served_client(base_url, fake, limits=httpx.Limits(max_connections=8)) as http,
        concurrent.futures.ThreadPoolExecutor(8) as pool,
    ):
        responses = list(pool.map(lambda body: http.post(PATH, json=body), windows))
    for body, response in zip(windows, responses, strict=True):
        assert response.status_code == 200
        assert response.json()["data"] == fake.events(body["start"], body["end"])


def test_chunked_request_body_and_head(served: httpx.Client) -> None:
    chunks = iter([b'{"start": "2025-01-01", ', b'"end": "2025-01-07"}'])
    assert served.post(PATH, content=chunks).status_code == 200
    head = served.head(PATH)
    assert head.status_code == 405
    assert head.content == b""
    assert served.post(PATH, json=WEEK).status_code == 200  # the connection is still in sync


@pytest.mark.parametrize(
    ("fault", "error", "match"),
    [
        (Fault.drop_connection(), httpx.RemoteProtocolError, "without sending a response"),
        (Fault.truncated_body(), httpx.RemoteProtocolError, "incomplete|complete message body"),
        (Fault.latency(30), httpx.ReadTimeout, "timed out"),
        (Fault.slow_drip(30, chunks=2), httpx.ReadTimeout, "timed out"),
    ],
    ids=lambda value: value.kind.value if isinstance(value, Fault) else "",
)
def test_socket_level_faults(fault: Fault, error: type[Exception], match: str) -> None:
    fake = FakeShortPen(events_per_day=20, faults=FaultPlan({1: fault}))
    started = time.monotonic()
    with fake.serve() as base_url, served_client(base_url, fake, timeout=httpx.Timeout(5, read=0.1)) as http:
        with pytest.raises(error, match=match):
            http.post(PATH, json=WEEK)
        # A new connection works (with time to answer: 0.1 s was flaky on a loaded machine).
        assert http.post(PATH, json=WEEK, timeout=5).status_code == 200
    assert time.monotonic() - started < 2  # leaving serve() interrupted the fake's wait


def test_slow_drip_delivers_the_body_in_pieces(fake: FakeShortPen) -> None:
    fake.faults = FaultPlan({1: Fault.slow_drip(0.02, chunks=4)})
    with fake.serve() as base_url, served_client(base_url, fake) as http:
        started = time.monotonic()
        with http.stream("POST", PATH, json=WEEK) as response:
            pieces = list(response.iter_raw())
        elapsed = time.monotonic() - started
    assert b"".join(pieces) == http_body(fake, WEEK)
    assert len(pieces) >= 2
    assert elapsed >= 0.06


def http_body(fake: FakeShortPen, body: dict[str, Any]) -> bytes:
    with client_for(FakeShortPen(seed=fake.seed, events_per_day=fake.events_per_day)) as http:
        return http.post(PATH, json=body).content


def test_latency_and_response_level_faults_over_the_socket(fake: FakeShortPen) -> None:
    fake.faults = FaultPlan(
        {1: Fault.latency(0.05), 2: Fault.truncated_json(), 3: Fault.server_error(502, html=True)}
    )
    with fake.serve() as base_url, served_client(base_url, fake) as http:
        started = time.monotonic()
        assert http.post(PATH, json=WEEK).status_code == 200
        assert time.monotonic() - started >= 0.05
        cut = http.post(PATH, json=WEEK)
        assert int(cut.headers["content-length"]) == len(cut.content)
        assert http_body(fake, WEEK).startswith(cut.content)
        gateway = http.post(PATH, json=WEEK)
        assert (gateway.status_code, gateway.headers["content-type"]) == (502, "text/html")


def test_order_independent_faults_under_concurrency() -> None:
    """Concurrent windows arrive in any order; the set of faulted windows is the same every time."""
    windows = [{"start": f"2025-02-{d:02d}", "end": f"2025-02-{d:02d}"} for d in range(1, 29)]
    plan = FaultPlan(rate=0.4, kinds=[Fault.server_error(503)], seed=8)

    def statuses() -> list[int]:
        fake = FakeShortPen(events_per_day=5, faults=plan)
        with (
            fake.serve() as base_url,
            served_client(base_url, fake) as http,
            concurrent.futures.ThreadPoolExecutor(6) as pool,
        ):
            return list(pool.map(lambda body: http.post(PATH, json=body).status_code, windows))

    first = statuses()
    assert first == statuses()
    assert 0 < first.count(503) < len(windows)


def test_port_is_closed_after_the_context_exits(fake: FakeShortPen) -> None:
    with fake.serve() as base_url:
        port = port_of(base_url)
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1)


def test_shutdown_does_not_wait_for_open_connections_or_sleeping_faults() -> None:
    fake = FakeShortPen(events_per_day=5, faults=FaultPlan({2: Fault.latency(30)}))
    errors: list[BaseException] = []
    with httpx.Client(headers=auth(fake.token)) as http:
        started = time.monotonic()
        with fake.serve() as base_url:
            assert http.post(f"{base_url}{PATH}", json=WEEK).status_code == 200  # keeps a connection open

            def stuck() -> None:
                try:
                    http.post(f"{base_url}{PATH}", json=WEEK, timeout=10)
                except httpx.HTTPError as exc:
                    errors.append(exc)

            thread = threading.Thread(target=stuck)
            thread.start()
            while len(fake.requests) < 2:
                time.sleep(0.005)
        thread.join(5)
        assert time.monotonic() - started < 2
    assert len(errors) == 1
    assert isinstance(errors[0], httpx.TransportError)


def test_a_failing_fake_answers_500_and_fails_the_context(
    fake: FakeShortPen, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> httpx.Response:
        raise ZeroDivisionError("bug")

    monkeypatch.setattr(fake, "_respond", broken)
    with (  # noqa: PT012 - it is leaving serve() that raises, after the request
        pytest.raises(RuntimeError, match="failed 1 time") as info,
        fake.serve() as base_url,
        served_client(base_url, fake) as http,
    ):
        response = http.post(PATH, json=WEEK)
        assert response.status_code == 500
        assert "ZeroDivisionError" in response.json()["message"]
    assert isinstance(info.value.__cause__, ZeroDivisionError)


@pytest.mark.anyio
async def test_async_client_over_the_socket() -> None:
    fake = FakeShortPen(events_per_day=20, faults=FaultPlan({1: Fault.drop_connection()}))
    with fake.serve() as base_url:
        async with httpx.AsyncClient(base_url=base_url, headers=auth(fake.token)) as http:
            with pytest.raises(httpx.RemoteProtocolError):
                await http.post(PATH, json=WEEK)
            response = await http.post(PATH, json=WEEK)
    assert response.json()["data"] == fake.events("2025-01-01", "2025-01-07")


def test_a_chosen_port_can_be_served_again_right_away(fake: FakeShortPen) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for _ in range(2):  # the second bind would fail without SO_REUSEADDR (TIME_WAIT)
        with fake.serve(port=port) as base_url, served_client(base_url, fake) as http:
            assert base_url == f"http://127.0.0.1:{port}"
            assert http.post(PATH, json=WEEK).status_code == 200


def raw_exchange(base_url: str, head: bytes) -> tuple[bytes, bytes]:
    """Send ``head`` (a request line and headers) as is; the response's head and body."""
    with socket.create_connection(("127.0.0.1", port_of(base_url)), timeout=5) as connection:
        connection.sendall(head + b"\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    response_head, _, body = received.partition(b"\r\n\r\n")
    return response_head, body


@pytest.mark.parametrize("method", [b"TRACE", b"CONNECT", b"M-SEARCH", b"PROPFIND", b"FOO"])
def test_any_method_on_the_path_is_405_with_allow_and_the_envelope(fake: FakeShortPen, method: bytes) -> None:
    """Not the stdlib's 501 HTML page (schemathesis sent TRACE, issue 16.9)."""
    with fake.serve() as base_url:
        head, body = raw_exchange(base_url, method + b" /v1/analytics HTTP/1.1")
        other_head, other_body = raw_exchange(base_url, method + b" /elsewhere HTTP/1.1")
    assert head.startswith(b"HTTP/1.1 405 ")
    assert b"\r\nallow: POST" in head
    assert json.loads(body) == {
        "success": False,
        "status_code": 405,
        "message": f"Method not allowed: {method.decode()} /v1/analytics (allowed: POST)",
        "data": None,
    }
    validate_schema("ErrorResponse", json.loads(body))
    assert other_head.startswith(b"HTTP/1.1 404 ")
    validate_schema("ErrorResponse", json.loads(other_body))


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"garbage", 400),  # not a request line
        (b"GET /v1/analytics HTTP/9.9", 505),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1", 414),
        (b"CONNECT api.shortpen.com:443 HTTP/1.1", 400),  # authority form: not a path of this server
    ],
    ids=["bad-request-line", "http-version", "uri-too-long", "connect-authority"],
)
def test_the_stdlibs_own_errors_are_json_envelopes(fake: FakeShortPen, head: bytes, status: int) -> None:
    with fake.serve() as base_url:
        response_head, body = raw_exchange(base_url, head)
    assert response_head.startswith(b"HTTP/1.1 %d " % status)
    assert b"content-type: application/json" in response_head
    envelope = json.loads(body)
    validate_schema("ErrorResponse", envelope)
    assert envelope["status_code"] == status
    assert b"<html" not in body.lower()


def raw_request(base_url: str, request: bytes) -> bytes:
    """Send ``request`` as is (headers and whatever body), keep the connection open, and return the
    whole answer: a server that waits for more than it was sent fails on the 5 s socket timeout."""
    with socket.create_connection(("127.0.0.1", port_of(base_url)), timeout=5) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    return received


POST = b"POST /v1/analytics HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"


@pytest.mark.parametrize(
    ("request_bytes", "status", "message"),
    [
        (POST + b"Content-Length: -1\r\n\r\n{}", 400, "Content-Length: not a length: '-1'"),
        (POST + b"Content-Length: 12abc\r\n\r\n{}", 400, "Content-Length: not a length: '12abc'"),
        (POST + b"Transfer-Encoding: chunked\r\n\r\n-5\r\n{}\r\n0\r\n\r\n", 400, "not a chunk size: b'-5'"),
        (POST + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", 400, "not a chunk size: b'zz'"),
        (POST + b"Transfer-Encoding: chunked\r\n\r\n" + b"1" * 2000 + b"\r\n", 400, "not a chunk size"),
        (POST + b"Content-Length: 2097152\r\n\r\n{}", 413, "body: 2097152 bytes, more than the 1048576"),
        (POST + b"Transfer-Encoding: chunked\r\n\r\n200000\r\n", 413, "more than the 1048576 bytes"),
    ],
    ids=[
        "negative-length",
        "bad-length",
        "negative-chunk",
        "bad-chunk",
        "long-chunk-line",
        "big",
        "big-chunk",
    ],
)
def test_a_bad_or_oversized_request_body_is_answered_at_once_and_the_connection_closed(
    fake: FakeShortPen, request_bytes: bytes, status: int, message: str
) -> None:
    """A negative length used to block the connection's thread (``rfile.read(-1)`` reads until the
    client closes): the client here keeps its side open, so the answer must come without it."""
    with fake.serve() as base_url:
        answer = raw_request(base_url, request_bytes)
        assert fake.requests == []  # refused before the fake's handler
        with served_client(base_url, fake) as http:  # the server still answers the next client
            assert http.post(PATH, json=WEEK).status_code == 200
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 %d " % status)
    assert b"\r\nConnection: close" in head
    envelope = json.loads(body)
    validate_schema("ErrorResponse", envelope)
    assert envelope["status_code"] == status
    assert message in envelope["message"]


def test_a_body_of_exactly_the_limit_is_read(fake: FakeShortPen) -> None:
    body = json.dumps(WEEK).encode()
    body += b" " * (MAX_BODY_BYTES - len(body))  # JSON allows trailing whitespace
    with fake.serve() as base_url:
        answer = raw_request(
            base_url, POST + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body
        )
    assert answer.startswith(b"HTTP/1.1 401 ")  # read whole and handled (no token was sent)
