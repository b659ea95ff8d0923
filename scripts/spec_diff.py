"""What a spec change does to the endpoint, and whether it breaks a service that pins this package.

Pure functions over two :class:`shortpen_api_client._schema_derive.Derived` (what ``derive`` reads
from a spec: the operation, the request body's fields and the event's fields). ``scripts/regen.py``
prints :func:`compare`'s result and writes it into CHANGELOG.md; ``scripts/api_check.py`` fails CI on
a breaking change without a version bump. No well-kept Python library diffs OpenAPI documents (oasdiff
is Go), and this package only uses these two schemas, so this is a small comparison of just them.

The rules, for a service that upgrades its pin: it READS events (``AnalyticsEvent`` attributes, CSV and
Parquet columns, dataset partitions) and SENDS requests (``clicks(..., workspace_id=, url_id=)``).

Response (event) fields, read by the service::

    added, optional               not breaking: a new attribute (None when absent), a new column
    added, required               not breaking for readers (a new column, always filled)
    removed                       BREAKING: the attribute and the column are gone
    renamed (probably)            BREAKING: the old attribute and column are gone
    type or format changed        BREAKING: another Python type and another Arrow/Parquet type
    required -> optional          BREAKING unless it was nullable already: readers may now get None
    optional -> required          not breaking: readers get fewer None
    nullable added                BREAKING when required (readers never got None), else not
                                  (an absent optional field already reads as None)
    nullable removed              not breaking
    order changed                 not breaking for readers by name (CSV/Parquet column order moves)

Request fields, sent by the service::

    added, optional               not breaking
    added, required               BREAKING: every request must now carry it
    removed                       BREAKING: a service passing it is refused or ignored
    renamed (probably)            BREAKING
    type or format changed        BREAKING: the value the service passes no longer fits
    optional -> required          BREAKING: requests without it are refused
    required -> optional          not breaking
    nullable added                not breaking (more is accepted)
    nullable removed              BREAKING when required (a null it sends is refused), else not
                                  (an optional None is left out of the body)
    order changed                 not breaking (bodies are JSON objects)

The operation::

    path or method changed        BREAKING: the client (and FakeShortPen) talk to another URL
    request/event schema renamed  BREAKING: the generated model class has another name
    info.version changed          reported, not breaking in itself

A rename is a guess: one field removed and one added with the same type and format at the same
position; it is reported as "renamed (probably)". Changes to the Python API that follow (a model's
constructor, a removed name) are griffe's job (``scripts/api_check.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from derivation import Derived, Field  # the package's derivation, loaded without importing the package

Side = Literal["request", "response"]


@dataclass(frozen=True)
class Change:
    """One change to the endpoint, one line of the report."""

    text: str
    breaking: bool

    def line(self) -> str:
        """The report's Markdown line: ``- BREAKING: ...`` or ``- ...``."""
        return f"- {'BREAKING: ' if self.breaking else ''}{self.text}"


def describe(field: Field) -> str:
    """``string, date-time, required, nullable``: the type and the flags a reader cares about."""
    parts = [field.json_type]
    if field.format:
        parts.append(field.format)
    parts.append("required" if field.required else "optional")
    if field.nullable:
        parts.append("nullable")
    return ", ".join(parts)


def _type(field: Field) -> str:
    return f"{field.json_type}, {field.format}" if field.format else field.json_type


def _same_type(a: Field, b: Field) -> bool:
    return (a.json_type, a.format) == (b.json_type, b.format)


def _renames(old: Sequence[Field], new: Sequence[Field]) -> dict[str, str]:
    """Old name -> new name for each removed field that an added one of the same type replaces in place."""
    old_names, new_names = {f.name for f in old}, {f.name for f in new}
    pairs: dict[str, str] = {}
    for index, gone in enumerate(old):
        if gone.name in new_names or index >= len(new):
            continue
        candidate = new[index]
        if candidate.name not in old_names and _same_type(gone, candidate):
            pairs[gone.name] = candidate.name
    return pairs


def _flag_changes(side: Side, name: str, old: Field, new: Field) -> list[Change]:
    """Type, format, required and nullable changes of one field present on both sides."""
    what = f"{side} field `{name}`"
    changes: list[Change] = []
    if not _same_type(old, new):
        changes.append(Change(f"{what}: type {_type(old)} -> {_type(new)}", breaking=True))
    reader = side == "response"
    if old.required and not new.required:
        # readers may now get None (unless they could already); senders may now leave it out
        changes.append(Change(f"{what} is no longer required", breaking=reader and not old.nullable))
    elif new.required and not old.required:
        changes.append(Change(f"{what} is now required", breaking=not reader))
    if new.nullable and not old.nullable:
        changes.append(Change(f"{what} may now be null", breaking=reader and new.required and old.required))
    elif old.nullable and not new.nullable:
        changes.append(Change(f"{what} may no longer be null", breaking=not reader and new.required))
    return changes


def compare_fields(side: Side, old: Sequence[Field], new: Sequence[Field]) -> list[Change]:
    """The changes from ``old`` to ``new`` fields of one schema, in the new spec's order."""
    old_by, new_by = {f.name: f for f in old}, {f.name: f for f in new}
    renames = _renames(old, new)
    renamed_to = set(renames.values())
    changes: list[Change] = []
    for name, gone in old_by.items():
        if name in new_by:
            continue
        if name in renames:
            target = new_by[renames[name]]
            changes.append(
                Change(f"{side} field `{name}` renamed (probably) to `{target.name}` ({_type(target)})", True)
            )
            changes += _flag_changes(side, target.name, gone, target)
        else:
            changes.append(Change(f"{side} field `{name}` removed (was {describe(gone)})", breaking=True))
    for name, field in new_by.items():
        if name in renamed_to:
            continue
        if name not in old_by:
            breaking = side == "request" and field.required
            changes.append(Change(f"{side} field `{name}` added ({describe(field)})", breaking))
        else:
            changes += _flag_changes(side, name, old_by[name], field)
    kept_old = [n for n in old_by if n in new_by]
    kept_new = [n for n in new_by if n in old_by]
    if kept_old != kept_new:
        order = ", ".join(f"`{n}`" for n in kept_new)
        changes.append(Change(f"{side} fields in a new order: {order}", breaking=False))
    return changes


def compare(
    old: Derived, new: Derived, *, old_version: str | None = None, new_version: str | None = None
) -> list[Change]:
    """Every change from ``old`` to ``new``: the operation, then the request, then the response."""
    changes: list[Change] = []
    if old_version != new_version:
        changes.append(Change(f"spec version {old_version} -> {new_version}", breaking=False))
    if (old.method, old.path) != (new.method, new.path):
        changes.append(
            Change(f"operation moved: {old.method} {old.path} -> {new.method} {new.path}", breaking=True)
        )
    for kind, before, after in (
        ("request", old.request_name, new.request_name),
        ("event", old.event_name, new.event_name),
    ):
        if before != after:
            changes.append(Change(f"{kind} schema renamed: `{before}` -> `{after}`", breaking=True))
    changes += compare_fields("request", old.request, new.request)
    changes += compare_fields("response", old.event, new.event)
    return changes


def is_breaking(changes: Sequence[Change]) -> bool:
    return any(c.breaking for c in changes)
