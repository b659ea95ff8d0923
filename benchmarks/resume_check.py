"""What a sync's resume check costs: seconds to plan a rerun over days already complete.

Builds a folder of ``days`` days of ``clicks`` events each (one day written by the dataset from the
fake's events, copied to the other days with the same record, so every file is a real file of its
own), then times ``Dataset.plan`` over them: the default check (size, first and last 64 KiB, Parquet
footer) and ``verify=True`` (the full SHA-256 of every file). ``--cold`` drops the folder's files
from the page cache before each run (``posix_fadvise(DONTNEED)``, this folder's files only), so the
figures include reading them from disk (the warm figures are measured too).

    python benchmarks/resume_check.py --format parquet                     # a year of 100k-click days
    python benchmarks/resume_check.py --format jsonl --days 365 --clicks 100000 --cold
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import tempfile
import time
from pathlib import Path

import attrs

from shortpen_api_client import SPEC_SHA256, __version__
from shortpen_api_client._dataset import Dataset
from shortpen_api_client.testing import FakeShortPen

FIRST = dt.date(2024, 1, 1)


def build(folder: Path, *, days: int, clicks: int, format: str) -> int:
    """Write the folder; return its data bytes."""
    events = FakeShortPen(seed=1, events_per_day=clicks).events(FIRST, FIRST)
    with Dataset(folder, format=format) as dataset:
        first = dataset.write_day(
            FIRST,
            events,
            fetched_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
            client_version=__version__,
            spec_sha256=SPEC_SHA256,
        )
        records = [first]
        for offset in range(1, days):
            day = FIRST + dt.timedelta(days=offset)
            path = dataset.day_path(day)
            path.parent.mkdir()
            shutil.copyfile(dataset.day_path(FIRST), path)
            records.append(attrs.evolve(first, day=day, path=path.relative_to(folder).as_posix()))
        dataset._manifest.append(records[1:])  # the benchmark's shortcut: the copies' records
    return first.bytes * days


def drop_from_cache(folder: Path) -> None:
    for path in folder.rglob("part-0.*"):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def check(folder: Path, *, days: int, format: str, verify: bool, cold: bool) -> float:
    if cold:
        drop_from_cache(folder)
    last = FIRST + dt.timedelta(days=days - 1)
    dataset = Dataset(folder, format=format)
    started = time.perf_counter()
    planned = dataset.plan(FIRST, last, lookback_days=0, verify=verify)
    seconds = time.perf_counter() - started
    assert planned == [], f"{len(planned)} days not complete"
    return seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--format", default="parquet", choices=("parquet", "jsonl", "csv"))
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--clicks", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3, help="runs of each check (the median is printed)")
    parser.add_argument("--cold", action="store_true", help="also with the files dropped from the page cache")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="shortpen-resume-check-"))
    try:
        size = build(folder / "ds", days=args.days, clicks=args.clicks, format=args.format)
        caches = (False, True) if args.cold else (False,)
        for cold, verify in [(cold, verify) for cold in caches for verify in (False, True)]:
            runs = sorted(
                check(folder / "ds", days=args.days, format=args.format, verify=verify, cold=cold)
                for _ in range(args.runs)
            )
            print(
                f"{args.days} days x {args.clicks} clicks, {args.format} ({size / 1e9:.2f} GB), "
                f"{'verify (full SHA-256)' if verify else 'default check'}, "
                f"{'cold' if cold else 'warm'} cache: median {runs[len(runs) // 2]:.3f} s "
                f"(runs {', '.join(f'{r:.3f}' for r in runs)}), load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    finally:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
