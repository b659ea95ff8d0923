"""Atomic writers for click events: one file in JSONL, CSV or Parquet, all or nothing.

``open_writer(output)`` returns an :class:`EventWriter`; feed it the server's events batch by batch
(one batch per window, in ascending date order) and leave the ``with`` block::

    with open_writer("clicks.parquet") as writer:
        for batch in batches:
            writer.write_batch(batch)
    writer.events, writer.bytes

Everything is written to a temporary file beside ``output`` (same directory, so the final rename
never crosses a filesystem), named ``.<output name>.<host>-<writer's PID>.<random hex>.tmp`` (``<host>``:
:func:`host_id`). On success it is
fsync'd and ``os.replace``'d onto ``output`` (then the directory is fsync'd); on an exception or
``abort()`` it is removed and an existing ``output`` is left untouched. The leading ``.`` keeps the
temporary file out of dataset readers (Spark, DuckDB, pyarrow skip hidden files; its ``.tmp`` suffix
matches no data glob). A process killed without a chance to clean up (``kill -9``; SIGTERM too, unless
the program turns it into an exception as the ``shortpen`` command does) leaves its temporary file:
:func:`remove_stale_temps` removes those of this host whose PID is no longer a running process
(another host's, or a container's with its own PID namespace, never: its PID means nothing here).

What ``output`` may be: a new file, or an existing regular file, which is replaced. Anything else is
refused with ``InvalidArgumentError`` before any file is created, and checked again just before the
rename: a directory, a device, a FIFO or a socket (``/dev/null`` would become a regular file), and a
symbolic link, to anything (the link would be replaced, not its target; pass the target's path). A
replaced file keeps its permission bits, and its owner and group where the process may set them
(as root, always); a new file gets 0o666 minus the umask, as ``open()`` would make it.

What each format keeps of an event:

- ``jsonl``: lossless. Every key the server sent, unknown ones included, in the order received, and
  ``created_at`` exactly as sent (with the account's UTC offset). Compact, UTF-8, one event a line.
  Encoded with orjson when the ``speedups`` extra is installed, else with the stdlib ``json``.
- ``csv``: a header of the spec's fields in spec order (``_schema.EVENT``), one row per event, empty
  cells for missing or null values, ``created_at`` as sent. Keys the spec does not define are
  dropped: the columns are fixed so that every file of a range has the same header.
- ``parquet``: the spec's fields as typed columns (int64 ids, strings, ``created_at`` a
  ``timestamp[us, tz=UTC]`` holding the exact instant; the account's offset is not kept in the
  column). Keys the spec does not define are dropped, for the same fixed-schema reason as CSV; use
  JSONL when you need them. Batches are buffered as Arrow tables up to ``row_group_rows`` rows, then
  written as one row group, so memory is bounded by that, not by the range. Needs the ``parquet``
  extra; pyarrow is imported only when a Parquet file is requested.

An empty range still produces a valid file: an empty JSONL file, a CSV header, a Parquet file with the
schema and no rows.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import hashlib
import io
import json
import os
import re
import secrets
import socket
import stat
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Final, Protocol

import attrs

from ._schema import EVENT, TIMESTAMP, Field, arrow_type
from ._spec import SPEC_SHA256
from ._version import __version__
from .errors import InvalidArgumentError

Event = dict[str, Any]

FORMATS: Final = ("jsonl", "csv", "parquet")
"""The formats :func:`open_writer` writes; also the file suffixes it recognises."""

ROW_GROUP_ROWS: Final = 100_000
"""Default Parquet row-group size: small batches are buffered until they reach it."""

PARQUET_INSTALL_HINT: Final = 'pip install "shortpen-api-client[parquet]"'


def resolve_format(output: Path, format: str | None) -> str:
    """The format to write ``output`` in: ``format`` if given, else the suffix; ``ValueError`` if neither."""
    allowed = ", ".join(FORMATS)
    if format is not None:
        if format.lower() not in FORMATS:
            raise InvalidArgumentError(f"unknown export format {format!r}: expected one of {allowed}")
        return format.lower()
    suffix = output.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise InvalidArgumentError(
            f"cannot tell the export format from {output.name!r}: "
            f"use a .jsonl, .csv or .parquet suffix, or pass format= (one of {allowed})"
        )
    return suffix


def open_writer(
    output: Path | str,
    format: str | None = None,
    *,
    row_group_rows: int = ROW_GROUP_ROWS,
    fields: Sequence[Field] = EVENT,
) -> EventWriter:
    """Start an atomic export to ``output``: check everything first, then create the temporary file.

    Raises ``ValueError`` for an unknown format, a missing parent directory or an ``output`` that exists
    and is not a regular file (a directory, a device, a FIFO, a socket, or a symlink), and ``ImportError`` naming the ``parquet`` extra when Parquet is asked for without
    pyarrow; in every case before any file is created. ``fields`` are the columns of CSV and
    Parquet (a dataset passes the schema it writes; everything else, the spec's).
    """
    path = Path(output)
    fmt = resolve_format(path, format)
    if row_group_rows < 1:
        raise InvalidArgumentError(f"row_group_rows must be at least 1, not {row_group_rows}")
    if not path.parent.is_dir():
        raise InvalidArgumentError(
            f"cannot write {str(path)!r}: directory {str(path.parent)!r} does not exist"
        )
    existing_output(path)
    if fmt == "parquet":
        import_pyarrow()
    return EventWriter(path, fmt, row_group_rows=row_group_rows, fields=fields)


class EventWriter:
    """Writes batches of events to a temporary file; :meth:`commit` moves it onto the output.

    A context manager: leaving the ``with`` block normally commits, an exception aborts. After a
    commit, :attr:`events` is the number of events written and :attr:`bytes` the file's size.
    """

    def __init__(
        self,
        output: Path,
        format: str,
        *,
        row_group_rows: int = ROW_GROUP_ROWS,
        fields: Sequence[Field] = EVENT,
    ) -> None:
        self.path: Final = output
        self.format: Final = format
        self.events = 0
        self._size = 0
        self._state = "open"
        self._temp = AtomicFile(output)
        try:
            self._sink = _make_sink(format, self._temp.file, row_group_rows=row_group_rows, fields=fields)
        except BaseException:
            self._temp.abort()
            raise

    def write_batch(self, events: Sequence[Event]) -> None:
        """Append one batch (the server's event dicts, as decoded) to the file."""
        if self._state != "open":
            raise RuntimeError(f"this writer is already {self._state}")
        try:
            encoded = self.encode(events)
        except BaseException:
            self.abort()
            raise
        self.write_encoded(encoded)

    def encode(self, events: Sequence[Event]) -> Encoded:
        """Encode a batch for this file without writing it (JSONL or CSV text, or an Arrow table).

        Thread-safe and free of I/O, so worker threads can encode the next windows while this one is
        written; then :meth:`write_encoded` appends the batches in order.
        """
        return Encoded(events=len(events), parts=(self._sink.encode(events),) if events else ())

    def encode_body(self, content: bytes) -> Encoded | None:
        """Encode the events of a 200 response body straight from its bytes, when the format can.

        Parquet can, with pyarrow's JSON reader (C++, no Python objects per event); it takes only a
        body it can read exactly (the envelope with ``success: true``, strictly typed fields, events in
        ``created_at`` order) and returns None for anything else, which the caller then decodes as
        usual. The result equals ``encode(<the body's events, in order>)``. None for JSONL and CSV.
        """
        table = self._sink.encode_body(content)
        if table is None:
            return None
        return Encoded(events=table.num_rows, parts=(table,) if table.num_rows else ())

    def write_encoded(self, encoded: Encoded) -> None:
        """Append a batch made by :meth:`encode` to the file."""
        if self._state != "open":
            raise RuntimeError(f"this writer is already {self._state}")
        try:
            for part in encoded.parts:
                self._sink.write_encoded(part)
        except BaseException:
            self.abort()
            raise
        self.events += encoded.events

    def commit(self) -> None:
        """Finish the file, fsync it and atomically replace the output with it."""
        self.finish()
        try:
            self._temp.publish()
        except BaseException:
            self.abort()
            raise
        self._state = "committed"

    def finish(self, *, fsync: bool = True) -> AtomicFile:
        """Finish and close the temporary file (fsync'd unless ``fsync=False``) without renaming it:
        the caller publishes the returned :class:`AtomicFile` (or aborts it) once it is durable, as a
        dataset does for a batch of days made durable together (:mod:`._durable`)."""
        if self._state != "open":
            raise RuntimeError(f"this writer is already {self._state}")
        try:
            self._sink.finish()
            self._size = self._temp.close(fsync=fsync)
        except BaseException:
            self.abort()
            raise
        self._state = "finished"
        return self._temp

    def abort(self) -> None:
        """Drop the temporary file; the output (if any) stays as it was. Safe to call twice."""
        if self._state == "finished":
            self._state = "aborted"
            self._temp.abort()
        if self._state != "open":
            return
        self._state = "aborted"
        try:
            self._sink.abort()
        finally:
            self._temp.abort()

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            if self._state == "open":
                self.commit()
        else:
            self.abort()

    @property
    def committed(self) -> bool:
        return self._state == "committed"

    @property
    def bytes(self) -> int:
        """The output's size in bytes once committed; 0 before."""
        return self._size


@attrs.frozen
class Encoded:
    """Batches encoded by :meth:`EventWriter.encode`: their event count and one part per batch
    (JSONL bytes, CSV text or an Arrow table); ``+`` joins two, in order."""

    events: int
    parts: tuple[Any, ...]

    def __len__(self) -> int:
        return self.events

    def __add__(self, other: Encoded) -> Encoded:
        return Encoded(events=self.events + other.events, parts=self.parts + other.parts)


# -- the temporary file -------------------------------------------------------------------------------

_TEMP_SUFFIX: Final = ".tmp"


FOREIGN_STALE_SECONDS: Final = 3600.0
"""How long another host's temporary file must have been left untouched before a sync holding its
folder's lock removes it (see :func:`remove_stale_temps`). A writer appends to its file as it goes, a
day's file is written in seconds, so an hour without a change is a writer that is gone."""


def _temp_name(target: Path) -> str:
    return f".{target.name}.{host_id()}-{os.getpid()}.{secrets.token_hex(6)}{_TEMP_SUFFIX}"


@functools.cache
def host_id() -> str:
    """8 hex digits naming where this process's PIDs mean something: a hash of the host name, the
    boot (Linux's ``boot_id``) and the PID namespace (a container's own), those that exist here."""
    parts = [socket.gethostname()]
    with contextlib.suppress(OSError):
        parts.append(Path("/proc/sys/kernel/random/boot_id").read_text().strip())
    with contextlib.suppress(OSError):
        parts.append(str(Path("/proc/self/ns/pid").stat().st_ino))
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:8]


def existing_output(target: Path) -> os.stat_result | None:
    """The status of the regular file at ``target``, or None if there is none; ``InvalidArgumentError``
    naming ``target`` if something else is there (a symlink is refused, never followed)."""
    try:
        status = os.lstat(target)
    except FileNotFoundError:
        return None
    mode = status.st_mode
    if stat.S_ISREG(mode):
        return status
    if stat.S_ISDIR(mode):
        raise InvalidArgumentError(f"cannot write {str(target)!r}: it is a directory")
    if stat.S_ISLNK(mode):
        raise InvalidArgumentError(
            f"cannot write {str(target)!r}: it is a symbolic link (never followed nor replaced); "
            "pass the path of the file it points to"
        )
    raise InvalidArgumentError(
        f"cannot write {str(target)!r}: it exists and is not a regular file (a device, FIFO or socket)"
    )


class AtomicFile:
    """A new temporary file beside ``target``; :meth:`commit` fsyncs it and renames it onto ``target``.

    Created with ``O_EXCL`` and mode 0o666 minus the umask, so a new output gets the usual permissions
    (``tempfile.mkstemp`` would make it 0o600). When ``target`` is an existing regular file, the
    temporary file takes its permission bits, owner and group first (``fchown`` needs root to give
    the file to another user: without the right, the file stays the writer's, as any replaced file
    does); anything else at ``target`` is refused (see :func:`existing_output`).
    """

    def __init__(self, target: Path) -> None:
        self.target = target
        existing = existing_output(target)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        while True:
            temp = target.with_name(_temp_name(target))
            try:
                fd = os.open(temp, flags, 0o666)
            except FileExistsError:  # pragma: no cover - 48 random bits collided
                continue
            break
        self.temp = temp
        try:
            if existing is not None:
                _take_ownership_and_mode(fd, existing)
            self.file: BinaryIO = os.fdopen(fd, "wb")
        except BaseException:
            os.close(fd)
            temp.unlink(missing_ok=True)
            raise

    def commit(self) -> int:
        """Flush, fsync, rename onto the target, fsync the directory; return the file's size."""
        size = self.close()
        self.publish()
        return size

    def close(self, *, fsync: bool = True) -> int:
        """Flush and close the temporary file, fsync'd first unless ``fsync=False``; its size."""
        self.file.flush()
        if fsync:
            os.fsync(self.file.fileno())
        self.file.close()
        return self.temp.stat().st_size

    def publish(self, *, fsync: bool = True) -> None:
        """Rename the closed temporary file onto the target, then fsync the directory unless
        ``fsync=False`` (the caller then makes the rename durable, see :mod:`._durable`)."""
        existing_output(self.target)  # still nothing but a regular file there (or nothing)
        self.temp.replace(self.target)  # os.replace: atomic, overwrites
        if fsync:
            fsync_directory(self.target.parent)

    def abort(self) -> None:
        try:
            self.file.close()
        finally:
            self.temp.unlink(missing_ok=True)


def _take_ownership_and_mode(fd: int, existing: os.stat_result) -> None:
    """Give the new file ``existing``'s owner, group and permission bits (owner first: a chown may
    clear the mode's set-id bits)."""
    mine = os.fstat(fd)
    chown = getattr(os, "fchown", None)  # POSIX only
    if chown is not None and (mine.st_uid, mine.st_gid) != (existing.st_uid, existing.st_gid):
        try:
            chown(fd, existing.st_uid, existing.st_gid)
        except PermissionError:  # not root: the new file is the writer's, as any replaced file
            with contextlib.suppress(PermissionError):
                chown(fd, -1, existing.st_gid)  # a group the writer is in is still allowed
    fchmod = getattr(os, "fchmod", None)  # POSIX (and Windows from Python 3.13)
    if fchmod is not None:
        fchmod(fd, stat.S_IMODE(existing.st_mode) & 0o777)


def fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable (POSIX only; Windows cannot open a directory)."""
    if os.name != "posix":  # pragma: no cover - exercised on Windows only
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_bytes_atomically(target: Path, data: bytes) -> None:
    """Replace ``target`` with ``data``, all or nothing (temporary file, fsync, ``os.replace``)."""
    temp = AtomicFile(target)
    try:
        temp.file.write(data)
        temp.commit()
    except BaseException:
        temp.abort()
        raise


def remove_stale_temps(target: Path, *, folder_locked: bool = False) -> list[Path]:
    """Delete temporary files left beside ``target`` by writers that were killed (``kill -9``).

    By default only this host's whose writer is gone: the name's host is :func:`host_id` and its PID
    is not a running process (a PID reused since by another process keeps its file, which is safe).
    Another host's file is never touched: a writer on another machine or container sharing the folder
    may be writing it, and its PID cannot be checked from here; nor is a name without a host (this
    client's older names), whose writer's host is unknown. Never by PID on Windows (it cannot probe
    a process without signalling it).

    With ``folder_locked`` (the dataset's sweep, under its writer's lock): every file of this host,
    whatever its PID (no other writer of ours is here), and another host's or an unknown host's once
    untouched for :data:`FOREIGN_STALE_SECONDS`. The lock keeps other hosts out only where the
    filesystem's locks are shared between hosts (``flock`` over NFS is; some network mounts are not),
    hence the wait.
    """
    prefix = re.escape(f".{target.name}.")
    pattern = re.compile(prefix + r"(?:([0-9a-f]{8})-(\d+)\.|(\d+)\.)?[0-9a-f]{12}" + re.escape(_TEMP_SUFFIX))
    here = host_id()
    removed = []
    if target.parent.is_dir():
        for entry in sorted(target.parent.iterdir()):
            match = pattern.fullmatch(entry.name)
            if match is None:
                continue
            host, pid = match.group(1), match.group(2)
            if host == here:
                stale = folder_locked or not _is_running(int(pid))
            else:
                stale = folder_locked and _untouched_for(entry, FOREIGN_STALE_SECONDS)
            if stale:
                entry.unlink(missing_ok=True)
                removed.append(entry)
    return removed


def _untouched_for(path: Path, seconds: float) -> bool:
    try:
        return time.time() - os.lstat(path).st_mtime >= seconds
    except FileNotFoundError:
        return False


def _is_running(pid: int) -> bool:
    """Whether ``pid`` is a running process here; True when unsure (the file is then kept)."""
    if os.name != "posix" or pid == os.getpid():  # pragma: no branch - POSIX in CI
        return True
    if pid <= 0:
        return True  # os.kill(0, ...) would mean the process group, not a process
    try:
        os.kill(pid, 0)  # signal 0: no signal is sent, only the existence is checked
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: another user's live process
        return True
    return True


# -- formats --------------------------------------------------------------------------------------------


class _Sink(Protocol):
    def encode(self, events: Sequence[Event]) -> Any:
        """A non-empty batch in the file's encoding; pure and thread-safe (no writes)."""

    def encode_body(self, content: bytes) -> Any:
        """The events of a 200 body, encoded straight from its bytes, or None (see EventWriter)."""

    def write_encoded(self, part: Any) -> None:
        """Append what :meth:`encode` returned."""

    def finish(self) -> None:
        """Write everything still buffered to the file, without closing it."""

    def abort(self) -> None:
        """Release what the sink holds; the file is about to be deleted."""


def _make_sink(format: str, file: BinaryIO, *, row_group_rows: int, fields: Sequence[Field]) -> _Sink:
    if format == "jsonl":
        return _JsonlSink(file)  # every key as sent: no columns
    if format == "csv":
        return _CsvSink(file, fields)
    return _ParquetSink(file, row_group_rows=row_group_rows, fields=fields)


def jsonl_encoder() -> Callable[[Sequence[Event]], bytes]:
    """Encode a batch as JSON lines: orjson when installed (the ``speedups`` extra), else stdlib json.

    Both keep key order and non-ASCII characters and use compact separators.
    """
    try:
        import orjson
    except ImportError:
        return _encode_jsonl_stdlib

    def encode(events: Sequence[Event]) -> bytes:
        if not events:
            return b""
        try:
            # One call for the whole batch (orjson's per-call cost dominates small objects), then
            # split it into lines at the objects' boundaries. Compact output puts exactly
            # len(events) - 1 top-level `},{` between the objects; if the text holds any more (a
            # string or a nested list of objects containing `},{`), the boundaries are ambiguous and
            # each event is encoded on its own instead.
            body = orjson.dumps(events)[1:-1]
            if body.count(b"},{") == len(events) - 1 and all(type(e) is dict for e in events):
                return body.replace(b"},{", b"}\n{") + b"\n"
            return b"\n".join(map(orjson.dumps, events)) + b"\n"
        except orjson.JSONEncodeError:  # e.g. an integer beyond 64 bits, which the stdlib encodes
            return _encode_jsonl_stdlib(events)

    return encode


_STDLIB_ENCODE: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _encode_jsonl_stdlib(events: Sequence[Event]) -> bytes:
    return "".join([_STDLIB_ENCODE(event) + "\n" for event in events]).encode("utf-8")


class _JsonlSink:
    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self._encode = jsonl_encoder()

    def encode(self, events: Sequence[Event]) -> bytes:
        return self._encode(events)

    def encode_body(self, content: bytes) -> None:
        return None

    def write_encoded(self, part: bytes) -> None:
        self._file.write(part)

    def finish(self) -> None:
        pass

    def abort(self) -> None:
        pass


class _CsvSink:
    def __init__(self, file: BinaryIO, fields: Sequence[Field]) -> None:
        self._names = [f.name for f in fields]
        self._text = io.TextIOWrapper(file, encoding="utf-8", newline="")
        self._writer = csv.writer(self._text)
        self._writer.writerow(self._names)

    def encode(self, events: Sequence[Event]) -> str:
        # csv writes None as an empty cell, so a missing key and a null look the same.
        text = io.StringIO(newline="")
        csv.writer(text).writerows([[event.get(name) for name in self._names] for event in events])
        return text.getvalue()

    def encode_body(self, content: bytes) -> None:
        return None

    def write_encoded(self, part: str) -> None:
        self._text.write(part)

    def finish(self) -> None:
        self._text.flush()
        self._text.detach()  # hand the binary file back, still open, for fsync and rename

    def abort(self) -> None:
        # Already detached by finish(), or its flush failed: either way the file is deleted next.
        with contextlib.suppress(ValueError, OSError):
            self._text.detach()


def import_pyarrow() -> Any:
    """``pyarrow`` (the ``parquet`` extra), or an ImportError that says how to install it."""
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError as exc:
        raise ImportError(f"writing Parquet needs pyarrow: {PARQUET_INSTALL_HINT}") from exc
    return pyarrow


def parquet_schema(fields: Sequence[Field] = EVENT) -> Any:
    """The Arrow schema of a Parquet export, with this client's version and spec hash as metadata."""
    pa = import_pyarrow()
    metadata = {"shortpen_api_client.version": __version__, "shortpen_api_client.spec_sha256": SPEC_SHA256}
    return pa.schema([pa.field(f.name, arrow_type(f, pa)) for f in fields], metadata=metadata)


def _parsed(pa: Any, schema: Any) -> list[int]:
    """The columns read as text first and converted by Arrow afterwards (ISO dates and date-times)."""
    return [i for i, f in enumerate(schema) if pa.types.is_timestamp(f.type) or pa.types.is_date(f.type)]


def _as_text(pa: Any, schema: Any) -> list[Any]:
    """The schema's fields, with the parsed columns (dates, date-times) typed as strings."""
    parsed = _parsed(pa, schema)
    return [pa.field(f.name, pa.string()) if i in parsed else f for i, f in enumerate(schema)]


def events_to_table(events: Sequence[Event], schema: Any) -> Any:
    """One Arrow table from a batch of event dicts, converted by Arrow itself.

    The batch becomes one struct array in a single C++ pass (keys looked up by name, missing ones
    null, unknown ones ignored); ``created_at`` enters as a string column and is then parsed
    vectorised (:func:`_timestamps`). If Arrow refuses a value, a column-at-a-time pass finds which
    column, for the error message.
    """
    pa = import_pyarrow()
    as_text = _as_text(pa, schema)
    try:
        columns = pa.array(events, type=pa.struct(as_text)).flatten()
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        _raise_for_bad_column(pa, events, as_text)
        raise
    for i in _parsed(pa, schema):
        columns[i] = _parse_column(pa, schema[i], columns[i], events)
    return pa.Table.from_arrays(columns, schema=schema)


def body_to_table(content: bytes, schema: Any) -> Any:
    """The events of a 200 ``AnalyticsResponse`` body as an Arrow table, read by pyarrow's JSON reader.

    The body is one JSON object (the envelope), read in one block as one row whose ``data`` column is a
    list of event structs, typed by the Parquet schema (unknown keys ignored). Returns None unless the
    result is exactly what ``events_to_table`` would make of the decoded events: one object,
    ``success`` true, ``data`` a list, every value of its column's JSON type (the reader refuses
    ``1.0`` for an int64 where Arrow's Python conversion takes it), ``created_at`` present, in the form Arrow's cast parses and
    ascending by instant (``ascending`` leaves such events in the server's order). Anything else (an
    error envelope, HTML, cut-off JSON, events to sort) goes the usual way.
    """
    pa = import_pyarrow()
    import pyarrow.compute as pc
    import pyarrow.json as pj

    as_text = _as_text(pa, schema)
    envelope = pa.schema([("success", pa.bool_()), ("data", pa.list_(pa.struct(as_text)))])
    try:
        read = pj.read_json(
            pa.py_buffer(content),
            read_options=pj.ReadOptions(use_threads=False, block_size=max(len(content), 1) + 1),
            parse_options=pj.ParseOptions(explicit_schema=envelope, unexpected_field_behavior="ignore"),
        )
        if read.num_rows != 1 or read.column("success")[0].as_py() is not True:
            return None
        data = read.column("data").chunk(0)
        if data.null_count:
            return None
        events = data.flatten()
        if events.null_count:
            return None
        columns = events.flatten()
        for i in _parsed(pa, schema):
            columns[i] = columns[i].cast(schema[i].type)
        instants = columns[schema.get_field_index(TIMESTAMP)]
        if instants.null_count:
            return None
        if len(instants) > 1 and not pc.all(pc.less_equal(instants[:-1], instants[1:])).as_py():
            return None
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    return pa.Table.from_arrays(columns, schema=schema)


def _raise_for_bad_column(pa: Any, events: Sequence[Event], fields: list[Any]) -> None:
    for field in fields:
        try:
            pa.array([event.get(field.name) for event in events], type=field.type)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise ValueError(f"cannot store {field.name!r} as {field.type} in Parquet: {exc}") from exc


def _parse_column(pa: Any, field: Any, text: Any, events: Sequence[Event]) -> Any:
    """A date or date-time column, from its text."""
    if pa.types.is_timestamp(field.type):
        return _timestamps(pa, field.name, text, events)
    try:
        return text.cast(field.type)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ValueError(f"cannot store {field.name!r} as {field.type} in Parquet: {exc}") from exc


def _timestamps(pa: Any, name: str, text: Any, events: Sequence[Event]) -> Any:
    """Parse a date-time string column into UTC instants, offsets applied.

    Arrow's own ISO-8601 cast (vectorised, in C++) handles the server's usual form
    (``2025-01-01T00:00:00+01:00``, also ``Z`` and up to 6 fractional digits); if it rejects a value
    (more digits, an offset with seconds), ``datetime.fromisoformat`` parses the batch one value at a
    time. A value without an offset is an error: its instant is unknown.
    """
    utc = pa.timestamp("us", tz="UTC")
    try:
        return text.cast(utc)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    parsed: list[datetime | None] = []
    for value, event in zip(text.to_pylist(), events, strict=True):
        if value is None:
            parsed.append(None)
            continue
        try:
            instant = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"event {event.get('id')!r}: {name} {value!r} is not a date-time") from exc
        if instant.tzinfo is None:
            raise ValueError(f"event {event.get('id')!r}: {name} {value!r} has no UTC offset")
        parsed.append(instant)
    return pa.array(parsed, type=utc)


class _ParquetSink:
    def __init__(self, file: BinaryIO, *, row_group_rows: int, fields: Sequence[Field]) -> None:
        self._pa = import_pyarrow()
        self._schema = parquet_schema(fields)
        self._writer = self._pa.parquet.ParquetWriter(file, self._schema)
        self._row_group_rows = row_group_rows
        self._pending: list[Any] = []
        self._pending_rows = 0

    def encode(self, events: Sequence[Event]) -> Any:
        return events_to_table(events, self._schema)

    def encode_body(self, content: bytes) -> Any:
        return body_to_table(content, self._schema)

    def write_encoded(self, part: Any) -> None:
        self._pending.append(part)
        self._pending_rows += part.num_rows
        if self._pending_rows >= self._row_group_rows:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        table = self._pa.concat_tables(self._pending)
        self._pending, self._pending_rows = [], 0
        self._writer.write_table(table, row_group_size=table.num_rows)

    def finish(self) -> None:
        self._flush()
        self._writer.close()  # writes the footer; leaves the file (ours) open

    def abort(self) -> None:
        self._pending = []
        try:
            self._writer.close()
        except Exception:  # noqa: S110 - the file is deleted next; a failed footer write changes nothing
            pass
        finally:
            # pyarrow's __del__ would retry close() on a half-closed writer and raise at collection.
            self._writer.is_open = False
