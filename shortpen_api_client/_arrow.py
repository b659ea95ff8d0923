"""Events as Arrow: the schema of the Parquet export and of the columnar API, and the two ways in.

The columns: the spec's fields (``_schema.EVENT``, in spec order, typed by ``_schema.arrow_type``),
with two more, documented in the README:

- ``created_at_offset`` (int16, right after ``created_at``): the account's UTC offset of that event
  in minutes east of UTC, as ``created_at`` was sent. ``created_at`` itself is the UTC instant, so
  the account-local time is ``created_at + created_at_offset minutes`` and its date the day the API
  filters by (``start``/``end``) and a sync's ``date=`` partition.
- ``_extra`` (string, last): the fields the spec does not know (a server newer than the pinned
  spec), as one compact JSON object, keys sorted, null values left out; null when there are none.

Absent and null optional fields are both null (the models read both as ``None``).

Two ways in: :func:`events_to_table` from decoded (and checked) event dicts, and
``_arrow_body.body_to_table`` from a response's bytes with pyarrow's JSON reader. Tables read from
bytes have not met the window rules yet (the reader does not know the window):
:meth:`Columns.edge` applies them when the window is delivered, as ``_edges.checked`` does for
decoded events.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
import sys
from collections.abc import Sequence
from typing import Any, Final

from ._checks import ID
from ._edges import NO_TRIM, Event, Events, Trim
from ._schema import EVENT, TIMESTAMP, Field, arrow_type
from ._spec import SPEC_SHA256
from ._version import __version__
from .errors import DateRange, InvalidResponseError

OFFSET: Final = f"{TIMESTAMP}_offset"
"""The column of the account's UTC offset (minutes east of UTC), right after ``created_at``."""
EXTRA: Final = "_extra"
"""The column of the fields the spec does not know, as JSON text (last)."""
PARQUET_INSTALL_HINT: Final = 'pip install "shortpen-api-client[parquet]"'

_US_PER_MINUTE: Final = 60_000_000
_EPOCH: Final = dt.datetime(1970, 1, 1)


_MODULES: Final = ("pyarrow", "pyarrow.compute", "pyarrow.json", "pyarrow.parquet")


def import_pyarrow() -> Any:
    """``pyarrow`` (the ``parquet`` extra), or an ImportError that says how to install it. Runs for
    every window: once imported, a look into ``sys.modules`` (an ``import`` statement is not free)."""
    if all(sys.modules.get(name) is not None for name in _MODULES):
        return sys.modules["pyarrow"]
    try:
        import pyarrow
        import pyarrow.compute
        import pyarrow.json
        import pyarrow.parquet
    except ImportError as exc:
        raise ImportError(f"Arrow and Parquet need pyarrow: {PARQUET_INSTALL_HINT}") from exc
    return pyarrow


def column_names(fields: Sequence[Field] = EVENT) -> tuple[str, ...]:
    """The columns in order: the spec's fields, ``created_at_offset`` after ``created_at``, ``_extra``."""
    names: list[str] = []
    for field in fields:
        names.append(field.name)
        if field.name == TIMESTAMP:
            names.append(OFFSET)
    return (*names, EXTRA)


@functools.cache
def arrow_schema(fields: tuple[Field, ...] = EVENT) -> Any:
    """The Arrow schema of the Parquet export and the columnar API, with this client's version and
    spec hash as metadata. Every column is nullable, as in the files of earlier versions (a dataset
    folder mixes them): required fields are never null all the same (``_checks``)."""
    pa = import_pyarrow()
    columns = []
    for field in fields:
        columns.append(pa.field(field.name, arrow_type(field, pa)))
        if field.name == TIMESTAMP:
            columns.append(pa.field(OFFSET, pa.int16()))
    columns.append(pa.field(EXTRA, pa.string()))
    metadata = {"shortpen_api_client.version": __version__, "shortpen_api_client.spec_sha256": SPEC_SHA256}
    return pa.schema(columns, metadata=metadata)


parquet_schema = arrow_schema

#: Fields read as text first and converted by Arrow afterwards (ISO dates and date-times).
PARSED: Final = tuple(f.name for f in EVENT if f.kind in ("date", "datetime"))


def as_text(pa: Any, fields: Sequence[Field] = EVENT) -> list[Any]:
    """The spec's fields, as the JSON reader and the struct conversion read them (dates as text)."""
    return [pa.field(f.name, pa.string() if _is_parsed(f) else arrow_type(f, pa)) for f in fields]


def _is_parsed(field: Field) -> bool:
    return field.kind in ("date", "datetime")


# -- the window rules, on a table -----------------------------------------------------------------------


class Columns:
    """A window's events as an Arrow table of :func:`arrow_schema` (a chunk of the columnar API and
    the Parquet export). ``checked``: whether the window rules already ran (decoded events) or are
    still to run when the window is delivered (:func:`body_to_table`)."""

    def __init__(
        self,
        table: Any,
        *,
        checked: bool,
        trim: Trim = NO_TRIM,
        unknown: frozenset[str] = frozenset(),
        tail: frozenset[int] = frozenset(),
    ) -> None:
        self.table = table
        self.checked = checked
        self.trim = trim
        self.unknown = unknown
        self.tail = tail

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def __add__(self, other: Columns) -> Columns:
        """The halves of a split window, in order (an id in both is kept once, by :meth:`edge` or here)."""
        pa = import_pyarrow()
        if self.checked and other.checked:
            kept = _without(other.table, _ids(self.table))
            repeated = other.table.num_rows - kept.num_rows
            return Columns(
                pa.concat_tables([self.table, kept]),
                checked=True,
                trim=self.trim + other.trim + Trim(repeated=repeated),
                unknown=self.unknown | other.unknown,
                tail=other.tail,
            )
        return Columns(
            pa.concat_tables([self.table, other.table]),
            checked=False,
            trim=self.trim + other.trim,
            unknown=self.unknown | other.unknown,
        )

    def edge(self, window: DateRange, seen: frozenset[int]) -> tuple[Columns, Trim, frozenset[int]]:
        pa = import_pyarrow()
        pc = pa.compute
        table, trim, tail = self.table, self.trim, self.tail
        if not self.checked:
            table, trim, tail = window_rules(pa, table, window, trim)
        dropped = Trim()
        if seen and table.num_rows:
            mask = pc.is_in(table.column(ID), value_set=pa.array(sorted(seen), pa.int64()))
            if pc.any(mask).as_py():
                kept = table.filter(pc.invert(mask))
                dropped = Trim(delivered=table.num_rows - kept.num_rows)
                table = kept
        return Columns(table, checked=True, trim=trim, unknown=self.unknown, tail=tail), dropped, tail


def _ids(table: Any) -> frozenset[int]:
    return frozenset(table.column(ID).to_pylist())


def _without(table: Any, ids: frozenset[int]) -> Any:
    pa = import_pyarrow()
    if not ids or not table.num_rows:
        return table
    mask = pa.compute.is_in(table.column(ID), value_set=pa.array(sorted(ids), pa.int64()))
    return table.filter(pa.compute.invert(mask))


def _micros(day: dt.date) -> int:
    return (dt.datetime.combine(day, dt.time()) - _EPOCH) // dt.timedelta(microseconds=1)


def window_rules(pa: Any, table: Any, window: DateRange, trim: Trim) -> tuple[Any, Trim, frozenset[int]]:
    """``_edges`` rules 3 (within the window) and 4 on a table read from a body, ascending already."""
    pc = pa.compute
    if not table.num_rows:
        return table, trim, frozenset()
    start, end = window
    low, high = _micros(start), _micros(end + dt.timedelta(days=1))
    local = _local_micros(pa, table)
    inside = pc.and_(pc.greater_equal(local, low), pc.less(local, high))
    outside = 0
    if not pc.all(inside).as_py():
        spill = pc.equal(local, high)
        stray = pc.invert(pc.or_(inside, spill))
        if pc.any(stray).as_py():
            index = pc.index(stray, True).as_py()
            row = table.slice(index, 1).to_pylist()[0]
            at = _EPOCH + dt.timedelta(microseconds=local[index].as_py())
            raise InvalidResponseError(
                f"event {row[ID]!r} has {TIMESTAMP} at local time {at.isoformat()} "
                f"(offset {row[OFFSET]:+d} min), outside the window's days by more than its first instant "
                "after the window (an inclusive end): the server's days are not the account-local days "
                "this client assumes (its offset), so nothing was dropped on that guess",
                window=window,
            )
        outside = table.num_rows - pc.sum(pc.cast(inside, pa.int64())).as_py()
        table, local = table.filter(inside), local.filter(inside)
    repeated = 0
    if pc.count_distinct(table.column(ID)).as_py() != table.num_rows:
        order = pa.table({"id": table.column(ID), "row": pa.array(range(table.num_rows), pa.int64())})
        first = order.group_by("id", use_threads=False).aggregate([("row", "min")]).column("row_min")
        keep = pc.is_in(order.column("row"), value_set=first)
        repeated = table.num_rows - len(first)
        table, local = table.filter(keep), local.filter(keep)
    last = pc.greater_equal(local, _micros(end))
    tail = frozenset(table.column(ID).filter(last).to_pylist())
    return table, trim + Trim(repeated=repeated, outside=outside), tail


def _local_micros(pa: Any, table: Any) -> Any:
    """Each event's local wall time as microseconds since 1970-01-01 (its instant plus its offset)."""
    pc = pa.compute
    utc = pc.cast(table.column(TIMESTAMP), pa.int64())
    offset = pc.multiply(pc.cast(table.column(OFFSET), pa.int64()), _US_PER_MINUTE)
    return pc.add(utc, offset)


# -- from event dicts ------------------------------------------------------------------------------------


def events_to_table(
    events: Sequence[Event], schema: Any | None = None, fields: tuple[Field, ...] = EVENT
) -> Any:
    """One Arrow table of :func:`arrow_schema` from a window's checked events (``_edges.checked``).

    The batch becomes one struct array in a single C++ pass (keys looked up by name, missing ones
    null, unknown ones ignored); dates and date-times enter as text and are then parsed vectorised;
    the offsets come from ``created_at``'s text and ``_extra`` from the unknown keys.
    """
    pa = import_pyarrow()
    schema = schema if schema is not None else arrow_schema(fields)
    try:
        struct = pa.array(events, type=pa.struct(as_text(pa, fields)))
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        _raise_for_bad_column(pa, events, fields)
        raise
    columns = dict(zip([f.name for f in fields], struct.flatten(), strict=True))
    for name in (f.name for f in fields if _is_parsed(f)):
        text = columns[name]
        columns[name] = _parse_column(pa, schema.field(name), text, events)
        if name == TIMESTAMP:
            columns[OFFSET] = offsets(pa, text, events)
    unknown = getattr(events, "unknown", None)
    if unknown is None:
        unknown = (
            frozenset(set().union(*events)) - frozenset(f.name for f in fields) if events else frozenset()
        )
    columns[EXTRA] = pa.array(extra_texts(events, unknown), pa.string())
    return pa.Table.from_arrays([columns[name] for name in schema.names], schema=schema)


def extra_texts(events: Sequence[Event], unknown: frozenset[str] | set[str]) -> list[str | None]:
    """The ``_extra`` value of each event: its non-null unknown fields as a JSON object, keys sorted
    (compact, non-ASCII kept, as the standard library writes it); None when it has none."""
    if not unknown:
        return [None] * len(events)
    names = sorted(unknown)
    objects = [{name: value for name in names if (value := event.get(name)) is not None} for event in events]
    texts = _orjson_texts(objects) if _plain(events, names) else None
    if texts is None:
        texts = [_STDLIB_DUMPS(extra) for extra in objects]
    return [None if text == "{}" else text for text in texts]


_STDLIB_DUMPS: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_PLAIN: Final = frozenset({str, int, bool, type(None)})


def _plain(events: Sequence[Event], names: list[str]) -> bool:
    """Whether these fields hold only text, integers, booleans and nulls: what orjson writes exactly
    as the standard library does (floats print differently: 1e16 against 1e+16)."""
    return all(set(map(type, map(dict.get, events, itertools.repeat(name)))) <= _PLAIN for name in names)


def _orjson_texts(objects: list[dict[str, Any]]) -> list[str] | None:
    """Each object as JSON text, encoded with orjson in one call and cut at the objects' boundaries
    (compact output puts exactly one ``},{`` between two; a value holding one makes the cut
    ambiguous: None, and the caller encodes them one by one). None without orjson too."""
    try:
        import orjson
    except ImportError:
        return None
    try:
        body = orjson.dumps(objects).decode()[1:-1]
    except orjson.JSONEncodeError:  # an integer beyond 64 bits: the standard library writes it
        return None
    if body.count("},{") != len(objects) - 1:
        return None
    return body.replace("},{", "}\n{").split("\n") if objects else []


def _raise_for_bad_column(pa: Any, events: Sequence[Event], fields: Sequence[Field] = EVENT) -> None:
    for field in as_text(pa, fields):
        try:
            pa.array([event.get(field.name) for event in events], type=field.type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
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
    """Parse a date-time text column into UTC instants, offsets applied: Arrow's own ISO 8601 cast
    (vectorised; the usual forms, ``Z``, up to 6 fractional digits), else ``datetime.fromisoformat``
    one value at a time. A value without an offset is an error (its instant is unknown); the
    client's events never have one (``_edges.checked``), this guards the writer's own callers."""
    utc = pa.timestamp("us", tz="UTC")
    try:
        return text.cast(utc)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    parsed: list[dt.datetime | None] = []
    for value, event in zip(text.to_pylist(), events, strict=True):
        if value is None:
            parsed.append(None)
            continue
        try:
            instant = dt.datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"event {event.get(ID)!r}: {name} {value!r} is not a date-time") from exc
        if instant.tzinfo is None:
            raise ValueError(f"event {event.get(ID)!r}: {name} {value!r} has no UTC offset")
        parsed.append(instant)
    return pa.array(parsed, type=utc)


def offsets(pa: Any, text: Any, events: Sequence[Event] | None) -> Any:
    """``created_at_offset`` from the text of ``created_at``: vectorised for ``±HH:MM`` and ``Z``;
    None for any other form when ``events`` is None (the body path falls back), else parsed one at a
    time."""
    pc = pa.compute
    zulu = pc.ends_with(text, "Z")
    tail = pc.if_else(zulu, "+00:00", pc.utf8_slice_codeunits(text, -6))
    plain = pc.match_substring_regex(tail, r"^[+-]\d\d:\d\d$")
    if pc.all(plain, min_count=0).as_py() and not text.null_count:
        sign = pc.if_else(pc.starts_with(tail, "-"), -1, 1)
        hours = pc.cast(pc.utf8_slice_codeunits(tail, 1, 3), pa.int32(), safe=False)
        minutes = pc.cast(pc.utf8_slice_codeunits(tail, 4, 6), pa.int32(), safe=False)
        total = pc.multiply(sign, pc.add(pc.multiply(hours, 60), minutes))
        return pc.cast(total, pa.int16())
    if events is None:
        return None
    values = [_offset(v) for v in text.to_pylist()]
    return pa.array(values, pa.int16())


def _offset(stamp: str | None) -> int | None:
    """Minutes east of UTC of one ``created_at`` (None where it is null or has no offset: the
    timestamp column's conversion reports those)."""
    try:
        offset = dt.datetime.fromisoformat(stamp).utcoffset() if stamp is not None else None
    except ValueError:
        return None
    return None if offset is None else offset // dt.timedelta(minutes=1)


def events_columns(events: Events, fields: tuple[Field, ...] = EVENT) -> Columns:
    """A window's checked events as :class:`Columns` (the columnar API's and Parquet's chunk)."""
    return Columns(
        events_to_table(events, fields=fields),
        checked=True,
        trim=events.trim,
        unknown=events.unknown,
        tail=events.tail,
    )
