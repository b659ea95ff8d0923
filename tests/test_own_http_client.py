"""Your own ``http_client``: its ``User-Agent`` is kept (ours appended), its ``base_url`` is used, and
what the client still decides per request (token, timeout, redirects) is the documented list."""

from __future__ import annotations

import httpx
import pytest

from shortpen_api_client import AsyncShortPen, InvalidArgumentError, ShortPen
from shortpen_api_client._engine import USER_AGENT
from shortpen_api_client.testing import FakeShortPen


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
