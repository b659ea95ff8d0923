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

Rules 1, 2, 4 and the within-window half of 3 are applied where the window is decoded
(:func:`checked`, and ``_arrow`` for the Arrow path); the cross-window half of 3 and the logging where
windows are delivered, in order (:class:`Delivery`).
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import logging
import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, Protocol, Self

import attrs

from ._schema import EVENT, EVENT_NAMES, TIMESTAMP
from .errors import DateRange, InvalidResponseError

logger = logging.getLogger("shortpen_api_client")

Event = dict[str, Any]

ID: Final = "id"
"""The field that identifies an event (exactly once is by it)."""
INT64: Final = (-(2**63), 2**63 - 1)
_KNOWN: Final = frozenset(EVENT_NAMES)
_FIELDS: Final = {f.name: f for f in EVENT}
_VERDICTS: dict[tuple[str, type], bool] = {}
"""Whether a value of this Python type fits this field, asked of ``Field.accepts`` once per type."""


def _fits(name: str, kind: type, values: list[Any]) -> bool:
    verdict = _VERDICTS.get((name, kind))
    if verdict is None:
        field = _FIELDS[name]
        sample = next(v for v in values if type(v) is kind)
        # Absent and null optional fields both read as None (the models' rule).
        verdict = field.nullable or not field.required if sample is None else field.accepts(sample)
        _VERDICTS[(name, kind)] = verdict
    return verdict


_GET_ID = operator.itemgetter(ID)
_GET_STAMP = operator.itemgetter(TIMESTAMP)
_DATE_PART = operator.itemgetter(slice(0, 10))
_TZINFO = operator.attrgetter("tzinfo")


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


def _error(window: DateRange, message: str) -> InvalidResponseError:
    return InvalidResponseError(message, window=window)


def _which(events: Sequence[Any], index: int) -> str:
    event = events[index]
    ident = event.get(ID) if isinstance(event, dict) else None
    return (
        f"event {ident!r}" if ident is not None and not isinstance(ident, dict | list) else f"event #{index}"
    )


def _groups() -> tuple[tuple[tuple[Any, ...], Any, bool, bool], ...]:
    """The schema's fields grouped by what decides their check (required, kind, nullable): each
    group's values are type-checked in one pass (``(fields, getter, required, integer)``)."""
    groups: dict[tuple[bool, str, bool], list[Any]] = {}
    for field in EVENT:
        groups.setdefault((field.required, field.kind, field.nullable), []).append(field)
    return tuple(
        (tuple(fields), operator.itemgetter(*(f.name for f in fields)), required, kind == "int")
        for (required, kind, _), fields in groups.items()
    )


_GROUPS: Final = _groups()
_CHAIN: Final = itertools.chain.from_iterable
_NOT_NONE: Final = functools.partial(operator.is_not, None)
_FITTING: Final[dict[str, set[type]]] = {f.name: set() for f in EVENT}
"""Per field, the Python types already found to fit it (the fast path's subset test)."""


def check_types(events: Sequence[Any], window: DateRange) -> None:
    """Rule 1 for every field of the derived schema. Fast path: one pass per group of fields checked
    alike (all loops in C, no list built); on anything unexpected, field by field, to find the
    first offending event for the message."""
    if set(map(type, events)) != {dict}:
        index = next(i for i, e in enumerate(events) if type(e) is not dict)
        raise _error(window, f"item #{index} of data is {type(events[index]).__name__}, not an event object")
    for fields, getter, required, integer in _GROUPS:
        names = [f.name for f in fields]
        if required:
            values: Any = map(getter, events)
            if len(fields) > 1:
                values = _CHAIN(values)
        else:
            repeated = _CHAIN(map(itertools.repeat, events, itertools.repeat(len(names))))
            values = map(dict.get, repeated, itertools.cycle(names))
        try:
            types = set(map(type, values))
        except KeyError:
            _check_fields(events, window, fields)  # names the event without the field
            raise  # pragma: no cover - _check_fields always raises here
        if not all(types <= _FITTING[name] for name in names):
            _check_fields(events, window, fields)
        if integer and int in types:
            numbers: Any = _CHAIN(map(getter, events)) if len(fields) > 1 else map(getter, events)
            if not required or type(None) in types:
                numbers = filter(_NOT_NONE, numbers)
            # One pass: |v| <= 2**63 - 1 holds for every int64 but -2**63, which the slow path allows.
            if max(map(abs, numbers), default=0) > INT64[1]:
                _check_fields(events, window, fields)


def _check_fields(events: Sequence[Any], window: DateRange, fields: tuple[Any, ...]) -> None:
    """The slow path of :func:`check_types`, field by field: raises for the first offending event."""
    for field in fields:
        name = field.name
        if field.required and any(name not in e for e in events):
            index = next(i for i, e in enumerate(events) if name not in e)
            raise _error(window, f"{_which(events, index)} has no {name!r}, a required field")
        values = list(map(dict.get, events, itertools.repeat(name)))
        types = set(map(type, values))
        bad = {t for t in types if not _fits(name, t, values)}
        if bad:
            _wrong_type(events, window, field, values, bad)
        _FITTING[name] |= types
        if field.kind == "int":
            for index, value in enumerate(values):
                if value is not None and not INT64[0] <= value <= INT64[1]:
                    raise _error(
                        window,
                        f"{_which(events, index)} has {name!r} = {value}, beyond a 64-bit integer "
                        "(this client stores the spec's integers as int64)",
                    )


def _wrong_type(
    events: Sequence[Any], window: DateRange, field: Any, values: list[Any], bad: set[type]
) -> None:
    index = next(i for i, v in enumerate(values) if type(v) in bad)
    value = values[index]
    what = "null" if value is None else f"{value!r} ({type(value).__name__})"
    article = "an" if field.json_type[0] in "aeiou" else "a"
    raise _error(
        window,
        f"{_which(events, index)} has {field.name!r} = {what}, not {article} {field.json_type} as the spec says",
    )


def parse_stamps(stamps: Sequence[str], events: Sequence[Event], window: DateRange) -> list[dt.datetime]:
    """``created_at`` of each event as an aware datetime (``fromisoformat``, the generated models'
    parser); an error for a value that is not a date-time, has no UTC offset, or an offset that is
    not whole minutes."""
    try:
        instants = list(map(dt.datetime.fromisoformat, stamps))
    except ValueError:
        index = next(i for i, s in enumerate(stamps) if not _parses(s))
        raise _error(
            window, f"{_which(events, index)} has {TIMESTAMP} {stamps[index]!r}, not an ISO 8601 date-time"
        ) from None
    zones = set(map(_TZINFO, instants))
    if None in zones:
        index = next(i for i, at in enumerate(instants) if at.tzinfo is None)
        raise _error(
            window,
            f"{_which(events, index)} has {TIMESTAMP} {stamps[index]!r} without a UTC offset: its instant "
            "and the account's day are unknown",
        )
    for zone in zones:
        offset = zone.utcoffset(None) if zone is not None else None
        if offset is not None and offset % dt.timedelta(minutes=1):
            index = next(i for i, at in enumerate(instants) if at.tzinfo is zone)
            raise _error(
                window, f"{_which(events, index)} has {TIMESTAMP} {stamps[index]!r}: an offset with seconds"
            )
    return instants


def _parses(stamp: str) -> bool:
    try:
        dt.datetime.fromisoformat(stamp)
    except ValueError:
        return False
    return True


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
        raise _error(
            window,
            f"{_which(events, index)} has {TIMESTAMP} {_GET_STAMP(events[index])!r}, outside the window's "
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

    def __add__(self, other: list[Event]) -> Events:  # type: ignore[override]  # the halves of a split window
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
            raise _error(window, "a float in a field the spec does not know")
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
