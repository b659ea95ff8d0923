"""A window's events checked against the derived schema, and exactly once at window edges. Pure.

The rules (stated in the README, "Exactly once, and what a response must hold"):

1. **Every event fits the spec** (``_schema.EVENT``): an object, each required field present and not
   null, each value of its field's JSON type (an integer field holds a JSON integer within 64 bits,
   ``True`` is not an integer), ``created_at`` an ISO 8601 date-time with a UTC offset. Anything
   else is an ``InvalidResponseError`` naming the window, the field and the event, in every path.
2. **Ascending by instant**, ties in the server's order (a stable sort).
3. **An id once per call.** An id repeated within a window is dropped after its first occurrence
   (in that order); an id already delivered by the previous window (the ids of its last local day
   are kept, so memory stays bounded by one day) is dropped.
4. **Only the window's local days.** An event's date is the date part of ``created_at`` as sent, in
   its own offset: the account's day, which the API's ``start``/``end`` are. An event on the first
   instant of the day after the window (local midnight: an inclusive end) is an *edge spill*: it is
   dropped (the next window, or nobody if the call ends there, owns it). Any other event outside the
   window's days (a minute or hours into a neighbouring day, or farther) means the server's days are
   not the documented ones; nothing is dropped on that guess: ``InvalidResponseError`` names the
   window and the mismatch.
5. Dropped events are counted and reported in one WARNING per window; fields the spec does not know
   are kept (``additional_properties``, JSONL, the ``_extra`` column) and named in one INFO per call.

Rule 1 is ``_checks``. Rules 1, 2, 4 and the within-window half of 3 are applied where the window is
decoded (:func:`checked`; for the Arrow path, ``_arrow.Columns.edge`` when the window is delivered);
the cross-window half of 3 and the logging where windows are delivered, in order (:class:`Delivery`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, Protocol, Self

import attrs

from ._checks import ID, check_types, parse_stamps, response_error, which_event
from ._schema import EVENT_NAMES, TIMESTAMP
from .errors import DateRange, InvalidResponseError

logger = logging.getLogger("shortpen_api_client")

Event = dict[str, Any]

_KNOWN: Final = frozenset(EVENT_NAMES)
_GET_ID = operator.itemgetter(ID)
_GET_STAMP = operator.itemgetter(TIMESTAMP)
_DATE_PART = operator.itemgetter(slice(0, 10))


@attrs.frozen
class Trim:
    """Events a window lost to the exactly-once rules."""

    repeated: int = 0
    """An id seen earlier in the same window."""
    delivered: int = 0
    """An id the previous window already delivered."""
    outside: int = 0
    """An edge spill: the first instant of the day after the window."""

    def __add__(self, other: Trim) -> Trim:
        return Trim(
            self.repeated + other.repeated, self.delivered + other.delivered, self.outside + other.outside
        )

    def __bool__(self) -> bool:
        return bool(self.repeated or self.delivered or self.outside)

    def describe(self) -> str:
        parts = []
        if self.repeated:
            parts.append(f"{self.repeated} repeating an id earlier in the window")
        if self.delivered:
            parts.append(f"{self.delivered} repeating an id the previous window delivered")
        if self.outside:
            parts.append(f"{self.outside} at the first instant of the next day (an inclusive end)")
        return ", ".join(parts)


NO_TRIM: Final = Trim()


class Edged(Protocol):
    """What :class:`Delivery` needs of a window's converted events (a chunk)."""

    trim: Trim
    unknown: frozenset[str]

    def __len__(self) -> int: ...

    def edge(self, window: DateRange, seen: frozenset[int]) -> tuple[Self, Trim, frozenset[int]]:
        """This chunk without the ids in ``seen`` (and, for a chunk not checked yet, by the rules
        above), what that dropped, and the ids on the window's last local day."""
        ...


def window_days(window: DateRange) -> set[str]:
    start, end = window
    return {(start + dt.timedelta(days=i)).isoformat() for i in range((end - start).days + 1)}


def outside(
    dates: Sequence[str],
    instants: Sequence[dt.datetime],
    events: Sequence[Event],
    window: DateRange,
    days: set[str],
) -> list[int]:
    """Indexes of the edge spills (rule 4); ``InvalidResponseError`` for any other event outside."""
    spill = dt.datetime.combine(window[1] + dt.timedelta(days=1), dt.time())
    spills = []
    for index, date in enumerate(dates):
        if date in days:
            continue
        if instants[index].replace(tzinfo=None) == spill:
            spills.append(index)
            continue
        raise response_error(
            window,
            f"{which_event(events, index)} has {TIMESTAMP} {_GET_STAMP(events[index])!r}, outside the window's "
            "days by more than its first instant after the window (an inclusive end): the server's days "
            "are not the account-local days this client assumes (its offset), so nothing was dropped on "
            "that guess",
        )
    return spills


class Events(list[Event]):
    """A window's events after :func:`checked`, in order, with what the checks dropped, the fields
    the spec does not know, the ids on the window's last local day, and each event's ``created_at``
    parsed (``instants``, reused by the models: parsed once)."""

    trim: Trim
    unknown: frozenset[str]
    tail: frozenset[int]
    instants: list[dt.datetime] | None

    def __init__(
        self,
        events: Iterable[Event] = (),
        *,
        trim: Trim = NO_TRIM,
        unknown: frozenset[str] = frozenset(),
        tail: frozenset[int] = frozenset(),
        instants: list[dt.datetime] | None = None,
    ) -> None:
        super().__init__(events)
        self.trim = trim
        self.unknown = unknown
        self.tail = tail
        self.instants = instants

    def _keeping(self, keep: Callable[[Event], bool]) -> Events:
        """The events ``keep`` says yes to (and their instants)."""
        indexes = [i for i, e in enumerate(self) if keep(e)]
        instants = self.instants
        return Events(
            (self[i] for i in indexes),
            trim=self.trim,
            unknown=self.unknown,
            tail=self.tail,
            instants=[instants[i] for i in indexes] if instants is not None else None,
        )

    def __add__(self, other: Any) -> Events:  # type: ignore[override]  # the halves of a split window
        if not isinstance(other, list):  # a half read by pyarrow (``_model_rows.Rows``)
            other = other.events()
        if not isinstance(other, Events):
            other = Events(other)
        seen = set(map(_GET_ID, self))
        kept = other if seen.isdisjoint(map(_GET_ID, other)) else other._keeping(lambda e: e[ID] not in seen)
        both = self.instants is not None and kept.instants is not None
        return Events(
            itertools.chain(self, kept),
            trim=self.trim + other.trim + Trim(repeated=len(other) - len(kept)),
            unknown=self.unknown | other.unknown,
            tail=other.tail,  # the second half ends where the window ends
            instants=[*(self.instants or ()), *(kept.instants or ())] if both else None,
        )

    def edge(self, window: DateRange, seen: frozenset[int]) -> tuple[Events, Trim, frozenset[int]]:
        if not seen or seen.isdisjoint(map(_GET_ID, self)):
            return self, Trim(), self.tail
        kept = self._keeping(lambda e: e[ID] not in seen)
        return kept, Trim(delivered=len(self) - len(kept)), self.tail


def checked(events: list[Any], window: DateRange, *, exact: Callable[[], list[Any]] | None = None) -> Events:
    """A window's events by the rules above: checked, ascending, each id once, edge spills dropped.

    ``exact``, when given, decodes the body again with exact integers: orjson reads an integer
    beyond 64 bits as a float, so a float where an integer belongs (or in a field the spec does not
    know) is checked again on the exact decoding, never passed on changed.
    """
    if not events:
        return Events(instants=[])
    try:
        check_types(events, window)
        unknown = frozenset(set().union(*events) - _KNOWN)
        if exact is not None and unknown and _floats_in(events, unknown):
            raise response_error(window, "a float in a field the spec does not know")
    except InvalidResponseError:
        if exact is None:
            raise
        events = exact()  # the same values, integers exact: check again (and report those)
        check_types(events, window)
        unknown = frozenset(set().union(*events) - _KNOWN)
    stamps: list[str] = list(map(_GET_STAMP, events))
    instants = parse_stamps(stamps, events, window)
    dates: list[str] = list(map(_DATE_PART, stamps))
    days = window_days(window)
    spills = outside(dates, instants, events, window, days) if not days.issuperset(dates) else []
    count = len(events)
    if spills:
        drop = set(spills)
        keep = [i for i in range(count) if i not in drop]
        events, instants, dates = (
            [events[i] for i in keep],
            [instants[i] for i in keep],
            [dates[i] for i in keep],
        )
    if not all(map(operator.le, instants, itertools.islice(instants, 1, None))):
        order = sorted(range(len(events)), key=instants.__getitem__)  # stable: ties keep the server's order
        events, dates = [events[i] for i in order], [dates[i] for i in order]
        instants = [instants[i] for i in order]
    ids = list(map(_GET_ID, events))
    repeated = 0
    if len(set(ids)) != len(ids):
        first: dict[int, int] = {}
        for index, ident in enumerate(ids):
            first.setdefault(ident, index)
        keep = sorted(first.values())
        repeated = len(ids) - len(keep)
        events, dates, ids = [events[i] for i in keep], [dates[i] for i in keep], [ids[i] for i in keep]
        instants = [instants[i] for i in keep]
    last = window[1].isoformat()
    return Events(
        events,
        trim=Trim(repeated=repeated, outside=len(spills)),
        unknown=unknown,
        tail=frozenset(ident for ident, date in zip(ids, dates, strict=True) if date == last),
        instants=instants,
    )


def _floats_in(events: list[Event], names: Iterable[str]) -> bool:
    """Whether a float sits anywhere in these fields (the spec does not know them): orjson reads an
    integer beyond 64 bits as a float, so such a body is decoded again exactly."""
    plain = {str, int, bool, type(None)}
    for name in names:
        types = set(map(type, map(dict.get, events, itertools.repeat(name))))
        if not types <= plain and any(_has_float(e.get(name)) for e in events):
            return True
    return False


def _has_float(value: object) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, list):
        return any(map(_has_float, value))
    if isinstance(value, dict):
        return any(map(_has_float, value.values()))
    return False


class Delivery:
    """The cross-window half of exactly once, for one call: windows are passed in delivery order.

    Keeps the ids of the previous window's last local day (bounded by one day), drops them from the
    next window, logs one WARNING per window that lost events and one INFO per call for fields the
    spec does not know (again if a later window brings new ones).
    """

    def __init__(self) -> None:
        self.seen: frozenset[int] = frozenset()
        self.unknown: set[str] = set()
        self.trim = Trim()

    def __call__(self, window: DateRange, chunk: Any) -> Any:
        """``chunk`` (an :class:`Edged`) with the rules applied; what to hand to the consumer."""
        edged, dropped, tail = chunk.edge(window, self.seen)
        self.seen = tail
        trim = edged.trim + dropped
        self.trim = self.trim + trim
        if trim:
            logger.warning(
                "%s: dropped %d event(s) by the exactly-once rules: %s",
                _span(window),
                trim.repeated + trim.delivered + trim.outside,
                trim.describe(),
            )
        new = edged.unknown - self.unknown
        if new:
            self.unknown |= new
            logger.info(
                "%s: the server sends fields the spec does not know: %s (kept in additional_properties, "
                "JSONL and the _extra column)",
                _span(window),
                ", ".join(sorted(new)),
            )
        return edged


def _span(window: DateRange) -> str:
    start, end = window
    return start.isoformat() if start == end else f"{start.isoformat()}..{end.isoformat()}"
