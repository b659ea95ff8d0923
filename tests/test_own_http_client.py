"""Your own ``http_client``: its ``User-Agent`` is kept (ours appended), its ``base_url`` is used, and
what the client still decides per request (token, timeout, redirects) is the documented list."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx
import pytest

from shortpen_api_client import AsyncShortPen, InvalidArgumentError, ShortPen
from shortpen_api_client._engine import USER_AGENT
from shortpen_api_client.testing import FakeShortPen

from ._hostile import Hostile


@pytest.fixture
def fake() -> FakeShortPen:
    return FakeShortPen(seed=3, events_per_day=5)


def test_the_users_user_agent_is_kept_and_ours_appended(fake: FakeShortPen) -> None:
    http = httpx.Client(transport=fake.transport(), headers={"User-Agent": "my-svc/1.0"})
    with ShortPen(fake.token, http_client=http) as client:
        list(client.clicks("2025-01-01", "2025-01-01"))
    assert fake.requests[0].headers["user-agent"] == f"my-svc/1.0 {USER_AGENT}"


def test_httpxs_default_user_agent_is_replaced_by_ours(fake: FakeShortPen) -> None:
    http = httpx.Client(transport=fake.transport())
    with ShortPen(fake.token, http_client=http) as client:
        list(client.clicks("2025-01-01", "2025-01-01"))
    assert fake.requests[0].headers["user-agent"] == USER_AGENT


async def no_sleep(seconds: float) -> None:
    return None


@pytest.mark.anyio
async def test_async_client_keeps_the_users_user_agent(fake: FakeShortPen) -> None:
    http = httpx.AsyncClient(transport=fake.transport(), headers={"user-agent": "my-svc/2"})
    async with AsyncShortPen(fake.token, http_client=http, sleep=no_sleep) as client:
        _ = [event async for event in client.clicks("2025-01-01", "2025-01-01")]
    await http.aclose()
    assert fake.requests[0].headers["user-agent"] == f"my-svc/2 {USER_AGENT}"


def test_the_users_base_url_is_used(fake: FakeShortPen) -> None:
    http = httpx.Client(transport=fake.transport(), base_url="https://staging-api.shortpen.com/")
    with ShortPen(fake.token, http_client=http) as client:
        assert client.base_url == "https://staging-api.shortpen.com"
        list(client.clicks("2025-01-01", "2025-01-01"))
    assert fake.requests[0].path == "/v1/analytics"


def test_the_same_base_url_twice_is_fine_and_two_different_ones_are_refused(fake: FakeShortPen) -> None:
    http = httpx.Client(transport=fake.transport(), base_url="https://staging-api.shortpen.com")
    ShortPen(fake.token, http_client=http, base_url="https://staging-api.shortpen.com/").close()
    with pytest.raises(InvalidArgumentError, match=r"differs from http_client\.base_url"):
        ShortPen(fake.token, http_client=http, base_url="https://api.shortpen.com")
    assert fake.requests == []


def test_the_users_base_url_follows_the_same_security_rules(fake: FakeShortPen) -> None:
    http = httpx.Client(transport=fake.transport(), base_url="http://analytics.example.com")
    with pytest.raises(InvalidArgumentError, match="plain http://"):
        ShortPen(fake.token, http_client=http)


# -- a plain-http base URL and the user's proxies -------------------------------------------------------
# Their proxies stay theirs for https (TLS to the API); a proxy in front of plain http:// would read
# the token in clear, so a client that would route the base URL through one is refused.

TOKEN = "spk_live_canary_7f3a9c1e5b"
ENVELOPE = json.dumps({"success": True, "status_code": 200, "message": "", "data": []})


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Hostile, Hostile]]:
    """The API on loopback, and a "proxy" that HTTP_PROXY/ALL_PROXY name (it must receive nothing)."""
    with Hostile(200, ENVELOPE, "application/json") as target, Hostile(502, "proxy") as proxy:
        for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy"):
            monkeypatch.setenv(name, proxy.url)
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        yield target, proxy


def refused(make: Callable[[], object]) -> str:
    with pytest.raises(InvalidArgumentError, match="would see the token in clear") as info:
        make()
    assert TOKEN not in str(info.value)
    return str(info.value)


def test_a_users_client_trusting_http_proxy_is_refused_for_plain_http(
    servers: tuple[Hostile, Hostile],
) -> None:
    target, proxy = servers
    with (
        httpx.Client() as http,  # trust_env=True: HTTP_PROXY applies to http://127.0.0.1
        pytest.raises(InvalidArgumentError, match="would see the token in clear") as info,
        ShortPen(TOKEN, base_url=target.url, http_client=http, max_retries=0) as sp,
    ):
        list(sp.clicks("2025-01-01", "2025-01-01"))  # before the fix: sent to the proxy, token included
    assert f"plain http://127.0.0.1:{target.port}/ through a transport mounted for it" in str(info.value)
    assert TOKEN not in str(info.value)
    assert proxy.requests == []
    assert target.requests == []


@pytest.mark.parametrize(
    "make",
    [
        lambda proxy: httpx.Client(proxy=proxy, trust_env=False),
        lambda proxy: httpx.Client(mounts={"http://": httpx.HTTPTransport(proxy=proxy)}, trust_env=False),
        lambda proxy: httpx.Client(transport=httpx.HTTPTransport(proxy=proxy), trust_env=False),
    ],
    ids=["proxy=", "mounts=", "transport="],
)
def test_a_users_client_with_its_own_proxy_is_refused_for_plain_http(
    servers: tuple[Hostile, Hostile], make: Callable[[str], httpx.Client]
) -> None:
    target, proxy = servers
    with make(proxy.url) as http:
        refused(lambda: ShortPen(TOKEN, base_url=target.url, http_client=http))
    assert proxy.requests == []


def test_localhost_is_checked_at_the_address_it_is_connected_to(servers: tuple[Hostile, Hostile]) -> None:
    target, _proxy = servers
    with httpx.Client() as http:
        refused(lambda: ShortPen(TOKEN, base_url=f"http://localhost:{target.port}", http_client=http))


@pytest.mark.anyio
async def test_an_async_users_client_trusting_http_proxy_is_refused_for_plain_http(
    servers: tuple[Hostile, Hostile],
) -> None:
    target, proxy = servers
    async with httpx.AsyncClient() as http:
        refused(lambda: AsyncShortPen(TOKEN, base_url=target.url, http_client=http))
    async with httpx.AsyncClient(proxy=proxy.url, trust_env=False) as http:
        refused(lambda: AsyncShortPen(TOKEN, base_url=target.url, http_client=http))
    assert proxy.requests == []


def test_a_users_client_that_bypasses_the_proxy_is_used(
    servers: tuple[Hostile, Hostile], monkeypatch: pytest.MonkeyPatch
) -> None:
    target, proxy = servers
    with httpx.Client(trust_env=False) as http, ShortPen(TOKEN, base_url=target.url, http_client=http) as sp:
        assert list(sp.clicks("2025-01-01", "2025-01-01")) == []
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with httpx.Client() as http, ShortPen(TOKEN, base_url=target.url, http_client=http) as sp:
        assert list(sp.clicks("2025-01-01", "2025-01-01")) == []
    assert len(target.requests) == 2
    assert proxy.requests == []


@pytest.mark.anyio
async def test_an_async_users_client_that_bypasses_the_proxy_is_used(
    servers: tuple[Hostile, Hostile],
) -> None:
    target, proxy = servers
    async with (
        httpx.AsyncClient(trust_env=False) as http,
        AsyncShortPen(TOKEN, base_url=target.url, http_client=http, sleep=no_sleep) as sp,
    ):
        assert [e async for e in sp.clicks("2025-01-01", "2025-01-01")] == []
    assert len(target.requests) == 1
    assert proxy.requests == []


def test_a_users_proxy_stays_theirs_for_https(servers: tuple[Hostile, Hostile]) -> None:
    """TLS to the API goes through the proxy as a tunnel: the proxy never sees the token."""
    _, proxy = servers
    with httpx.Client() as http, ShortPen(TOKEN, http_client=http) as sp:
        assert sp.base_url == "https://api.shortpen.com"
    with httpx.Client(proxy=proxy.url) as http, ShortPen(TOKEN, http_client=http):
        pass
