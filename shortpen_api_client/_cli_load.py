"""``shortpen load``: the clicks of a range into a warehouse with dlt (the ``dlt`` extra), DuckDB by
default. A client of the public ``shortpen_api_client.dlt`` module like any user's pipeline."""

from __future__ import annotations

import time
from typing import Any

import click

from ._cli import ProgressBar, connection_decorators, fail, plural, reported_errors, stdout
from ._engine import Progress
from ._jobs import DEFAULT_LOOKBACK_DAYS
from .errors import InvalidArgumentError, ShortPenError

DLT_INSTALL_HINT = 'pip install "shortpen-api-client[dlt]"'


class _Days:
    """What the progress callback saw: the days and events of the windows delivered."""

    def __init__(self, bar: ProgressBar) -> None:
        self.bar = bar
        self.days = 0

    def __call__(self, progress: Progress) -> None:
        self.days += progress.window.days
        self.bar.update(progress)


@click.command()
@click.option("--start", required=True, help="First day, YYYY-MM-DD.")
@click.option("--end", help="Last day (inclusive), YYYY-MM-DD. Default: yesterday (UTC).")
@click.option(
    "--destination",
    default="duckdb",
    show_default=True,
    help="A dlt destination (duckdb, postgres, bigquery, snowflake, ...); its settings come from dlt's "
    "configuration (.dlt/secrets.toml, environment variables). duckdb: the file shortpen.duckdb here.",
)
@click.option(
    "--dataset-name",
    default=None,
    help="The dataset (schema) the clicks table goes to. Default: shortpen_data.",
)
@click.option(
    "--workspace-id",
    "workspace_ids",
    type=int,
    multiple=True,
    help="A workspace to load (repeat for several). Default: the token's first workspace.",
)
@click.option("--url-id", type=int, help="Only the clicks of this link.")
@click.option(
    "--lookback-days",
    type=int,
    default=DEFAULT_LOOKBACK_DAYS,
    show_default=True,
    help="Loaded days at the end to fetch again (late clicks); the merge on id replaces them.",
)
@connection_decorators(workspace=False)
def load(
    start: str,
    end: str | None,
    destination: str,
    dataset_name: str | None,
    workspace_ids: tuple[int, ...],
    url_id: int | None,
    lookback_days: int,
    **options: Any,
) -> None:
    """Load the clicks into a warehouse with dlt (table clicks, merged on id; rerun to add new days)."""
    try:
        import dlt

        from .dlt import DATASET_NAME, PIPELINE_NAME, RESOURCE_NAME, shortpen_source
    except ImportError as exc:
        fail(f"shortpen load needs dlt ({exc.name} is missing): {DLT_INSTALL_HINT}", 2)
    started = time.perf_counter()
    with reported_errors(), ProgressBar(enabled=not options["quiet"], label="load") as bar:
        days = _Days(bar)
        source = shortpen_source(
            start,
            end,
            base_url=options["base_url"],
            environment=options["environment"],
            workspace_ids=list(workspace_ids) or None,
            url_id=url_id,
            lookback_days=lookback_days,
            window_days=options["window_days"],
            max_concurrency=options["concurrency"],
            timeout=options["timeout"],
            max_retries=options["max_retries"],
            max_requests_per_second=options["max_requests_per_second"],
            progress=days,
        )
        pipeline = dlt.pipeline(
            pipeline_name=PIPELINE_NAME,
            destination=destination,
            dataset_name=dataset_name or DATASET_NAME,
        )
        try:
            info = pipeline.run(source)
        except Exception as exc:  # dlt wraps what a step raised: report the cause as our own
            raise _cause(exc) from None
    if not options["quiet"]:
        trace = pipeline.last_trace
        normalized = trace.last_normalize_info if trace is not None else None
        rows = normalized.row_counts.get(RESOURCE_NAME, 0) if normalized is not None else 0
        where = info.destination_displayable_credentials or info.destination_name
        stdout.print(
            f"Loaded {plural(rows, 'row')} into {info.dataset_name}.{RESOURCE_NAME} ({where}): "
            f"{plural(days.days, 'day')} fetched, {time.perf_counter() - started:.1f} s."
        )


def _cause(exc: BaseException) -> BaseException:
    """The exception a dlt step failed on (ours, when the API or an argument was at fault)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, InvalidArgumentError | ShortPenError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return exc
