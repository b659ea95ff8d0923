"""Fixtures for the FakeShortPen tests: a fake, clients on both ways in, the spec as a validator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_core.validation.schemas import oas31_schema_validators_factory

from shortpen_api_client.testing import FakeShortPen

from ..conftest import SPEC_PATH

BASE_URL = "https://api.shortpen.com"
PATH = "/v1/analytics"
WEEK = {"start": "2025-01-01", "end": "2025-01-07"}

SPEC = OpenAPI.from_file_path(str(SPEC_PATH))


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def client_for(fake: FakeShortPen, **kwargs: Any) -> httpx.Client:
    """An httpx.Client on the fake's transport that sends the fake's token."""
    return httpx.Client(transport=fake.transport(), base_url=BASE_URL, headers=auth(fake.token), **kwargs)


@pytest.fixture
def fake() -> FakeShortPen:
    return FakeShortPen(events_per_day=20)


@pytest.fixture
def client(fake: FakeShortPen) -> Iterator[httpx.Client]:
    with client_for(fake) as http:
        yield http


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def async_client(fake: FakeShortPen) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=fake.transport(), base_url=BASE_URL, headers=auth(fake.token)
    ) as http:
        yield http


def openapi_request(request: httpx.Request) -> MockRequest:
    """The httpx request as openapi-core sees one."""
    return MockRequest(
        BASE_URL,
        request.method.lower(),
        request.url.path,
        headers=dict(request.headers),
        data=request.content,
        content_type=request.headers.get("content-type", "application/json"),
    )


def openapi_response(response: httpx.Response) -> MockResponse:
    return MockResponse(
        response.content,
        status_code=response.status_code,
        headers=dict(response.headers),
        content_type=response.headers.get("content-type", ""),
    )


def validate_response(response: httpx.Response) -> None:
    """The whole response (status, content type, body) against the spec's operation."""
    SPEC.validate_response(openapi_request(response.request), openapi_response(response))


def validate_schema(name: str, value: object) -> None:
    """A value against one of the spec's component schemas (for statuses the spec does not list)."""
    schema = SPEC.spec / "components" / "schemas" / name
    oas31_schema_validators_factory.create(SPEC.spec, schema).validate(value)
