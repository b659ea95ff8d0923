"""The storage half of a resumable sync: one file per day in a Hive-partitioned folder, plus its records.

Layout (what Spark, DuckDB, BigQuery and ``pyarrow.dataset`` read natively)::

    output_dir/
      _manifest.json                      which days are complete, and how they were fetched
      _journal.jsonl                      the days recorded since the manifest was last written
      _sync.lock                          the writer's lock (one sync per folder at a time)
      date=2025-01-01/part-0.parquet      that day's events (or part-0.jsonl / part-0.csv)
      date=2025-01-02/part-0.parquet

The day lives in the path only: no ``date`` column is added to the files (readers derive it from the
``date=`` directory). Everything that is not data starts with ``_`` or ``.`` (the manifest, journal and
lock, the writers' temporary files), which dataset readers skip.

One writer per folder: a sync opens its dataset with ``lock=True``, which takes an exclusive lock on
``_sync.lock`` (:mod:`._lock`) before it reads the records or sweeps temporary files, and holds it
until :meth:`Dataset.close`. A second sync on the folder fails at once with ``DatasetLockedError``.
The lock is the kernel's: it goes with the process, however the process ends.

The records are not trusted blindly. A day is complete only when its file is where the day says it
is (``date=<day>/part-0.<format>``: the path is derived from the day, never read from the records, and
neither the day's directory nor its file may be a symlink, so nothing outside the folder is read),
is a regular file, has the recorded size, and passes :func:`._dayfile.file_matches`: by default a
cheap check (the SHA-256 of its first and last 64 KiB; for Parquet also the footer's row count),
with ``verify=True`` its full SHA-256. Anything else (a file zeroed or rewritten in place, another
day's file, a record whose ``path`` is not the derived one) is not complete, and is fetched again.

Crash safety, in order (each step durable before the next starts; :mod:`._daywriter`):

1. each day of a window: its file written to a temporary file beside it (``_export.AtomicFile``);
   the days of a window are written concurrently, and all of them have finished before the next
   step. A sync stages its windows' days and records them in batches (a batch is due at 512 days or
   a second after the last one, and the rest when the sync ends, failed or not);
2. the batch made durable. Where ``syncfs`` can be trusted (Linux 5.8+, :mod:`._durable`):
   ``syncfs`` (every file's data), then every ``os.replace`` onto its ``date=<day>/part-0.<format>``,
   then ``syncfs`` again (the renames and the new ``date=`` directories): two waits on the disk per
   batch. Elsewhere each day was already made durable one by one in step 1: fsync, ``os.replace``,
   fsync of the day's directory (and of the dataset folder when the day's directory is new);
3. the batch's records: one append to the journal, fsync'd (when the journal is created, the
   folder is fsync'd too);
4. when the sync ends: the manifest, rewritten atomically with every record (temporary file, fsync,
   ``os.replace``, fsync of the folder), then the journal removed (fsync of the folder); see
   :mod:`._manifest`.

So a day is in the journal only once its file's data and its name are on disk. A process killed
anywhere in between leaves a temporary file (swept by the next sync), a file the records do not
know (or know with another hash), or a journal with a torn last line, which is ignored: that day is
not complete, so the next :meth:`Dataset.plan` fetches it again and the new file replaces it. A day's file always holds one complete fetch of that day, so a rerun never duplicates or
loses an event.

The columns are those of the schema the dataset is opened with (the spec's, ``_schema.EVENT``); the
records keep the schema the files were written with, and opening a folder written under another
one checks that the files can go on together (:mod:`._dataset_schema`): new fields become columns of
the files written from then on, a removed, renamed or retyped field is a ``DatasetSchemaError``.

A day with no events is recorded as complete and gets a file with no rows (an empty JSONL file, a CSV
header, a Parquet file with the schema), so "fetched, no clicks" and "not fetched yet" look different
to readers too.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Final

from ._dataset_schema import CURRENT, DatasetSchema, check_resume
from ._dayfile import file_matches
from ._daywriter import DayWriter, relative_path, split_by_day, utc_offsets
from ._export import Event, import_pyarrow, remove_stale_temps, resolve_format
from ._lock import FolderLock
from ._manifest import JOURNAL_NAME, MANIFEST_NAME, DayRecord, Manifest, ManifestError
from .errors import InvalidArgumentError

__all__ = [
    "JOURNAL_NAME",
    "MANIFEST_NAME",
    "Dataset",
    "DayRecord",
    "ManifestError",
    "split_by_day",
    "utc_offsets",
]

logger = logging.getLogger("shortpen_api_client")


class Dataset:
    """A day-partitioned dataset in ``output_dir``; one file per day, records of the complete days.

    Opening it reads the records (manifest, then journal); records that are unreadable, corrupt or
    written for another format raise :class:`ManifestError` naming the file (nothing is started over),
    and files written under an event schema that ``schema`` cannot continue raise
    ``DatasetSchemaError`` (see :mod:`._dataset_schema`).
    With ``lock=True`` (a sync) it first creates the folder and takes the writer's lock, failing at
    once with ``DatasetLockedError`` if another writer holds it; :meth:`close` (or leaving a ``with``
    block) compacts the journal into the manifest and releases the lock.
    """

    def __init__(
        self,
        output_dir: Path | str,
        *,
        format: str = "parquet",
        source: dict[str, Any] | None = None,
        lock: bool = False,
        schema: DatasetSchema = CURRENT,
    ) -> None:
        self.path: Final = Path(output_dir)
        self.format: Final = resolve_format(Path(f"part-0.{format}"), format)
        if self.format == "parquet":
            import_pyarrow()  # fail now, naming the extra, rather than after the first request
        self.manifest_path: Final = self.path / MANIFEST_NAME
        self.source: Final = source
        """What the data is of (API host, workspace, link): a folder holds one source's clicks only."""
        self.schema: Final = schema
        """The event schema the files are written with (this client's spec, unless a test says)."""
        if self.path.exists() and not self.path.is_dir():
            raise InvalidArgumentError(
                f"dataset folder {str(self.path)!r} is not a directory",
                argument="output_dir",
                value=output_dir,
            )
        self.lock: Final = FolderLock(self.path)
        self._days = DayWriter(self.path, self.format)
        if lock:
            try:
                self.path.mkdir(parents=True, exist_ok=True)
                self.lock.acquire_lock()
            except PermissionError as exc:  # before any request: a folder we cannot write to
                raise InvalidArgumentError(
                    f"output_dir {str(self.path)!r} cannot be written: {exc.strerror}",
                    argument="output_dir",
                    value=output_dir,
                ) from None
        try:
            self._manifest = Manifest(self.path, format=self.format, source=source)
            recorded = self._manifest.schema
            changes = check_resume(self.path, recorded, self._manifest.records.values(), schema)
        except BaseException:
            self.lock.release_lock()
            raise
        self.schema_changes: Final = changes
        """How ``schema`` differs from the one the files were written with (accepted changes)."""
        self._manifest.schema = schema  # recorded with the first day written
        for day, record in self._manifest.records.items():
            if record.path != self._relative_path(day):
                logger.warning(
                    "dataset %s: the record of %s names %r, not %r: the day is not complete",
                    self.path,
                    day,
                    record.path,
                    self._relative_path(day),
                )

    def day_path(self, day: date) -> Path:
        return self.path / self._relative_path(day)

    def _relative_path(self, day: date) -> str:
        return relative_path(day, self.format)

    @property
    def records(self) -> dict[date, DayRecord]:
        """The recorded days, in date order (a copy)."""
        return dict(sorted(self._manifest.records.items()))

    def is_complete(self, day: date, *, verify: bool = False) -> bool:
        """Whether ``day``'s file is the one recorded: at the derived path, a regular file (no symlink
        on the way), with the recorded size, and its sample SHA-256 and Parquet footer (or, with
        ``verify``, its full SHA-256) as recorded (:func:`._dayfile.file_matches`)."""
        record = self._manifest.records.get(day)
        if record is None or record.path != self._relative_path(day):
            return False
        return file_matches(self.day_path(day), record, format=self.format, verify=verify)

    def complete_days(self, *, verify: bool = False) -> set[date]:
        """The recorded days whose file is the one recorded (see :meth:`is_complete`)."""
        return {day for day in self._manifest.records if self.is_complete(day, verify=verify)}

    def plan(self, start: date, end: date, *, lookback_days: int, verify: bool = False) -> list[date]:
        """The days of [start, end] a sync must (re)fetch, in ascending order.

        A day is fetched when it is not complete (never fetched, file missing or not the one
        recorded), when it is one of the last ``lookback_days`` days of the range, or when its last
        fetch was less than ``lookback_days`` days after the day ended (so a day fetched while clicks
        could still arrive is refetched by a later run, even one that skipped some days). Only the
        days it would skip are checked (:meth:`is_complete`; hashed in full with ``verify``).
        """
        if start > end:
            raise InvalidArgumentError(f"start {start} is after end {end}", argument="start", value=start)
        if lookback_days < 0:
            raise InvalidArgumentError(
                f"lookback_days must be 0 or more, not {lookback_days}",
                argument="lookback_days",
                value=lookback_days,
            )
        settle = timedelta(days=lookback_days)
        lookback_after = end - timedelta(days=lookback_days)
        records = self._manifest.records
        days = []
        day = start
        while day <= end:
            record = records.get(day)
            if (
                record is None
                or day > lookback_after
                or record.fetched_at < record.day_end() + settle
                or not self.is_complete(day, verify=verify)
            ):
                days.append(day)
            day += timedelta(days=1)
        return days

    def write_day(
        self,
        day: date,
        events: Sequence[Event],
        *,
        fetched_at: datetime,
        client_version: str,
        spec_sha256: str,
    ) -> DayRecord:
        """Replace ``day``'s file with ``events`` (all of that day), then record the day as complete."""
        (record,) = self.write_days(
            {day: events}, fetched_at=fetched_at, client_version=client_version, spec_sha256=spec_sha256
        )
        return record

    def write_days(
        self,
        days: Mapping[date, Sequence[Event]],
        *,
        fetched_at: datetime,
        client_version: str,
        spec_sha256: str,
        defer: bool = False,
    ) -> list[DayRecord]:
        """Replace each day's file with its events (all of that day), then record them all as complete
        with one journal append. The days are written concurrently, and all of them are done before
        anything is recorded (:class:`._daywriter.DayWriter`).

        With ``defer`` (a sync, once per window), the days are recorded by a later :meth:`flush`, which
        makes many windows' days durable together: this call flushes when the staged days are due (a
        batch of 512 days, or a second since the last flush), and :meth:`close` flushes the rest.

        Every event's ``created_at`` must be on its day (local date, as the server sent it); the
        offsets seen are recorded. ``fetched_at`` must be timezone-aware.
        """
        if fetched_at.tzinfo is None:
            raise ValueError("fetched_at must be timezone-aware")
        records = self._days.stage(
            days,
            fields=self.schema.fields,
            fetched_at=fetched_at.astimezone(UTC),
            client_version=client_version,
            spec_sha256=spec_sha256,
        )
        if not defer or self._days.due:
            self.flush()
        return records

    def flush(self) -> None:
        """Record the staged days: once their files are durable, one journal append (fsync'd)."""
        records = self._days.publish()
        if records:
            self._manifest.append(records)

    def compact(self) -> None:
        """Fold the journal into the manifest (one atomic rewrite), if there is a journal."""
        if self._manifest.has_journal:
            self._manifest.compact()

    def close(self) -> None:
        """Record the staged days, stop the day writers, compact the journal and release the writer's
        lock (if this object holds it), in that order; the writers are stopped and the lock released
        whatever fails."""
        try:
            try:
                self.flush()
            finally:
                self._days.shutdown()  # no day is being written once the lock is released
            self.compact()
        finally:
            self.lock.release_lock()

    def __enter__(self) -> Dataset:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def remove_stale_temps(self) -> list[Path]:
        """Delete the temporary files writers killed mid-write (``kill -9``) left in the dataset.

        A sync calls it when it starts, holding the folder's lock: so every temporary file of this
        host is a dead writer's, and another host's is removed once untouched for an hour (the lock
        keeps other hosts out only if the filesystem shares locks between hosts; see
        :func:`._export.remove_stale_temps`). A ``date=`` entry that is not a directory (a symlink)
        is not looked into. Dataset readers skip these files anyway, but they take space.
        """
        removed = remove_stale_temps(self.manifest_path, folder_locked=True)
        if self.path.is_dir():
            for day_dir in sorted(self.path.glob("date=*")):
                if stat.S_ISDIR(os.lstat(day_dir).st_mode):  # a symlinked day is never walked into
                    removed += remove_stale_temps(day_dir / f"part-0.{self.format}", folder_locked=True)
        return removed
