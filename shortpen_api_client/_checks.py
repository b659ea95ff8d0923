"""Rule 1 of the window rules (``_edges``): every event fits the spec, as ``_schema`` derives it.

An object; each required field present and not null; each value of its field's type
(``Field.accepts``, asked once per Python type: ``True`` is not an integer, ``3`` is a number);
integers within 64 bits (the Arrow and Parquet type); ``created_at`` an ISO 8601 date-time with a
UTC offset of whole minutes, parsed by the models' own parser. Anything else is an
``InvalidResponseError`` naming the window, the event and the field. Pure, and fast on the usual
window: one C-level pass per group of fields checked alike, builds no list.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import operator
from collections.abc import Sequence
from typing import Any, Final

from ._schema import EVENT, TIMESTAMP
from .errors import DateRange, InvalidResponseError

Event = dict[str, Any]
ID: Final = "id"
"""The field that identifies an event (exactly once is by it)."""
INT64: Final = (-(2**63), 2**63 - 1)
_TZINFO: Final = operator.attrgetter("tzinfo")

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


def response_error(window: DateRange, message: str) -> InvalidResponseError:
    return InvalidResponseError(message, window=window)


def which_event(events: Sequence[Any], index: int) -> str:
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
        raise response_error(
            window, f"item #{index} of data is {type(events[index]).__name__}, not an event object"
        )
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
            if required:
                numbers: Any = _CHAIN(map(getter, events)) if len(fields) > 1 else map(getter, events)
            else:  # an optional field may be absent: dict.get, as above
                repeated = _CHAIN(map(itertools.repeat, events, itertools.repeat(len(names))))
                numbers = map(dict.get, repeated, itertools.cycle(names))
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
            raise response_error(window, f"{which_event(events, index)} has no {name!r}, a required field")
        values = list(map(dict.get, events, itertools.repeat(name)))
        types = set(map(type, values))
        bad = {t for t in types if not _fits(name, t, values)}
        if bad:
            _wrong_type(events, window, field, values, bad)
        _FITTING[name] |= types
        if field.kind == "int":
            for index, value in enumerate(values):
                if value is not None and not INT64[0] <= value <= INT64[1]:
                    raise response_error(
                        window,
                        f"{which_event(events, index)} has {name!r} = {value}, beyond a 64-bit integer "
                        "(this client stores the spec's integers as int64)",
                    )


def _wrong_type(
    events: Sequence[Any], window: DateRange, field: Any, values: list[Any], bad: set[type]
) -> None:
    index = next(i for i, v in enumerate(values) if type(v) in bad)
    value = values[index]
    what = "null" if value is None else f"{value!r} ({type(value).__name__})"
    article = "an" if field.json_type[0] in "aeiou" else "a"
    raise response_error(
        window,
        f"{which_event(events, index)} has {field.name!r} = {what}, not {article} {field.json_type} as the spec says",
    )


def parse_stamps(stamps: Sequence[str], events: Sequence[Event], window: DateRange) -> list[dt.datetime]:
    """``created_at`` of each event as an aware datetime (``fromisoformat``, the generated models'
    parser); an error for a value that is not a date-time, has no UTC offset, or an offset that is
    not whole minutes."""
    try:
        instants = list(map(dt.datetime.fromisoformat, stamps))
    except ValueError:
        index = next(i for i, s in enumerate(stamps) if not _parses(s))
        raise response_error(
            window,
            f"{which_event(events, index)} has {TIMESTAMP} {stamps[index]!r}, not an ISO 8601 date-time",
        ) from None
    zones = set(map(_TZINFO, instants))
    if None in zones:
        index = next(i for i, at in enumerate(instants) if at.tzinfo is None)
        raise response_error(
            window,
            f"{which_event(events, index)} has {TIMESTAMP} {stamps[index]!r} without a UTC offset: its instant "
            "and the account's day are unknown",
        )
    for zone in zones:
        offset = zone.utcoffset(None) if zone is not None else None
        if offset is not None and offset % dt.timedelta(minutes=1):
            index = next(i for i, at in enumerate(instants) if at.tzinfo is zone)
            raise response_error(
                window,
                f"{which_event(events, index)} has {TIMESTAMP} {stamps[index]!r}: an offset with seconds",
            )
    return instants


def _parses(stamp: str) -> bool:
    try:
        dt.datetime.fromisoformat(stamp)
    except ValueError:
        return False
    return True
