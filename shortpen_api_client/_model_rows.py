"""``clicks()`` straight from a response's bytes: pyarrow's reader parses and checks the events (as for
the Parquet export), the window rules run on its columns, and the models are built from the columns'
values, one ``AnalyticsEvent`` at a time as the consumer asks (``Rows``).

Used when pyarrow is installed (the ``parquet`` extra); a body the reader cannot take exactly as the
usual path would (``_arrow_body.body_to_table``'s rule), or whose unknown fields are not sent on
every event (the reader cannot tell an absent field from a null one, which ``additional_properties``
keeps apart), goes the usual way, counted in ``_decode.FALLBACKS["rows"]``. The models equal
``AnalyticsEvent.from_dict`` of each event (tested).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from typing import Any, Final

import attrs

from . import _decode
from ._arrow import OFFSET, arrow_schema, window_rules
from ._arrow_body import SENT, _read_body, pyarrow_or_none, readable, reader_errors
from ._checks import ID
from ._edges import NO_TRIM, Event, Events, Trim
from ._generated.models import AnalyticsEvent
from ._schema import TIMESTAMP
from .errors import DateRange

_UNKNOWN: Final = "\x00unknown:"
_INIT: Final = tuple(a.name for a in attrs.fields(AnalyticsEvent) if a.init)
"""The model's ``__init__`` arguments, in order (the derived schema's fields)."""


@attrs.define
class Rows:
    """A window's events as columns of Python values in ``AnalyticsEvent.__init__`` order (rules
    applied), with the unknown fields' columns; what the window rules dropped, the unknown names and
    the ids of the window's last day (``_edges.Edged``)."""

    columns: list[list[Any]]
    extras: dict[str, list[Any]]
    trim: Trim = NO_TRIM
    unknown: frozenset[str] = frozenset()
    tail: frozenset[int] = frozenset()

    def __len__(self) -> int:
        return len(self.columns[0])

    @property
    def ids(self) -> list[int]:
        ids: list[int] = self.columns[_INIT.index(ID)]
        return ids

    def _keeping(self, keep: list[int]) -> Rows:
        return attrs.evolve(
            self,
            columns=[[column[i] for i in keep] for column in self.columns],
            extras={name: [values[i] for i in keep] for name, values in self.extras.items()},
        )

    def edge(self, window: DateRange, seen: frozenset[int]) -> tuple[Rows, Trim, frozenset[int]]:
        ids = self.ids
        if not seen or seen.isdisjoint(ids):
            return self, Trim(), self.tail
        kept = self._keeping([i for i, ident in enumerate(ids) if ident not in seen])
        return kept, Trim(delivered=len(self) - len(kept)), self.tail

    def __add__(self, other: Rows | Events) -> Rows | Events:
        """The halves of a split window, in order; an id in both is kept once. With a half decoded
        the usual way (rare: one half read by pyarrow, the other not), both become ``Events``."""
        if not isinstance(other, Rows) or set(self.extras) != set(other.extras):
            return self.events() + (other.events() if isinstance(other, Rows) else other)
        seen = set(self.ids)
        kept = other._keeping([i for i, ident in enumerate(other.ids) if ident not in seen])
        return Rows(
            [a + b for a, b in zip(self.columns, kept.columns, strict=True)],
            {name: values + kept.extras[name] for name, values in self.extras.items()},
            trim=self.trim + other.trim + Trim(repeated=len(other) - len(kept)),
            unknown=self.unknown | other.unknown,
            tail=other.tail,
        )

    def events(self) -> Events:
        """The same events as decoded dicts (``created_at`` as sent), for joining a usual half."""
        at = _INIT.index(TIMESTAMP)
        names = [*_INIT, *self.extras]
        values = [*self.columns, *self.extras.values()]
        dicts: list[Event] = [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]
        for event in dicts:
            event[TIMESTAMP] = event[TIMESTAMP].isoformat()
        return Events(
            dicts,
            trim=self.trim,
            unknown=self.unknown,
            tail=self.tail,
            instants=list(self.columns[at]),
        )

    def models(self) -> Iterator[AnalyticsEvent]:
        """Each event's model, built when asked for (as ``_decode.iter_models``: each dies young)."""
        build = AnalyticsEvent
        if not self.extras:
            yield from map(build, *self.columns)
            return
        # Each event's unknown fields as a dict, made by C loops (map/zip), one event at a time.
        extras = map(
            dict, map(zip, itertools.repeat(tuple(self.extras)), zip(*self.extras.values(), strict=True))
        )
        for model, extra in zip(map(build, *self.columns), extras):  # noqa: B905  (as long: one a row)
            model.additional_properties = extra
            yield model


def _plain(pa: Any, kind: Any) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_int64(kind) or pa.types.is_boolean(kind))


def window_models(chunk: Rows | Events) -> Iterator[AnalyticsEvent]:
    """The models of a window delivered to ``clicks()``: read by pyarrow, or decoded as usual."""
    return chunk.models() if isinstance(chunk, Rows) else _decode.iter_models(chunk)


def body_to_rows(content: bytes, window: DateRange) -> Rows | None:
    """A 200 body's events as :class:`Rows` with the window rules applied, or None (see the module
    docstring): the usual path then decodes the body."""
    pa = pyarrow_or_none()
    if pa is None:
        return None
    try:
        read = (
            _read_body(pa, content, arrow_schema(), sent=SENT, unknown=_UNKNOWN)
            if readable(pa, content)
            else None
        )
    except reader_errors(pa):
        read = None
    if read is not None:
        table, unknown = read
        # In the reader's order (the order the fields first came in), as from_dict keeps them.
        extras = [name for name in table.column_names if name.startswith(_UNKNOWN)]
        if any(table.column(name).null_count or not _plain(pa, table.column(name).type) for name in extras):
            # Absent or null: additional_properties keeps them apart, Arrow does not. A float may
            # differ from orjson's in its last bit, a list or an object may hold one.
            read = None
    if read is None:
        _decode.FALLBACKS["rows"] += 1
        return None
    slim = table.select(
        [ID, TIMESTAMP, OFFSET, SENT, *(n for n in _INIT if n not in (ID, TIMESTAMP)), *extras]
    )
    slim, trim, tail = window_rules(pa, slim, window, NO_TRIM)
    stamps = slim.column(SENT).to_pylist()
    columns = [
        list(map(dt.datetime.fromisoformat, stamps)) if name == TIMESTAMP else slim.column(name).to_pylist()
        for name in _INIT
    ]
    values = {name[len(_UNKNOWN) :]: slim.column(name).to_pylist() for name in extras}
    return Rows(columns, values, trim=trim, unknown=unknown, tail=tail)


def checked_rows(events: Events) -> Rows | Events:
    """The usual path's chunk for ``clicks()``: the decoded and checked events, as they are."""
    return events
