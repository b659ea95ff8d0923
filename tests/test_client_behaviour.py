"""The facade's decisions, against plain MockTransport handlers: retries, splits, give-ups,
validation before any request, budgets, deadlines, redirects and headers."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path

import certifi
import httpx
import pytest

from shortpen_api_client import (
    SPEC_VERSION,
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncShortPen,
    AuthenticationError,
    BadRequestError,
    InvalidArgumentError,
    InvalidResponseError,
    Progress,
    RateLimitError,
    RequestBudgetExceededError,
    ServerError,
    ShortPen,
    WindowTooLargeError,
    __version__,
)

TOKEN = "spk_test_do_not_show_4b1d"
Handler = Callable[[httpx.Request], httpx.Response]


def day_events(start: dt.date, end: dt.date, per_day: int = 2) -> list[dict[str, object]]:
    events: list[dict[str, object]] = []
    day = start
    while day <= end:
        for i in range(per_day):
            events.append(
                {
                    "id": day.toordinal() * 100 + i,
                    "workspace_id": 24,
                    "organization_id": 3,
                    "url_id": 501,
                    "domain": "go.shortpen.com",
                    "created_at": f"{day.isoformat()}T{i:02d}:00:00+00:00",
                }
            )
        day += dt.timedelta(days=1)
    return events


def ok(request: httpx.Request, per_day: int = 2) -> httpx.Response:
    body = json.loads(request.content)
    start, end = dt.date.fromisoformat(body["start"]), dt.date.fromisoformat(body["end"])
    data = day_events(start, end, per_day)
    return httpx.Response(200, json={"success": True, "status_code": 200, "message": "", "data": data})


def error(status: int, message: str, **headers: str) -> httpx.Response:
    return httpx.Response(
        status, json={"success": False, "status_code": status, "message": message}, headers=headers
    )


class Recorder:
    """Wraps a handler; records each request's window and headers (thread-safe)."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.windows: list[tuple[str, str]] = []
        self.requests: list[httpx.Request] = []
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        with self.lock:
            self.windows.append((body["start"], body["end"]))
            self.requests.append(request)
        return self.handler(request)


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def client(handler: Handler, sleeps: Sleeps | None = None, **options: object) -> ShortPen:
    transport = httpx.MockTransport(handler)
    return ShortPen(
        TOKEN,
        http_client=httpx.Client(transport=transport),
        sleep=sleeps or Sleeps(),
        **options,  # type: ignore[arg-type]
    )


def test_a_range_is_requested_as_consecutive_windows_and_returned_in_order() -> None:
    rec = Recorder(ok)
    with client(rec, window_days=10) as sp:
        events = list(sp.clicks("2025-01-01", "2025-01-31"))
    assert sorted(rec.windows) == [
        ("2025-01-01", "2025-01-10"),
        ("2025-01-11", "2025-01-20"),
        ("2025-01-21", "2025-01-30"),
        ("2025-01-31", "2025-01-31"),
    ]
    assert [e.id for e in events] == [e["id"] for e in day_events(dt.date(2025, 1, 1), dt.date(2025, 1, 31))]


def test_request_headers_body_and_url() -> None:
    rec = Recorder(ok)
    with client(rec) as sp:
        list(sp.clicks(dt.date(2025, 1, 1), "2025-01-01", workspace_id=24, url_id=501))
    (request,) = rec.requests
    assert request.method == "POST"
    assert str(request.url) == "https://api.shortpen.com/v1/analytics"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["user-agent"] == f"shortpen-api-client/{__version__} (spec {SPEC_VERSION})"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {
        "start": "2025-01-01",
        "end": "2025-01-01",
        "workspace_id": 24,
        "url_id": 501,
    }


def test_transient_failures_are_retried_with_backoff_until_success() -> None:
    answers = iter(
        [
            error(503, "maintenance"),
            httpx.Response(502, text="<html>Bad Gateway</html>", headers={"content-type": "text/html"}),
            httpx.Response(200, json={"success": False, "status_code": 500, "message": "oops"}),
            httpx.Response(200, text="<html>captive portal</html>"),
        ]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        return next(answers, None) or ok(request)

    sleeps = Sleeps()
    with client(Recorder(handler), sleeps, max_retries=4) as sp:
        events = list(sp.clicks("2025-01-01", "2025-01-02"))
    assert len(events) == 4
    assert len(sleeps.calls) == 4
    # exponential with up to 25 % jitter: 0.5, 1, 2, 4 seconds, each at most 25 % shorter
    for delay, nominal in zip(sleeps.calls, [0.5, 1.0, 2.0, 4.0], strict=True):
        assert 0.75 * nominal <= delay <= nominal


def test_connection_errors_are_retried() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) < 3:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return ok(request)

    with client(handler) as sp:
        assert len(list(sp.clicks("2025-01-01", "2025-01-01"))) == 2
    assert len(calls) == 3


def test_429_honours_retry_after_and_never_splits() -> None:
    answers = iter(
        [error(429, "slow down", **{"Retry-After": "7"}), error(429, "slow down", **{"Retry-After": "2"})]
    )
    rec = Recorder(lambda r: next(answers, None) or ok(r))
    sleeps = Sleeps()
    with client(rec, sleeps, window_days=30) as sp:
        list(sp.clicks("2025-01-01", "2025-01-30"))
    assert sleeps.calls == [7.0, 2.0]
    assert rec.windows == [("2025-01-01", "2025-01-30")] * 3  # the same window, never split


def test_retries_give_up_with_the_last_error() -> None:
    sleeps = Sleeps()
    with client(lambda r: error(503, "down for maintenance"), sleeps, max_retries=2) as sp:
        with pytest.raises(
            ServerError, match=r"2025-01-01\.\.2025-01-07: HTTP 503: down for maintenance"
        ) as info:
            list(sp.clicks("2025-01-01", "2025-01-07"))
    assert info.value.status_code == 503
    assert info.value.message == "down for maintenance"
    assert info.value.window == (dt.date(2025, 1, 1), dt.date(2025, 1, 7))
    assert len(sleeps.calls) == 2


@pytest.mark.parametrize(("status", "cls"), [(400, BadRequestError), (401, AuthenticationError)])
def test_400_and_401_are_never_retried(status: int, cls: type[Exception]) -> None:
    rec = Recorder(lambda r: error(status, "nope"))
    with client(rec) as sp, pytest.raises(cls, match="nope"):
        list(sp.clicks("2025-01-01", "2025-01-03"))
    assert len(rec.windows) == 1


def test_a_504_that_persists_splits_the_window_and_the_result_stays_exact() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        days = (dt.date.fromisoformat(body["end"]) - dt.date.fromisoformat(body["start"])).days + 1
        if days > 2:
            return httpx.Response(
                504, text="<html>504 Gateway Time-out</html>", headers={"content-type": "text/html"}
            )
        return ok(request)

    rec = Recorder(handler)
    seen: list[Progress] = []
    with client(rec, window_days=7, progress=seen.append) as sp:
        events = list(sp.clicks("2025-01-01", "2025-01-07"))
    assert [e.id for e in events] == [e["id"] for e in day_events(dt.date(2025, 1, 1), dt.date(2025, 1, 7))]
    assert rec.windows == [
        ("2025-01-01", "2025-01-07"),
        ("2025-01-01", "2025-01-07"),  # retried once: a 504 may be a hiccup
        ("2025-01-01", "2025-01-04"),
        ("2025-01-01", "2025-01-04"),
        ("2025-01-01", "2025-01-02"),
        ("2025-01-03", "2025-01-04"),
        ("2025-01-05", "2025-01-07"),
        ("2025-01-05", "2025-01-07"),
        ("2025-01-05", "2025-01-06"),
        ("2025-01-07", "2025-01-07"),
    ]
    (last,) = seen
    assert (last.requests, last.retries, last.splits, last.events) == (10, 3, 3, 14)


def test_413_splits_at_once() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        return error(413, "too large") if body["start"] != body["end"] else ok(request)

    rec = Recorder(handler)
    with client(rec, window_days=2) as sp:
        assert len(list(sp.clicks("2025-01-01", "2025-01-02"))) == 4
    assert rec.windows == [
        ("2025-01-01", "2025-01-02"),
        ("2025-01-01", "2025-01-01"),
        ("2025-01-02", "2025-01-02"),
    ]


def test_a_single_day_that_still_fails_names_the_day_and_the_cause() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content)["start"] <= "2025-01-03" <= json.loads(request.content)["end"]:
            return httpx.Response(
                504, text="<html>504 Gateway Time-out</html>", headers={"content-type": "text/html"}
            )
        return ok(request)

    with client(handler, window_days=4) as sp:
        with pytest.raises(WindowTooLargeError, match=r"^2025-01-03: .*HTTP 504") as info:
            list(sp.clicks("2025-01-01", "2025-01-04"))
    assert info.value.day == dt.date(2025, 1, 3)
    assert isinstance(info.value.__cause__, ServerError)


def test_malformed_200s_that_persist_are_an_error_not_an_empty_window() -> None:
    with client(lambda r: httpx.Response(200, text="<html>hi</html>"), max_retries=1) as sp:
        with pytest.raises(InvalidResponseError, match="not valid JSON"):
            list(sp.clicks("2025-01-01", "2025-01-01"))


def test_request_budget_caps_a_runaway_range() -> None:
    rec = Recorder(lambda r: error(503, "down"))
    with client(rec, max_requests=5, max_retries=10) as sp:
        with pytest.raises(RequestBudgetExceededError, match="budget of 5 requests"):
            list(sp.clicks("2025-01-01", "2025-01-01"))
    assert len(rec.windows) == 5


def test_total_timeout_stops_retrying_when_the_next_sleep_would_pass_it() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    sp = ShortPen(
        TOKEN,
        http_client=httpx.Client(
            transport=httpx.MockTransport(lambda r: error(429, "slow", **{"Retry-After": "20"}))
        ),
        total_timeout=50,
        max_retries=10,
        sleep=sleep,
        clock=lambda: now[0],
    )
    with pytest.raises(APITimeoutError, match="total_timeout of 50s") as info:
        list(sp.clicks("2025-01-01", "2025-01-01"))
    assert info.value.phase == "total"
    assert isinstance(info.value.__cause__, RateLimitError)
    assert now[0] == 40.0  # two 20 s waits; a third would pass the deadline


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda sp: sp.clicks("2025-02-30", "2025-03-01"), "start.*'2025-02-30'"),
        (lambda sp: sp.clicks("2025-03-02", "2025-03-01"), "after end"),
        (lambda sp: sp.clicks("2025-03-01", "2025/03/02"), "end.*'2025/03/02'"),
        (lambda sp: sp.clicks("2025-03-01", "2025-03-02", workspace_id=0), "workspace_id.*0"),
        (lambda sp: sp.clicks("2025-03-01", "2025-03-02", url_id=-5), "url_id.*-5"),
        (
            lambda sp: sp.clicks("2025-03-01", "2025-03-02", url_id="7"),
            "url_id.*'7'",
        ),  # a str id, as an untyped caller might pass
    ],
)
def test_bad_input_raises_before_any_request(call: Callable[[ShortPen], object], match: str) -> None:
    rec = Recorder(ok)
    with client(rec) as sp, pytest.raises(InvalidArgumentError, match=match):
        call(sp)  # raised at the call, not when iterating
    assert rec.windows == []


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"window_days": 0}, "window_days.*0"),
        ({"window_days": 1.5}, "window_days.*1.5"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"max_retries": -1}, "max_retries"),
        ({"timeout": 0}, "timeout"),
        ({"environment": "prod"}, "environment.*'prod'"),
        ({"base_url": "http://api.shortpen.com"}, "use https://"),
    ],
)
def test_bad_configuration_is_refused(options: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidArgumentError, match=match):
        ShortPen(TOKEN, **options)  # type: ignore[arg-type]


def test_missing_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHORTPEN_TOKEN", raising=False)
    with pytest.raises(InvalidArgumentError, match=r"^token is missing: pass one, or set the SHORTPEN_TOKEN"):
        ShortPen()


def test_token_and_base_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHORTPEN_TOKEN", TOKEN)
    monkeypatch.setenv("SHORTPEN_BASE_URL", "http://127.0.0.1:9")
    rec = Recorder(ok)
    with ShortPen(http_client=httpx.Client(transport=httpx.MockTransport(rec))) as sp:
        assert sp.base_url == "http://127.0.0.1:9"
        list(sp.clicks("2025-01-01", "2025-01-01"))
    assert rec.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert str(rec.requests[0].url) == "http://127.0.0.1:9/v1/analytics"


def test_staging_environment_url() -> None:
    rec = Recorder(ok)
    with client(rec, environment="staging-api") as sp:
        list(sp.clicks("2025-01-01", "2025-01-01"))
    assert rec.requests[0].url.host == "staging-api.shortpen.com"


def test_redirects_are_not_followed() -> None:
    rec = Recorder(lambda r: httpx.Response(302, headers={"Location": "https://evil.example/steal"}))
    user_client = httpx.Client(transport=httpx.MockTransport(rec), follow_redirects=True)
    with (
        ShortPen(TOKEN, http_client=user_client) as sp,
        pytest.raises(APIStatusError, match="HTTP 302") as info,
    ):
        list(sp.clicks("2025-01-01", "2025-01-01"))
    assert info.value.status_code == 302
    assert len(rec.requests) == 1  # the token never went to the redirect target


def test_token_never_in_repr_errors_or_debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    answers = iter([error(503, "down"), error(401, f"token {TOKEN[:4]}... is invalid")])
    with client(lambda r: next(answers)) as sp:
        assert TOKEN not in repr(sp)
        assert TOKEN not in repr(sp.generated_client)
        with pytest.raises(AuthenticationError) as info:
            list(sp.clicks("2025-01-01", "2025-01-01"))
    assert TOKEN not in str(info.value)
    assert TOKEN not in repr(info.value)
    assert caplog.records  # DEBUG logging really was on
    assert TOKEN not in caplog.text
    assert any("attempt=1 status=503" in r.getMessage() for r in caplog.records)


def test_logging_one_debug_record_per_attempt_and_info_for_splits(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="shortpen_api_client")

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        return error(413, "too big") if body["start"] != body["end"] else ok(request)

    with client(handler, window_days=2) as sp:
        list(sp.clicks("2025-01-01", "2025-01-02"))
    ours = [r for r in caplog.records if r.name == "shortpen_api_client"]
    assert [r.levelname for r in ours] == ["DEBUG", "INFO", "DEBUG", "DEBUG"]
    assert "window=2025-01-01..2025-01-02 attempt=1 status=413" in ours[0].getMessage()
    assert "splitting 2025-01-01..2025-01-02" in ours[1].getMessage()
    assert "events=2" in ours[2].getMessage()


def test_a_closed_port_gives_a_connection_error_promptly() -> None:
    import socket

    with socket.socket() as sock:  # find a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleeps = Sleeps()
    started = time.monotonic()
    with ShortPen(TOKEN, base_url=f"http://127.0.0.1:{port}", sleep=sleeps, timeout=5) as sp:
        with pytest.raises(APIConnectionError, match="ConnectError") as info:
            list(sp.clicks("2025-01-01", "2025-01-01"))
    assert type(info.value) is APIConnectionError
    assert len(sleeps.calls) == 4  # retried max_retries times, without really waiting
    assert time.monotonic() - started < 2.0


def test_generated_client_is_the_documented_way_down() -> None:
    from shortpen_api_client.generated import get_analytics, models

    with client(ok) as sp:
        generated = sp.generated_client
        generated.set_httpx_client(
            httpx.Client(
                base_url=sp.base_url, transport=httpx.MockTransport(ok), headers={"Authorization": "x"}
            )
        )
        body = models.AnalyticsRequest.from_dict({"start": "2025-01-01", "end": "2025-01-01"})
        response = get_analytics.sync(client=generated, body=body)
    assert isinstance(response, models.AnalyticsResponse)
    assert len(response.data) == 2


def test_windows_are_fetched_concurrently_and_yielded_in_date_order() -> None:
    inflight = [0]
    peak = [0]
    lock = threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        with lock:
            inflight[0] += 1
            peak[0] = max(peak[0], inflight[0])
        # later windows answer faster, so completion order is the reverse of date order
        time.sleep(0.002 * (40 - dt.date.fromisoformat(body["start"]).day))
        with lock:
            inflight[0] -= 1
        return ok(request)

    with client(handler, window_days=1, max_concurrency=4) as sp:
        events = list(sp.clicks("2025-01-01", "2025-01-20"))
    assert [e.created_at for e in events] == sorted(e.created_at for e in events)
    assert len(events) == 40
    assert peak[0] == 4


def test_stopping_early_stops_fetching() -> None:
    rec = Recorder(ok)
    with client(rec, window_days=1, max_concurrency=2) as sp:
        stream = sp.clicks("2025-01-01", "2025-12-31")
        first = next(iter(stream))
        stream.close()  # type: ignore[attr-defined]
    assert first.created_at.date() == dt.date(2025, 1, 1)
    assert len(rec.windows) <= 4  # the window yielded, the ones in flight, one refill at most


def test_with_no_retries_a_504_still_splits_the_window() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        return ok(request) if body["start"] == body["end"] else httpx.Response(504, text="<html>504</html>")

    rec = Recorder(handler)
    with client(rec, window_days=2, max_retries=0) as sp:
        assert len(list(sp.clicks("2025-01-01", "2025-01-02"))) == 4
    assert rec.windows == [
        ("2025-01-01", "2025-01-02"),
        ("2025-01-01", "2025-01-01"),
        ("2025-01-02", "2025-01-02"),
    ]


def test_events_are_ascending_by_instant_across_a_dst_change() -> None:
    """Text order is not time order when the offset changes (New York, 2025-11-02, 01:00-02:00 twice)."""
    stamps = ["2025-11-02T01:10:00-04:00", "2025-11-02T01:05:00-05:00", "2025-11-02T01:30:00-04:00"]

    def handler(request: httpx.Request) -> httpx.Response:
        data = [
            {"id": i, "workspace_id": 24, "organization_id": 3, "url_id": 5, "domain": "d", "created_at": s}
            for i, s in enumerate(stamps)
        ]
        return httpx.Response(200, json={"success": True, "status_code": 200, "data": data})

    with client(handler) as sp:
        events = list(sp.clicks("2025-11-02", "2025-11-02"))
    assert [e.id for e in events] == [0, 2, 1]  # 05:10Z, 05:30Z, 06:05Z
    assert [e.created_at for e in events] == sorted(e.created_at for e in events)


def test_an_event_missing_a_required_field_is_an_invalid_response() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        data = [
            {
                "id": 1,
                "workspace_id": 24,
                "organization_id": 3,
                "url_id": 5,
                "created_at": "2025-01-01T00:00:00Z",
            }
        ]
        return httpx.Response(200, json={"success": True, "status_code": 200, "data": data})

    with client(handler) as sp, pytest.raises(InvalidResponseError, match=r"^2025-01-01: .*domain"):
        list(sp.clicks("2025-01-01", "2025-01-01"))


def test_a_server_echoing_the_token_does_not_put_it_in_errors_or_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    page = f"<html>Bad Gateway. Request headers: Authorization: Bearer {TOKEN}</html>"
    with client(lambda r: httpx.Response(502, text=page), max_retries=1) as sp:
        with pytest.raises(ServerError) as info:
            list(sp.clicks("2025-01-01", "2025-01-01"))
    assert "[redacted]" in str(info.value)
    assert TOKEN not in str(info.value)
    assert TOKEN not in info.value.message
    assert TOKEN not in caplog.text


def test_stopping_does_not_wait_for_sleeping_windows() -> None:
    """A consumer that stops (or a window that fails) is not held up by others' Retry-After."""
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if json.loads(request.content)["start"] == "2025-01-01":
            return ok(request)
        return error(429, "slow down", **{"Retry-After": "30"})

    sp = ShortPen(TOKEN, http_client=httpx.Client(transport=httpx.MockTransport(handler)), window_days=1)
    stream = sp.clicks("2025-01-01", "2025-01-05")
    started = time.monotonic()
    first = next(iter(stream))
    stream.close()  # type: ignore[attr-defined]
    assert first.id // 100 == dt.date(2025, 1, 1).toordinal()
    assert time.monotonic() - started < 5  # not 30 s: the sleeping windows woke up and gave up
    sp.close()


def test_the_clients_own_http_client_ignores_proxies_for_plain_http(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy in front of http:// would see the token in clear: only https uses HTTP(S)_PROXY."""
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    with ShortPen(TOKEN, base_url="http://127.0.0.1:9") as local, ShortPen(TOKEN) as remote:
        assert local._http._trust_env is False
        assert remote._http._trust_env is True
        url = httpx.URL("http://127.0.0.1:9/v1/analytics")
        assert local._http._transport_for_url(url) is local._http._transport  # no proxy mount
    with httpx.Client() as trusting:  # what httpx would do by default: send it to the proxy
        assert trusting._transport_for_url(url) is not trusting._transport


def _tls_context(sp: ShortPen | AsyncShortPen) -> ssl.SSLContext:
    context: ssl.SSLContext = sp._http._transport._pool._ssl_context  # type: ignore[union-attr]  # httpx's pool
    return context


def test_clients_share_one_tls_context_per_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Making a TLS context loads the CA bundle (20 ms, a tenth of a short call): the clients this
    package creates share httpx's default one, made once per setting; a CA file named by
    SSL_CERT_FILE (for https, whose environment is trusted) is another setting."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    third = AsyncShortPen(TOKEN)
    with ShortPen(TOKEN) as first, ShortPen(TOKEN) as second:
        shared = _tls_context(first)
        assert _tls_context(second) is shared
        assert _tls_context(third) is shared
        assert shared.cert_store_stats()["x509_ca"] > 10  # certifi's bundle
    asyncio.run(third.aclose())
    bundle = Path(certifi.where()).read_text(encoding="ascii")
    end = "-----END CERTIFICATE-----"
    ca = tmp_path / "ca.pem"
    ca.write_text(bundle[bundle.index("-----BEGIN CERTIFICATE-----") : bundle.index(end) + len(end)] + "\n")
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    with ShortPen(TOKEN) as own, ShortPen(TOKEN, base_url="http://127.0.0.1:9") as local:
        assert _tls_context(own) is not shared
        assert _tls_context(own).cert_store_stats()["x509_ca"] == 1
        with ShortPen(TOKEN) as again:
            assert _tls_context(again) is _tls_context(own)
        after_first = bundle.index(end) + len(end)
        two = bundle[bundle.index("-----BEGIN CERTIFICATE-----") : bundle.index(end, after_first) + len(end)]
        ca.write_text(two + "\n")  # the bundle replaced in place: the next client loads it again
        with ShortPen(TOKEN) as renewed:
            assert _tls_context(renewed).cert_store_stats()["x509_ca"] == 2
        assert _tls_context(local).cert_store_stats()["x509_ca"] > 10  # http: SSL_CERT_FILE not trusted


def test_a_server_message_quoting_the_token_is_redacted() -> None:
    with client(lambda r: error(401, f"token {TOKEN} was revoked")) as sp:
        with pytest.raises(AuthenticationError) as info:
            list(sp.clicks("2025-01-01", "2025-01-01"))
    assert info.value.message == "token [redacted] was revoked"
    assert TOKEN not in str(info.value)


STOP_SCRIPT = """
import json, time, httpx
from shortpen_api_client import ShortPen
from tests.test_client_behaviour import ok
def handler(request):
    if json.loads(request.content)["start"] != "2025-01-01":
        time.sleep(20)  # a window whose response is slow to come
    return ok(request)
with ShortPen("t", http_client=httpx.Client(transport=httpx.MockTransport(handler)), window_days=1) as sp:
    for event in sp.clicks("2025-01-01", "2025-01-09"):
        break  # the caller has what it wanted
print("done")
"""


def test_a_process_that_stops_iterating_exits_without_waiting_for_slow_windows() -> None:
    import subprocess
    import sys

    from .conftest import ROOT

    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", STOP_SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "done"
    assert time.monotonic() - started < 10  # not the 20 s the slow windows would take
