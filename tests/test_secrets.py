"""The token stays secret: no object shows it in its repr or str; a server that echoes it (in any
encoding) leaves no fragment of it in an exception, a log line or the CLI's error line; the
generated layer sends it to no proxy over plain http://; odd tokens are refused without being shown."""

from __future__ import annotations

import gc
import json
import logging
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from shortpen_api_client import (
    AsyncShortPen,
    AuthenticationError,
    InvalidArgumentError,
    ShortPen,
    ShortPenError,
    generated,
)
from shortpen_api_client._redact import LOG_SCRUBBER

from ._hostile import ECHOES, Hostile, leaks, make_token
from .test_cli import shortpen

AuthenticatedClient = generated.AuthenticatedClient
Client = generated.Client

TOKEN = "spk_live_canary_7f3a9c1e5b"  # a canary: the assertions look for it everywhere


def shows_token(obj: object) -> bool:
    return TOKEN in repr(obj) or TOKEN in str(obj)


def test_authenticated_client_repr_hides_token_before_use() -> None:
    client = AuthenticatedClient(base_url="https://api.shortpen.com", token=TOKEN)
    assert not shows_token(client)
    assert "api.shortpen.com" in repr(client)  # the repr is still useful


def test_authenticated_client_repr_hides_token_after_use() -> None:
    client = AuthenticatedClient(base_url="https://api.shortpen.com", token=TOKEN)
    http = client.get_httpx_client()
    async_http = client.get_async_httpx_client()
    assert http.headers["Authorization"] == f"Bearer {TOKEN}"  # the token is really sent ...
    assert async_http.headers["Authorization"] == f"Bearer {TOKEN}"
    for obj in (client, http, http.headers, async_http, async_http.headers):  # ... and never shown
        assert not shows_token(obj), obj
    http.close()


def test_authorization_passed_as_a_header_is_redacted_too() -> None:
    client = Client(
        base_url="https://api.shortpen.com",
        headers={"Authorization": f"Bearer {TOKEN}", "X-Trace": "abc"},
        cookies={"session": TOKEN},
    )
    assert not shows_token(client)
    assert "X-Trace" in repr(client)


def test_evolved_clients_hide_token() -> None:
    client = AuthenticatedClient(base_url="https://api.shortpen.com", token=TOKEN)
    client.get_httpx_client()
    derived = client.with_headers({"X-Trace": "1"}).with_timeout(httpx.Timeout(5.0))
    assert not shows_token(derived)


def test_request_sent_by_generated_client_carries_token_but_does_not_show_it() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(401, json={"success": False, "status_code": 401, "message": "no"})

    client = AuthenticatedClient(base_url="https://api.shortpen.com", token=TOKEN)
    client.set_httpx_client(
        httpx.Client(
            base_url="https://api.shortpen.com",
            headers=client._headers_with_auth(),
            transport=httpx.MockTransport(handler),
        )
    )
    response = generated.get_analytics.sync_detailed(
        client=client,
        body=generated.models.AnalyticsRequest.from_dict({"start": "2025-01-01", "end": "2025-01-02"}),
    )
    assert response.status_code == 401
    assert seen[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert not shows_token(seen[0])
    assert not shows_token(seen[0].headers)
    assert not shows_token(response)


# -- a server that echoes the token: no fragment of it in an exception, a log line or the CLI -------------

FILLER = "lorem ipsum dolor sit amet, consectetur adipiscing elit; " * 20
KINDS = [  # (status, content type, body around the echo)
    (400, "text/plain", lambda text: text),
    (502, "text/html", lambda text: f"<html><body><h1>Bad Gateway</h1><pre>{text}</pre></body></html>"),
    (200, "text/html; charset=utf-8", lambda text: f"<html><p>{text}</p></html>"),
    (
        401,
        "application/json",
        lambda text: json.dumps({"success": False, "status_code": 401, "message": text}),
    ),
    (
        200,
        "application/json",
        lambda text: json.dumps({"success": False, "status_code": 200, "message": text}),
    ),
]


def echoing_body(echo: str, offset: int, wrap: Callable[[str], str]) -> str:
    """A long body (about 1,200 characters) with ``echo`` at ``offset`` of its text."""
    return wrap(FILLER[:offset] + echo + FILLER[offset:])


def error_text(error: BaseException) -> str:
    return f"{error} {error!r} {getattr(error, 'message', '')} {error.__cause__}"


@pytest.mark.parametrize("echo", sorted(ECHOES))
def test_an_echoed_token_leaves_no_fragment_in_errors_or_logs(
    echo: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The finding: a 72-character token quoted at offset 24 of a text body showed 56 characters."""
    caplog.set_level(logging.DEBUG)  # every logger: ours, httpx and httpcore
    shown = []
    with Hostile() as server:
        for length in (12, 72):  # (every offset and more lengths: tests/test_redact.py, without HTTP)
            token = make_token(length)
            with ShortPen(token, base_url=server.url, max_retries=0) as sp:
                for status, content_type, wrap in KINDS:
                    for offset in (0, 7, 24, 79):
                        server.status, server.content_type = status, content_type
                        server.body = echoing_body(ECHOES[echo](token), offset, wrap)
                        with pytest.raises(ShortPenError) as info:
                            list(sp.clicks("2025-01-01", "2025-01-01"))
                        text = error_text(info.value)
                        assert not leaks(text, token), (length, status, offset, text)
                        shown.append(text)
            assert not leaks(caplog.text, token), length
    assert any("[redacted]" in text for text in shown)  # what was taken out is said to be
    assert any(r.name.startswith("httpcore") for r in caplog.records)  # httpcore's DEBUG was on
    assert any("attempt=1 status=400" in r.getMessage() for r in caplog.records)


@pytest.mark.anyio
@pytest.mark.parametrize("echo", ["plain", "url-encoded", "base64-bearer"])
async def test_an_echoed_token_leaves_no_fragment_in_async_errors(
    echo: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = make_token(72)
    with Hostile() as server:
        async with AsyncShortPen(token, base_url=server.url, max_retries=0) as sp:
            for status, content_type, wrap in KINDS:
                for offset in (0, 24, 79):
                    server.status, server.content_type = status, content_type
                    server.body = echoing_body(ECHOES[echo](token), offset, wrap)
                    with pytest.raises(ShortPenError) as info:
                        [e async for e in sp.clicks("2025-01-01", "2025-01-01")]
                    assert not leaks(error_text(info.value), token), (status, offset)
    assert not leaks(caplog.text, token)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("echo", "kind"), [("plain", 0), ("url-encoded", 1), ("base64-bearer", 3), ("json-escaped", 0)]
)
def test_the_cli_error_line_shows_no_fragment_of_an_echoed_token(
    echo: str, kind: int, tmp_path: Path
) -> None:
    token = make_token(72)
    status, content_type, wrap = KINDS[kind]
    with Hostile(status, echoing_body(ECHOES[echo](token), 24, wrap), content_type) as server:
        result = shortpen(
            "export", "--start", "2025-01-01", "--end", "2025-01-01", "--max-retries", "0",
            "--output", str(tmp_path / "out.jsonl"),
            env={"SHORTPEN_TOKEN": token, "SHORTPEN_BASE_URL": server.url},
        )  # fmt: skip
        assert len(server.requests) == 1
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("shortpen: error: ")
    assert "Traceback" not in result.stderr
    assert not leaks(result.stderr + result.stdout, token), result.stderr


# -- the generated layer follows the facade's proxy policy -------------------------------------------------

ENVELOPE = json.dumps({"success": True, "status_code": 200, "message": "", "data": []})


def trust_a_proxy(monkeypatch: pytest.MonkeyPatch, proxy_url: str) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(name, proxy_url)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


def body() -> generated.models.AnalyticsRequest:
    return generated.models.AnalyticsRequest.from_dict({"start": "2025-01-01", "end": "2025-01-01"})


def test_the_generated_client_sends_no_token_to_a_proxy_for_plain_http(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with Hostile(200, ENVELOPE, "application/json") as target, Hostile(502, "proxy") as proxy:
        trust_a_proxy(monkeypatch, proxy.url)
        with ShortPen(TOKEN, base_url=target.url) as sp:
            response = generated.get_analytics.sync_detailed(client=sp.generated_client, body=body())
    assert proxy.requests == []  # before the fix: the proxy got "Authorization: Bearer <token>"
    assert response.status_code == 200
    assert [r.headers["authorization"] for r in target.requests] == [f"Bearer {TOKEN}"]


@pytest.mark.anyio
async def test_the_async_generated_client_sends_no_token_to_a_proxy_for_plain_http(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with Hostile(200, ENVELOPE, "application/json") as target, Hostile(502, "proxy") as proxy:
        trust_a_proxy(monkeypatch, proxy.url)
        async with AsyncShortPen(TOKEN, base_url=target.url) as sp:
            response = await generated.get_analytics.asyncio_detailed(client=sp.generated_client, body=body())
    assert proxy.requests == []
    assert response.status_code == 200
    assert len(target.requests) == 1


def test_the_generated_client_still_uses_a_proxy_for_https(monkeypatch: pytest.MonkeyPatch) -> None:
    """The policy is the facade's: proxies from the environment are honoured for https (TLS to the API)."""
    with Hostile(502, "proxy") as proxy:
        trust_a_proxy(monkeypatch, proxy.url)
        with ShortPen(TOKEN) as sp:
            http = sp.generated_client.get_httpx_client()
            url = httpx.URL("https://api.shortpen.com/v1/analytics")
            assert http._transport_for_url(url) is not http._transport  # the proxy's mount


# -- odd tokens are refused when the client is made, without showing them -------------------------------

ODD_TOKENS = {  # token -> what the message must say
    "spk_live_\x00abcdef": "control character at position 9",
    "spk_live_\x01abcdef": "control character at position 9",
    "spk_live_abc\x7fdef": "control character at position 12",
    "spk_live_abcdéf": "non-ASCII character at position 13",
    "spk_live_abc def": "space at position 12",
    "spk_live_abc\tdef": "control character at position 12",
    " spk_live_abcdef": "space at position 0",
    "spk_live_abcdef\u2028": "non-ASCII character at position 15",
}


@pytest.mark.parametrize("token", sorted(ODD_TOKENS))
@pytest.mark.parametrize("client_class", [ShortPen, AsyncShortPen])
def test_an_odd_token_is_refused_before_any_request_without_showing_it(
    token: str, client_class: type[ShortPen] | type[AsyncShortPen], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with Hostile(200, ENVELOPE, "application/json") as server:
        with pytest.raises(InvalidArgumentError) as info:
            client_class(token, base_url=server.url)
        assert server.requests == []
    message = str(info.value)
    assert ODD_TOKENS[token] in message
    assert "token" in message
    secret = token.strip()
    for i in range(len(secret) - 5):
        assert secret[i : i + 6] not in message + repr(info.value) + caplog.text


def test_an_odd_token_from_the_environment_is_refused_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHORTPEN_TOKEN", "spk_live_\x01abcdef")  # (an environment cannot hold NUL)
    with pytest.raises(InvalidArgumentError, match="control character at position 9") as info:
        ShortPen(base_url="http://127.0.0.1:9")
    assert "abcdef" not in str(info.value)


@pytest.mark.slow
def test_the_cli_refuses_an_odd_token_in_one_line_without_showing_it(tmp_path: Path) -> None:
    with Hostile(200, ENVELOPE, "application/json") as server:
        result = shortpen(
            "export", "--start", "2025-01-01", "--end", "2025-01-01", "--output", str(tmp_path / "o.jsonl"),
            env={"SHORTPEN_TOKEN": "spk_live_abc\x01defghij", "SHORTPEN_BASE_URL": server.url},
        )  # fmt: skip
        assert server.requests == []
    assert result.returncode == 2, result.stderr
    assert "control character at position 12" in result.stderr
    assert "defghij" not in result.stderr + result.stdout


# -- plain http:// only to literal loopback, and `localhost` is connected to without DNS -------------------


@pytest.fixture
def no_dns_for_localhost(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``socket.getaddrinfo`` fails for "localhost" (as a hostile resolver might answer elsewhere);
    returns the names looked up."""
    looked_up: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host: object, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        looked_up.append(name)
        if name.lower().rstrip(".") == "localhost":
            raise socket.gaierror(socket.EAI_NONAME, "no DNS for localhost in this test")
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return looked_up


def test_localhost_is_reached_without_a_dns_lookup(no_dns_for_localhost: list[str]) -> None:
    with Hostile(200, ENVELOPE, "application/json") as server:
        with ShortPen(TOKEN, base_url=f"http://localhost:{server.port}", max_retries=0) as sp:
            assert list(sp.clicks("2025-01-01", "2025-01-01")) == []
            assert sp.base_url == f"http://localhost:{server.port}"  # shown as given
            response = generated.get_analytics.sync_detailed(client=sp.generated_client, body=body())
    assert response.status_code == 200
    assert len(server.requests) == 2
    assert {r.headers["host"] for r in server.requests} == {f"localhost:{server.port}"}
    assert not [name for name in no_dns_for_localhost if "localhost" in name.lower()]


@pytest.mark.anyio
async def test_localhost_is_reached_without_a_dns_lookup_async(no_dns_for_localhost: list[str]) -> None:
    with Hostile(200, ENVELOPE, "application/json") as server:
        async with AsyncShortPen(TOKEN, base_url=f"http://LocalHost:{server.port}", max_retries=0) as sp:
            assert [e async for e in sp.clicks("2025-01-01", "2025-01-01")] == []
            response = await generated.get_analytics.asyncio_detailed(client=sp.generated_client, body=body())
    assert response.status_code == 200
    assert len(server.requests) == 2
    assert not [name for name in no_dns_for_localhost if "localhost" in name.lower()]


@pytest.mark.parametrize("host", ["foo.localhost", "localhost.", "evil.localhost."])
def test_names_under_localhost_are_refused_for_plain_http(host: str) -> None:
    with pytest.raises(InvalidArgumentError, match="use https://"):
        ShortPen(TOKEN, base_url=f"http://{host}:8000")


# -- a token echoed in a response header: httpcore's DEBUG records show the headers --------------------------


@pytest.mark.parametrize("echo", ["plain", "header", "base64-bearer"])
def test_a_token_echoed_in_a_response_header_is_not_in_httpcore_debug_logs(
    echo: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = make_token(40)
    envelope = json.dumps({"success": False, "status_code": 401, "message": "no"})
    with Hostile(401, envelope, "application/json", {"X-Echo": ECHOES[echo](token)}) as server:
        with ShortPen(token, base_url=server.url, max_retries=0) as sp:
            with pytest.raises(AuthenticationError):
                list(sp.clicks("2025-01-01", "2025-01-01"))
            generated.get_analytics.sync_detailed(client=sp.generated_client, body=body())
    assert len(server.requests) == 2
    headers_records = [r for r in caplog.records if "receive_response_headers.complete" in r.getMessage()]
    assert len(headers_records) == 2  # httpcore did log the response headers, twice
    assert all(b"X-Echo" in repr(r.getMessage()).encode() for r in headers_records)
    assert not leaks(caplog.text, token)


@pytest.mark.anyio
async def test_a_token_echoed_in_a_response_header_is_not_in_async_debug_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    token = make_token(40)
    with Hostile(200, ENVELOPE, "application/json", {"X-Echo": token}) as server:
        async with AsyncShortPen(token, base_url=server.url) as sp:
            assert [e async for e in sp.clicks("2025-01-01", "2025-01-01")] == []
    assert any("receive_response_headers.complete" in r.getMessage() for r in caplog.records)
    assert not leaks(caplog.text, token)


def test_the_log_filter_scrubs_the_tokens_of_open_clients_only() -> None:
    loggers = [logging.getLogger(name) for name in ("httpx", "httpcore.http11", "httpcore.connection")]
    hidden = LOG_SCRUBBER.hidden()
    first, second = ShortPen(TOKEN, base_url="http://127.0.0.1:9"), ShortPen("other-token")
    twin = ShortPen(TOKEN, base_url="http://127.0.0.1:9")
    assert LOG_SCRUBBER.hidden() == hidden + 2
    assert all(
        logger.filters.count(LOG_SCRUBBER) == 1 for logger in loggers
    )  # one filter, however many clients
    first.close()
    assert LOG_SCRUBBER.hidden() == hidden + 2  # the twin still uses TOKEN
    twin.close()
    second.close()
    second.close()  # closing twice forgets once
    assert LOG_SCRUBBER.hidden() == hidden
    third = ShortPen("third-token")
    del third
    gc.collect()
    assert LOG_SCRUBBER.hidden() == hidden  # a client never closed is forgotten when collected
