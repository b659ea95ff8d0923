"""The export formats: each turns a window's events into the file's encoding (pure, thread-safe)
and appends encoded windows to the file. What each format keeps is described in ``_export``.

- JSONL: exactly what the server sent (orjson when installed, else the standard library; the same
  bytes).
- CSV: the spec's fields in spec order, then ``_extra`` (``CSV_COLUMNS``).
- Parquet: ``_arrow.arrow_schema``, in row groups of ``row_group_rows``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
import operator
from collections.abc import Callable, Sequence
from typing import Any, BinaryIO, Final, Protocol

import attrs

from ._arrow import (
    EXTRA,
    Columns,
    events_columns,
    events_to_table,
    extra_texts,
    import_pyarrow,
    parquet_schema,
)
from ._arrow_body import BodyLines, body_to_csv, body_to_lines, body_to_table
from ._checks import ID
from ._edges import Events
from ._schema import EVENT, EVENT_NAMES, Field
from .errors import DateRange

Event = dict[str, Any]
_GET_ID: Final = operator.itemgetter(ID)
_GET_GET: Final = operator.attrgetter("get")

CSV_COLUMNS: Final = (*EVENT_NAMES, EXTRA)
"""The CSV header: the spec's fields in spec order, then ``_extra``."""


@attrs.frozen
class TextPart:
    """A batch encoded as text, one event a row (JSONL bytes or CSV text), and the rows' ids."""

    data: bytes | str
    ids: tuple[int, ...]

    def without(self, drop: frozenset[int] | set[int]) -> TextPart:
        """The rows whose id is not in ``drop`` (rare: only when an id repeats across a window edge)."""
        keep = [i for i, ident in enumerate(self.ids) if ident not in drop]
        ids = tuple(self.ids[i] for i in keep)
        if isinstance(self.data, bytes):
            lines = self.data.splitlines(keepends=True)
            if len(lines) == len(self.ids):  # a row a line: JSONL (JSON text holds no raw line
                return TextPart(b"".join(lines[i] for i in keep), ids)  # break), or CSV without one
            text = self.data.decode()  # CSV rows read from a body, with a line break in a cell
            return TextPart(_csv_rows(text, keep).encode(), ids)
        return TextPart(_csv_rows(self.data, keep), ids)


def _csv_rows(text: str, keep: list[int]) -> str:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    out = io.StringIO(newline="")
    csv.writer(out).writerows(rows[i] for i in keep)
    return out.getvalue()


class _Sink(Protocol):
    def encode(self, events: Sequence[Event]) -> Any:
        """A non-empty batch in the file's encoding; pure and thread-safe (no writes)."""

    def encode_body(self, content: bytes, window: DateRange) -> Any:
        """The events of a 200 body, encoded straight from its bytes, or None (see EventWriter)."""

    def write_encoded(self, part: Any) -> None:
        """Append what :meth:`encode` returned."""

    def finish(self) -> None:
        """Write everything still buffered to the file, without closing it."""

    def abort(self) -> None:
        """Release what the sink holds; the file is about to be deleted."""


def make_sink(format: str, file: BinaryIO, *, row_group_rows: int, fields: Sequence[Field] = EVENT) -> _Sink:
    """The sink of ``format``; ``fields`` are the columns of CSV and Parquet (a dataset passes the
    schema its files are written with; everything else, the spec's)."""
    if format == "jsonl":
        return _JsonlSink(file)  # every key as sent: no columns
    if format == "csv":
        return _CsvSink(file, tuple(fields))
    return _ParquetSink(file, row_group_rows=row_group_rows, fields=tuple(fields))


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
            objects = isinstance(events, Events) or all(type(e) is dict for e in events)  # Events: checked
            if body.count(b"},{") == len(events) - 1 and objects:
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

    def encode(self, events: Sequence[Event]) -> TextPart:
        return TextPart(self._encode(events), tuple(map(_GET_ID, events)))

    def encode_body(self, content: bytes, window: DateRange) -> BodyLines | None:
        return body_to_lines(content, window)

    def write_encoded(self, part: TextPart) -> None:
        self._file.write(part.data)  # type: ignore[arg-type]  # bytes: this sink made it

    def finish(self) -> None:
        pass

    def abort(self) -> None:
        pass


class _CsvSink:
    def __init__(self, file: BinaryIO, fields: tuple[Field, ...] = EVENT) -> None:
        self._fields = fields
        self._names = tuple(f.name for f in fields)
        self._file = file
        self._text = io.TextIOWrapper(file, encoding="utf-8", newline="")
        self._writer = csv.writer(self._text)
        self._writer.writerow((*self._names, EXTRA))

    def encode(self, events: Sequence[Event]) -> TextPart:
        # csv writes None as an empty cell, so a missing key and a null look the same.
        unknown = getattr(events, "unknown", None)
        if unknown is None:
            unknown = set().union(*events) - set(self._names)
        # Each row: the spec's fields (event.get of each name, C loops only), then _extra.
        rows = map(tuple, map(map, map(_GET_GET, events), itertools.repeat(self._names)))
        extras = zip(extra_texts(events, unknown))
        text = io.StringIO(newline="")
        csv.writer(text).writerows(map(tuple.__add__, rows, extras))
        return TextPart(text.getvalue(), tuple(map(_GET_ID, events)))

    def encode_body(self, content: bytes, window: DateRange) -> BodyLines | None:
        if self._fields != EVENT:  # the fast path writes the spec's columns only
            return None
        return body_to_csv(content, window)

    def write_encoded(self, part: TextPart) -> None:
        if isinstance(part.data, bytes):  # rows made from the body, in UTF-8 already
            self._text.flush()
            self._file.write(part.data)
        else:
            self._text.write(part.data)

    def finish(self) -> None:
        self._text.flush()
        self._text.detach()  # hand the binary file back, still open, for fsync and rename

    def abort(self) -> None:
        # Already detached by finish(), or its flush failed: either way the file is deleted next.
        with contextlib.suppress(ValueError, OSError):
            self._text.detach()


class _ParquetSink:
    def __init__(self, file: BinaryIO, *, row_group_rows: int, fields: tuple[Field, ...] = EVENT) -> None:
        self._pa = import_pyarrow()
        self._fields = fields
        self._schema = parquet_schema(fields)
        self._writer = self._pa.parquet.ParquetWriter(file, self._schema)
        self._row_group_rows = row_group_rows
        self._pending: list[Any] = []
        self._pending_rows = 0

    def encode(self, events: Sequence[Event]) -> Columns:
        if isinstance(events, Events):
            return events_columns(events, self._fields)
        return Columns(events_to_table(events, fields=self._fields), checked=True)  # the writer's own callers

    def encode_body(self, content: bytes, window: DateRange) -> Columns | None:
        if self._fields != EVENT:  # the fast path reads the spec's columns only
            return None
        return body_to_table(content, self._schema)

    def write_encoded(self, part: Columns) -> None:
        self._pending.append(part.table)
        self._pending_rows += part.table.num_rows
        if self._pending_rows >= self._row_group_rows:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        table = self._pa.concat_tables(self._pending)
        self._pending, self._pending_rows = [], 0
        self._writer.write_table(table, row_group_size=table.num_rows)
        del table
        # Give the pool's free pages back after each row group: mimalloc kept the high-water mark of
        # every window's conversion, so a long export's peak grew (2 years over 2 months: 1.15x ->
        # 1.08x in `make bench`; no throughput change measured).
        self._pa.default_memory_pool().release_unused()

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
