"""The spec-change report (scripts/spec_diff.py), one change kind at a time, on tiny inline specs."""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable
from typing import Any

import pytest

from shortpen_api_client._schema import derive

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import spec_diff  # a script, not a package: imported from its folder

Spec = dict[str, Any]


def tiny_spec() -> Spec:
    """The smallest spec ``derive`` accepts: one operation, a request of two fields, an event of four."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1.0.0"},
        "paths": {
            "/v1/analytics": {
                "post": {
                    "requestBody": {
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Req"}}}
                    },
                    "responses": {
                        "200": {
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "data": {
                                                "type": "array",
                                                "items": {"$ref": "#/components/schemas/Event"},
                                            }
                                        },
                                    }
                                }
                            }
                        }
                    },
                }
            }
        },
        "components": {
            "schemas": {
                "Req": {
                    "type": "object",
                    "properties": {
                        "start": {"type": "string", "format": "date"},
                        "url_id": {"type": "integer"},
                    },
                    "required": ["start"],
                },
                "Event": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "country": {"type": "string"},
                        "referrer": {"type": "string"},
                        "created_at": {"type": "string", "format": "date-time"},
                    },
                    "required": ["id", "created_at"],
                },
            }
        },
    }


Step = Callable[[Spec], None]


def schema(spec: Spec, name: str) -> dict[str, Any]:
    result: dict[str, Any] = spec["components"]["schemas"][name]
    return result


def add(name: str, field: str, prop: dict[str, Any], *, required: bool = False, before: str = "") -> Step:
    """Insert property ``field`` before ``before`` (default: at the end; created_at for events)."""

    def step(spec: Spec) -> None:
        node = schema(spec, name)
        at = before or ("created_at" if name == "Event" else "")
        props: dict[str, Any] = {}
        for key, value in node["properties"].items():
            if key == at:
                props[field] = prop
            props[key] = value
        props.setdefault(field, prop)
        node["properties"] = props
        if required:
            node["required"].append(field)

    return step


def drop(name: str, field: str) -> Step:
    def step(spec: Spec) -> None:
        del schema(spec, name)["properties"][field]

    return step


def rename(name: str, old: str, new: str) -> Step:
    def step(spec: Spec) -> None:
        node = schema(spec, name)
        node["properties"] = {(new if k == old else k): v for k, v in node["properties"].items()}
        node["required"] = [new if r == old else r for r in node["required"]]

    return step


def retype(name: str, field: str, prop: dict[str, Any]) -> Step:
    return lambda spec: schema(spec, name)["properties"].__setitem__(field, prop)


def require(name: str, field: str) -> Step:
    return lambda spec: schema(spec, name)["required"].append(field)


def unrequire(name: str, field: str) -> Step:
    return lambda spec: schema(spec, name)["required"].remove(field)


def reorder(name: str, *order: str) -> Step:
    def step(spec: Spec) -> None:
        node = schema(spec, name)
        node["properties"] = {k: node["properties"][k] for k in order}

    return step


def version(value: str) -> Step:
    return lambda spec: spec["info"].__setitem__("version", value)


def move_path(new: str) -> Step:
    return lambda spec: spec.__setitem__("paths", {new: spec["paths"]["/v1/analytics"]})


def rename_event_schema(new: str) -> Step:
    def step(spec: Spec) -> None:
        schemas = spec["components"]["schemas"]
        schemas[new] = schemas.pop("Event")
        ok = spec["paths"]["/v1/analytics"]["post"]["responses"]["200"]["content"]["application/json"]
        ok["schema"]["properties"]["data"]["items"] = {"$ref": f"#/components/schemas/{new}"}

    return step


def report(*steps: Step, old: Spec | None = None) -> list[str]:
    before = old or tiny_spec()
    after = copy.deepcopy(before)
    for step in steps:
        step(after)
    changes = spec_diff.compare(
        derive(before),
        derive(after),
        old_version=before["info"]["version"],
        new_version=after["info"]["version"],
    )
    return [c.line() for c in changes]


CASES: list[tuple[str, tuple[Step, ...], list[str]]] = [
    ("nothing", (), []),
    ("info.version only", (version("1.0.1"),), ["- spec version 1.0.0 -> 1.0.1"]),
    (
        "event: optional field added",
        (add("Event", "campaign", {"type": "string"}),),
        ["- response field `campaign` added (string, optional)"],
    ),
    (
        "event: optional date-time field added",
        (add("Event", "seen_at", {"type": "string", "format": "date-time"}),),
        ["- response field `seen_at` added (string, date-time, optional)"],
    ),
    (
        "event: required field added",
        (add("Event", "campaign", {"type": "string"}, required=True),),
        ["- response field `campaign` added (string, required)"],
    ),
    (
        "event: field removed",
        (drop("Event", "referrer"),),
        ["- BREAKING: response field `referrer` removed (was string, optional)"],
    ),
    (
        "event: field renamed in place, same type",
        (rename("Event", "country", "country_code"),),
        ["- BREAKING: response field `country` renamed (probably) to `country_code` (string)"],
    ),
    (
        "event: renamed and made required",
        (rename("Event", "country", "country_code"), require("Event", "country_code")),
        [
            "- BREAKING: response field `country` renamed (probably) to `country_code` (string)",
            "- response field `country_code` is now required",
        ],
    ),
    (
        "event: a replacement of another type is no rename",
        (rename("Event", "country", "country_code"), retype("Event", "country_code", {"type": "integer"})),
        [
            "- BREAKING: response field `country` removed (was string, optional)",
            "- response field `country_code` added (integer, optional)",
        ],
    ),
    (
        "event: a replacement elsewhere is no rename",
        (drop("Event", "country"), add("Event", "country_code", {"type": "string"})),
        [
            "- BREAKING: response field `country` removed (was string, optional)",
            "- response field `country_code` added (string, optional)",
        ],
    ),
    (
        "event: type changed",
        (retype("Event", "id", {"type": "string"}),),
        ["- BREAKING: response field `id`: type integer -> string"],
    ),
    (
        "event: format changed",
        (retype("Event", "referrer", {"type": "string", "format": "date"}),),
        ["- BREAKING: response field `referrer`: type string -> string, date"],
    ),
    (
        "event: an unknown string format is still text",
        (retype("Event", "referrer", {"type": "string", "format": "uri"}),),
        [],
    ),
    (
        "event: optional -> required",
        (require("Event", "country"),),
        ["- response field `country` is now required"],
    ),
    (
        "event: required -> optional",
        (unrequire("Event", "id"),),
        ["- BREAKING: response field `id` is no longer required"],
    ),
    (
        "event: required -> optional and nullable",
        (retype("Event", "id", {"type": ["integer", "null"]}), unrequire("Event", "id")),
        [
            "- BREAKING: response field `id` is no longer required",
            "- response field `id` may now be null",
        ],
    ),
    (
        "event: a required field becomes nullable",
        (retype("Event", "id", {"type": ["integer", "null"]}),),
        ["- BREAKING: response field `id` may now be null"],
    ),
    (
        "event: an optional field becomes nullable (3.0 style)",
        (retype("Event", "country", {"type": "string", "nullable": True}),),
        ["- response field `country` may now be null"],
    ),
    (
        "event: fields reordered",
        (reorder("Event", "id", "referrer", "country", "created_at"),),
        ["- response fields in a new order: `id`, `referrer`, `country`, `created_at`"],
    ),
    (
        "request: optional field added",
        (add("Req", "folder_id", {"type": "integer"}),),
        ["- request field `folder_id` added (integer, optional)"],
    ),
    (
        "request: required field added",
        (add("Req", "region", {"type": "string"}, required=True),),
        ["- BREAKING: request field `region` added (string, required)"],
    ),
    (
        "request: field removed",
        (drop("Req", "url_id"),),
        ["- BREAKING: request field `url_id` removed (was integer, optional)"],
    ),
    (
        "request: optional -> required",
        (require("Req", "url_id"),),
        ["- BREAKING: request field `url_id` is now required"],
    ),
    (
        "request: required -> optional",
        (unrequire("Req", "start"),),
        ["- request field `start` is no longer required"],
    ),
    (
        "operation: path changed",
        (move_path("/v2/analytics"),),
        ["- BREAKING: operation moved: POST /v1/analytics -> POST /v2/analytics"],
    ),
    (
        "operation: event schema renamed",
        (rename_event_schema("Click"),),
        ["- BREAKING: event schema renamed: `Event` -> `Click`"],
    ),
]


@pytest.mark.parametrize(("steps", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_change_kind(steps: tuple[Step, ...], expected: list[str]) -> None:
    assert report(*steps) == expected


def test_request_nullable_removed_breaks_only_a_required_field() -> None:
    old = tiny_spec()
    retype("Req", "start", {"type": ["string", "null"], "format": "date"})(old)
    retype("Req", "url_id", {"type": ["integer", "null"]})(old)
    assert report(retype("Req", "start", {"type": "string", "format": "date"}), old=old) == [
        "- BREAKING: request field `start` may no longer be null"
    ]
    assert report(retype("Req", "url_id", {"type": "integer"}), old=old) == [
        "- request field `url_id` may no longer be null"
    ]


def test_a_field_that_could_be_null_already_may_become_optional() -> None:
    old = tiny_spec()
    retype("Event", "id", {"type": ["integer", "null"]})(old)
    assert report(unrequire("Event", "id"), old=old) == ["- response field `id` is no longer required"]
    # and the reverse: an optional nullable field becomes required and loses its null: readers are fine
    optional = copy.deepcopy(old)
    unrequire("Event", "id")(optional)
    assert report(require("Event", "id"), retype("Event", "id", {"type": "integer"}), old=optional) == [
        "- response field `id` is now required",
        "- response field `id` may no longer be null",
    ]


def test_breaking_is_any_breaking_change() -> None:
    assert not spec_diff.is_breaking([spec_diff.Change("a", breaking=False)])
    assert spec_diff.is_breaking([spec_diff.Change("a", False), spec_diff.Change("b", True)])


def test_the_vendored_spec_against_itself_reports_nothing() -> None:
    import yaml

    spec = yaml.safe_load((ROOT / "openapi.yaml").read_bytes())
    assert spec_diff.compare(derive(spec), derive(spec)) == []
