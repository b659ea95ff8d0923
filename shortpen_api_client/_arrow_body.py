"""Arrow straight from a response's bytes: pyarrow's JSON reader (C++, no Python object per event).

It takes what real servers send (absent and null values, unknown fields of plain types, sub-second
stamps, ties, events out of order: a stable sort) and returns None for the rest (a wrong type, a
missing required field, an unknown field holding a float, a list, an object or a control character),
which the caller then decodes the usual way, with the same result; ``_decode.FALLBACKS["arrow"]``
counts those. The window rules run when the window is delivered (``_arrow.Columns.edge``).
"""

from __future__ import annotations

import json
from typing import Any, Final

import attrs

from . import _decode
from ._arrow import (
    EXTRA,
    OFFSET,
    PARSED,
    Columns,
    arrow_schema,
    as_text,
    import_pyarrow,
    offsets,
    window_rules,
)
from ._checks import ID
from ._edges import NO_TRIM, Trim
from ._schema import EVENT, TIMESTAMP
from .errors import DateRange


def body_to_table(content: bytes, schema: Any | None = None) -> Columns | None:
    """The events of a 200 ``AnalyticsResponse`` body as :class:`Columns`, read by pyarrow's JSON
    reader, or None when it cannot read the body exactly as the usual path would (see the module
    docstring); the window rules run when the window is delivered."""
    pa = import_pyarrow()
    schema = schema if schema is not None else arrow_schema()
    try:
        table = _read_body(pa, content, schema) if readable(pa, content) else None
    except reader_errors(pa):
        table = None
    if table is None:
        _decode.FALLBACKS["arrow"] += 1
        return None
    table, unknown = table
    return Columns(table, checked=False, unknown=unknown)


def window_table(content: bytes, window: DateRange) -> Columns | None:
    """:func:`body_to_table` as a driver's ``from_body`` (the window rules run on delivery)."""
    return body_to_table(content)


#: A container as a member's value: the body's one is its ``data`` list (a second, an unknown field
#: holding a list or an object, which no fast path takes). JSON whitespace may sit between.
_MEMBER_CONTAINER: Final = r":[ \t\n\r]*[\[{]"
#: A list as a list's item (only looked for when the body holds more than one "[").
_LIST_IN_LIST: Final = r"[\[,][ \t\n\r]*\["


def readable(pa: Any, content: bytes) -> bool:
    """Whether pyarrow's reader may be given this body: UTF-8 without a byte order mark, as the usual
    decoders require (the reader takes a leading BOM and invalid UTF-8 in strings, which orjson and
    the standard library refuse), and no container nested in an event or in the ``data`` list.

    The nesting is for safety: the reader recurses once per level and overflows its thread's stack
    somewhere past 10,000 levels (a 60 KB body of ``[[[...`` killed the process with SIGSEGV), where
    orjson stops at 1,024 with an error. Nested values are refused by every fast path anyway, so such
    a body goes the usual way without being read. Checked by Arrow on the bytes in place (RE2, linear
    time): ``bytes.decode`` made a ``str`` of each body, whose size after the first raised glibc's
    mmap threshold and left the heap fragmented (peak RSS of a 2-year Parquet export +7 %)."""
    if content.startswith(b"\xef\xbb\xbf"):
        return False
    ends = pa.array([0, len(content)], pa.int64()).buffers()[1]
    text = pa.Array.from_buffers(pa.large_string(), 1, [None, ends, pa.py_buffer(content)])
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        return False
    pc = pa.compute
    if pc.count_substring_regex(text, _MEMBER_CONTAINER)[0].as_py() != 1:
        return False
    return content.count(b"[") == 1 or not pc.match_substring_regex(text, _LIST_IN_LIST)[0].as_py()


def reader_errors(pa: Any) -> tuple[type[Exception], ...]:
    """What pyarrow's reader and kernels raise for a body they cannot take (the caller falls back)."""
    return (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError)


def pyarrow_or_none() -> Any:
    """``pyarrow`` when installed, else None (the fast paths are then not taken)."""
    try:
        return import_pyarrow()
    except ImportError:
        return None


def ascending(pa: Any, table: Any) -> Any:
    """``table`` ascending by ``created_at``: a stable sort (ties keep the server's order), only
    when it is not ascending already."""
    pc = pa.compute
    instants = table.column(TIMESTAMP)
    if table.num_rows > 1 and not pc.all(pc.less_equal(instants[:-1], instants[1:])).as_py():
        table = table.take(pc.sort_indices(table, sort_keys=[(TIMESTAMP, "ascending")]))
    return table


def _read(pa: Any, content: bytes, fields: list[Any]) -> Any:
    envelope = pa.schema([("success", pa.bool_()), ("data", pa.list_(pa.struct(fields)))])
    return pa.json.read_json(
        pa.py_buffer(content),
        read_options=pa.json.ReadOptions(use_threads=False, block_size=max(len(content), 1) + 1),
        parse_options=pa.json.ParseOptions(explicit_schema=envelope, unexpected_field_behavior="infer"),
    )


def _read_body(
    pa: Any, content: bytes, schema: Any, *, sent: str | None = None, unknown: str | None = None
) -> tuple[Any, frozenset[str]] | None:
    """The table of :func:`body_to_table` (ascending) and the unknown fields' names; with ``sent``,
    one more column of that name: ``created_at`` as sent (the CSV's); with ``unknown``, each unknown
    field's column too, named ``unknown`` + its name (the models')."""
    known = as_text(pa)
    read = _read(pa, content, known)
    data = read.column("data")
    item = data.type.value_type
    stamps = [item.field(i).name for i in range(item.num_fields) if pa.types.is_timestamp(item.field(i).type)]
    if stamps:  # unknown text fields that look like date-times: read them as the text they are
        read = _read(pa, content, known + [pa.field(name, pa.string()) for name in stamps])
        data = read.column("data")
    if read.num_rows != 1 or read.column("success")[0].as_py() is not True:
        return None
    data = data.chunk(0) if data.num_chunks == 1 else data.combine_chunks()
    if data.null_count:
        return None
    events = data.flatten()
    if events.null_count:
        return None
    children = {events.type.field(i).name: events.field(i) for i in range(events.type.num_fields)}
    columns: dict[str, Any] = {}
    for field in EVENT:
        column = children.pop(field.name)
        if field.required and column.null_count:
            return None  # the usual path names the event and the field
        columns[field.name] = column
    text = columns[TIMESTAMP]
    minutes = offsets(pa, text, None)
    if minutes is None:
        return None
    columns[OFFSET] = minutes
    for name in PARSED:
        columns[name] = columns[name].cast(schema.field(name).type)
    # The models keep the unknown columns themselves (``unknown``): no _extra text to make.
    extra = (
        _extra_column(pa, children, len(events)) if unknown is None else pa.nulls(len(events), pa.string())
    )
    if extra is None:
        return None
    columns[EXTRA] = extra
    table = pa.Table.from_arrays([columns[name] for name in schema.names], schema=schema)
    if sent is not None:
        table = table.append_column(sent, text)
    for name, column in children.items() if unknown is not None else ():
        table = table.append_column(unknown + name, column)
    return ascending(pa, table), frozenset(
        children
    )  # every key sent somewhere, null or not (as _edges.checked)


def _extra_column(pa: Any, children: dict[str, Any], length: int) -> Any:
    """``_extra`` from the reader's columns of unknown fields (text, integers, booleans; all null);
    None for any other type (the caller falls back)."""
    pc = pa.compute
    parts = []
    for name in sorted(children):
        column = children[name]
        kind = column.type
        if pa.types.is_null(kind) or column.null_count == len(column):
            continue
        if pa.types.is_string(kind):
            if pc.any(pc.match_substring_regex(column, "[\x00-\x1f]")).as_py():
                return None  # control characters: the usual path escapes them
            escaped = pc.replace_substring(pc.replace_substring(column, "\\", "\\\\"), '"', '\\"')
            value = pc.binary_join_element_wise('"', escaped, '"', "")
        elif pa.types.is_int64(kind):
            value = pc.cast(column, pa.string())
        elif pa.types.is_boolean(kind):
            value = pc.if_else(column, "true", "false")
        else:
            return None
        key = json.dumps(name, ensure_ascii=False)
        # ",key:value", or "" where the value is null (binary_join's null_handling="skip" loses rows
        # in pyarrow 26, so nulls are made empty first).
        parts.append(pc.fill_null(pc.binary_join_element_wise("," + key, value, ":"), ""))
    if not parts:
        return pa.nulls(length, pa.string())
    joined = pc.binary_join_element_wise(*parts, "")
    wrapped = pc.binary_join_element_wise("{", pc.utf8_slice_codeunits(joined, 1), "}", "")
    return pc.if_else(pc.equal(joined, ""), pa.scalar(None, pa.string()), wrapped)


# -- JSON lines, for the JSONL export ---------------------------------------------------------------

_DATA: Final = b'"data":['


def _json_lines(content: bytes) -> bytes | None:
    """The events of a compact body (``{...,"data":[{...},{...}]}``, as servers usually send it) as
    JSON lines, each event's text as sent; None for any other layout.

    Each ``},{`` of the list becomes ``}\\n{``. Where one sits inside an event (in a string, or
    between two objects nested in an unknown field) the line it ends is a proper prefix of that
    event's text, which is never a JSON object (a JSON string holds no raw newline; an object is
    complete only at its last ``}``): the reader then fails and the caller decodes the body as
    usual. The envelope is checked on its own: the first ``"data":[`` of a JSON text is never inside
    a string (the quote before its colon would be escaped), and the envelope with that list emptied
    must be a ``success: true`` object whose ``data`` it is (not a nested object's)."""
    at = content.find(_DATA)
    if at < 0 or not content.endswith(b"]}"):
        return None
    start = at + len(_DATA)
    if content[start : start + 1] != b"{" or content[-3:-2] != b"}":
        # No events, or an item that is not an object: the usual path says which. (Every line must
        # start with "{" and end with "}": pyarrow 26's reader crashes on a line "null".)
        return None
    try:
        envelope = _decode.loads(content[:start] + b"]}")
    except (_decode.JSONDecodeError, UnicodeDecodeError):
        return None
    if type(envelope) is not dict or envelope.get("success") is not True or envelope.get("data") != []:
        return None
    return content[start:-2].replace(b"},{", b"}\n{")


@attrs.frozen
class BodyLines:
    """A window's events as JSON lines, each as the server sent it, by the window rules: the JSONL
    export's chunk read from a body (:func:`body_to_lines`)."""

    data: bytes | str
    ids: tuple[int, ...]
    trim: Trim = NO_TRIM
    unknown: frozenset[str] = frozenset()
    tail: frozenset[int] = frozenset()


def _plain(pa: Any, kind: Any) -> bool:
    """Whether an unknown field the reader inferred as ``kind`` reads alike in the usual path, so
    that its text may be carried as sent: text (dates and date-times are text it recognised),
    integers, booleans, nulls; not a float (pyarrow's reader takes NaN, which JSON has not, and
    makes an integer beyond 64 bits one), nor a list or an object (they may hold one)."""
    types = pa.types
    return bool(
        types.is_string(kind)
        or types.is_int64(kind)
        or types.is_boolean(kind)
        or types.is_null(kind)
        or types.is_timestamp(kind)
        or types.is_date(kind)
    )


def body_to_lines(content: bytes, window: DateRange) -> BodyLines | None:
    """A 200 body's events as JSON lines (the JSONL export's fast path), with the window rules
    applied; None when pyarrow is not installed or the body is not one it reads exactly as the
    usual path would (counted in ``_decode.FALLBACKS["lines"]``).

    pyarrow's reader parses the lines (each event's text, as sent: :func:`_json_lines`) against the
    spec's fields, which checks them as ``_checks`` does (types, 64-bit integers, required fields
    not null); ``created_at`` is parsed by Arrow; the rules (ascending, stable; each id once; edge
    spills dropped; other strays refused) run on those columns; the lines are then put in that order.
    No Python object is made per event but the line itself."""
    pa = pyarrow_or_none()
    if pa is None:
        return None
    # A raw CR (JSON whitespace) would stay inside a line, which line-based readers split.
    lines = _json_lines(content) if b"\r" not in content and readable(pa, content) else None
    texts = lines.split(b"\n") if lines is not None else []
    try:
        read = _lines_read(pa, lines, len(texts)) if lines is not None else None
    except reader_errors(pa):
        read = None
    if read is None or lines is None:
        _decode.FALLBACKS["lines"] += 1
        return None
    table, unknown = read
    table, trim, tail = window_rules(pa, table, window, NO_TRIM)
    rows = table.column("_row").to_pylist()
    if rows == list(range(len(texts))):
        data = lines + b"\n"  # in order, nothing dropped
    else:
        data = b"\n".join(map(texts.__getitem__, rows)) + b"\n" if rows else b""
    return BodyLines(data, tuple(table.column(ID).to_pylist()), trim=trim, unknown=unknown, tail=tail)


def _lines_read(pa: Any, lines: bytes, count: int) -> tuple[Any, frozenset[str]] | None:
    """The columns the window rules need (id, created_at, its offset, the line's number), ascending;
    and the unknown fields' names. None for what the usual path reads otherwise."""
    read = pa.json.read_json(
        pa.py_buffer(lines),
        read_options=pa.json.ReadOptions(use_threads=False, block_size=len(lines) + 1),
        parse_options=pa.json.ParseOptions(
            explicit_schema=pa.schema(as_text(pa)),
            unexpected_field_behavior="infer",
            newlines_in_values=False,
        ),
    )
    if read.num_rows != count:  # a line held two objects ("{...} {...}"): not the body's list
        return None
    known = {field.name for field in EVENT}
    for field in EVENT:
        if field.required and read.column(field.name).null_count:
            return None  # the usual path names the event and the field
    unknown = frozenset(read.column_names) - known
    if not all(_plain(pa, read.schema.field(name).type) for name in unknown):
        return None
    text = read.column(TIMESTAMP)
    minutes = offsets(pa, text, None)
    if minutes is None:
        return None
    instants = text.cast(arrow_schema().field(TIMESTAMP).type)
    table = pa.table(
        {ID: read.column(ID), TIMESTAMP: instants, OFFSET: minutes, "_row": pa.array(range(read.num_rows))}
    )
    table = ascending(pa, table)
    return table, unknown


# -- CSV rows, for the CSV export --------------------------------------------------------------------

SENT: Final = "\x00sent"
"""The column of ``created_at`` as sent (a name no JSON field of a table can clash with)."""
_NEEDS_QUOTES: Final = '[,"\r\n]'
"""What makes the csv module (``QUOTE_MINIMAL``, the excel dialect) quote a cell."""


def body_to_csv(content: bytes, window: DateRange) -> BodyLines | None:
    """A 200 body's events as the CSV export's rows (the spec's fields, ``created_at`` as sent, then
    ``_extra``), with the window rules applied; the text the csv module writes for the same events,
    encoded in UTF-8 (bytes).
    None when pyarrow is not installed or :func:`body_to_table` would decline the body (counted in
    ``_decode.FALLBACKS["arrow"]``, as there). Every cell is made by Arrow's string kernels: an
    integer's decimal text, text quoted as the csv module quotes it (only when it holds a comma, a
    quote or a line break; quotes doubled), a null as nothing; rows end in CRLF."""
    pa = pyarrow_or_none()
    if pa is None:
        return None
    pc = pa.compute
    schema = arrow_schema()
    try:
        read = _read_body(pa, content, schema, sent=SENT) if readable(pa, content) else None
    except reader_errors(pa):
        read = None
    if read is None:
        _decode.FALLBACKS["arrow"] += 1
        return None
    table, unknown = read
    cells = [_csv_cells(pa, table.column(SENT if f.name == TIMESTAMP else f.name)) for f in EVENT]
    cells.append(_csv_cells(pa, table.column(EXTRA)))
    rows = pc.binary_join_element_wise(pc.binary_join_element_wise(*cells, ","), "", "\r\n")
    slim = pa.table(
        {ID: table.column(ID), TIMESTAMP: table.column(TIMESTAMP), OFFSET: table.column(OFFSET), "_csv": rows}
    )
    slim, trim, tail = window_rules(pa, slim, window, NO_TRIM)
    text = slim.column("_csv").combine_chunks()
    whole = pa.ListArray.from_arrays(pa.array([0, len(text)], pa.int32()), text)
    data = pc.binary_join(whole, "")[0].as_buffer().to_pybytes()  # UTF-8, as the file wants it
    return BodyLines(data, tuple(slim.column(ID).to_pylist()), trim=trim, unknown=unknown, tail=tail)


def _csv_cells(pa: Any, column: Any) -> Any:
    pc = pa.compute
    if not pa.types.is_string(column.type):
        return pc.fill_null(pc.cast(column, pa.string()), "")
    needs = pc.match_substring_regex(column, _NEEDS_QUOTES)
    if not pc.any(needs).as_py():  # the usual column: no cell to quote
        return pc.fill_null(column, "")
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(column, '"', '""'), '"', "")
    return pc.fill_null(pc.if_else(needs, quoted, column), "")
