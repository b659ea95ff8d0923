"""No object the package builds shows the token in its repr or str."""

from __future__ import annotations

import httpx

from shortpen_api_client import generated

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
