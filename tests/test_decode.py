"""Envelope parsing: a 200 must be the documented envelope; errors carry the server's message."""

from __future__ import annotations

import json

import pytest

from shortpen_api_client._decode import decode_events, status_error
from shortpen_api_client.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    InvalidResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
)

EVENT = {"id": 1, "workspace_id": 24, "organization_id": 3, "url_id": 501, "domain": "go.shortpen.com"}


def envelope(**fields: object) -> bytes:
    return json.dumps({"success": True, "status_code": 200, "message": "", "data": [], **fields}).encode()


def test_events_of_a_valid_envelope() -> None:
    event = {**EVENT, "created_at": "2025-01-01T00:00:00+00:00", "extra": [1]}
    assert decode_events(envelope(data=[event])) == [event]


def test_empty_data_is_a_valid_empty_window() -> None:
    assert decode_events(envelope()) == []


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"<html><body>502 Bad Gateway</body></html>", "not valid JSON.*text/html.*502 Bad Gateway"),
        (envelope(data=[EVENT])[:-7], "not valid JSON"),
        (b"", "not valid JSON.*empty body"),
        (b"[]", "is a list, not the envelope"),
        (envelope(success=False, message="internal error"), "success=False: internal error"),
        (json.dumps({"status_code": 200, "data": []}).encode(), "success=None"),
        (envelope(data=None), "data is NoneType"),
        (envelope(data={"id": 1}), "data is dict"),
    ],
)
def test_a_200_that_is_not_the_envelope_is_an_error(body: bytes, match: str) -> None:
    with pytest.raises(InvalidResponseError, match=match):
        decode_events(body, content_type="text/html; charset=utf-8")


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (404, NotFoundError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (504, ServerError),
        (413, APIStatusError),
    ],
)
def test_status_maps_to_its_class_with_the_servers_message(status: int, cls: type[APIStatusError]) -> None:
    body = json.dumps(
        {"success": False, "status_code": status, "message": "end: must be after start"}
    ).encode()
    error = status_error(status, body, retry_after=2.0)
    assert type(error) is cls
    assert error.status_code == status
    assert error.message == "end: must be after start"
    assert error.retry_after == 2.0
    assert str(error) == f"HTTP {status}: end: must be after start"


def test_status_error_without_envelope_describes_the_body() -> None:
    error = status_error(502, b"<html>Bad Gateway</html>", content_type="text/html")
    assert isinstance(error, ServerError)
    assert "text/html" in error.message
    assert "Bad Gateway" in error.message


def test_scrub_takes_bearer_credentials_out_of_server_text() -> None:
    from shortpen_api_client._redact import scrub

    assert scrub("Authorization: Bearer abc.def-123 next") == "Authorization: Bearer [redacted] next"
    assert scrub('{"h": "bearer xyz"}') == '{"h": "bearer [redacted]"}'
    assert scrub("no credentials here") == "no credentials here"
