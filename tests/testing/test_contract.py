"""Contract: every kind of response the fake produces is what openapi.yaml says, checked by openapi-core.

Documented statuses (200, 400, 401) validate as whole responses of the operation. Undocumented ones
with a JSON body (404, 405, 429, 5xx) validate their body against ``ErrorResponse``. Faults that break
the contract on purpose (a 200 that is HTML, cut-off JSON or ``success: false``) are shown to fail it.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from openapi_core.exceptions import OpenAPIError

from shortpen_api_client import _schema
from shortpen_api_client.testing import FakeShortPen, Fault, FaultPlan

from .conftest import (
    PATH,
    SPEC,
    WEEK,
    auth,
    client_for,
    openapi_request,
    validate_response,
    validate_schema,
)

EXAMPLES: dict[str, Any] = SPEC.spec.read_value()["paths"][PATH]["post"]["requestBody"]["content"][
    "application/json"
]["examples"]


@pytest.mark.parametrize(
    ("timezone", "body"),
    [
        ("UTC", WEEK),
        ("Europe/Berlin", {"start": "2025-03-29", "end": "2025-03-31"}),  # spring forward
        ("America/New_York", {"start": "2025-11-01", "end": "2025-11-03"}),  # fall back
        ("UTC", {**WEEK, "workspace_id": 31}),
        ("UTC", {**WEEK, "workspace_id": 24, "url_id": 502}),
        ("UTC", {**WEEK, "url_id": 999}),  # not a link of the workspace: empty data
        ("UTC", {"start": "1999-12-31", "end": "1999-12-31"}),  # before the account: empty data
    ],
)
def test_200_validates(timezone: str, body: dict[str, Any]) -> None:
    fake = FakeShortPen(timezone=timezone, events_per_day=30)
    with client_for(fake) as http:
        response = http.post(PATH, json=body)
    assert response.status_code == 200
    validate_response(response)
    assert response.json()["success"] is True


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({}, {"start": "2025-01-07", "end": "2025-01-01"}),
        ({}, {"start": "2025-02-30", "end": "2025-03-01"}),
        ({}, {"end": "2025-01-01"}),
        ({}, {**WEEK, "workspace_id": 99}),
        ({}, {**WEEK, "workspace_id": "24"}),
        ({"Authorization": ""}, WEEK),
        ({"Authorization": "Bearer wrong"}, WEEK),
    ],
)
def test_400_and_401_validate(client: httpx.Client, headers: dict[str, str], body: Any) -> None:
    response = client.post(PATH, json=body, headers=headers)
    assert response.status_code in (400, 401)
    validate_response(response)


def test_invalid_json_body_400_validates(client: httpx.Client) -> None:
    response = client.post(PATH, content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400
    validate_schema("ErrorResponse", response.json())


@pytest.mark.parametrize(("method", "path"), [("GET", "/"), ("POST", "/v1/links"), ("GET", PATH)])
def test_404_and_405_bodies_are_error_envelopes(client: httpx.Client, method: str, path: str) -> None:
    response = client.request(method, path)
    assert response.status_code in (404, 405)
    with pytest.raises(OpenAPIError):  # not a documented exchange ...
        validate_response(response)
    validate_schema("ErrorResponse", response.json())  # ... but the documented error envelope


@pytest.mark.parametrize(
    "fault",
    [
        Fault.rate_limit(1),
        Fault.rate_limit(dt.datetime(2025, 1, 1, tzinfo=dt.UTC)),
        Fault.server_error(500),
        Fault.server_error(502),
        Fault.server_error(503, retry_after=5),
    ],
    ids=repr,
)
def test_json_fault_bodies_are_error_envelopes(fault: Fault) -> None:
    fake = FakeShortPen(faults=FaultPlan({1: fault}))
    with client_for(fake) as http:
        response = http.post(PATH, json=WEEK)
    assert response.status_code == fault.status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    validate_schema("ErrorResponse", body)
    assert body["success"] is False
    assert body["status_code"] == fault.status


@pytest.mark.parametrize(
    ("fake", "content_type"),
    [
        (FakeShortPen(faults=FaultPlan({1: Fault.success_false()})), "application/json"),
        (FakeShortPen(faults=FaultPlan({1: Fault.html_200()})), "text/html"),
        (FakeShortPen(faults=FaultPlan({1: Fault.truncated_json()})), "application/json"),
        (FakeShortPen(faults=FaultPlan({1: Fault.server_error(502, html=True)})), "text/html"),
        (FakeShortPen(max_events_per_response=10), "text/html"),
    ],
    ids=["success_false", "html_200", "truncated_json", "502_html", "504_limit"],
)
def test_contract_breaking_faults_fail_validation(fake: FakeShortPen, content_type: str) -> None:
    """What a client must treat as an error is not a valid documented response, by construction."""
    with client_for(fake) as http:
        response = http.post(PATH, json=WEEK)
    assert response.headers["content-type"] == content_type
    with pytest.raises(OpenAPIError):
        validate_response(response)
    if response.status_code == 200 and content_type == "application/json":
        try:
            body = response.json()
        except json.JSONDecodeError:
            return  # cut-off JSON: nothing to validate
        validate_schema("ErrorResponse", body)  # success: false is the error envelope


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_spec_request_examples_are_valid_requests_and_answered(name: str) -> None:
    fake = FakeShortPen(events_per_day=10)
    with client_for(fake) as http:
        response = http.post(PATH, json=EXAMPLES[name]["value"])
    SPEC.validate_request(openapi_request(response.request))
    assert response.status_code == 200
    validate_response(response)
    events = response.json()["data"]
    assert events
    assert all(e["workspace_id"] == EXAMPLES[name]["value"]["workspace_id"] for e in events)


def test_a_request_without_token_is_invalid_for_the_spec_too(client: httpx.Client) -> None:
    response = client.post(PATH, json=WEEK, headers={"Authorization": ""})
    assert response.status_code == 401
    with pytest.raises(OpenAPIError):
        SPEC.validate_request(openapi_request(response.request))


# Mostly plausible bodies (so that every rule is reached), with odd values and odd bodies mixed in.


def mostly(usual: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``usual`` four times in five, else ``odd``."""
    return st.integers(0, 4).flatmap(lambda n: odd if n == 0 else usual)


_DATE = st.dates(min_value=dt.date(1999, 12, 1), max_value=dt.date(2000, 3, 1)).map(dt.date.isoformat)
_ODD_DATES = st.sampled_from(
    ["2000-02-30", "0000-01-01", "2000-1-01", " 2000-01-01", "2000-01-01T00:00:00", "20000101", "2000-W01-3"]
)
_NUMBERS = (
    st.sampled_from([24, 31, 47, 99, 501, 601, 24.0, 31.5, -1, 0])
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
)
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=6,
)
_ODD = _ODD_DATES | _NUMBERS | _JSON | st.text(max_size=12)
_FIELDS = st.fixed_dictionaries(
    {"start": mostly(_DATE, _ODD_DATES | _ODD), "end": mostly(_DATE, _ODD_DATES | _ODD)},
    optional={
        "workspace_id": mostly(st.sampled_from([24, 31, 47, 24.0]), _ODD),
        "url_id": mostly(st.sampled_from([501, 502, 601, 999]), _ODD),
    },
).flatmap(  # sometimes without one of its fields
    lambda body: mostly(
        st.just(body),
        st.sampled_from(sorted(body)).map(lambda gone: {k: v for k, v in body.items() if k != gone}),
    )
)
_EXTRA = st.dictionaries(st.text(max_size=6), _JSON, max_size=2)
_BODIES = mostly(st.builds(lambda fields, extra: {**extra, **fields}, _FIELDS, _EXTRA), _JSON)


def semantic_rule(body: Any, fake: FakeShortPen) -> str | None:
    """The rules the spec states in words, which the fake enforces on schema-valid bodies (a 400
    naming the field): ``end`` on or after ``start``; ``workspace_id`` one of the organization's."""
    if dt.date.fromisoformat(body["end"]) < dt.date.fromisoformat(body["start"]):
        return "end"
    workspace_id = body.get("workspace_id")
    if workspace_id is not None and int(workspace_id) not in fake.workspace_ids:
        return "workspace_id"
    return None


SMALL_FAKE = FakeShortPen(events_per_day=3)  # stateless for these requests: shared, its caches too


@settings(max_examples=200, deadline=None)
@given(body=_BODIES)
@example(body={"start": "20000101", "end": "2000-01-02"})  # ISO 8601 basic: Python reads it, the spec not
@example(body={"start": "2000-01-01", "end": "2000-W01-3"})
@example(body={"start": "2000-01-01", "end": "2000-01-02", "workspace_id": 31.0})  # a JSON Schema integer
@example(body={"start": "2000-01-01", "end": "2000-01-02", "url_id": 1e300})
@example(body={"start": "2000-01-02", "end": "2000-01-01"})  # a rule in words
def test_the_fake_answers_400_iff_the_spec_or_a_rule_in_words_refuses_the_body(body: Any) -> None:
    """As strict as the spec's schema, and no stricter but for the rules its descriptions state."""
    fake = SMALL_FAKE
    request = httpx.Request("POST", f"https://api.shortpen.com{PATH}", json=body, headers=auth(fake.token))
    response = fake.handle(request)
    response.request = request
    try:
        SPEC.validate_request(openapi_request(request))
    except OpenAPIError:
        rule: str | None = "schema"
    else:
        rule = semantic_rule(body, fake)
    assert (response.status_code == 400) == (rule is not None), (body, response.content)
    validate_response(response)
    if rule is None:
        assert response.status_code == 200
    else:
        field = response.json()["message"].split(":")[0]
        assert field in {*(f.name for f in _schema.REQUEST), "body"}
        if rule != "schema":
            assert field == rule
