"""Which event schema a dataset's files were written with, and whether a sync may add files of another.

A sync records the schema it writes with in the dataset's manifest (and in its journal's header):
the spec's version and sha256, and the event fields as ``_schema.EVENT`` has them (name, JSON type
and format, required, nullable). A sync that opens a folder written under another schema compares
the two, field by field, before anything is fetched or written, and continues only when the files
already there and the files it writes read as one table::

    fields unchanged (only the spec's text or version)   continue
    field added (optional or required)                   continue: a new column in the files written
                                                         from then on; older files lack it (read as
                                                         null by readers that unify by name)
    fields in another order                              continue: CSV columns move (read by name)
    required or nullable changed                         continue: the same columns with the same
                                                         types; newer files may hold nulls there
    type or format changed to another column type        REFUSED: one column, two types
    (an int32/int64 format change keeps the type)
    removed                                              REFUSED: the column stops in newer files
    renamed (removed and added)                          REFUSED: the values move to another column

The notion is ``scripts/spec_diff.py``'s (the maintainer's report), applied to what the folder holds
rather than to code that reads events: a removed, renamed or retyped field breaks both, an added one
neither. Required/nullable changes break code that relied on a value (the report says so at regen),
but change no file's columns or types: the folder reads as one table, as a fresh folder under the
new spec would. Those changes, and every other accepted one, are logged (a warning) when a sync
opens the folder; the new schema is recorded with the first day it writes, and the next sync
compares with that.

The rule is the same for every format. CSV files carry their columns in a header, so a new field
changes the header of newer files. JSONL files hold the events as the server sent them, whatever
the client's spec: they change when the server does, and a spec change says that it did, so a
retyped, removed or renamed field means two shapes in one folder there too.

A refusal is :class:`~shortpen_api_client.errors.DatasetSchemaError` naming both specs (version and
sha256 prefix), the changes and what to do: sync into another folder, and move the old one aside
(or keep syncing it with the client version that wrote it).

A manifest without a schema (written by 0.1.0) still has each day's spec sha256: when every day was
fetched under this client's spec, the files are of its schema and the sync continues (and records
the schema); otherwise what changed cannot be known, and the sync is refused.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import attrs

from ._schema import EVENT, Field
from ._spec import SPEC_SHA256, SPEC_VERSION
from ._version import __version__
from .errors import DatasetSchemaError

if TYPE_CHECKING:
    from ._manifest import DayRecord

__all__ = ["CURRENT", "Change", "DatasetSchema", "check_resume", "compare"]

logger = logging.getLogger("shortpen_api_client")

_SHA256: Final = re.compile(r"[0-9a-f]{64}")
_PREFIX: Final = 12
"""Hex digits of a spec's sha256 shown in messages (as ``shortpen --version`` shows them)."""


@attrs.frozen
class DatasetSchema:
    """The event columns a dataset's files are written with, and the spec they come from."""

    spec_version: str
    spec_sha256: str
    fields: tuple[Field, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "spec_version": self.spec_version,
            "spec_sha256": self.spec_sha256,
            "fields": [
                {
                    "name": f.name,
                    "type": f.json_type,
                    "format": f.format,
                    "required": f.required,
                    "nullable": f.nullable,
                }
                for f in self.fields
            ],
        }

    @classmethod
    def from_json(cls, value: Any) -> DatasetSchema:
        """Parse a recorded schema; ``ValueError``/``TypeError``/``KeyError`` if it is malformed."""
        if not isinstance(value, dict) or not isinstance(value.get("fields"), list):
            raise TypeError("schema: not an object with a list of fields")
        version, sha256 = value["spec_version"], value["spec_sha256"]
        if not isinstance(version, str) or not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            raise ValueError("schema: spec_version must be text and spec_sha256 64 hex digits")
        fields = tuple(_field(entry) for entry in value["fields"])
        if len({f.name for f in fields}) != len(fields):
            raise ValueError("schema: a field is listed twice")
        return cls(spec_version=version, spec_sha256=sha256, fields=fields)

    def describe(self) -> str:
        return f"spec {self.spec_version} (sha256 {self.spec_sha256[:_PREFIX]})"


def _field(entry: Any) -> Field:
    if not isinstance(entry, dict):
        raise TypeError("schema: a field is not an object")
    name, json_type, fmt = entry["name"], entry["type"], entry["format"]
    required, nullable = entry["required"], entry["nullable"]
    if not (isinstance(name, str) and isinstance(json_type, str) and isinstance(fmt, str | None)):
        raise TypeError(f"schema: field {name!r}: name, type and format must be text")
    if not (isinstance(required, bool) and isinstance(nullable, bool)):
        raise TypeError(f"schema: field {name!r}: required and nullable must be true or false")
    field = Field(name=name, json_type=json_type, format=fmt, required=required, nullable=nullable)
    field.kind  # noqa: B018 - raises KeyError for a type this client does not know
    return field


CURRENT: Final = DatasetSchema(spec_version=SPEC_VERSION, spec_sha256=SPEC_SHA256, fields=EVENT)
"""What this client writes: the vendored spec's event fields."""


@attrs.frozen
class Change:
    """One difference between the recorded fields and the new ones; ``breaking``: refused."""

    text: str
    breaking: bool


def _type(field: Field) -> str:
    return f"{field.json_type}, {field.format}" if field.format else field.json_type


def _flags(field: Field) -> str:
    flags = [_type(field), "required" if field.required else "optional"]
    return ", ".join([*flags, "nullable"] if field.nullable else flags)


def _renames(old: Sequence[Field], new: Sequence[Field]) -> dict[str, str]:
    """``scripts/spec_diff.py``'s guess: a removed field that an added one of the same column type
    replaces at the same position was probably renamed (only the message says so: both refuse)."""
    old_names, new_names = {f.name for f in old}, {f.name for f in new}
    return {
        gone.name: new[index].name
        for index, gone in enumerate(old)
        if gone.name not in new_names
        and index < len(new)
        and new[index].name not in old_names
        and new[index].kind == gone.kind
    }


def compare(old: Sequence[Field], new: Sequence[Field]) -> list[Change]:
    """What changes from the files written with ``old`` fields to those written with ``new`` ones."""
    old_by, new_by = {f.name: f for f in old}, {f.name: f for f in new}
    renames = _renames(old, new)
    changes: list[Change] = []
    for name, gone in old_by.items():
        if name in renames:
            changes.append(Change(f"`{name}` renamed (probably) to `{renames[name]}`", breaking=True))
        elif name not in new_by:
            changes.append(Change(f"`{name}` removed (was {_flags(gone)})", breaking=True))
    for name, field in new_by.items():
        before = old_by.get(name)
        if before is None:
            if name not in renames.values():
                changes.append(Change(f"`{name}` added ({_flags(field)})", breaking=False))
            continue
        if (before.json_type, before.format) != (field.json_type, field.format):
            breaking = before.kind != field.kind
            changes.append(Change(f"`{name}` type {_type(before)} -> {_type(field)}", breaking=breaking))
        if before.required != field.required:
            changes.append(Change(f"`{name}` {'now' if field.required else 'no longer'} required", False))
        if before.nullable != field.nullable:
            changes.append(
                Change(f"`{name}` {'may now' if field.nullable else 'may no longer'} be null", False)
            )
    kept_old = [name for name in old_by if name in new_by]
    kept_new = [name for name in new_by if name in old_by]
    if kept_old != kept_new:
        changes.append(Change("fields in another order: " + ", ".join(f"`{n}`" for n in kept_new), False))
    return changes


def check_resume(
    folder: Path,
    recorded: DatasetSchema | None,
    records: Iterable[DayRecord],
    current: DatasetSchema = CURRENT,
) -> list[Change]:
    """Whether files of ``current`` may join the dataset in ``folder`` (see the module's docstring).

    Returns the accepted changes (logged as a warning when there are any); raises
    ``DatasetSchemaError`` for a breaking change, or for a folder of an unrecorded schema fetched
    under another spec.
    """
    records = sorted(records, key=lambda record: record.fetched_at)
    if recorded is None:
        hashes = sorted({record.spec_sha256 for record in records})
        if hashes in ([], [current.spec_sha256]):
            return []
        writers = _versions(record.client_version for record in records)
        raise DatasetSchemaError(
            f"the dataset in {folder} was written by shortpen-api-client {writers} under spec sha256 "
            f"{', '.join(h[:_PREFIX] for h in hashes)}, which did not record its columns; this client "
            f"(shortpen-api-client {__version__}) has {current.describe()}, so whether its files and "
            f"the ones already there read as one table cannot be checked (a sync by a later "
            f"shortpen-api-client of that spec records them). {_advice(writers)}"
        )
    if recorded.fields == current.fields:
        if recorded.spec_sha256 != current.spec_sha256:
            logger.info(
                "dataset %s: written under %s, continued under %s (same fields)",
                folder,
                recorded.describe(),
                current.describe(),
            )
        return []
    changes = compare(recorded.fields, current.fields)
    breaking = [change.text for change in changes if change.breaking]
    if breaking:
        latest = [record.client_version for record in records if record.spec_sha256 == recorded.spec_sha256]
        writers = latest[-1] if latest else "of that spec"
        raise DatasetSchemaError(
            f"the dataset in {folder} was written under {recorded.describe()}; this client "
            f"(shortpen-api-client {__version__}) has {current.describe()}, which changes its columns: "
            f"{'; '.join(breaking)}. Files of both would not read as one table. {_advice(writers)}"
        )
    logger.warning(
        "dataset %s: written under %s, continued under %s; the files written from now on differ: %s",
        folder,
        recorded.describe(),
        current.describe(),
        "; ".join(change.text for change in changes),
    )
    return changes


def _versions(versions: Iterable[str]) -> str:
    return "/".join(sorted(set(versions))) or "(unknown)"


def _advice(writers: str) -> str:
    return (
        "Sync into a new folder (another output_dir, or --output) to fetch every day under the new "
        "spec, and move this one aside or delete it once it is no longer read; or keep syncing this "
        f"folder with shortpen-api-client {writers}."
    )
