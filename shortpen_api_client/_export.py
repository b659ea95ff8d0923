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
- ``csv``: a header of the spec's fields in spec order (``_schema.EVENT``) and ``_extra``, one row per
  event, empty cells for absent or null values, ``created_at`` as sent. ``_extra`` holds the keys the
  spec does not define as one JSON object (``_arrow.extra_texts``; empty when there are none), so
  the header is fixed and every file of a range has the same one.
- ``parquet``: the columns of ``_arrow.arrow_schema``: the spec's fields typed (int64 ids, strings,
  ``created_at`` a ``timestamp[us, tz=UTC]`` holding the exact instant), ``created_at_offset`` (the
  account's offset, minutes) and ``_extra``; absent and null values are nulls. Batches are buffered
  as Arrow tables up to ``row_group_rows`` rows, then written as one row group, so memory is bounded
  by that, not by the range. Needs the ``parquet`` extra; pyarrow is imported only when a Parquet
  file is requested.

An empty range still produces a valid file: an empty JSONL file, a CSV header, a Parquet file with the
schema and no rows.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import re
import secrets
import socket
import stat
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Final

import attrs

from ._arrow import (
    PARQUET_INSTALL_HINT,
    import_pyarrow,
    parquet_schema,
)
from ._arrow_body import BodyLines
from ._edges import NO_TRIM, Trim
from ._formats import CSV_COLUMNS, TextPart, jsonl_encoder, make_sink
from ._schema import EVENT, Field
from .errors import DateRange, InvalidArgumentError

Event = dict[str, Any]

__all__ = [
    "CSV_COLUMNS",
    "FORMATS",
    "PARQUET_INSTALL_HINT",
    "ROW_GROUP_ROWS",
    "AtomicFile",
    "Encoded",
    "EventWriter",
    "TextPart",
    "import_pyarrow",
    "jsonl_encoder",
    "open_writer",
    "parquet_schema",
    "remove_stale_temps",
    "resolve_format",
    "write_bytes_atomically",
]

FORMATS: Final = ("jsonl", "csv", "parquet")
"""The formats :func:`open_writer` writes; also the file suffixes it recognises."""

ROW_GROUP_ROWS: Final = 100_000
"""Default Parquet row-group size: small batches are buffered until they reach it."""


def resolve_format(output: Path, format: str | None) -> str:
    """The format to write ``output`` in: ``format`` if given, else the suffix.

    ``InvalidArgumentError`` for an unknown format, for neither a format nor a known suffix, and for
    a format that contradicts a known suffix (``m.csv`` written as Parquet); a suffix that names no
    format (``clicks.data``) takes any.
    """
    allowed = ", ".join(FORMATS)
    suffix = output.suffix.lower().removeprefix(".")
    if format is not None:
        fmt = format.lower() if isinstance(format, str) else format
        if fmt not in FORMATS:
            raise InvalidArgumentError(
                f"format must be one of {allowed}, got {format!r}", argument="format", value=format
            )
        if suffix in FORMATS and suffix != fmt:
            raise InvalidArgumentError(
                f"format {fmt} contradicts the suffix of {output.name!r}: name the file "
                f"{output.with_suffix('.' + fmt).name!r}, or choose {suffix}",
                argument="format",
                value=format,
            )
        return str(fmt)
    if suffix not in FORMATS:
        raise InvalidArgumentError(
            f"format is needed: {output.name!r} does not end in .jsonl, .csv or .parquet "
            f"(choose one of {allowed}, or name the file so)",
            argument="format",
        )
    return suffix


def output_path(output: Path | str, format: str | None = None) -> Path:
    """``output`` as a path, refused with ``InvalidArgumentError`` when it names a directory: an
    existing one, ``.`` or ``..``, or a name ending with a separator (``dir.csv/``, which ``Path``
    would quietly drop)."""
    raw = os.fspath(output)
    path = Path(raw)
    fmt = format.lower() if isinstance(format, str) and format.lower() in FORMATS else "parquet"
    example = f"clicks.{fmt}"
    if not raw:
        raise InvalidArgumentError(
            f"output is empty: give a file name, such as {example!r}", argument="output", value=output
        )
    if raw.endswith(tuple(sep for sep in (os.sep, os.altsep) if sep)):
        what = "names a directory (it ends with a separator)"
    elif path.name in ("", ".", "..") or _is_directory(path):
        what = "is a directory"
    else:
        return path
    raise InvalidArgumentError(
        f"output {raw!r} {what}: an export writes one file; give its name, such as {str(path / example)!r}",
        argument="output",
        value=output,
    )


def _is_directory(path: Path) -> bool:
    """Whether ``path`` is a directory itself (a symlink to one is not: :func:`existing_output` refuses it)."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def open_writer(
    output: Path | str | BinaryIO,
    format: str | None = None,
    *,
    row_group_rows: int = ROW_GROUP_ROWS,
    fields: Sequence[Field] = EVENT,
) -> EventWriter:
    """Start an atomic export to ``output``: check everything first, then create the temporary file.

    Raises ``ValueError`` for an unknown format, a format that contradicts the suffix, an ``output``
    that names a directory (see :func:`output_path`), a missing parent directory or an ``output`` that
    exists and is not a regular file (a directory, a device, a FIFO, a socket, or a symlink), and
    ``ImportError`` naming the ``parquet`` extra when Parquet is asked for without pyarrow; in every
    case before any file is created. ``fields`` are the columns of CSV and
    Parquet (a dataset passes the schema it writes; everything else, the spec's).
    """
    if not isinstance(output, str | os.PathLike):
        return _stream_writer(output, format)
    path = output_path(output, format)
    fmt = resolve_format(path, format)
    if row_group_rows < 1:
        raise InvalidArgumentError(
            f"row_group_rows must be at least 1, not {row_group_rows}",
            argument="row_group_rows",
            value=row_group_rows,
        )
    if not path.parent.is_dir():
        raise InvalidArgumentError(
            f"output {str(path)!r} cannot be written: directory {str(path.parent)!r} does not exist",
            argument="output",
            value=output,
        )
    existing_output(path)
    if fmt == "parquet":
        import_pyarrow()
    try:
        return EventWriter(path, fmt, row_group_rows=row_group_rows, fields=fields)
    except OSError as exc:  # a folder we may not write (the message names the output, not our temp file)
        raise InvalidArgumentError(
            f"cannot write {str(path)!r}: {exc.strerror or exc} in {str(path.parent)!r}"
        ) from None


def _stream_writer(stream: BinaryIO, format: str | None) -> EventWriter:
    fmt = (format or "jsonl").lower()
    if fmt not in ("jsonl", "csv"):
        raise InvalidArgumentError(
            f"a stream takes jsonl or csv, not {format!r}: Parquet needs a file (its footer comes last)"
        )
    if not callable(getattr(stream, "write", None)):
        raise InvalidArgumentError(f"output must be a path or a binary stream, got {type(stream).__name__}")
    return EventWriter(None, fmt, stream=stream)


class EventWriter:
    """Writes batches of events to a temporary file; :meth:`commit` moves it onto the output.

    A context manager: leaving the ``with`` block normally commits, an exception aborts. After a
    commit, :attr:`events` is the number of events written and :attr:`bytes` the file's size.

    With ``stream`` (a binary stream such as ``sys.stdout.buffer``; ``output`` is then None), each
    batch is written to it as it comes: nothing is atomic there, and after a failure what was written
    stays (whole lines: JSONL events or CSV rows).
    """

    def __init__(
        self,
        output: Path | None,
        format: str,
        *,
        row_group_rows: int = ROW_GROUP_ROWS,
        stream: BinaryIO | None = None,
        fields: Sequence[Field] = EVENT,
    ) -> None:
        self.path: Final = output
        self.format: Final = format
        self.events = 0
        self._size = 0
        self._state = "open"
        if stream is not None:
            self._temp: AtomicFile | _Stream = _Stream(stream)
        else:
            assert output is not None  # noqa: S101  (open_writer passes one or the other)
            self._temp = AtomicFile(output)
        try:
            self._sink = make_sink(format, self._temp.file, row_group_rows=row_group_rows, fields=fields)
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
        return Encoded(
            events=len(events),
            parts=(self._sink.encode(events),) if events else (),
            trim=getattr(events, "trim", Trim()),
            unknown=getattr(events, "unknown", frozenset()),
            tail=getattr(events, "tail", frozenset()),
        )

    @property
    def decode_ahead(self) -> int:
        """Windows past the one being written that may be encoded at once, each in a thread of its
        own (``_drive.Decoder``): two for JSONL and CSV, whose encoding from the body is mostly
        pyarrow's reader (the GIL released) and makes text, not objects for the collector (in one
        run of ``make bench``: JSONL 1.9x -> 2.4x the script, CSV 1.6x -> 1.8x); one for Parquet,
        whose peak memory is bounded by what is in flight (its tables are several times the body)."""
        return 2 if self.format in ("jsonl", "csv") else 1

    def encode_body(self, content: bytes, window: DateRange) -> Encoded | None:
        """Encode the events of ``window``'s 200 response body straight from its bytes, when the
        format can; None otherwise, and the caller decodes the body as usual.

        With pyarrow's JSON reader (C++, no Python object per event), which takes only what it can
        read exactly as the usual path would. Parquet: the table (``_arrow_body.body_to_table``);
        once the window rules have run (when the window is delivered: ``Encoded.edge``), it equals
        ``encode(<the body's events, checked>)``. JSONL: each event's text as the server sent it,
        by the window rules (``_arrow_body.body_to_lines``); for a body laid out compactly, as
        servers send it, the same bytes as ``encode``. Not CSV.
        """
        part = self._sink.encode_body(content, window)
        if part is None:
            return None
        if isinstance(part, BodyLines):
            text = TextPart(part.data, part.ids)
            return Encoded(
                len(part.ids),
                (text,) if part.ids else (),
                trim=part.trim,
                unknown=part.unknown,
                tail=part.tail,
            )
        return Encoded(len(part), (part,), unknown=part.unknown)

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
        if self._state != "open":
            raise RuntimeError(f"this writer is already {self._state}")
        try:
            self._sink.finish()
            self._size = self._temp.commit()
        except BaseException:
            self.abort()
            raise
        self._state = "committed"

    def finish(self, *, fsync: bool = True) -> AtomicFile:
        """Finish and close the temporary file (fsync'd unless ``fsync=False``) without renaming it:
        the caller publishes the returned :class:`AtomicFile` (or aborts it) once it is durable, as a
        dataset does for a batch of days made durable together (:mod:`._durable`). Files only."""
        temp = self._temp
        if self._state != "open" or not isinstance(temp, AtomicFile):
            raise RuntimeError(f"this writer is {self._state}, to {'a file' if self.path else 'a stream'}")
        try:
            self._sink.finish()
            self._size = temp.close(fsync=fsync)
        except BaseException:
            self.abort()
            raise
        self._state = "finished"
        return temp

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
    """A window's events encoded by :meth:`EventWriter.encode` (or ``encode_body``), not written yet:
    their count and parts (:class:`TextPart` or ``_arrow.Columns``), with what the window rules
    dropped, the unknown fields and the ids of the window's last day (``_edges.Edged``)."""

    events: int
    parts: tuple[Any, ...]
    trim: Trim = NO_TRIM
    unknown: frozenset[str] = frozenset()
    tail: frozenset[int] = frozenset()

    def __len__(self) -> int:
        return self.events

    def __add__(self, other: Encoded) -> Encoded:
        """The halves of a split window, in order; an id in both is kept once."""
        if not self.parts or not other.parts:
            whole = other if other.parts else self
            trim = self.trim + other.trim
            return attrs.evolve(whole, trim=trim, unknown=self.unknown | other.unknown, tail=other.tail)
        if not isinstance(self.parts[0], TextPart):
            (joined,) = _columns(self.parts, other.parts)
            return Encoded(len(joined), (joined,), trim=joined.trim, unknown=joined.unknown, tail=joined.tail)
        seen = {ident for part in self.parts for ident in part.ids}
        parts = tuple(part.without(seen) for part in other.parts)
        count = sum(len(part.ids) for part in parts)
        return Encoded(
            self.events + count,
            self.parts + parts,
            trim=self.trim + other.trim + Trim(repeated=other.events - count),
            unknown=self.unknown | other.unknown,
            tail=other.tail,
        )

    def edge(self, window: DateRange, seen: frozenset[int]) -> tuple[Encoded, Trim, frozenset[int]]:
        if self.parts and not isinstance(self.parts[0], TextPart):
            (columns,) = self.parts
            edged, dropped, tail = columns.edge(window, seen)
            parts = (edged,) if len(edged) else ()
            encoded = Encoded(len(edged), parts, trim=edged.trim, unknown=edged.unknown, tail=tail)
            return encoded, dropped, tail
        if not seen or all(seen.isdisjoint(part.ids) for part in self.parts):
            return self, Trim(), self.tail
        parts = tuple(part.without(seen) for part in self.parts)
        kept = sum(len(part.ids) for part in parts)
        encoded = attrs.evolve(self, events=kept, parts=parts)
        return encoded, Trim(delivered=self.events - kept), self.tail


def _columns(first: tuple[Any, ...], second: tuple[Any, ...]) -> tuple[Any]:
    joined = first[0]
    for part in first[1:] + second:
        joined = joined + part
    return (joined,)


# -- the temporary file (or the caller's stream) -----------------------------------------------------


class _Counting(io.RawIOBase):
    """The caller's binary stream, counting the bytes written to it (never closing it)."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.count = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.stream.write(data)
        self.count += len(data)
        return len(data)

    def flush(self) -> None:
        self.stream.flush()


class _Stream:
    """What :class:`AtomicFile` is for a file, for a stream: ``commit`` flushes and counts."""

    def __init__(self, stream: BinaryIO) -> None:
        self.file: BinaryIO = _Counting(stream)  # type: ignore[assignment]  # a binary writer

    def commit(self) -> int:
        self.file.flush()
        return self.file.count  # type: ignore[attr-defined, no-any-return]  # a _Counting

    def abort(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.file.flush()  # what was written stays written


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
