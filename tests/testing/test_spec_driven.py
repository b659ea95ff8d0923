"""The fake follows the spec it is given (issue 16.2): events and request checks come from the schemas.

Every property of ``AnalyticsEvent`` in the spec's order, of its type, optional ones sometimes absent;
a spec with a new, renamed or retyped field changes the wire with no edit to the fake; the request
checks follow ``AnalyticsRequest`` the same way.
"""

from __future__ import annotations

import collections
import copy
import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from openapi_core import OpenAPI
from openapi_core.validation.schemas import oas31_schema_validators_factory

from shortpen_api_client import _schema
from shortpen_api_client._spec import SPEC as VENDORED
from shortpen_api_client.testing import FakeShortPen
from shortpen_api_client.testing._events import SHAPES, generate_day

from .conftest import PATH, WEEK, client_for

OPTIONAL = [f.name for f in _schema.EVENT if not f.required]
REQUIRED = [f.name for f in _schema.EVENT if f.required]


def event_validator(spec: dict[str, Any]) -> Callable[[object], None]:
    """openapi-core's validator of the spec's ``AnalyticsEvent``."""
    api = OpenAPI.from_dict(spec)
    schema = api.spec / "components" / "schemas" / "AnalyticsEvent"
    validator = oas31_schema_validators_factory.create(api.spec, schema)
    return validator.validate


def spec_with(edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """A copy of the vendored spec, its ``components.schemas`` edited."""
    spec = copy.deepcopy(VENDORED)
    edit(spec["components"]["schemas"])
    return spec


def many_events(fake: FakeShortPen) -> list[dict[str, Any]]:
    return [e for w in fake.workspace_ids for e in fake.events("2025-03-28", "2025-04-02", workspace_id=w)]


@pytest.mark.parametrize("timezone", ["UTC", "Europe/Berlin"])  # Berlin: 2025-03-30 has 23 hours
def test_every_event_validates_against_the_specs_event_schema(timezone: str) -> None:
    events = many_events(FakeShortPen(seed=3, timezone=timezone, events_per_day=150))
    validate = event_validator(VENDORED)
    for event in events:
        validate(event)
    assert len(events) > 1500


def test_every_property_in_the_specs_order_required_ones_always() -> None:
    events = many_events(FakeShortPen(seed=4, events_per_day=100))
    for event in events:
        assert list(event) == [name for name in _schema.EVENT_NAMES if name in event]
        assert set(REQUIRED) <= set(event)
    assert set().union(*events) == set(_schema.EVENT_NAMES)  # every property occurs


def test_each_optional_field_is_absent_on_about_a_tenth_and_never_null() -> None:
    events = many_events(FakeShortPen(seed=5, events_per_day=200))
    absent = collections.Counter(name for e in events for name in OPTIONAL if name not in e)
    for name in OPTIONAL:
        assert 0.06 < absent[name] / len(events) < 0.14, name
    # No property of the vendored spec is nullable, so the default ("spec") shape never sends null.
    assert not any(f.nullable for f in _schema.EVENT)
    assert all(value is not None for e in events for value in e.values())


def test_realistic_shape_has_absent_and_null_for_each_optional_field() -> None:
    events = many_events(FakeShortPen(seed=5, events_per_day=200, shape="realistic"))
    for name in OPTIONAL:
        absent = sum(name not in e for e in events) / len(events)
        null = sum(name in e and e[name] is None for e in events) / len(events)
        assert 0.06 < absent < 0.14, name
        assert 0.06 < null < 0.14, name
    for name in REQUIRED:
        assert all(e.get(name) is not None for e in events), name


def test_absent_and_null_are_deterministic_by_seed() -> None:
    def holes(seed: int) -> list[tuple[str, ...]]:
        fake = FakeShortPen(seed=seed, events_per_day=50, shape="realistic")
        return [
            tuple(n for n in OPTIONAL if e.get(n) is None) for e in fake.events("2025-01-01", "2025-01-03")
        ]

    assert holes(1) == holes(1)
    assert holes(1) != holes(2)


# -- another spec, another wire ---------------------------------------------------------------------


def changed_event_schema(schemas: dict[str, Any]) -> None:
    event = schemas["AnalyticsEvent"]
    props = event["properties"]
    props["id"] = {"type": "string"}  # integer -> string
    renamed = {("country_code" if k == "country" else k): v for k, v in props.items()}  # rename
    renamed["score"] = {"type": "number"}  # new optional fields of every kind
    renamed["is_bot"] = {"type": "boolean"}
    renamed["visits"] = {"type": ["integer", "null"]}  # nullable (3.1)
    renamed["first_seen"] = {"type": "string", "format": "date"}
    renamed["label"] = {"type": "string"}
    renamed["seen_at"] = {"type": ["string", "null"], "format": "date-time"}
    event["properties"] = renamed
    event["required"] = [*event["required"], "is_bot"]


def test_a_changed_event_schema_changes_what_the_fake_sends() -> None:
    spec = spec_with(changed_event_schema)
    fake = FakeShortPen(seed=6, events_per_day=200, spec=spec)
    events = fake.events("2025-01-01", "2025-01-07")
    validate = event_validator(spec)
    names = [f.name for f in _schema.derive(spec).event]
    for event in events:
        validate(event)
        assert list(event) == [name for name in names if name in event]  # the new spec's order
    assert all("country" not in e for e in events)  # the rename moved it ...
    codes = [e["country_code"] for e in events if "country_code" in e]
    assert codes  # ... with generic text values
    assert all(isinstance(c, str) for c in codes)
    ids = [e["id"] for e in events]
    assert all(isinstance(i, str) for i in ids)  # the new type, with its meaning kept: unique
    assert len(set(ids)) == len(ids)
    assert all(isinstance(e["is_bot"], bool) for e in events)  # new and required: always there
    kinds = {
        "score": (float, int),
        "visits": (int,),
        "first_seen": (str,),
        "label": (str,),
        "seen_at": (str,),
    }
    for name, types in kinds.items():
        values = [e[name] for e in events if name in e]
        assert 0.8 < len(values) / len(events) < 0.95, name  # optional: sometimes absent
        assert all(isinstance(v, types) and not isinstance(v, bool) for v in values if v is not None), name
    for name in ("visits", "seen_at"):  # nullable: sometimes null, a tenth or so
        assert 0.05 < sum(e.get(name, 0) is None for e in events) / len(events) < 0.15, name
    assert all(e["first_seen"] == e["created_at"][:10] for e in events if e.get("first_seen"))


KINDS = {
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "string": {"type": "string"},
    "date": {"type": "string", "format": "date"},
    "date-time": {"type": "string", "format": "date-time"},
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_field_retyped_gets_values_of_its_new_type(kind: str) -> None:
    """The fake's meanings state no type: each field's type comes from the spec it is given, so
    every field (``created_at`` aside) retyped at once still validates, meanings kept where they fit."""

    def retyped(schemas: dict[str, Any]) -> None:
        props = schemas["AnalyticsEvent"]["properties"]
        for name in props:
            if name != _schema.TIMESTAMP:
                props[name] = dict(KINDS[kind])

    spec = spec_with(retyped)
    events = FakeShortPen(seed=2, events_per_day=50, spec=spec).events("2025-01-01", "2025-01-03")
    plain = FakeShortPen(seed=2, events_per_day=50).events("2025-01-01", "2025-01-03")
    assert len(events) == len(plain) > 0
    validate = event_validator(spec)
    for event in events:
        validate(event)
    ids, workspaces = [e["id"] for e in events], [e["workspace_id"] for e in events]
    if kind == "string":  # meanings kept as text: ids still unique
        assert ids == [str(e["id"]) for e in plain]
        assert len(set(ids)) == len(ids)
        assert [e.get("country") for e in events] == [e.get("country") for e in plain]
    if kind == "number":  # integers kept as numbers
        assert workspaces == [float(e["workspace_id"]) for e in plain]
        assert all(isinstance(w, float) for w in workspaces)
    if kind == "integer":
        assert ids == [e["id"] for e in plain]
        assert all(isinstance(e["domain"], int) for e in events)  # text meaning, integer type: generic


def test_a_new_field_changes_no_other_fields_values() -> None:
    def added(schemas: dict[str, Any]) -> None:
        schemas["AnalyticsEvent"]["properties"]["campaign"] = {"type": "string"}

    plain = FakeShortPen(seed=8).events("2025-02-01", "2025-02-02")
    more = FakeShortPen(seed=8, spec=spec_with(added)).events("2025-02-01", "2025-02-02")
    assert [{k: v for k, v in e.items() if k != "campaign"} for e in more] == plain
    assert sum("campaign" in e for e in more) > 0.8 * len(more)


def test_the_generator_takes_the_fields_as_input() -> None:
    fields = (_schema.BY_NAME["id"], _schema.BY_NAME["created_at"], _schema.BY_NAME["referrer"])
    events, url_ids = generate_day(
        fields=fields,
        shape=SHAPES["spec"],
        seed=1,
        workspace_index=1,
        day=dt.date(2025, 1, 1),
        count=50,
        tz=dt.UTC,
    )
    assert {tuple(e) for e in events} <= {("id", "created_at", "referrer"), ("id", "created_at")}
    assert len(url_ids) == 50
    assert set(url_ids) <= set(FakeShortPen().url_ids(31))


# -- the request follows the spec too -----------------------------------------------------------------


def test_a_new_required_request_field_is_enforced_with_its_type() -> None:
    def added(schemas: dict[str, Any]) -> None:
        schemas["AnalyticsRequest"]["properties"]["granularity"] = {"type": "integer"}
        schemas["AnalyticsRequest"]["required"].append("granularity")

    fake = FakeShortPen(spec=spec_with(added))
    with client_for(fake) as http:
        missing = http.post(PATH, json=WEEK)
        wrong = http.post(PATH, json={**WEEK, "granularity": "day"})
        right = http.post(PATH, json={**WEEK, "granularity": 1})
    assert (missing.status_code, missing.json()["message"]) == (400, "granularity: is required")
    assert wrong.status_code == 400
    assert wrong.json()["message"] == "granularity: must be an integer, got 'day'"
    assert right.status_code == 200
    with pytest.raises(ValueError, match="granularity: is required"):
        fake.events("2025-01-01", "2025-01-07")
    assert fake.events("2025-01-01", "2025-01-07", granularity=1) == right.json()["data"]


def test_a_removed_request_field_is_no_longer_checked_nor_used() -> None:
    def removed(schemas: dict[str, Any]) -> None:
        del schemas["AnalyticsRequest"]["properties"]["url_id"]

    fake = FakeShortPen(spec=spec_with(removed))
    with client_for(fake) as http:
        response = http.post(PATH, json={**WEEK, "url_id": "not even an integer"})
    assert response.status_code == 200  # an unknown field: ignored, as the spec allows
    assert response.json()["data"] == FakeShortPen().events("2025-01-01", "2025-01-07")  # not filtered
    with pytest.raises(TypeError, match="url_id"):
        fake.events("2025-01-01", "2025-01-07", url_id=501)  # not a field of this request schema


@pytest.mark.parametrize("name", ["url_id", "workspace_id"])
def test_the_fakes_ground_truth_works_when_the_spec_drops_a_filter(name: str) -> None:
    """``events()`` without that filter (its default None) asks for what it asked before; a value
    for it is refused, naming it."""

    def removed(schemas: dict[str, Any]) -> None:
        del schemas["AnalyticsRequest"]["properties"][name]

    fake = FakeShortPen(spec=spec_with(removed))
    assert fake.events("2025-01-01", "2025-01-07") == FakeShortPen().events("2025-01-01", "2025-01-07")
    with pytest.raises(TypeError, match=f"not fields of the request schema: {name}"):
        fake.events("2025-01-01", "2025-01-07", **{name: 31})


def test_a_nullable_request_field_accepts_null() -> None:
    def nullable(schemas: dict[str, Any]) -> None:
        schemas["AnalyticsRequest"]["properties"]["workspace_id"]["type"] = ["integer", "null"]

    with client_for(FakeShortPen(spec=spec_with(nullable))) as http:
        assert http.post(PATH, json={**WEEK, "workspace_id": None}).status_code == 200
    with client_for(FakeShortPen()) as http:
        assert http.post(PATH, json={**WEEK, "workspace_id": None}).status_code == 400


@pytest.mark.parametrize("name", ["start", "end"])
def test_a_spec_without_a_date_range_cannot_be_faked(name: str) -> None:
    def retyped(schemas: dict[str, Any]) -> None:
        schemas["AnalyticsRequest"]["properties"][name] = {"type": "integer"}

    with pytest.raises(_schema.SchemaError, match=f"'{name}' as a date"):
        FakeShortPen(spec=spec_with(retyped))


def test_the_path_and_method_come_from_the_spec() -> None:
    def moved(spec: dict[str, Any]) -> None:
        spec["paths"]["/v2/clicks"] = spec["paths"].pop(PATH)

    spec = copy.deepcopy(VENDORED)
    moved(spec)
    fake = FakeShortPen(spec=spec)
    with client_for(fake) as http:
        assert http.post("/v2/clicks", json=WEEK).status_code == 200
        assert http.post(PATH, json=WEEK).status_code == 404
        assert http.get("/v2/clicks").headers["allow"] == "POST"


def test_a_whole_number_written_as_a_float_is_an_integer(client: httpx.Client) -> None:
    as_float = client.post(PATH, json={**WEEK, "workspace_id": 31.0})  # JSON Schema: 31.0 is an integer
    assert as_float.status_code == 200
    assert as_float.content == client.post(PATH, json={**WEEK, "workspace_id": 31}).content
