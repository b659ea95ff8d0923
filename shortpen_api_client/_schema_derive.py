"""The spec's two schemas as this package uses them, derived from the vendored spec: the one place
outside ``_generated/`` that knows field names, their order and their types.

``EVENT`` is ``AnalyticsEvent`` (what the 200 response's ``data`` holds) and ``REQUEST`` is
``AnalyticsRequest`` (the request body), each a tuple of :class:`Field` in the spec's order. Both are
found by following the one operation (``POST /v1/analytics``) through its ``$ref``\\ s in
``_spec.SPEC`` (``openapi.yaml`` as data, recorded by ``make regen``), and checked against the
generated models at import: a mismatch means ``_generated/`` and ``_spec.py`` were not regenerated
together.

Everything else reads from here: the CSV header and the Arrow/Parquet schema (:func:`arrow_type`),
the model builder (``_decode``), the fake's data and request validation, the CLI's summary. A
property added to ``openapi.yaml`` reaches all of them after ``make regen``, with no other edit.

The types a field may have (anything else is a :class:`SchemaError` at ``make regen``)::

    JSON Schema                 Python             Arrow
    integer                     int                int64
    number                      float              float64
    boolean                     bool               bool_
    string                      str                string
    string, format: date        datetime.date      date32
    string, format: date-time   datetime.datetime  timestamp[us, tz=UTC] (the exact instant)

A field is nullable when its type lists ``"null"`` (OpenAPI 3.1) or it says ``nullable: true``
(3.0). Optional fields may be absent from an event; the models read absent and null alike as
``None`` (the rule of ``generator-templates/model.py.jinja``).
"""

from __future__ import annotations

import datetime as dt
import keyword
from collections.abc import Mapping
from typing import Any, Final

import attrs

from ._spec import SPEC

__all__ = [
    "EVENT",
    "EVENT_NAMES",
    "METHOD",
    "PATH",
    "REQUEST",
    "TIMESTAMP",
    "Field",
    "SchemaError",
    "arrow_type",
    "derive",
]


class SchemaError(ValueError):
    """The spec has a shape this package cannot derive a schema from (raised by ``make regen``)."""


#: (JSON type, format) -> the field's kind; the kind decides the Python and the Arrow type.
_KINDS: Final[Mapping[tuple[str, str | None], str]] = {
    ("integer", None): "int",
    ("integer", "int32"): "int",
    ("integer", "int64"): "int",
    ("number", None): "float",
    ("number", "float"): "float",
    ("number", "double"): "float",
    ("boolean", None): "bool",
    ("string", None): "str",
    ("string", "date"): "date",
    ("string", "date-time"): "datetime",
}
_PYTHON_TYPES: Final[Mapping[str, tuple[type, ...]]] = {
    "int": (int,),
    "float": (float, int),  # JSON has one number type: 3 is a valid number
    "bool": (bool,),
    "str": (str,),
    "date": (str,),  # as sent: text, parsed by the model / cast by Arrow
    "datetime": (str,),
}


@attrs.frozen
class Field:
    """One property of a schema, as the spec declares it."""

    name: str
    json_type: str
    """The JSON Schema type: ``integer``, ``number``, ``boolean`` or ``string``."""
    format: str | None
    required: bool
    nullable: bool

    @property
    def kind(self) -> str:
        """``int``, ``float``, ``bool``, ``str``, ``date`` or ``datetime``."""
        return _KINDS[(self.json_type, self.format if (self.json_type, self.format) in _KINDS else None)]

    def accepts(self, value: object) -> bool:
        """Whether a decoded JSON value fits this field's type (null aside: see ``nullable``);
        ``True`` is not an integer."""
        if isinstance(value, bool):
            return self.kind == "bool"
        return isinstance(value, _PYTHON_TYPES[self.kind])


def _resolve(node: Mapping[str, Any], spec: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise SchemaError(f"unsupported $ref {ref!r} (only local references)")
        target: Any = spec
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _field(schema_name: str, name: str, node: Mapping[str, Any], required: bool) -> Field:
    where = f"{schema_name}.{name}"
    if not name.isidentifier() or name != name.lower() or keyword.iskeyword(name):
        # The generated model's attribute is then another name (countryCode -> country_code).
        raise SchemaError(f"{where}: property names must be lower-case Python identifiers")
    types = node.get("type")
    listed = [types] if isinstance(types, str) else list(types or [])
    nullable = "null" in listed or node.get("nullable") is True
    listed = [t for t in listed if t != "null"]
    if len(listed) != 1:
        raise SchemaError(
            f"{where}: type {types!r} is not one of integer, number, boolean, string (with or without null)"
        )
    fmt = node.get("format")
    json_type = listed[0]
    if (json_type, fmt) not in _KINDS and (json_type, None) not in _KINDS:
        raise SchemaError(f"{where}: type {json_type!r} is not supported (integer, number, boolean, string)")
    if json_type == "string" and fmt not in (None, "date", "date-time") and (json_type, fmt) not in _KINDS:
        fmt = None  # other string formats (uri, email, ...) are plain text to us
    return Field(name=name, json_type=json_type, format=fmt, required=required, nullable=nullable)


def fields_of(schema_name: str, node: Mapping[str, Any], spec: Mapping[str, Any]) -> tuple[Field, ...]:
    """The properties of an object schema, in the spec's order."""
    node = _resolve(node, spec)
    if node.get("type") != "object" or not isinstance(node.get("properties"), Mapping):
        raise SchemaError(f"{schema_name}: not an object schema with properties")
    required = set(node.get("required", ()))
    unknown = required - set(node["properties"])
    if unknown:
        raise SchemaError(f"{schema_name}: required {sorted(unknown)} are not among its properties")
    return tuple(
        _field(schema_name, name, _resolve(prop, spec), name in required)
        for name, prop in node["properties"].items()
    )


def _schema_name(node: Mapping[str, Any], fallback: str) -> str:
    ref = node.get("$ref")
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else fallback


@attrs.frozen
class Derived:
    """What ``derive`` finds in a spec."""

    path: str
    method: str
    request_name: str
    request: tuple[Field, ...]
    event_name: str
    event: tuple[Field, ...]


def derive(spec: Mapping[str, Any]) -> Derived:
    """The operation, its request body's fields and its events' fields; ``SchemaError`` otherwise."""
    operations = [
        (path, method, op)
        for path, item in spec.get("paths", {}).items()
        for method, op in item.items()
        if method in {"get", "put", "post", "delete", "patch"}
    ]
    if len(operations) != 1:
        raise SchemaError(f"the spec must have exactly one operation, found {len(operations)}")
    path, method, op = operations[0]
    try:
        body = op["requestBody"]["content"]["application/json"]["schema"]
        ok = _resolve(op["responses"]["200"]["content"]["application/json"]["schema"], spec)
        items = ok["properties"]["data"]["items"]
    except (KeyError, TypeError) as exc:
        raise SchemaError(f"{method.upper()} {path}: no JSON request body or 200 data list ({exc})") from None
    event_name = _schema_name(items, "event")
    event = fields_of(event_name, items, spec)
    timestamp = next((f for f in event if f.name == TIMESTAMP), None)
    if timestamp is None or timestamp.kind != "datetime" or not timestamp.required or timestamp.nullable:
        raise SchemaError(
            f"{event_name}.{TIMESTAMP} must be a required, non-null date-time: the client orders, windows "
            "and partitions events by it"
        )
    request_name = _schema_name(body, "request")
    return Derived(
        path=path,
        method=method.upper(),
        request_name=request_name,
        request=fields_of(request_name, body, spec),
        event_name=event_name,
        event=event,
    )


TIMESTAMP: Final = "created_at"
"""The event field that orders events and dates them (the account-local date of its offset)."""

_DERIVED: Final = derive(SPEC)
PATH: Final = _DERIVED.path
METHOD: Final = _DERIVED.method
EVENT: Final = _DERIVED.event
"""``AnalyticsEvent``'s fields in the spec's order: the CSV header and the Parquet columns."""
REQUEST: Final = _DERIVED.request
"""``AnalyticsRequest``'s fields in the spec's order."""
EVENT_NAMES: Final = tuple(f.name for f in EVENT)
BY_NAME: Final = {f.name: f for f in EVENT}


def arrow_type(field: Field, pa: Any) -> Any:
    """The Arrow type of a column (``pa`` is the ``pyarrow`` module, imported by the caller)."""
    return {
        "int": pa.int64,
        "float": pa.float64,
        "bool": pa.bool_,
        "str": pa.string,
        "date": pa.date32,
        "datetime": lambda: pa.timestamp("us", tz="UTC"),
    }[field.kind]()


def _check_models() -> None:
    """The generated models hold exactly the derived fields (same names, same required ones)."""
    from ._generated.models import AnalyticsEvent, AnalyticsRequest

    for model, fields in ((AnalyticsEvent, EVENT), (AnalyticsRequest, REQUEST)):
        attributes = [a for a in attrs.fields(model) if a.init]
        names = {a.name for a in attributes}
        required = {a.name for a in attributes if a.default is attrs.NOTHING}
        if names != {f.name for f in fields} or required != {f.name for f in fields if f.required}:
            raise RuntimeError(
                f"{model.__name__} in _generated/ does not match openapi.yaml as recorded in _spec.py: "
                "run `make regen` and commit both"
            )


_check_models()

PYTHON_TYPES: Final[Mapping[str, type]] = {
    "int": int,
    "float": float,
    "bool": bool,
    "str": str,
    "date": dt.date,
    "datetime": dt.datetime,
}
"""The Python type of a model attribute, by kind."""
