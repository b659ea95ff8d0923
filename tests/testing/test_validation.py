"""The request rules: routing, authentication, then body validation (a 400 that names the field)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shortpen_api_client.testing import FakeShortPen

from .conftest import BASE_URL, PATH, WEEK, auth, client_for


def error(response: httpx.Response) -> tuple[int, str]:
    body = response.json()
    assert body["success"] is False
    assert body["status_code"] == response.status_code
    assert body["data"] is None
    message: str = body["message"]
    return response.status_code, message


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/"), ("POST", "/v1/analytic"), ("POST", "/v1/analytics/"), ("POST", "/v2/analytics")],
)
def test_other_paths_are_404(client: httpx.Client, method: str, path: str) -> None:
    status, message = error(client.request(method, path, json=WEEK))
    assert status == 404
    assert path in message


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_other_methods_are_405_with_allow(client: httpx.Client, method: str) -> None:
    response = client.request(method, PATH)
    assert error(response)[0] == 405
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        (None, "Unauthenticated."),
        ("", "Unauthenticated."),
        ("Bearer wrong-token", "Invalid token."),
        ("Bearer ", "Invalid token."),
        ("Basic dGVzdC10b2tlbg==", "Invalid token."),
        ("test-token", "Invalid token."),
    ],
)
def test_missing_or_wrong_token_is_401(fake: FakeShortPen, authorization: str | None, message: str) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    with httpx.Client(transport=fake.transport(), base_url=BASE_URL, headers=headers) as http:
        response = http.post(PATH, json=WEEK)
    assert error(response) == (401, message)
    assert response.headers["www-authenticate"] == "Bearer"


def test_bearer_scheme_is_case_insensitive(client: httpx.Client) -> None:
    assert client.post(PATH, json=WEEK, headers={"Authorization": "bearer test-token"}).status_code == 200


def test_401_comes_before_body_validation(fake: FakeShortPen) -> None:
    with httpx.Client(transport=fake.transport(), base_url=BASE_URL) as http:
        assert http.post(PATH, content=b"not json").status_code == 401
        assert http.post(PATH, json={"start": "x"}).status_code == 401


def test_token_is_settable(fake: FakeShortPen) -> None:
    fake.token = "rotated"
    with client_for(fake) as http:
        assert http.post(PATH, json=WEEK).status_code == 200
        assert http.post(PATH, json=WEEK, headers=auth("test-token")).status_code == 401


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "start: is required"),
        ({"end": "2025-01-01"}, "start: is required"),
        ({"start": "2025-01-01"}, "end: is required"),
        ({"start": "2025-1-01", "end": "2025-01-02"}, "start: must be a date in YYYY-MM-DD format"),
        ({"start": "2025/01/01", "end": "2025-01-02"}, "start: must be a date in YYYY-MM-DD format"),
        ({"start": "20250101", "end": "2025-01-02"}, "start: must be a date in YYYY-MM-DD format"),
        ({"start": " 2025-01-01", "end": "2025-01-02"}, "start: must be a date in YYYY-MM-DD format"),
        ({"start": "2025-01-01\n", "end": "2025-01-02"}, "start: must be a date in YYYY-MM-DD format"),
        ({"start": "2025-01-01T00:00:00", "end": "2025-01-02"}, "start: must be a date in YYYY-MM-DD"),
        (
            {"start": "\uff12\uff10\uff12\uff15-01-01", "end": "2025-01-02"},
            "start: must be a date in YYYY-MM-DD format",
        ),
        ({"start": 20250101, "end": "2025-01-02"}, "start: must be a date in YYYY-MM-DD format"),
        ({"start": None, "end": "2025-01-02"}, "start: must be a date in YYYY-MM-DD format"),
        ({"start": "2025-02-30", "end": "2025-03-01"}, "start: 2025-02-30 is not a valid date"),
        ({"start": "2025-01-01", "end": "2025-13-01"}, "end: 2025-13-01 is not a valid date"),
        ({"start": "0000-01-01", "end": "2025-01-01"}, "start: 0000-01-01 is not a valid date"),
        ({"start": "2025-01-07", "end": "2025-01-01"}, "end: must be on or after start (2025-01-07)"),
        ({**WEEK, "workspace_id": "24"}, "workspace_id: must be an integer, got '24'"),
        ({**WEEK, "workspace_id": True}, "workspace_id: must be an integer, got True"),
        ({**WEEK, "workspace_id": 24.5}, "workspace_id: must be an integer, got 24.5"),
        ({**WEEK, "workspace_id": None}, "workspace_id: must be an integer, got None"),
        ({**WEEK, "workspace_id": 99}, "workspace_id: unknown workspace 99"),
        ({**WEEK, "url_id": "501"}, "url_id: must be an integer, got '501'"),
        ({**WEEK, "url_id": False}, "url_id: must be an integer, got False"),
        ([], "body: must be a JSON object"),
        ("2025-01-01", "body: must be a JSON object"),
    ],
)
def test_invalid_bodies_are_400_naming_the_field(client: httpx.Client, body: Any, message: str) -> None:
    status, got = error(client.post(PATH, json=body))
    assert status == 400
    assert got.startswith(message), got


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "body: is required"),
        (b"  ", "body: is required"),
        (b"{", "body: is not valid JSON"),
        (b"\xff\xfe", "body: is not valid JSON"),
        (b"null", "body: must be a JSON object"),
    ],
)
def test_missing_or_invalid_json_is_400(client: httpx.Client, content: bytes, message: str) -> None:
    status, got = error(client.post(PATH, content=content))
    assert status == 400
    assert got.startswith(message)


def test_end_equal_to_start_is_one_day(client: httpx.Client, fake: FakeShortPen) -> None:
    response = client.post(PATH, json={"start": "2025-01-07", "end": "2025-01-07"})
    assert response.status_code == 200
    assert response.json()["data"] == fake.events("2025-01-07", "2025-01-07")


def test_unknown_fields_are_ignored(client: httpx.Client) -> None:
    plain = client.post(PATH, json=WEEK)
    extra = client.post(PATH, json={**WEEK, "utm": "x", "limit": 5})
    assert extra.status_code == 200
    assert extra.content == plain.content


def test_workspace_defaults_to_the_first(client: httpx.Client, fake: FakeShortPen) -> None:
    default = client.post(PATH, json=WEEK)
    first = client.post(PATH, json={**WEEK, "workspace_id": fake.workspace_ids[0]})
    second = client.post(PATH, json={**WEEK, "workspace_id": fake.workspace_ids[1]})
    assert default.content == first.content
    assert {e["workspace_id"] for e in default.json()["data"]} == {fake.workspace_ids[0]}
    assert {e["workspace_id"] for e in second.json()["data"]} == {fake.workspace_ids[1]}


def test_url_id_filters_to_one_link(client: httpx.Client, fake: FakeShortPen) -> None:
    whole = client.post(PATH, json=WEEK).json()["data"]
    parts: list[dict[str, Any]] = []
    for url_id in fake.url_ids(fake.workspace_ids[0]):
        data = client.post(PATH, json={**WEEK, "url_id": url_id}).json()["data"]
        assert {e["url_id"] for e in data} <= {url_id}
        assert data == [e for e in whole if e["url_id"] == url_id]  # same events, same order
        parts += data
    assert sorted(e["id"] for e in parts) == sorted(e["id"] for e in whole)


def test_url_id_of_another_workspace_yields_no_events(client: httpx.Client, fake: FakeShortPen) -> None:
    other_link = fake.url_ids(fake.workspace_ids[1])[0]
    response = client.post(PATH, json={**WEEK, "url_id": other_link})
    assert response.status_code == 200
    assert response.json() == {"success": True, "status_code": 200, "message": "", "data": []}
    with_workspace = client.post(
        PATH, json={**WEEK, "workspace_id": fake.workspace_ids[1], "url_id": other_link}
    )
    assert with_workspace.json()["data"]
