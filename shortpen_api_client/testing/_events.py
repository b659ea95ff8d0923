"""A day's events, built from the event schema: which fields, in which order, of which type.

The schema (a tuple of :class:`~shortpen_api_client._schema.Field`, ``_schema.EVENT`` unless the fake
was given another spec) decides the fields and their kinds; the account (``_data``) gives the values
of the ones it knows a meaning for, by name (ids, workspace, organization, link, domain, slug, client,
country, referrer, ``created_at``), and states no kind: the field's kind decides. Values that fit it
are sent as they are; a known field whose kind became text gets its meaning as text (``id`` as
``"7301"``, still unique), integers become numbers for a ``number`` field; any other field (a new one,
a renamed one, a known one of a kind its meaning cannot take) gets a generic value of its kind. Optional fields are then taken out or set to null by the
:class:`Shape`. Every draw is seeded by (seed, workspace, day) and, for a schema field, its name: a
field added to the spec changes no other field's values.

A day is generated in one go by :func:`generate_day` (2-3 microseconds a click, as before the schema
drove it) and serialized once, whole and per link, by :func:`serialize_day`; callers cache the result.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

import attrs

from .. import _schema
from . import _json
from ._data import (
    CLIENT_CUM,
    CLIENT_VALUES,
    COUNTRY_CUM,
    COUNTRY_VALUES,
    ID_SEQUENCE_SPAN,
    MAX_WORKSPACES,
    ORGANIZATION_ID,
    REFERRER_CUM,
    REFERRER_VALUES,
    WORKSPACES,
    day_bounds,
    link_counts,
    mix,
    timestamps,
)

Fields = Sequence[_schema.Field]


@attrs.frozen(kw_only=True)
class Shape:
    """How the events deviate from the plain, complete case. See :data:`SHAPES`."""

    absent: float = 0.1
    """Share of events without a given optional field."""
    null: float = 0.1
    """Share of events where a given field is null: nullable fields only, unless ``null_beyond_spec``."""
    null_beyond_spec: bool = False
    """Optional fields are null too when the spec does not allow it (what real servers do)."""
    extra_fields: bool = False
    """Every event also has fields the spec does not know: ``beta_flags`` (a list of text) and
    ``utm`` (an object, or null), after the spec's fields."""
    subsecond: float = 0.0
    """Share of events whose ``created_at`` has milliseconds (``10:00:00.123+01:00``)."""
    ties: float = 0.0
    """Share of events with the very same ``created_at`` text as the one before."""
    swaps: float = 0.0
    """Share of events swapped with the next one: the day is not ascending by ``created_at``."""


SHAPES: Final[Mapping[str, Shape]] = {
    "spec": Shape(),
    "realistic": Shape(null_beyond_spec=True, extra_fields=True, subsecond=0.2, ties=0.03, swaps=0.02),
}
"""``spec`` (the default): what the spec allows, nothing more. ``realistic``: like a real server."""

EXTRA_FIELDS: Final = ("beta_flags", "utm")
# Values are shared between events: a day's events are only ever serialized, never changed.
_BETA_FLAGS: Final[tuple[list[str], ...]] = ([], ["link-preview"], ["qr-v2"], ["link-preview", "qr-v2"])
_UTM: Final[tuple[dict[str, str] | None, ...]] = (
    {"source": "newsletter", "medium": "email", "campaign": "spring-2025"},
    {"source": "google", "medium": "cpc", "campaign": "brand"},
    {"source": "linkedin", "medium": "social", "campaign": "launch"},
    None,
)


def hits(rng: random.Random, count: int, share: float) -> Iterator[int]:
    """The indices in ``range(count)`` picked each with probability ``share``, ascending.

    Geometric skips: one draw per hit, not per index (a tenth of a day costs a tenth of the draws).
    """
    if share <= 0.0:
        return
    if share >= 1.0:
        yield from range(count)
        return
    log_keep = math.log1p(-share)
    index = -1
    while True:
        index += 1 + int(math.log(1.0 - rng.random()) / log_keep)
        if index >= count:
            return
        yield index


@attrs.frozen
class _Day:
    """What one (workspace, day) is: the inputs every column is a function of."""

    seed: int
    workspace_index: int
    day: dt.date
    count: int
    tz: dt.tzinfo

    def rng(self, *purpose: object) -> random.Random:
        return random.Random(mix(self.seed, *purpose, self.workspace_index, self.day.toordinal()))  # noqa: S311 - synthetic data, not crypto


def _known(day: _Day) -> tuple[dict[str, list[Any]], list[int]]:
    """The columns the fake knows a meaning for (name -> values), and each click's url_id.

    The draws happen in one fixed order whatever the schema asks for, so the values never depend on
    which fields the spec has.
    """
    count = day.count
    workspace = WORKSPACES[day.workspace_index]
    rng = day.rng("events")
    draw = rng.random
    _, length = day_bounds(day.day, day.tz)
    # Triangular around midday: more clicks in the afternoon than at night. On days with two clicks
    # or more, the first is at 00:00:00 local and the last at 23:59:59, so windowing bugs show up.
    seconds = sorted(int(length * (draw() + draw()) * 0.5) for _ in range(count))
    if count >= 2:
        seconds[0] = 0
        seconds[-1] = length - 1
    per_link = link_counts(seed=day.seed, workspace_index=day.workspace_index, day=day.day, count=count)
    links = [link for link, n in zip(workspace.links, per_link, strict=True) for _ in range(n)]
    rng.shuffle(links)
    clients = rng.choices(CLIENT_VALUES, cum_weights=CLIENT_CUM, k=count)
    # Ids: day, then workspace, then sequence; unique across the account and ascending in time.
    base = (day.day.toordinal() * MAX_WORKSPACES + day.workspace_index) * ID_SEQUENCE_SPAN + 1
    url_ids = [link.url_id for link in links]
    columns: dict[str, list[Any]] = {
        "id": list(range(base, base + count)),
        "workspace_id": [workspace.workspace_id] * count,
        "organization_id": [ORGANIZATION_ID] * count,
        "url_id": url_ids,
        "domain": [link.domain for link in links],
        "url_slug": [link.url_slug for link in links],
        "device_type": [c[0] for c in clients],
        "platform": [c[1] for c in clients],
        "browser": [c[2] for c in clients],
        "country": rng.choices(COUNTRY_VALUES, cum_weights=COUNTRY_CUM, k=count),
        "referrer": rng.choices(REFERRER_VALUES, cum_weights=REFERRER_CUM, k=count),
        _schema.TIMESTAMP: timestamps(day.day, day.tz, seconds),
    }
    return columns, list(url_ids)


def _generic(field: _schema.Field, day: _Day, created: list[str]) -> list[Any]:
    """Values of a field the fake has no meaning for: deterministic, of the field's kind."""
    rng = day.rng("field", field.name)
    count = day.count
    bits = rng.getrandbits
    kind = field.kind
    if kind == "int":
        return [bits(20) for _ in range(count)]
    if kind == "float":
        return [bits(20) / 1000 for _ in range(count)]
    if kind == "bool":
        return [bits(1) == 1 for _ in range(count)]
    if kind == "str":
        return [f"{field.name}-{bits(8)}" for _ in range(count)]
    if kind == "date":
        return [day.day.isoformat()] * count
    return list(created)  # datetime: the click's own instant, in local time


def _as_kind(field: _schema.Field, values: list[Any]) -> list[Any] | None:
    """A meaning's values as the field's kind, where they can be, else None. A column's values share
    one Python type, so its first value decides. ``created_at`` is a date-time in every spec (``derive``
    refuses it otherwise); no other meaning is a date, a date-time or a boolean."""
    if field.name == _schema.TIMESTAMP:
        return values
    sample, kind = values[0], field.kind
    if kind == "str":
        # as text, the meaning kept (``id`` as ``"7301"`` stays unique)
        return values if isinstance(sample, str) else [str(value) for value in values]
    if kind == "int" and field.accepts(sample):
        return values
    if kind == "float" and field.accepts(sample):
        return [float(value) for value in values]  # an integer as a number
    return None


def _column(field: _schema.Field, known: Mapping[str, list[Any]], day: _Day) -> list[Any]:
    values = known.get(field.name)
    as_kind = _as_kind(field, values) if values else None
    return as_kind if as_kind is not None else _generic(field, day, known[_schema.TIMESTAMP])


def _realistic_timestamps(created: list[str], shape: Shape, day: _Day) -> None:
    """Milliseconds on some timestamps, then some ties with the one before (in place)."""
    rng = day.rng("subsecond")
    for i in hits(rng, len(created), shape.subsecond):
        text = created[i]
        created[i] = f"{text[:19]}.{rng.randrange(1000):03d}{text[19:]}"
    for i in hits(rng, len(created), shape.ties):
        if i:
            created[i] = created[i - 1]


def _extras(events: list[dict[str, Any]], fields: Fields, day: _Day) -> None:
    """Fields the spec does not know, on every event (those the spec has since learnt are skipped)."""
    names = [name for name in EXTRA_FIELDS if name not in {f.name for f in fields}]
    if not names:
        return
    rng = day.rng("extra")
    values: dict[str, list[Any]] = {
        "beta_flags": rng.choices(_BETA_FLAGS, weights=(6, 2, 1, 1), k=len(events)),
        "utm": rng.choices(_UTM, weights=(1, 1, 1, 7), k=len(events)),
    }
    for name in names:
        for event, value in zip(events, values[name], strict=True):
            event[name] = value


def generate_day(
    *,
    fields: Fields = _schema.EVENT,
    shape: Shape = SHAPES["spec"],
    seed: int,
    workspace_index: int,
    day: dt.date,
    count: int,
    tz: dt.tzinfo,
) -> tuple[list[dict[str, Any]], list[int]]:
    """The clicks of one workspace on one local day in the server's order, and each one's url_id.

    Ascending by ``created_at`` then ``id``, unless the shape swaps neighbours. Keys in the schema's
    order (extra fields last).
    """
    if count <= 0:
        return [], []
    context = _Day(seed, workspace_index, day, count, tz)
    known, url_ids = _known(context)
    if shape.subsecond or shape.ties:
        created = list(known[_schema.TIMESTAMP])
        _realistic_timestamps(created, shape, context)
        known[_schema.TIMESTAMP] = created
    names = [f.name for f in fields]
    columns = [_column(f, known, context) for f in fields]
    events = [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]
    for field in fields:
        absent = 0.0 if field.required else shape.absent
        null = shape.null if field.nullable or (shape.null_beyond_spec and not field.required) else 0.0
        if absent + null <= 0.0:
            continue
        rng = context.rng("holes", field.name)
        name = field.name
        for i in hits(rng, count, absent + null):
            if rng.random() * (absent + null) < absent:
                del events[i][name]
            else:
                events[i][name] = None
    if shape.extra_fields:
        _extras(events, fields, context)
    if shape.swaps:
        for i in hits(context.rng("swaps"), count - 1, shape.swaps):
            events[i], events[i + 1] = events[i + 1], events[i]
            url_ids[i], url_ids[i + 1] = url_ids[i + 1], url_ids[i]
    return events, url_ids


@attrs.frozen
class Day:
    """One (workspace, day), serialized: the JSON array's inside, without brackets, whole and per link."""

    count: int
    fragment: bytes
    by_url: Mapping[int, tuple[int, bytes]]

    @property
    def size(self) -> int:
        return len(self.fragment) * 2 + 64

    def part(self, url_id: int | None) -> tuple[int, bytes]:
        """(count, fragment) of the whole day, or of one link (empty for a link with no clicks)."""
        if url_id is None:
            return self.count, self.fragment
        return self.by_url.get(url_id, (0, b""))


def serialize_day(events: list[dict[str, Any]], url_ids: Sequence[int]) -> Day:
    """Serialize once: the whole day, and each link's clicks in the same (server's) order."""
    grouped: dict[int, list[dict[str, Any]]] = {}
    for event, url_id in zip(events, url_ids, strict=True):
        grouped.setdefault(url_id, []).append(event)
    by_url = {url_id: (len(group), _json.dumps(group)[1:-1]) for url_id, group in grouped.items()}
    return Day(count=len(events), fragment=_json.dumps(events)[1:-1], by_url=by_url)
