"""The clicks of one fake account: counted without generating, days generated once, bodies cached.

Counts come first and cost nothing (a hash per workspace and day, and per link): a request's size is
known before any click is made, so the fake can refuse an over-limit range at once. Days are
generated and serialized once (``_events``) and kept in a byte-bounded LRU, and so are whole 200
bodies (a retried window is served from memory).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final

from .. import _schema
from ._cache import SizedLRU
from ._data import FIRST_DAY, LAST_DAY, LINK_INDEX, day_count, link_counts
from ._events import Day, Shape, generate_day, serialize_day
from ._request import Query
from ._responses import ok_body

_EMPTY_DAY: Final = Day(count=0, fragment=b"", by_url=MappingProxyType({}))
_DAY_CACHE_BYTES: Final = 128 * 1024 * 1024
_RESPONSE_CACHE_BYTES: Final = 256 * 1024 * 1024


class Clicks:
    """What a fake serves for a query; thread-safe (the caches lock, the rest is pure)."""

    def __init__(
        self,
        *,
        seed: int,
        tz: dt.tzinfo,
        events_per_day: int,
        heavy_days: Mapping[dt.date, int],
        fields: tuple[_schema.Field, ...],
        shape: Shape,
        today: Callable[[], dt.date],
    ) -> None:
        self._seed = seed
        self._tz = tz
        self._events_per_day = events_per_day
        self._heavy_days = heavy_days
        self._fields = fields
        self._shape = shape
        self._today = today
        self._days: SizedLRU[Day] = SizedLRU(budget=_DAY_CACHE_BYTES)
        self._bodies: SizedLRU[bytes] = SizedLRU(budget=_RESPONSE_CACHE_BYTES)

    def ordinals(self, query: Query) -> range:
        """The days that have clicks: the range within the account's history, up to today."""
        first = max(query.start, FIRST_DAY).toordinal()
        last = min(query.end, LAST_DAY, self._today()).toordinal()
        return range(first, last + 1)

    def _day(self, workspace_index: int, ordinal: int) -> Day:
        key = (workspace_index, ordinal)
        cached = self._days.get(key)
        if cached is not None:
            return cached
        day = dt.date.fromordinal(ordinal)
        count = self._day_count(workspace_index, day)
        if count == 0:
            return _EMPTY_DAY
        events, url_ids = generate_day(
            fields=self._fields,
            shape=self._shape,
            seed=self._seed,
            workspace_index=workspace_index,
            day=day,
            count=count,
            tz=self._tz,
        )
        serialized = serialize_day(events, url_ids)
        self._days.put(key, serialized, serialized.size)
        return serialized

    def _day_count(self, workspace_index: int, day: dt.date) -> int:
        return day_count(
            seed=self._seed,
            workspace_index=workspace_index,
            day=day,
            events_per_day=self._events_per_day,
            heavy_days=self._heavy_days,
        )

    def _link_rank(self, query: Query) -> int | None:
        """The filtered link's rank in the workspace, or None when it is not one of its links."""
        index, rank = LINK_INDEX.get(query.url_id, (None, None)) if query.url_id is not None else (None, None)
        return rank if index == query.workspace_index else None

    def sizes(self, query: Query) -> tuple[int, int]:
        """(the workspace's clicks in the range, the clicks the response holds), without generating any."""
        index = query.workspace_index
        rank = self._link_rank(query)
        scanned = answered = 0
        for ordinal in self.ordinals(query):
            day = dt.date.fromordinal(ordinal)
            count = self._day_count(index, day)
            scanned += count
            if query.url_id is None:
                answered += count
            elif rank is not None and count:
                answered += link_counts(seed=self._seed, workspace_index=index, day=day, count=count)[rank]
        return scanned, answered

    def ok_body(self, query: Query) -> bytes:
        """The 200 body for a query, serialized once and then served from a bounded LRU."""
        days = self.ordinals(query)
        key = (query.workspace_index, query.url_id, days.start, days.stop)
        body = self._bodies.get(key)
        if body is None:
            index = query.workspace_index
            if query.url_id is not None and self._link_rank(query) is None:
                days = range(0)  # not a link of this workspace: no clicks, nothing to generate
            body = ok_body([self._day(index, o).part(query.url_id)[1] for o in days])
            self._bodies.put(key, body, len(body))
        return body
