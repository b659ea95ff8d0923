"""Writing a dataset's day files, and making them durable, in batches, before they are recorded.

A window's days are written concurrently (:data:`DAY_WRITERS` threads), each to a temporary file
beside its target (:class:`._export.AtomicFile`). How they become durable depends on the platform
(:func:`._durable.syncfs_available`, decided once):

- batched (Linux 5.8+): the temporary files are not fsync'd one by one. :meth:`DayWriter.publish`
  makes a whole batch durable: ``syncfs`` (every file's data), then every rename, then ``syncfs``
  again (the renames, and the new ``date=`` directories);
- one by one (elsewhere): each day is fsync'd, renamed and its directory fsync'd (and the dataset
  folder, when the day's directory is new) as it is written, as before; publishing only hands the
  records over.

Either way :meth:`DayWriter.publish` returns a day's record only once its file's data and its rename
are durable; the dataset then appends the records to its journal (fsync'd). Killed before that, a
day's temporary file is swept by the next sync, or its renamed file has no record (or an older one)
and the day is fetched again.
"""

from __future__ import annotations

import os
import re
import stat
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Final

import attrs

from ._dayfile import Fingerprint, fingerprint
from ._durable import syncfs, syncfs_available
from ._export import AtomicFile, Event, fsync_directory, open_writer
from ._manifest import DayRecord
from ._schema import TIMESTAMP, Field
from .errors import InvalidArgumentError

DAY_WRITERS: Final = 8
"""Days of a window written at once, each in a thread. Creating files and directories waits on the
filesystem's journal, and so do the fsyncs of the one-by-one way; in threads the waits overlap:
8 writers made a window of empty days about 5 times faster than one day at a time."""

FLUSH_DAYS: Final = 512
"""A batch is published once it holds this many days (a sync of empty days stages hundreds a second)."""

FLUSH_SECONDS: Final = 1.0
"""... or once this long has passed since the last publish: a sync whose windows take longer than
that (any real traffic) publishes and records every window as it arrives."""


def relative_path(day: date, format: str) -> str:
    """A day's file, relative to the dataset folder (``/`` separators): derived, never read."""
    return f"date={day.isoformat()}/part-0.{format}"


@attrs.define
class _Staged:
    temp: AtomicFile | None
    """The day's closed temporary file, until it is renamed (None: published)."""
    record: DayRecord


class DayWriter:
    """Writes days' files into ``folder`` and hands their records over once they are durable."""

    def __init__(
        self,
        folder: Path,
        format: str,
        *,
        batched: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.folder: Final = folder
        self.format: Final = format
        self.batched: Final = syncfs_available() if batched is None else batched
        """Whether days are made durable a batch at a time (syncfs), or one by one."""
        self._clock = clock
        self._last_publish = clock()
        self._staged: list[_Staged] = []
        self._pool: ThreadPoolExecutor | None = None
        self._empty_file: tuple[bytes, Fingerprint] | None = None  # an empty day's file, its checks

    @property
    def due(self) -> bool:
        """Whether the staged days should be published now (:data:`FLUSH_DAYS`, :data:`FLUSH_SECONDS`)."""
        return len(self._staged) >= FLUSH_DAYS or self._clock() - self._last_publish >= FLUSH_SECONDS

    def stage(
        self,
        days: Mapping[date, Sequence[Event]],
        *,
        fields: Sequence[Field],
        fetched_at: datetime,
        client_version: str,
        spec_sha256: str,
    ) -> list[DayRecord]:
        """Write each day's file (all of that day's events); return their records, which
        :meth:`publish` hands over once the files are durable. The days are written concurrently,
        and all of them have finished before this returns or raises; if one failed, none is staged
        (the others' temporary files are removed; one by one, their files stay, unrecorded)."""
        for day, events in days.items():
            _check_one_day(events, day)

        def write(day: date, events: Sequence[Event]) -> _Staged:
            target = self.folder / relative_path(day, self.format)
            if _day_directory(target.parent) and not self.batched:
                fsync_directory(self.folder)  # the new directory's name is durable before its file
            temp, count, written = self._write(target, events, fields)
            if not self.batched:
                try:
                    temp.publish()  # fsync'd above; renamed; its directory fsync'd
                except BaseException:
                    temp.abort()
                    raise
            record = DayRecord(
                day=day,
                path=relative_path(day, self.format),
                events=count,
                bytes=written.size,
                sha256=written.sha256,
                fetched_at=fetched_at,
                utc_offsets=utc_offsets(events),
                client_version=client_version,
                spec_sha256=spec_sha256,
                sample_sha256=written.sample_sha256,
            )
            return _Staged(temp=temp if self.batched else None, record=record)

        # Threads overlap the filesystem's waits (file creation, fsyncs). A window of empty days made
        # durable in a batch has no wait worth it: each file is a copy of cached bytes, and threads
        # only fight over the GIL around each system call (10 years of empty days: CPU 4.4-4.8 s with
        # threads, 3.4-3.9 s without, 40 % fewer context switches; the wall time is the filesystem's).
        if len(days) == 1 or (self.batched and not any(days.values())):
            staged = []
            try:
                for day, events in days.items():
                    staged.append(write(day, events))
            except BaseException:
                for item in staged:
                    if item.temp is not None:
                        item.temp.abort()
                raise
        else:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(DAY_WRITERS, thread_name_prefix="shortpen-dataset")
            futures = [self._pool.submit(write, day, events) for day, events in days.items()]
            wait(futures)  # every day finished (written or failed) before anything is staged or raised
            failed = [future for future in futures if future.exception() is not None]
            if failed:
                for future in futures:
                    if future.exception() is None and (temp := future.result().temp) is not None:
                        temp.abort()
                failed[0].result()  # raises
            staged = [future.result() for future in futures]
        self._staged += staged
        return [item.record for item in staged]

    def _write(
        self, target: Path, events: Sequence[Event], fields: Sequence[Field]
    ) -> tuple[AtomicFile, int, Fingerprint]:
        """The day's closed temporary file (fsync'd unless batched), its rows and fingerprint."""
        empty = self._empty_file
        if not events and empty is not None:  # every empty day's file is the same bytes
            temp = AtomicFile(target)
            try:
                temp.file.write(empty[0])
                temp.close(fsync=not self.batched)
            except BaseException:
                temp.abort()
                raise
            return temp, 0, empty[1]
        writer = open_writer(target, self.format, fields=fields)
        try:
            writer.write_batch(events)
            temp = writer.finish(fsync=not self.batched)
            written = fingerprint(temp.temp)
            if not events:
                self._empty_file = (temp.temp.read_bytes(), written)
        except BaseException:
            writer.abort()
            raise
        return temp, writer.events, written

    def publish(self) -> list[DayRecord]:
        """Make the staged days durable (batched: syncfs, renames, syncfs) and return their records,
        in the order staged. If that fails, the days not yet renamed are dropped (their temporary
        files removed) and the error raised: none of the batch is handed over."""
        staged, self._staged = self._staged, []
        self._last_publish = self._clock()
        pending = [item for item in staged if item.temp is not None]
        if pending:
            directories = list(dict.fromkeys(item.temp.target.parent for item in pending if item.temp))
            try:
                syncfs(directories)  # 1. every file's data
                for item in pending:
                    if item.temp is not None:
                        item.temp.publish(fsync=False)  # 2. the renames
                        item.temp = None
                syncfs(directories)  # 3. the renames and the new directories
            except BaseException:
                for item in pending:
                    if item.temp is not None:
                        item.temp.abort()
                raise
        return [item.record for item in staged]

    def shutdown(self) -> None:
        """Stop the writer threads (idempotent); staged days not published are dropped."""
        for item in self._staged:
            if item.temp is not None:
                item.temp.abort()
        self._staged = []
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


def _day_directory(directory: Path) -> bool:
    """Create a day's directory (True), or check that it is one (False; a symlink is refused: never
    followed)."""
    try:
        directory.mkdir(parents=True)  # a new day, the usual case: no lookup before
    except FileExistsError:
        pass
    else:
        return True
    if not stat.S_ISDIR(os.lstat(directory).st_mode):
        raise InvalidArgumentError(
            f"cannot write the dataset day {str(directory)!r}: it is not a directory "
            "(a symlink is never followed); remove it"
        )
    return False


def split_by_day(events: Iterable[Event], days: Iterable[date]) -> dict[date, list[Event]]:
    """Group a window's events by local day (``created_at[:10]``, already in the account's timezone).

    Returns an entry, possibly empty, for every one of ``days``, in the order given. An event on a day
    outside ``days`` is a server bug: ``ValueError`` naming the event and its date.
    """
    by_key: dict[str, list[Event]] = {day.isoformat(): [] for day in days}
    result = {date.fromisoformat(key): group for key, group in by_key.items()}
    for event in events:
        created_at = event.get(TIMESTAMP)
        key = created_at[:10] if isinstance(created_at, str) else None
        group = by_key.get(key) if key is not None else None
        if group is None:
            window = f"{min(result)}..{max(result)}" if result else "an empty window"
            raise ValueError(
                f"event {event.get('id')!r} has created_at {created_at!r}, outside the window {window}"
            )
        group.append(event)
    return result


def _check_one_day(events: Sequence[Event], day: date) -> None:
    key = day.isoformat()
    for event in events:
        created_at = event.get(TIMESTAMP)
        if not isinstance(created_at, str) or created_at[:10] != key:
            raise ValueError(f"event {event.get('id')!r} has created_at {created_at!r}, not on {key}")


_OFFSET: Final = re.compile(r"[+-]\d\d:\d\d")


def utc_offsets(events: Sequence[Event]) -> tuple[str, ...]:
    """The distinct UTC offsets of the events' ``created_at``, as ``+HH:MM``, sorted; ``()`` if none.

    Fast path: the usual form ends in ``+HH:MM``, so only distinct 6-character tails are looked at.
    """
    tails = {event[TIMESTAMP][-6:] for event in events}
    if all(_OFFSET.fullmatch(tail) for tail in tails):
        return tuple(sorted(tails))
    offsets = set()
    for event in events:
        offset = datetime.fromisoformat(event[TIMESTAMP]).utcoffset()
        if offset is None:
            raise ValueError(f"event {event.get('id')!r}: created_at {event['created_at']!r} has no offset")
        offsets.add(_format_offset(offset))
    return tuple(sorted(offsets))


def _format_offset(offset: timedelta) -> str:
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(offset) // timedelta(minutes=1)
    seconds = (abs(offset) - timedelta(minutes=minutes)).seconds
    text = f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    return f"{text}:{seconds:02d}" if seconds else text
