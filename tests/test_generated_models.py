"""The generated models accept the spec's own examples and round-trip them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import yaml

from shortpen_api_client import AnalyticsEvent, AnalyticsRequest, AnalyticsResponse, ErrorResponse

from .conftest import SPEC_PATH

SPEC: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_bytes())
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]
REQUEST_EXAMPLES: dict[str, Any] = SPEC["paths"]["/v1/analytics"]["post"]["requestBody"]["content"][
    "application/json"
]["examples"]


def schema_example(name: str) -> dict[str, Any]:
    """An object built from the ``example`` of each property of a schema that has one."""
    props = SCHEMAS[name]["properties"]
    return {key: prop["example"] for key, prop in props.items() if "example" in prop}


@pytest.mark.parametrize("name", sorted(REQUEST_EXAMPLES))
def test_request_examples_parse_and_round_trip(name: str) -> None:
    value = REQUEST_EXAMPLES[name]["value"]
    request = AnalyticsRequest.from_dict(value)
    assert request.start == dt.date.fromisoformat(value["start"])
    assert request.end == dt.date.fromisoformat(value["end"])
    assert request.workspace_id == value["workspace_id"]
    assert request.to_dict() == value


def test_response_with_one_event_from_schema_examples_round_trips() -> None:
    event = {**schema_example("AnalyticsEvent"), "created_at": "2025-01-03T09:15:00+01:00"}
    envelope = {**schema_example("AnalyticsResponse"), "data": [event]}
    response = AnalyticsResponse.from_dict(envelope)
    assert response.success is True
    assert response.status_code == 200
    assert len(response.data) == 1
    parsed = response.data[0]
    assert isinstance(parsed, AnalyticsEvent)
    assert parsed.id == 7301
    assert parsed.url_slug == "summer-2025"
    assert parsed.created_at == dt.datetime(2025, 1, 3, 8, 15, tzinfo=dt.UTC)
    assert parsed.created_at.utcoffset() == dt.timedelta(hours=1)
    assert response.to_dict() == envelope


def test_optional_event_fields_absent_stay_absent() -> None:
    required = {
        k: v
        for k, v in schema_example("AnalyticsEvent").items()
        if k in SCHEMAS["AnalyticsEvent"]["required"]
    }
    event = AnalyticsEvent.from_dict({**required, "created_at": "2025-01-01T00:00:00Z"})
    assert "country" not in event.to_dict()
    assert "referrer" not in event.to_dict()


def test_unknown_fields_are_kept() -> None:
    raw = {
        **schema_example("AnalyticsEvent"),
        "created_at": "2025-01-01T00:00:00+00:00",
        "utm_source": "mail",
    }
    event = AnalyticsEvent.from_dict(raw)
    assert event.additional_properties == {"utm_source": "mail"}
    assert event.to_dict() == raw


def test_error_envelope_round_trips() -> None:
    raw = {**schema_example("ErrorResponse"), "data": None}
    error = ErrorResponse.from_dict(raw)
    assert error.success is False
    assert error.message == "There was an error while processing your request."
    assert error.to_dict()["message"] == raw["message"]
