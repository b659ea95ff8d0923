"""The storage half of a resumable sync: one file per day in a Hive-partitioned folder, plus a manifest.

Layout (what Spark, DuckDB, BigQuery and ``pyarrow.dataset`` read natively)::

    output_dir/
      _manifest.json                      which days are complete, and how they were fetched
      date=2025-01-01/part-0.parquet      that day's events (or part-0.jsonl / part-0.csv)
      date=2025-01-02/part-0.parquet

The day lives in the path only: no ``date`` column is added to the files (readers derive it from the
``date=`` directory). Everything that is not data starts with ``_`` or ``.`` (the manifest, the writers'
temporary files), which dataset readers skip.

Crash safety, in order: a day's file is written atomically (``_export``: temporary file, fsync,
``os.replace``) and only THEN recorded in the manifest, itself replaced atomically. A process killed
in between leaves a file the manifest does not know (or knows with another size): that day is not
complete, so the next :meth:`Dataset.plan` fetches it again and the new file replaces it. A day's file
always holds one complete fetch of that day, so a rerun never duplicates or loses an event.

A day with no events is recorded as complete and gets a file with no rows (an empty JSONL file, a CSV
header, a Parquet file with the schema), so "fetched, no clicks" and "not fetched yet" look different
to readers too.

One writer per ``output_dir`` at a time: two concurrent syncs into one folder would race on the manifest.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any, Final, TypeVar

import attrs

from ._export import (
    Event,
    import_pyarrow,
    open_writer,
    remove_stale_temps,
    resolve_format,
    write_bytes_atomically,
)
from ._schema import TIMESTAMP
from .errors import InvalidArgumentError

MANIFEST_NAME: Final = "_manifest.json"
MANIFEST_VERSION: Final = 1
_LATEST_OFFSET: Final = timezone(timedelta(hours=-12))  # the last place on Earth where a day ends


class ManifestError(InvalidArgumentError):
    """The dataset's manifest cannot be used: unreadable, corrupt, or written for another format."""


@attrs.frozen
class DayRecord:
    """What the manifest knows about one day's file."""

    day: date
    path: str
    """The file, relative to the dataset folder, with ``/`` separators."""
    events: int
    bytes: int
    fetched_at: datetime
    """When the day was fetched (UTC)."""
    utc_offsets: tuple[str, ...]
    """The account's UTC offsets seen in the day's ``created_at`` values (two on a DST change day)."""
    client_version: str
    spec_sha256: str

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "events": self.events,
            "bytes": self.bytes,
            "fetched_at": self.fetched_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "utc_offsets": list(self.utc_offsets),
            "client_version": self.client_version,
            "spec_sha256": self.spec_sha256,
        }

    @classmethod
    def from_json(cls, day: str, value: Any) -> DayRecord:
        """Parse one manifest entry; ``ValueError``/``TypeError``/``KeyError`` if it is malformed."""
        if not isinstance(value, dict):
            raise TypeError(f"entry for {day} is not an object")
        fetched_at = datetime.fromisoformat(_typed(value, "fetched_at", str))
        if fetched_at.tzinfo is None:
            raise ValueError(f"entry for {day}: fetched_at has no UTC offset")
        offsets = _typed(value, "utc_offsets", list)
        if not all(isinstance(offset, str) for offset in offsets):
            raise TypeError(f"entry for {day}: utc_offsets must be strings")
        return cls(
            day=date.fromisoformat(day),
            path=_typed(value, "path", str),
            events=_typed(value, "events", int),
            bytes=_typed(value, "bytes", int),
            fetched_at=fetched_at.astimezone(UTC),
            utc_offsets=tuple(offsets),
            client_version=_typed(value, "client_version", str),
            spec_sha256=_typed(value, "spec_sha256", str),
        )

    def day_end(self) -> datetime:
        """The (latest) instant this day ends, from its offsets; for a day without events, at UTC-12."""
        offsets = [_parse_offset(offset) for offset in self.utc_offsets] or [_LATEST_OFFSET]
        return max(datetime.combine(self.day + timedelta(days=1), time(), tzinfo=tz) for tz in offsets)


T = TypeVar("T")


def _typed(mapping: dict[str, Any], key: str, kind: type[T]) -> T:
    value = mapping[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TypeError(f"{key!r} must be a {kind.__name__}, not {value!r}")
    return value


class Dataset:
    """A day-partitioned dataset in ``output_dir``; one file per day, a manifest of complete days.

    Opening it reads the manifest if there is one; a manifest that is unreadable, corrupt or written
    for another format raises :class:`ManifestError` naming the file (nothing is started over).
    """

    def __init__(
        self, output_dir: Path | str, *, format: str = "parquet", source: dict[str, Any] | None = None
    ) -> None:
        self.path: Final = Path(output_dir)
        self.format: Final = resolve_format(Path(f"part-0.{format}"), format)
        if self.format == "parquet":
            import_pyarrow()  # fail now, naming the extra, rather than after the first request
        self.manifest_path: Final = self.path / MANIFEST_NAME
        self.source: Final = source
        """What the data is of (API host, workspace, link): a folder holds one source's clicks only."""
        if self.path.exists() and not self.path.is_dir():
            raise InvalidArgumentError(f"dataset folder {str(self.path)!r} is not a directory")
        self._days = self._load_manifest()

    def day_path(self, day: date) -> Path:
        return self.path / self._relative_path(day)

    def _relative_path(self, day: date) -> str:
        return f"date={day.isoformat()}/part-0.{self.format}"

    @property
    def records(self) -> dict[date, DayRecord]:
        """The manifest's days, in date order (a copy)."""
        return dict(sorted(self._days.items()))

    def complete_days(self) -> set[date]:
        """Days recorded in the manifest whose file is there with the recorded size."""
        complete = set()
        for day, record in self._days.items():
            try:
                size = (self.path / record.path).stat().st_size
            except FileNotFoundError:
                continue
            if size == record.bytes:
                complete.add(day)
        return complete

    def plan(self, start: date, end: date, *, lookback_days: int) -> list[date]:
        """The days of [start, end] a sync must (re)fetch, in ascending order.

        A day is fetched when it is not complete (never fetched, file missing or not the one
        recorded), when it is one of the last ``lookback_days`` days of the range, or when its last
        fetch was less than ``lookback_days`` days after the day ended (so a day fetched while clicks
        could still arrive is refetched by a later run, even one that skipped some days).
        """
        if start > end:
            raise InvalidArgumentError(f"start {start} is after end {end}")
        if lookback_days < 0:
            raise InvalidArgumentError(f"lookback_days must be 0 or more, not {lookback_days}")
        complete = self.complete_days()
        settle = timedelta(days=lookback_days)
        lookback_after = end - timedelta(days=lookback_days)
        days = []
        day = start
        while day <= end:
            if (
                day not in complete
                or day > lookback_after
                or self._days[day].fetched_at < self._days[day].day_end() + settle
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
    ) -> list[DayRecord]:
        """Replace each day's file with its events (all of that day), then record them all as complete
        with one manifest write (a sync calls this once per window, not once per day).

        Every event's ``created_at`` must be on its day (local date, as the server sent it); the
        offsets seen are recorded. ``fetched_at`` must be timezone-aware.
        """
        if fetched_at.tzinfo is None:
            raise ValueError("fetched_at must be timezone-aware")
        records = []
        for day, events in days.items():
            _check_one_day(events, day)
            target = self.day_path(day)
            target.parent.mkdir(parents=True, exist_ok=True)
            with open_writer(target, self.format) as writer:
                writer.write_batch(events)
            records.append(
                DayRecord(
                    day=day,
                    path=self._relative_path(day),
                    events=writer.events,
                    bytes=writer.bytes,
                    fetched_at=fetched_at.astimezone(UTC),
                    utc_offsets=utc_offsets(events),
                    client_version=client_version,
                    spec_sha256=spec_sha256,
                )
            )
        self._days.update((record.day, record) for record in records)
        self._write_manifest()
        return records

    def remove_stale_temps(self) -> list[Path]:
        """Delete the temporary files writers killed mid-write (``kill -9``) left in the dataset.

        Call it when a sync starts: dataset readers skip these files anyway, but they take space.
        Only with no other writer on this folder (its temporary files would be deleted too).
        """
        removed = remove_stale_temps(self.manifest_path)
        if self.path.is_dir():
            for day_dir in sorted(self.path.glob("date=*")):
                removed += remove_stale_temps(day_dir / f"part-0.{self.format}")
        return removed

    def _write_manifest(self) -> None:
        manifest = {
            "manifest_version": MANIFEST_VERSION,
            "format": self.format,
            "source": self.source,
            "days": {day.isoformat(): record.to_json() for day, record in sorted(self._days.items())},
        }
        write_bytes_atomically(self.manifest_path, (json.dumps(manifest, indent=1) + "\n").encode())

    def _load_manifest(self) -> dict[date, DayRecord]:
        name = str(self.manifest_path)
        try:
            raw = self.manifest_path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise ManifestError(f"cannot read the dataset manifest {name}: {exc}") from exc
        try:
            manifest = json.loads(raw)
            if not isinstance(manifest, dict):
                raise TypeError("not a JSON object")
            version = manifest.get("manifest_version")
            if version != MANIFEST_VERSION:
                raise ValueError(
                    f"unknown manifest_version {version!r} (this client reads {MANIFEST_VERSION})"
                )
            days = _typed(manifest, "days", dict)
            records = {
                date.fromisoformat(day): DayRecord.from_json(day, value) for day, value in days.items()
            }
            fmt = _typed(manifest, "format", str)
            source = manifest.get("source")
        except (ValueError, TypeError, KeyError) as exc:
            raise ManifestError(
                f"the dataset manifest {name} is corrupt ({exc}); fix or remove it to fetch every day again"
            ) from exc
        if fmt != self.format:
            raise ManifestError(
                f"the dataset manifest {name} is for format {fmt!r}, not {self.format!r}: "
                f"use format={fmt!r} or another folder"
            )
        if self.source is not None and source is not None and source != self.source:
            raise ManifestError(
                f"the dataset in {self.path} holds the clicks of {_describe(source)}, not of "
                f"{_describe(self.source)}: use another folder (mixing them would corrupt both)"
            )
        return records


def _describe(source: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in source.items())


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


def _parse_offset(offset: str) -> timezone:
    parsed = datetime.fromisoformat(f"2000-01-01T00:00:00{offset}").utcoffset()
    if parsed is None:  # pragma: no cover - the text always carries an offset
        raise ValueError(f"not a UTC offset: {offset!r}")
    return timezone(parsed)
