"""What a sync's bookkeeping costs: seconds and bytes written for years of empty days.

A fake with no clicks (``events_per_day=0``), in-process, so the figures are the sync's own work: one
file per day and the records (journal appends, one manifest at the end). Bytes come from Linux's
``/proc/self/io``: ``write_bytes`` (what reached the block layer, during the sync only) and ``wchar``
(what the process passed to ``write()``).

    python benchmarks/sync_bookkeeping.py 20 40          # years to measure, one run each
    python benchmarks/sync_bookkeeping.py 40 40 40       # three runs: compare the median
    python benchmarks/sync_bookkeeping.py 1 --window-days 31 --format jsonl

The folders are deleted after the last run, not between runs: on an ext4 without a journal (as on
the shared development VM), the kernel skips inodes freed in the last one to six minutes when it
allocates new ones, scanning past each of them for every file and directory created, so deleting
the 29,000 inodes of a 40-year run made the next run several times slower (all of it system time
in ``find_inode_bit``/``recently_deleted``). For the same reason, figures taken just after a large
``rm -rf`` on that filesystem (a test suite's clean-up included) are not comparable.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import tempfile
import time
from pathlib import Path

import httpx

from shortpen_api_client import ShortPen
from shortpen_api_client.testing import FakeShortPen


def io_counters() -> dict[str, int]:
    """``/proc/self/io`` as numbers (zeros where it does not exist)."""
    path = Path("/proc/self/io")
    if not path.exists():
        return {"write_bytes": 0, "wchar": 0}
    pairs = (line.split(":") for line in path.read_text().splitlines())
    return {key.strip(): int(value) for key, value in pairs}


def measure(years: int, *, window_days: int, format: str, folder: Path) -> str:
    fake = FakeShortPen(seed=1, events_per_day=0)
    start = dt.date(2000, 1, 1)
    end = dt.date(2000 + years, 1, 1) - dt.timedelta(days=1)
    with ShortPen(
        fake.token, http_client=httpx.Client(transport=fake.transport()), window_days=window_days
    ) as client:
        before, cpu, started = io_counters(), os.times(), time.perf_counter()
        report = client.sync(start, end, output_dir=folder, format=format)
        seconds, cpu_after, after = time.perf_counter() - started, os.times(), io_counters()
    written = {key: (after[key] - before[key]) / 1e6 for key in ("write_bytes", "wchar")}
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"years={years} ({report.days_fetched} days, {report.windows} windows of {window_days} days, "
        f"{format}): {seconds:.1f} s (cpu user {cpu_after.user - cpu.user:.1f} s, "
        f"system {cpu_after.system - cpu.system:.1f} s), write_bytes {written['write_bytes']:.1f} MB, "
        f"wchar {written['wchar']:.1f} MB, load average {load:.1f}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("years", type=int, nargs="+", help="years of empty days, one run per value")
    parser.add_argument("--window-days", type=int, default=7)
    parser.add_argument("--format", default="parquet", choices=("parquet", "jsonl", "csv"))
    args = parser.parse_args(argv)
    folders = []
    try:
        for years in args.years:
            folders.append(Path(tempfile.mkdtemp(prefix="shortpen-bookkeeping-")))
            print(
                measure(years, window_days=args.window_days, format=args.format, folder=folders[-1]),
                flush=True,
            )
    finally:
        for folder in folders:  # at the end only (see the docstring)
            shutil.rmtree(folder)


if __name__ == "__main__":
    main()
