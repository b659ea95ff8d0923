"""The two jobs built on the window stream, shared by ``ShortPen`` and ``AsyncShortPen``:
``export`` (one file, all or nothing) and ``sync`` (a day-partitioned dataset that resumes).

Each job is set up, and so validates everything, before the first request; the drivers then feed
it the planned windows' batches in date order.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any, BinaryIO

import attrs

from ._config import check_int, parse_date
from ._dataset import Dataset, split_by_day
from ._dataset_schema import CURRENT, DatasetSchema
from ._engine import Run
from ._export import EventWriter, open_writer, remove_stale_temps
from ._version import __version__
from ._windows import Window, plan_windows
from .errors import InvalidArgumentError

logger = logging.getLogger("shortpen_api_client")

#: Days at the end of a sync range that every run fetches again: clicks can be recorded late.
DEFAULT_LOOKBACK_DAYS = 3
MAX_LOOKBACK_DAYS = 36_525
"""A century: more is no lookback but a refetch of everything (and past the calendar's arithmetic)."""


@attrs.frozen(kw_only=True)
class ExportReport:
    """What an export did: ``path`` holds ``events`` events in ``bytes`` bytes (``path`` is None for
    an export to a stream)."""

    path: Path | None
    format: str
    events: int
    windows: int
    requests: int
    retries: int
    splits: int
    bytes: int
    seconds: float


@attrs.frozen(kw_only=True)
class SyncReport:
    """What a sync did: which days it (re)wrote into ``output_dir`` and which it found complete."""

    output_dir: Path
    format: str
    start: dt.date
    end: dt.date
    days_fetched: int
    days_skipped: int
    events: int
    windows: int
    requests: int
    retries: int
    splits: int
    bytes: int
    seconds: float


def yesterday_utc(now: dt.datetime | None = None) -> dt.date:
    """The default end of a sync: yesterday by the UTC calendar. Today is still receiving clicks
    (in every timezone), and the lookback days refetch the days before it for late ones."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).date() - dt.timedelta(days=1)


def windows_for_days(days: list[dt.date], window_days: int) -> list[Window]:
    """Windows covering exactly ``days`` (ascending): each run of consecutive days is planned
    as a range of its own, so complete days in between are not fetched again."""
    windows: list[Window] = []
    run_start = previous = None
    for day in [*days, None]:
        if day is not None and previous is not None and day == previous + dt.timedelta(days=1):
            previous = day
            continue
        if run_start is not None and previous is not None:
            windows += plan_windows(run_start, previous, window_days)
        run_start = previous = day
    return windows


class ExportJob:
    """One export: an atomic writer that the batches go to.

    Starting one also removes the temporary files that earlier exports to the same ``output`` left
    when they were killed (those whose process is gone; a running writer's file is never touched).
    """

    def __init__(self, output: Path | str | BinaryIO, format: str | None) -> None:
        self.writer: EventWriter = open_writer(output, format)
        try:
            if self.writer.path is not None:  # a stream has no temporary files
                remove_stale_temps(self.writer.path)
        except BaseException:
            self.writer.abort()
            raise

    def report(self, run: Run, seconds: float) -> ExportReport:
        return export_report(
            run,
            path=self.writer.path,
            format=self.writer.format,
            nbytes=self.writer.bytes,
            seconds=seconds,
            events=self.writer.events,
        )


def export_report(
    run: Run, *, path: Path | None, format: str, nbytes: int, seconds: float, events: int | None = None
) -> ExportReport:
    """The report of an export of ``run``'s windows (to a file, or streamed); ``events`` as written
    (the exactly-once rules may drop some of what was delivered)."""
    s = run.stats
    return ExportReport(
        path=path,
        format=format,
        events=s.events if events is None else events,
        windows=s.windows,
        requests=s.requests,
        retries=s.retries,
        splits=s.splits,
        bytes=nbytes,
        seconds=seconds,
    )


class SyncJob:
    """One sync: the days to fetch, and where each day's events go once its window arrives."""

    def __init__(
        self,
        start: dt.date | str,
        end: dt.date | str | None,
        *,
        output_dir: Path | str,
        lookback_days: int,
        format: str,
        window_days: int,
        source: dict[str, Any],
        schema: DatasetSchema = CURRENT,
        verify: bool = False,
    ) -> None:
        self.start = parse_date(start, "start")
        self.end = yesterday_utc() if end is None else parse_date(end, "end")
        if self.start > self.end:
            hint = " (the end defaults to yesterday, UTC)" if end is None else ""
            raise InvalidArgumentError(
                f"start ({self.start}) is after end ({self.end}){hint}", argument="start", value=start
            )
        self.lookback_days = check_int(lookback_days, "lookback_days", minimum=0, maximum=MAX_LOOKBACK_DAYS)
        if not isinstance(verify, bool):
            raise InvalidArgumentError(
                f"verify must be True or False, got {verify!r}", argument="verify", value=verify
            )
        # The folder's lock first (DatasetLockedError if another sync holds it), then the records
        # (DatasetSchemaError if the files there cannot go on with ``schema``'s columns).
        self.dataset = Dataset(output_dir, format=format, source=source, lock=True, schema=schema)
        try:
            self.days = self.dataset.plan(
                self.start, self.end, lookback_days=self.lookback_days, verify=verify
            )
            self.windows = windows_for_days(self.days, window_days)
        except BaseException:
            self.dataset.lock.release_lock()
            raise
        self.bytes = 0

    def prepare(self) -> None:
        """Clear temporary files a killed run may have left (the folder's lock is held; a folder
        that cannot be written is an ``InvalidArgumentError`` naming it, before any request)."""
        try:
            self.dataset.remove_stale_temps()
        except PermissionError as exc:
            raise InvalidArgumentError(
                f"output_dir {str(self.dataset.path)!r} cannot be written: {exc.strerror}",
                argument="output_dir",
                value=str(self.dataset.path),
            ) from None

    def finish(self, error: BaseException | None = None) -> None:
        """Record the days written and not yet recorded, shut the day writers down, fold the journal
        into the manifest and release the folder's lock, whatever happened (idempotent). After a
        failure (``error``), the days already written are still recorded (each holds one complete
        fetch), and a journal that cannot be folded now is left to be replayed next time."""
        if error is None:
            self.dataset.close()
            return
        try:
            self.dataset.close()  # the day writers are shut down and the lock released in any case
        except OSError as failure:
            logger.warning("could not compact the dataset journal in %s: %s", self.dataset.path, failure)

    def __enter__(self) -> SyncJob:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        self.finish(exc)

    def write(self, window: Window, events: list[dict[str, object]]) -> None:
        """Write each day of a delivered window (its events split by their local date); the days are
        recorded with the next flush (a batch of windows, at most a second apart, or the end)."""
        records = self.dataset.write_days(
            split_by_day(events, window.each_day()),
            fetched_at=dt.datetime.now(dt.UTC),
            client_version=__version__,
            spec_sha256=self.dataset.schema.spec_sha256,
            defer=True,
        )
        self.bytes += sum(record.bytes for record in records)

    def report(self, run: Run, seconds: float) -> SyncReport:
        s = run.stats
        total_days = (self.end - self.start).days + 1
        return SyncReport(
            output_dir=self.dataset.path,
            format=self.dataset.format,
            start=self.start,
            end=self.end,
            days_fetched=len(self.days),
            days_skipped=total_days - len(self.days),
            events=s.events,
            windows=s.windows,
            requests=s.requests,
            retries=s.retries,
            splits=s.splits,
            bytes=self.bytes,
            seconds=seconds,
        )
