"""Load ShortPen's click log into a warehouse with dlt (the ``dlt`` extra).

::

    import dlt
    from shortpen_api_client.dlt import shortpen_source

    pipeline = dlt.pipeline("shortpen", destination="duckdb", dataset_name="shortpen_data")
    pipeline.run(shortpen_source("2025-01-01", workspace_ids=[24, 25]))

``shortpen_source`` is a dlt source with one resource, ``clicks``: one row per click, the columns of the
Parquet export (``_schema.EVENT`` in spec order, ``workspace_id`` among them), primary key ``id``,
write disposition ``merge``, yielded as Arrow tables from the client's columnar path. It is incremental
by day, like ``ShortPen.sync``: dlt's state remembers, per workspace (and link filter), which days were
loaded; a rerun fetches the days it has not loaded plus the last ``lookback_days`` loaded (clicks can be
recorded late), and the merge on ``id`` replaces what it fetched again. The state is committed with the
load, so a load that fails or is killed is simply run again.

The token: the ``token`` argument, else dlt's secrets (``[sources.shortpen] token`` in
``.dlt/secrets.toml``, or ``SOURCES__SHORTPEN__TOKEN``), else ``SHORTPEN_TOKEN``. dlt records it as a
secret: it never reaches dlt's state, schema, traces, load packages or logs.

dlt is imported only by this module: ``import shortpen_api_client`` never imports it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from typing import Any

try:
    import dlt
    import pyarrow
    from dlt.common.typing import TSecretStrValue
    from dlt.extract.source import DltSource
except ImportError as exc:  # pragma: no cover - the message is the point
    raise ImportError('shortpen_api_client.dlt needs dlt: pip install "shortpen-api-client[dlt]"') from exc

from ._client import ShortPen
from ._client_base import DEFAULT_MAX_CONCURRENCY, DEFAULT_WINDOW_DAYS
from ._config import check_id, check_int, parse_date, resolve_base_url
from ._engine import Progress
from ._jobs import DEFAULT_LOOKBACK_DAYS, yesterday_utc
from ._schema import EVENT
from ._windows import ONE_DAY
from .errors import InvalidArgumentError

__all__ = ["DATASET_NAME", "PIPELINE_NAME", "RESOURCE_NAME", "SOURCE_NAME", "shortpen_source"]

SOURCE_NAME = "shortpen"
"""The source's name: its configuration section is ``sources.shortpen``."""
RESOURCE_NAME = "clicks"
"""The resource, and so the table, the clicks are loaded into."""
PIPELINE_NAME = "shortpen"
"""The pipeline name ``shortpen load`` uses: DuckDB's default file is ``shortpen.duckdb``."""
DATASET_NAME = "shortpen_data"
"""The dataset (schema) ``shortpen load`` loads into by default. Not ``shortpen``: DuckDB cannot tell a
schema from its database file's catalog of the same name (``shortpen.duckdb``)."""

DayRange = tuple[dt.date, dt.date]


def shortpen_source(
    start: dt.date | str,
    end: dt.date | str | None = None,
    *,
    token: str | None = None,
    base_url: str | None = None,
    environment: str = "api",
    workspace_ids: Sequence[int] | None = None,
    url_id: int | None = None,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
    window_days: int = DEFAULT_WINDOW_DAYS,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    timeout: float | None = None,
    max_retries: int | None = None,
    max_requests_per_second: float | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> DltSource:
    """A dlt source of the clicks from ``start`` to ``end`` (inclusive; ``end`` defaults to yesterday,
    UTC, as in ``sync``), for each of ``workspace_ids`` (default: the token's first workspace).

    Arguments are checked now, before any request; ``token``, ``base_url`` and ``environment`` as in
    ``ShortPen`` (``token`` may also come from dlt's secrets). ``progress`` receives the client's
    ``Progress`` for each window delivered.
    """
    first = parse_date(start, "start")
    last = yesterday_utc() if end is None else parse_date(end, "end")
    if first > last:
        hint = " (end defaults to yesterday, UTC)" if end is None else ""
        raise InvalidArgumentError(f"start ({first}) is after end ({last}){hint}")
    workspaces = _workspaces(workspace_ids)
    check_id(url_id, "url_id")
    check_int(lookback_days, "lookback_days", minimum=0)
    settings: dict[str, Any] = {
        "base_url": resolve_base_url(base_url, environment),
        "window_days": window_days,
        "max_concurrency": max_concurrency,
        "max_requests_per_second": max_requests_per_second,
        "progress": progress,
    }
    if timeout is not None:
        settings["timeout"] = timeout
    if max_retries is not None:
        settings["max_retries"] = max_retries
    options = _Options(first, last, workspaces, url_id, lookback_days, settings)
    if token is None:
        return _source(options)  # dlt resolves the token from its secrets, else None: SHORTPEN_TOKEN
    return _source(options, token=token)


class _Options:
    """The source's arguments (held outside dlt's configuration, which would record them)."""

    def __init__(
        self,
        start: dt.date,
        end: dt.date,
        workspaces: list[int | None],
        url_id: int | None,
        lookback_days: int,
        settings: dict[str, Any],
    ) -> None:
        self.start = start
        self.end = end
        self.workspaces = workspaces
        self.url_id = url_id
        self.lookback_days = lookback_days
        self.settings = settings


def _workspaces(workspace_ids: Sequence[int] | None) -> list[int | None]:
    if workspace_ids is None:
        return [None]
    if isinstance(workspace_ids, int | str) or not isinstance(workspace_ids, Sequence):
        raise InvalidArgumentError(f"workspace_ids must be a list of workspace ids, got {workspace_ids!r}")
    ids = [check_id(w, "workspace_ids") for w in workspace_ids]
    if not ids or len(set(ids)) != len(ids):
        raise InvalidArgumentError(f"workspace_ids must be distinct ids, at least one, got {workspace_ids!r}")
    return list(ids)


@dlt.source(name=SOURCE_NAME, section=SOURCE_NAME, max_table_nesting=0)
def _source(options: _Options, token: TSecretStrValue | None = dlt.secrets.value) -> Any:
    ShortPen(token, **options.settings).close()  # checks the token and the settings now, before any request
    return dlt.resource(
        _clicks(options, token),
        name=RESOURCE_NAME,
        primary_key="id",
        write_disposition="merge",
        columns={f.name: {"nullable": f.name not in _REQUIRED} for f in EVENT},
    )


def _clicks(options: _Options, token: str | None) -> Iterator[Any]:
    """The clicks of every workspace, window by window, as Arrow tables; the loaded days in the state."""
    state = dlt.current.resource_state()
    loaded: dict[str, list[list[str]]] = state.setdefault("loaded", {})
    with ShortPen(token, **options.settings) as client:
        for workspace_id in options.workspaces:
            key = _state_key(workspace_id, options.url_id)
            ranges = _parse_ranges(loaded.get(key, []))
            days = plan_days(options.start, options.end, ranges, lookback_days=options.lookback_days)
            for first, last in merge_ranges([(day, day) for day in days]):
                for batch in client.clicks_batches(
                    first, last, workspace_id=workspace_id, url_id=options.url_id
                ):
                    yield _with_required(batch)
                ranges = merge_ranges([*ranges, (first, last)])
                loaded[key] = [[a.isoformat(), b.isoformat()] for a, b in ranges]


_REQUIRED = frozenset(f.name for f in EVENT if f.required and not f.nullable)


def _with_required(batch: Any) -> Any:
    """The batch with the spec's required fields marked not nullable, as the resource's column hints
    say (the Parquet export keeps every column nullable; dlt would warn that the two differ)."""
    schema = batch.schema
    fields = [f.with_nullable(False) if f.name in _REQUIRED else f for f in schema]
    return batch.cast(pyarrow.schema(fields, metadata=schema.metadata))


def _state_key(workspace_id: int | None, url_id: int | None) -> str:
    key = "default" if workspace_id is None else str(workspace_id)
    return key if url_id is None else f"{key}/url_id={url_id}"


def _parse_ranges(value: Any) -> list[DayRange]:
    return [(dt.date.fromisoformat(a), dt.date.fromisoformat(b)) for a, b in value]


def merge_ranges(ranges: Sequence[DayRange]) -> list[DayRange]:
    """Ascending, disjoint, non-adjacent ranges covering the same days."""
    merged: list[DayRange] = []
    for first, last in sorted(ranges):
        if merged and first <= merged[-1][1] + ONE_DAY:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def plan_days(
    start: dt.date, end: dt.date, loaded: Sequence[DayRange], *, lookback_days: int
) -> list[dt.date]:
    """The days of [start, end] to fetch: those not loaded yet, and the last ``lookback_days`` of what
    has been loaded (clicks can be recorded late), in ascending order."""
    ranges = merge_ranges(loaded)
    refetch_from = ranges[-1][1] - dt.timedelta(days=lookback_days - 1) if ranges else None
    days = []
    day = start
    while day <= end:
        is_loaded = any(first <= day <= last for first, last in ranges)
        if not is_loaded or (refetch_from is not None and lookback_days > 0 and day >= refetch_from):
            days.append(day)
        day += ONE_DAY
    return days
