"""The derived schema takes only the shapes the generated models type as it says (issue 16.1).

``derive`` refuses, at ``make regen``, a property the generator would give another Python type than
the schema's kind (an enum class, ``uuid.UUID``, a ``File``, a Literal, a union, a default that is
not None); it takes nullable scalars, which the NONE RULE types ``T | None``. And the generated
models are checked attribute by attribute (name, required-ness, type) against the derived fields:
the reviewer's drift (an enum, a UUID and the Unset sentinel where the schema says str and int)
cannot pass.
"""

from __future__ import annotations

import copy
import datetime
import uuid
from typing import Any

import attrs
import pytest

from shortpen_api_client import _schema
from shortpen_api_client._generated.models import AnalyticsEvent, AnalyticsRequest
from shortpen_api_client._generated.types import UNSET, Unset
from shortpen_api_client._schema_derive import SUPPORTED, Field, SchemaError, derive
from shortpen_api_client._spec import SPEC


def with_property(schema: str, name: str, node: dict[str, Any], *, required: bool = False) -> dict[str, Any]:
    spec = copy.deepcopy(SPEC)
    target = spec["components"]["schemas"][schema]
    target["properties"][name] = node
    if required:
        target["required"].append(name)
    return spec


@pytest.mark.parametrize(
    ("node", "said"),
    [
        (
            {"type": "string", "enum": ["mobile", "desktop"]},
            "enum is not supported (the generated model would hold an enum class",
        ),
        ({"type": "integer", "enum": [1, 2]}, "enum is not supported"),
        (
            {"type": "string", "format": "uuid"},
            "format 'uuid' is not supported (the generated model would hold uuid.UUID, not str)",
        ),
        (
            {"type": "string", "format": "binary"},
            "format 'binary' is not supported (the generated model would hold a File",
        ),
        ({"type": "string", "const": "mobile"}, "const is not supported"),
        (
            {"type": "integer", "default": 0},
            "default is not supported (the generated model would fill in the default",
        ),
        ({"anyOf": [{"type": "integer"}, {"type": "string"}]}, "anyOf is not supported"),
        ({"oneOf": [{"type": "integer"}, {"type": "null"}]}, "oneOf is not supported"),
        ({"allOf": [{"type": "integer"}]}, "allOf is not supported"),
        ({"type": ["integer", "string"]}, "type ['integer', 'string'] is not one type"),
        ({"type": ["integer", "string", "null"]}, "is not one type"),
        ({"type": "null"}, "is not one type"),
        ({}, "type None is not one type"),
        ({"type": "object", "properties": {}}, "type 'object' is not supported"),
        ({"type": "array", "items": {"type": "integer"}}, "type 'array' is not supported"),
    ],
)
@pytest.mark.parametrize("schema", ["AnalyticsEvent", "AnalyticsRequest"])
def test_a_shape_the_models_would_type_otherwise_is_refused_naming_the_property(
    schema: str, node: dict[str, Any], said: str
) -> None:
    with pytest.raises(SchemaError) as exc:
        derive(with_property(schema, "visitor", node))
    message = str(exc.value)
    assert message.startswith(f"{schema}.visitor: ")
    assert said in message
    assert message.endswith(SUPPORTED)  # and says what is supported


@pytest.mark.parametrize(
    ("node", "required", "expected"),
    [
        ({"type": ["integer", "null"]}, False, Field("score", "integer", None, False, True)),
        ({"type": ["null", "integer"]}, True, Field("score", "integer", None, True, True)),
        ({"type": "number", "nullable": True}, False, Field("score", "number", None, False, True)),  # 3.0
        ({"type": ["string", "null"], "format": "date"}, True, Field("score", "string", "date", True, True)),
        ({"type": ["string"]}, False, Field("score", "string", None, False, False)),
        ({"type": "string", "format": "email"}, False, Field("score", "string", None, False, False)),
        ({"type": "string", "format": "byte"}, False, Field("score", "string", None, False, False)),  # str
        ({"type": "integer", "format": "int64"}, False, Field("score", "integer", "int64", False, False)),
    ],
)
def test_nullable_scalars_and_text_formats_are_taken(
    node: dict[str, Any], required: bool, expected: Field
) -> None:
    event = derive(with_property("AnalyticsEvent", "score", node, required=required)).event
    assert event[-1] == expected


@pytest.mark.parametrize(
    ("field", "python_type"),
    [
        (Field("a", "integer", None, True, False), int),
        (Field("a", "integer", None, False, False), int | None),
        (Field("a", "integer", None, True, True), int | None),
        (Field("a", "string", "date-time", True, False), datetime.datetime),
        (Field("a", "string", "date", False, True), datetime.date | None),
        (Field("a", "number", None, False, True), float | None),
    ],
)
def test_the_python_type_of_a_field_is_the_none_rules(field: Field, python_type: Any) -> None:
    assert field.python_type == python_type


def test_the_generated_models_match_the_derived_schema() -> None:
    assert _schema.model_problems(AnalyticsEvent, _schema.EVENT) == []
    assert _schema.model_problems(AnalyticsRequest, _schema.REQUEST) == []


# -- the check compares each attribute's type, not only names and required-ness --

FIELDS = (
    Field("id", "integer", None, True, False),
    Field("device_type", "string", None, False, False),
    Field("visitor_id", "string", None, False, False),
    Field("score", "integer", None, False, True),
    Field("seen_at", "string", "date-time", False, False),
)


@attrs.define
class Matching:
    id: int
    device_type: str | None = None
    visitor_id: str | None = None
    score: int | None = None
    seen_at: datetime.datetime | None = None
    additional_properties: dict[str, Any] = attrs.field(init=False, factory=dict)


class DeviceType(str):
    """Stands for the enum class the generator writes for an ``enum`` property."""


@attrs.define
class Drifted:
    """What the reviewer's regenerated copy held: the same names and required-ness, other types."""

    id: int
    device_type: DeviceType | Unset = UNSET
    visitor_id: uuid.UUID | Unset = UNSET
    score: int | None | Unset = UNSET  # noqa: RUF036  (the order the generator writes)
    seen_at: str | None = None


def test_a_model_of_the_same_names_but_other_types_is_reported() -> None:
    assert _schema.model_problems(Matching, FIELDS) == []
    assert _schema.model_problems(Drifted, FIELDS) == [
        "`device_type` is typed DeviceType | Unset, the spec says str | None",
        "`visitor_id` is typed uuid.UUID | Unset, the spec says str | None",
        "`score` is typed int | None | Unset, the spec says int | None",
        "`seen_at` is typed str | None, the spec says datetime.datetime | None",
    ]


def test_missing_extra_and_required_ness_are_reported() -> None:
    @attrs.define
    class Other:
        id: int | None = None
        extra: str | None = None
        device_type: str | None = None

    assert _schema.model_problems(Other, FIELDS[:3]) == [
        "`extra` is not in the spec",
        "`id` is optional",
        "`visitor_id` is missing",
    ]
