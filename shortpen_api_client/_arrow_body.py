"""Arrow straight from a response's bytes: pyarrow's JSON reader (C++, no Python object per event).

It takes what real servers send (absent and null values, unknown fields of plain types, sub-second
stamps, ties, events out of order: a stable sort) and returns None for the rest (a wrong type, a
missing required field, an unknown field holding a float, a list, an object or a control character),
which the caller then decodes the usual way, with the same result; ``_decode.FALLBACKS["arrow"]``
counts those. The window rules run when the window is delivered (``_arrow.Columns.edge``).
"""

from __future__ import annotations

import json
from typing import Any

from . import _decode
from ._arrow import EXTRA, OFFSET, PARSED, Columns, arrow_schema, as_text, import_pyarrow, offsets
from ._schema import EVENT, TIMESTAMP


def body_to_table(content: bytes, schema: Any | None = None) -> Columns | None:
    """The events of a 200 ``AnalyticsResponse`` body as :class:`Columns`, read by pyarrow's JSON
    reader, or None when it cannot read the body exactly as the usual path would (see the module
    docstring); the window rules run when the window is delivered."""
    pa = import_pyarrow()
    schema = schema if schema is not None else arrow_schema()
    try:
        table = _read_body(pa, content, schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
        table = None
    if table is None:
        _decode.FALLBACKS["arrow"] += 1
        return None
    table, unknown = table
    return Columns(table, checked=False, unknown=unknown)


def _read(pa: Any, content: bytes, fields: list[Any]) -> Any:
    envelope = pa.schema([("success", pa.bool_()), ("data", pa.list_(pa.struct(fields)))])
    return pa.json.read_json(
        pa.py_buffer(content),
        read_options=pa.json.ReadOptions(use_threads=False, block_size=max(len(content), 1) + 1),
        parse_options=pa.json.ParseOptions(explicit_schema=envelope, unexpected_field_behavior="infer"),
    )


def _read_body(pa: Any, content: bytes, schema: Any) -> tuple[Any, frozenset[str]] | None:
    pc = pa.compute
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
    extra = _extra_column(pa, children, len(events))
    if extra is None:
        return None
    columns[EXTRA] = extra
    table = pa.Table.from_arrays([columns[name] for name in schema.names], schema=schema)
    instants = table.column(TIMESTAMP)
    if table.num_rows > 1 and not pc.all(pc.less_equal(instants[:-1], instants[1:])).as_py():
        table = table.take(pc.sort_indices(table, sort_keys=[(TIMESTAMP, "ascending")]))  # stable
    return table, frozenset(children)  # every key sent somewhere, null or not (as _edges.checked)


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
