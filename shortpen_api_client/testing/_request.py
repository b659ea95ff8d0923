"""Validation of the request body, derived from the spec's request schema: a 400 naming the field.

What the schema says (``_schema.REQUEST``, or the fields of another spec given to the fake) is
checked field by field in the spec's order, as JSON Schema would: a required field is present; a
present field is of its type (``integer``: a whole number, so ``24.0`` is 24 and ``true`` is no
integer; ``number``; ``boolean``; ``string``; ``format: date``: a real date written ``YYYY-MM-DD``;
``format: date-time``: RFC 3339 with an offset); null only where the spec makes the field nullable.
Fields the schema does not list are ignored: the spec gives no ``additionalProperties``, which in
JSON Schema means they are allowed. So a field added to or removed from the spec is enforced, or no
longer, with no edit here.

Then the rules the spec states in words (its descriptions), the fake's only hand-written ones:

- ``end`` is on or after ``start`` ("inclusive start/end date for the time range"), else 400;
- ``workspace_id``, when given, is one of the organization's workspaces, else 400 (the default is
  the first one: "defaults to the first workspace when omitted");
- ``url_id``, when given, filters to that link ("link ID filter"); a link the workspace does not
  have matches no click: 200 with no events.

The fake needs ``start`` and ``end`` as dates to answer at all (a spec without them is refused when
the fake is built); ``workspace_id`` and ``url_id`` do their job when the spec has them as integers.
Every message starts with the field's name (``"end: must be on or after start (2025-01-07)"``), or
with ``body:`` for a body that is not a JSON object.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any, Final

import attrs

from .. import _schema
from . import _json
from ._data import WORKSPACES

_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_TIME: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_WHAT: Final = {
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean (true or false)",
    "str": "a string",
    "date": "a date in YYYY-MM-DD format",
    "datetime": "a date-time in RFC 3339 format (YYYY-MM-DDTHH:MM:SS+HH:MM)",
}
_NEEDED: Final = ("start", "end")
"""The request fields the fake cannot answer without: a date range."""


class BadRequest(Exception):
    """A 400; ``message`` starts with the field it is about, e.g. ``"end: must be ..."``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@attrs.frozen
class Query:
    """A valid request: one workspace (by index and id), an optional link, an inclusive date range."""

    workspace_index: int
    url_id: int | None
    start: dt.date
    end: dt.date

    @property
    def workspace_id(self) -> int:
        return WORKSPACES[self.workspace_index].workspace_id


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def _wrong(field: _schema.Field, value: Any) -> BadRequest:
    return BadRequest(f"{field.name}: must be {_WHAT[field.kind]}, got {_short(value)}")


def checked(field: _schema.Field, value: Any) -> Any:
    """The value as the fake uses it (a date for ``format: date``, an int for a whole number)."""
    if value is None:
        if field.nullable:
            return None
        raise _wrong(field, value)
    kind = field.kind
    if kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)  # JSON Schema: an integer is a number without a fractional part
        raise _wrong(field, value)
    if kind in ("date", "datetime"):
        pattern = _DATE if kind == "date" else _DATE_TIME
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise _wrong(field, value)
        try:
            if kind == "date":
                return dt.date.fromisoformat(value)
            return dt.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
        except ValueError:
            noun = "date" if kind == "date" else "date-time"
            raise BadRequest(f"{field.name}: {value} is not a valid {noun}") from None
    if not field.accepts(value):
        raise _wrong(field, value)
    return value


class RequestRules:
    """The request schema's checks and the spec's rules in words, for one set of request fields."""

    def __init__(self, fields: Sequence[_schema.Field] = _schema.REQUEST) -> None:
        by_name = {f.name: f for f in fields}
        for name in _NEEDED:
            field = by_name.get(name)
            if field is None or field.kind != "date":
                raise _schema.SchemaError(
                    f"the fake needs the request field {name!r} as a date (format: date) to answer"
                )
        self.fields = tuple(fields)
        self._filters = {
            name: by_name[name].kind == "int" for name in ("workspace_id", "url_id") if name in by_name
        }

    def parse(self, body: Any) -> Query:
        """Check a parsed body: each field in the spec's order, then the rules in words."""
        if not isinstance(body, dict):
            raise BadRequest("body: must be a JSON object")
        values: dict[str, Any] = {}
        for field in self.fields:
            if field.name in body:
                values[field.name] = checked(field, body[field.name])
            elif field.required:
                raise BadRequest(f"{field.name}: is required")
        for name in _NEEDED:  # what the fake needs, even if the spec made it optional or nullable
            if values.get(name) is None:
                raise BadRequest(f"{name}: is required" if name not in body else f"{name}: must not be null")
        start, end = values["start"], values["end"]
        if end < start:
            raise BadRequest(f"end: must be on or after start ({start.isoformat()})")
        index = 0
        workspace_id = values.get("workspace_id") if self._filters.get("workspace_id") else None
        if workspace_id is not None:
            ids = [w.workspace_id for w in WORKSPACES]
            if workspace_id not in ids:
                raise BadRequest(f"workspace_id: unknown workspace {workspace_id} (not in this organization)")
            index = ids.index(workspace_id)
        url_id = values.get("url_id") if self._filters.get("url_id") else None
        return Query(workspace_index=index, url_id=url_id, start=start, end=end)

    def body(self, given: dict[str, Any]) -> dict[str, Any]:
        """A request body from values by field name: the schema's fields in its order, ``None`` left
        out, dates written as the spec's format; a value for a name the schema does not have is
        refused (``None`` is no value: ``events(url_id=None)`` works when the spec has no ``url_id``)."""
        given = {name: value for name, value in given.items() if value is not None}
        unknown = set(given) - {f.name for f in self.fields}
        if unknown:
            raise TypeError(f"not fields of the request schema: {', '.join(sorted(unknown))}")
        body: dict[str, Any] = {}
        for field in self.fields:
            value = given.get(field.name)
            if value is None:
                continue
            if field.kind == "date" and isinstance(value, dt.datetime):
                raise TypeError(
                    f"{field.name} must be a datetime.date or a 'YYYY-MM-DD' string, got {value!r}"
                )
            body[field.name] = value.isoformat() if isinstance(value, dt.date) else value
        return body


def parse_json(content: bytes) -> Any:
    """The parsed body, or :class:`BadRequest` if it is not JSON."""
    if not content.strip():
        raise BadRequest("body: is required (a JSON object with start and end)")
    try:
        return _json.loads(content)
    except ValueError:
        raise BadRequest("body: is not valid JSON") from None
