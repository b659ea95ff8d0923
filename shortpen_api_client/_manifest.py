"""A dataset's bookkeeping: which days are complete, in a manifest and an append-only journal.

Two files, both in the dataset folder (their names start with ``_``, so dataset readers skip them)::

    _manifest.json    a snapshot of every day's record, replaced atomically when the journal is compacted
    _journal.jsonl    the records written since, one JSON object a line after a header line;
                      appended and fsync'd once per window

The current state is the manifest, then the journal's records in order (a later record of a day
replaces the earlier one). A sync appends to the journal (a few hundred bytes per day) instead of
rewriting the whole manifest per window, which grew quadratically with the number of days; it
compacts the journal into the manifest once, when it ends (and a writer that finds a journal left by
a killed run compacts it before appending its own). So the bytes written are proportional to the days.

Crash safety: a journal append is one ``write`` of whole lines followed by ``fsync``; the journal's
creation is made durable by an fsync of the folder. A process killed mid-append leaves at most a last
line without its newline: it is ignored when read (that day is then not complete, and fetched again).
Compaction writes the new manifest atomically (temporary file, fsync, ``os.replace``, fsync of the
folder) and only then removes the journal (and fsyncs the folder): killed in between, the journal's
records are replayed onto a manifest that already holds them, which changes nothing.

Neither file is read or written through a symlink (``O_NOFOLLOW``; the manifest is replaced by
:func:`._export.write_bytes_atomically`, which refuses one): a symlink, a device or a FIFO at either
name is a :class:`ManifestError` when the dataset is opened, before a sync sends any request.

Both also record the event schema the files are written with (``schema``: the spec's version and
sha256 and the event fields, :mod:`._dataset_schema`); the journal's header holds the schema of
the run that wrote it, and replaces the manifest's when it is replayed. A manifest without one
(0.1.0) reads as ``schema = None``.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any, Final, TypeVar

import attrs

from ._dataset_schema import DatasetSchema
from ._export import fsync_directory, write_bytes_atomically
from .errors import InvalidArgumentError

MANIFEST_NAME: Final = "_manifest.json"
JOURNAL_NAME: Final = "_journal.jsonl"
MANIFEST_VERSION: Final = 2
"""2 added ``sha256`` to each day (and ``schema``); a version 1 manifest is read, its days counted as
not complete."""
_READABLE_VERSIONS: Final = (1, MANIFEST_VERSION)
_LATEST_OFFSET: Final = timezone(timedelta(hours=-12))  # the last place on Earth where a day ends
_SHA256: Final = re.compile(r"[0-9a-f]{64}")


class ManifestError(InvalidArgumentError):
    """The dataset's manifest cannot be used: unreadable, corrupt, or written for another format."""


@attrs.frozen
class DayRecord:
    """What the manifest knows about one day's file."""

    day: date
    path: str
    """The file, relative to the dataset folder, with ``/`` separators. Written for readers; the
    dataset never opens it (it derives the path from the day)."""
    events: int
    """The rows in the file (for Parquet, the footer's row count)."""
    bytes: int
    sha256: str | None
    """The file's SHA-256 (hex); None in a version 1 manifest (such a day is not complete)."""
    fetched_at: datetime
    """When the day was fetched (UTC)."""
    utc_offsets: tuple[str, ...]
    """The account's UTC offsets seen in the day's ``created_at`` values (two on a DST change day)."""
    client_version: str
    spec_sha256: str
    sample_sha256: str | None = None
    """The SHA-256 of the file's first and last 64 KiB (:mod:`._dayfile`), checked on resume instead
    of the whole file; None in a record written before it existed."""

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "events": self.events,
            "bytes": self.bytes,
            "sha256": self.sha256,
            "fetched_at": self.fetched_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "utc_offsets": list(self.utc_offsets),
            "client_version": self.client_version,
            "spec_sha256": self.spec_sha256,
            **({"sample_sha256": self.sample_sha256} if self.sample_sha256 is not None else {}),
        }

    @classmethod
    def from_json(cls, day: str, value: Any, *, version: int = MANIFEST_VERSION) -> DayRecord:
        """Parse one manifest entry; ``ValueError``/``TypeError``/``KeyError`` if it is malformed."""
        if not isinstance(value, dict):
            raise TypeError(f"entry for {day} is not an object")
        fetched_at = datetime.fromisoformat(_typed(value, "fetched_at", str))
        if fetched_at.tzinfo is None:
            raise ValueError(f"entry for {day}: fetched_at has no UTC offset")
        offsets = _typed(value, "utc_offsets", list)
        if not all(isinstance(offset, str) for offset in offsets):
            raise TypeError(f"entry for {day}: utc_offsets must be strings")
        sha256 = sample_sha256 = None
        if version >= 2 and value.get("sha256") is not None:  # null: a version 1 day carried over
            sha256 = _hex_digest(day, value, "sha256")
            if value.get("sample_sha256") is not None:
                sample_sha256 = _hex_digest(day, value, "sample_sha256")
        return cls(
            day=date.fromisoformat(day),
            path=_typed(value, "path", str),
            events=_typed(value, "events", int),
            bytes=_typed(value, "bytes", int),
            sha256=sha256,
            fetched_at=fetched_at.astimezone(UTC),
            utc_offsets=tuple(offsets),
            client_version=_typed(value, "client_version", str),
            spec_sha256=_typed(value, "spec_sha256", str),
            sample_sha256=sample_sha256,
        )

    def day_end(self) -> datetime:
        """The (latest) instant this day ends, from its offsets; for a day without events, at UTC-12."""
        offsets = [_parse_offset(offset) for offset in self.utc_offsets] or [_LATEST_OFFSET]
        return max(datetime.combine(self.day + timedelta(days=1), time(), tzinfo=tz) for tz in offsets)


T = TypeVar("T")


def _typed(mapping: dict[str, Any], key: str, kind: type[T]) -> T:
    value = mapping[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TypeError(f"{key!r} must be a {kind.__name__}, not {value!r}")
    return value


def _hex_digest(day: str, mapping: dict[str, Any], key: str) -> str:
    digest = _typed(mapping, key, str)
    if not _SHA256.fullmatch(digest):
        raise ValueError(f"entry for {day}: {key} is not 64 hex digits")
    return digest


def _parse_offset(offset: str) -> timezone:
    parsed = datetime.fromisoformat(f"2000-01-01T00:00:00{offset}").utcoffset()
    if parsed is None:  # pragma: no cover - the text always carries an offset
        raise ValueError(f"not a UTC offset: {offset!r}")
    return timezone(parsed)


class Manifest:
    """The records of the dataset in ``folder``: read at once (manifest, then journal); appended to
    with :meth:`append`; folded into the manifest by :meth:`compact`."""

    def __init__(self, folder: Path, *, format: str, source: dict[str, Any] | None) -> None:
        self.folder: Final = folder
        self.path: Final = folder / MANIFEST_NAME
        self.journal_path: Final = folder / JOURNAL_NAME
        self.format: Final = format
        self.source = source
        """What the data is of; when not given, the one the manifest names (kept by compaction)."""
        self.records: dict[date, DayRecord] = {}
        self.schema: DatasetSchema | None = None
        """The event schema of the files: as recorded (None if not), until the dataset sets its own."""
        self._journal_started = False  # whether this object created the current journal
        self._load_manifest()
        self._load_journal()

    def append(self, records: list[DayRecord]) -> None:
        """Record days as complete: one journal append, fsync'd before this returns."""
        lines = [_journal_line(record) for record in records]
        if not self._journal_started:
            # A journal left by a killed run may end in a torn line: fold it away, start a new one.
            if os.path.lexists(self.journal_path):
                self.compact()
            header = {"journal_version": MANIFEST_VERSION, "format": self.format, "source": self.source}
            if self.schema is not None:
                header["schema"] = self.schema.to_json()
            lines.insert(0, json.dumps(header) + "\n")
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | _NOFOLLOW
        else:
            flags = os.O_WRONLY | os.O_APPEND | _NOFOLLOW
        fd = os.open(self.journal_path, flags, 0o666)
        try:
            data = memoryview("".join(lines).encode())  # one write: a crash tears at most the last line
            while data:  # (a write to a regular file is whole unless interrupted: then go on)
                data = data[os.write(fd, data) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if not self._journal_started:
            fsync_directory(self.folder)  # the journal's name is durable too
            self._journal_started = True
        self.records.update((record.day, record) for record in records)

    def compact(self) -> None:
        """Write every record into a new manifest (atomically), then remove the journal."""
        manifest = {
            "manifest_version": MANIFEST_VERSION,
            "format": self.format,
            "source": self.source,
            **({"schema": self.schema.to_json()} if self.schema is not None else {}),
            "days": {day.isoformat(): record.to_json() for day, record in sorted(self.records.items())},
        }
        write_bytes_atomically(self.path, (json.dumps(manifest, indent=1) + "\n").encode())
        try:
            self.journal_path.unlink()
        except FileNotFoundError:
            pass
        else:
            fsync_directory(self.folder)
        self._journal_started = False

    @property
    def has_journal(self) -> bool:
        return self._journal_started or os.path.lexists(self.journal_path)

    def _load_manifest(self) -> None:
        name = str(self.path)
        try:
            raw = read_own_file(self.path)
        except OSError as exc:
            raise ManifestError(f"cannot read the dataset manifest {name}: {exc}") from exc
        if raw is None:
            return
        try:
            manifest = json.loads(raw)
            if not isinstance(manifest, dict):
                raise TypeError("not a JSON object")
            version = manifest.get("manifest_version")
            if version not in _READABLE_VERSIONS:
                raise ValueError(
                    f"unknown manifest_version {version!r} (this client reads {MANIFEST_VERSION})"
                )
            days = _typed(manifest, "days", dict)
            records = {
                date.fromisoformat(day): DayRecord.from_json(day, value, version=version)
                for day, value in days.items()
            }
            fmt = _typed(manifest, "format", str)
            schema = _schema(manifest)
        except (ValueError, TypeError, KeyError) as exc:
            raise ManifestError(
                f"the dataset manifest {name} is corrupt ({exc}); fix or remove it to fetch every day again"
            ) from exc
        source = manifest.get("source")
        self._check_origin(name, fmt, source)
        if self.source is None and isinstance(source, dict):
            self.source = source
        self.records = records
        self.schema = schema

    def _load_journal(self) -> None:
        name = str(self.journal_path)
        try:
            raw = read_own_file(self.journal_path)
        except OSError as exc:
            raise ManifestError(f"cannot read the dataset journal {name}: {exc}") from exc
        if raw is None:
            return
        lines = raw.split(b"\n")[:-1]  # the last piece has no newline: empty, or torn by a crash
        if not lines:
            return
        records = []
        try:
            header = json.loads(lines[0])
            if not isinstance(header, dict) or header.get("journal_version") != MANIFEST_VERSION:
                raise ValueError(f"unknown journal header {lines[0][:80]!r}")
            fmt = _typed(header, "format", str)
            schema = _schema(header)
            for line in lines[1:]:
                entry = json.loads(line)
                if not isinstance(entry, dict):
                    raise TypeError("a journal line is not a JSON object")
                records.append(DayRecord.from_json(_typed(entry, "day", str), entry))
        except (ValueError, TypeError, KeyError) as exc:
            raise ManifestError(
                f"the dataset journal {name} is corrupt ({exc}); remove it to fetch its days again"
            ) from exc
        self._check_origin(name, fmt, header.get("source"))
        self.records.update((record.day, record) for record in records)
        if schema is not None:  # the run that wrote the journal wrote with it
            self.schema = schema

    def _check_origin(self, name: str, fmt: str, source: Any) -> None:
        if fmt != self.format:
            raise ManifestError(
                f"format {self.format} does not match the dataset in {str(self.folder)!r}, whose files are "
                f"{fmt} (says its {Path(name).name}): sync it as {fmt}, or use another folder",
                argument="format",
                value=self.format,
            )
        if self.source is not None and isinstance(source, dict) and source != self.source:
            differing = [key for key in {**source, **self.source} if source.get(key) != self.source.get(key)]
            raise ManifestError(
                f"the folder {str(self.folder)!r} holds the clicks of {describe_source(source)}; this sync is "
                f"for {describe_source(self.source, differing)}: use another folder (mixing them would "
                "corrupt both)",
                argument="output_dir",
                value=self.folder,
            )


_NOFOLLOW: Final = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)


def read_own_file(path: Path) -> bytes | None:
    """The bytes of one of the dataset's own files; None if there is none. Never through a symlink
    (``O_NOFOLLOW``) nor from a device or FIFO (opened without blocking, then checked): ``OSError``."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | _NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if path.is_symlink():  # ELOOP on Linux, EMLINK on FreeBSD: say what it is
            raise OSError(exc.errno, "it is a symbolic link (never followed); remove it") from exc
        raise
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError("it is not a regular file (a device, FIFO or directory); remove it")
        return file.read()


def _schema(document: dict[str, Any]) -> DatasetSchema | None:
    value = document.get("schema")
    return None if value is None else DatasetSchema.from_json(value)


def _journal_line(record: DayRecord) -> str:
    return json.dumps({"day": record.day.isoformat(), **record.to_json()}) + "\n"


def describe_source(source: dict[str, Any], keys: Iterable[str] | None = None) -> str:
    """What a dataset's clicks are of, in words (only ``keys``, when given): for instance
    ``https://api.shortpen.com, workspace 24 (all links)``, or ``workspace 31, link 501``."""
    parts: list[str] = []
    for key in source if keys is None else keys:
        value = source.get(key)
        if key == "api":
            parts.append(str(value))
        elif key == "workspace_id":
            parts.append("the default workspace" if value is None else f"workspace {value}")
        elif key == "url_id" and value is None:
            if parts:
                parts[-1] += " (all links)"
            else:
                parts.append("all links")
        elif key == "url_id":
            parts.append(f"link {value}")
        else:  # a key this version does not know (a manifest from a later one)
            parts.append(f"{key} {value}")
    return ", ".join(parts)
