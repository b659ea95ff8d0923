"""How this package reads the spec's two schemas: :func:`derive` and :class:`Field`, with no side effect.

``_schema.py`` applies this to the recorded spec (``_spec.SPEC``) and checks the generated models
against the result when the package is imported. The scripts of ``make regen`` / ``make check-regen``
/ ``make api-check`` load this file on its own (by path, without importing the package): they must
run, and repair, when ``_generated/`` and ``_spec.py`` are out of step or half written. So this module
imports only the standard library and attrs, never the rest of the package.

The types a field may have (anything else is a :class:`SchemaError` at ``make regen``)::

    JSON Schema                 Python             Arrow
    integer                     int                int64
    number                      float              float64
    boolean                     bool               bool_
    string                      str                string
    string, format: date        datetime.date      date32
    string, format: date-time   datetime.datetime  timestamp[us, tz=UTC] (the exact instant)

Any other string format (``email``, ``uri``, ``byte``...) is text, except ``uuid`` and ``binary``, which
openapi-python-client turns into ``uuid.UUID`` and ``File``. A field is nullable when its type lists
``"null"`` (OpenAPI 3.1, ``type: [integer, "null"]``) or it says ``nullable: true`` (3.0). Optional and
nullable fields are ``T | None`` in the generated models, absent and null alike read as ``None`` (the
NONE RULE of ``generator-templates/model.py.jinja``). Refused, because the generated model would hold
something else than the table says (an enum class, a ``UUID``, a ``File``, the ``Unset`` sentinel, a
union): ``enum``, ``const``, ``default``, ``anyOf`` / ``oneOf`` / ``allOf`` / ``not``, a list of two types
or more, objects, arrays, untyped properties.
"""

from __future__ import annotations

import datetime as dt
import keyword
from collections.abc import Mapping
from typing import Any, Final

import attrs

__all__ = [
    "PYTHON_TYPES",
    "SUPPORTED",
    "TIMESTAMP",
    "Derived",
    "Field",
    "SchemaError",
    "derive",
    "fields_of",
]

TIMESTAMP: Final = "created_at"
"""The event field that orders events and dates them (the account-local date of its offset)."""

SUPPORTED: Final = (
    "supported: integer, number, boolean or string (format date, date-time or any other but uuid and "
    'binary), optionally nullable (type: [T, "null"] or nullable: true), without enum, const, default '
    "or anyOf/oneOf/allOf"
)
"""What a property of the two schemas may be, as the error messages say it."""


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
_JSON_TYPES: Final = ("integer", "number", "boolean", "string")
_NOT_TEXT: Final[Mapping[str, str]] = {"uuid": "uuid.UUID", "binary": "a File"}
"""String formats openapi-python-client 0.29.1 does not generate as ``str`` (its property factory)."""
_REFUSED: Final[Mapping[str, str]] = {
    "enum": "the generated model would hold an enum class, not the value",
    "const": "the generated model would hold a Literal type",
    "default": "the generated model would fill in the default, not None, where the field is absent",
    "anyOf": "a union of schemas",
    "oneOf": "a union of schemas",
    "allOf": "a compound schema",
    "not": "a compound schema",
}
_PYTHON_TYPES: Final[Mapping[str, tuple[type, ...]]] = {
    "int": (int,),
    "float": (float, int),  # JSON has one number type: 3 is a valid number
    "bool": (bool,),
    "str": (str,),
    "date": (str,),  # as sent: text, parsed by the model / cast by Arrow
    "datetime": (str,),
}
PYTHON_TYPES: Final[Mapping[str, type]] = {
    "int": int,
    "float": float,
    "bool": bool,
    "str": str,
    "date": dt.date,
    "datetime": dt.datetime,
}
"""The Python type of a model attribute, by kind (``T | None`` when optional or nullable)."""


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

    @property
    def python_type(self) -> Any:
        """The generated model attribute's type: ``PYTHON_TYPES[kind]``, ``| None`` unless the field
        is required and not nullable (the NONE RULE)."""
        python = PYTHON_TYPES[self.kind]
        return python if self.required and not self.nullable else python | None

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
    for key, why in _REFUSED.items():
        if key in node:
            raise SchemaError(f"{where}: {key} is not supported ({why}); {SUPPORTED}")
    types = node.get("type")
    listed = [types] if isinstance(types, str) else list(types or [])
    nullable = "null" in listed or node.get("nullable") is True
    listed = [t for t in listed if t != "null"]
    if len(listed) != 1:
        raise SchemaError(f"{where}: type {types!r} is not one type, with or without null; {SUPPORTED}")
    json_type = listed[0]
    if json_type not in _JSON_TYPES:
        raise SchemaError(f"{where}: type {json_type!r} is not supported; {SUPPORTED}")
    fmt = node.get("format")
    held = _NOT_TEXT.get(fmt) if json_type == "string" and isinstance(fmt, str) else None
    if held is not None:
        raise SchemaError(
            f"{where}: format {fmt!r} is not supported (the generated model would hold {held}, not str); "
            f"{SUPPORTED}"
        )
    if json_type == "string" and (json_type, fmt) not in _KINDS:
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
