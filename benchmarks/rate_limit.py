"""``make bench-rate``: how politely the client fetches from an API with a rate limit.

A ``FakeShortPen`` with a token-bucket rate limit (``RateLimit``: burst equal to the rate, 429 +
``Retry-After`` when the bucket is empty) is served on loopback by one process; the client runs in
another and fetches one-day windows with ``clicks()``. The server counts the requests and the 429s;
the client reports its wall time and a digest of the events, compared with the fake's ground truth.
The floor of the wall time is windows / rate (the issue's measure; the initial burst makes a run
slightly faster than that).

    python benchmarks/rate_limit.py                     # this checkout's client (about a minute)
    python benchmarks/rate_limit.py --before DIR        # also the issue's rows with the client in DIR
    python benchmarks/rate_limit.py --record            # and write the section of RESULTS.md
    python benchmarks/rate_limit.py --quick             # a tiny run (the smoke test)

``--before DIR`` imports ``shortpen_api_client`` from DIR for those rows (a checkout of an older
commit, e.g. ``git worktree add /tmp/before <commit>``); the server is always this checkout's fake.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "RESULTS.md"
HEADING = "## Rate limits: 429s and wall time (`make bench-rate`)"
TOKEN = "test-token"  # noqa: S105 - FakeShortPen's throwaway token
SEED = 7
EVENTS_PER_DAY = 200
FIRST_DAY = dt.date(2025, 1, 1)


@attrs.frozen(kw_only=True)
class Scenario:
    per_second: float
    windows: int
    concurrency: int = 8
    max_retries: int | None = None  # None: the client's default
    max_requests_per_second: float | None = None

    @property
    def floor(self) -> float:
        return self.windows / self.per_second


ISSUE_ROWS = (
    Scenario(per_second=2, windows=30),  # the target: default settings
    Scenario(per_second=2, windows=30, concurrency=8, max_retries=10),
    Scenario(per_second=2, windows=30, concurrency=1, max_retries=10),
    Scenario(per_second=4, windows=40, concurrency=8, max_retries=10),
)
AFTER_ROWS = (
    *ISSUE_ROWS,
    Scenario(per_second=2, windows=30, max_requests_per_second=2),
)
QUICK_ROWS = (Scenario(per_second=20, windows=6, concurrency=4),)


@attrs.frozen(kw_only=True)
class Row:
    code: str
    scenario: Scenario
    requests: int
    limited: int
    seconds: float
    exact: bool
    error: str | None

    def cells(self) -> list[str]:
        s = self.scenario
        share = self.limited / self.requests if self.requests else 0.0
        return [
            self.code,
            f"{s.per_second:g}/s",
            str(s.windows),
            str(s.concurrency) + (" (default)" if s.concurrency == 8 else ""),
            "default (4)" if s.max_retries is None else str(s.max_retries),
            "-" if s.max_requests_per_second is None else f"{s.max_requests_per_second:g}",
            str(self.requests),
            f"{self.limited} ({share:.0%})",
            f"{self.seconds:.1f} s ({s.floor:g} s)",
            f"{self.seconds / s.floor:.2f}x",
            ("yes" if self.exact else "**no**") + (f" ({self.error})" if self.error else ""),
        ]


COLUMNS = [
    "client",
    "limit",
    "windows",
    "concurrency",
    "max_retries",
    "max_requests_per_second",
    "requests",
    "answered 429",
    "wall time (floor)",
    "of floor",
    "data exact",
]


def days(windows: int) -> tuple[str, str]:
    return FIRST_DAY.isoformat(), (FIRST_DAY + dt.timedelta(days=windows - 1)).isoformat()


def digest(events: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(events, sort_keys=True).encode()).hexdigest()


# -- the server process -------------------------------------------------------------------------------


def serve(per_second: float) -> None:
    """Serve a rate-limited fake until stdin closes; then print the request counts as JSON."""
    from shortpen_api_client.testing import FakeShortPen, FaultKind, RateLimit

    fake = FakeShortPen(seed=SEED, events_per_day=EVENTS_PER_DAY, rate_limit=RateLimit(per_second=per_second))
    with fake.serve() as url:
        print(url, flush=True)
        sys.stdin.read()
    requests = fake.requests
    limited = sum(1 for r in requests if r.fault is not None and r.fault.kind is FaultKind.RATE_LIMIT)
    print(json.dumps({"requests": len(requests), "limited": limited}), flush=True)


@contextlib.contextmanager
def server(per_second: float) -> Iterator[tuple[str, dict[str, int]]]:
    """A fresh rate-limited fake in a subprocess (this checkout's code); the counts fill in on exit."""
    command = [sys.executable, str(Path(__file__)), "--serve", str(per_second)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    assert process.stdin is not None
    assert process.stdout is not None
    counts: dict[str, int] = {}
    try:
        url = process.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"the fake server did not start (printed {url!r})")
        yield url, counts
    finally:
        process.stdin.close()
        counts.update(json.loads(process.stdout.readline() or "{}"))
        process.wait(timeout=30)


# -- the client process -------------------------------------------------------------------------------


def fetch(url: str, options: dict[str, Any]) -> None:
    """Fetch the windows with ``clicks()``; print wall time, event digest and any error as JSON."""
    from shortpen_api_client import ShortPen, ShortPenError

    start, end = days(options.pop("windows"))
    events: list[dict[str, Any]] = []
    error = None
    started = time.perf_counter()
    try:
        with ShortPen(TOKEN, base_url=url, window_days=1, **options) as client:
            events = [event.to_dict() for event in client.clicks(start, end)]
    except ShortPenError as exc:
        error = type(exc).__name__
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "digest": digest(events), "error": error}), flush=True)


def measure(scenario: Scenario, *, code: Path, label: str) -> Row:
    options: dict[str, Any] = {"windows": scenario.windows, "max_concurrency": scenario.concurrency}
    if scenario.max_retries is not None:
        options["max_retries"] = scenario.max_retries
    if scenario.max_requests_per_second is not None:
        options["max_requests_per_second"] = scenario.max_requests_per_second
    env = {**os.environ, "PYTHONPATH": str(code)}
    with server(scenario.per_second) as (url, counts):
        done = subprocess.run(
            [sys.executable, str(Path(__file__)), "--fetch", url, json.dumps(options)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
            timeout=600,
        )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    truth = truth_digest(scenario.windows)
    return Row(
        code=label,
        scenario=scenario,
        requests=counts["requests"],
        limited=counts["limited"],
        seconds=result["seconds"],
        exact=result["digest"] == truth and result["error"] is None,
        error=result["error"],
    )


def truth_digest(windows: int) -> str:
    from shortpen_api_client.testing import FakeShortPen

    return digest(FakeShortPen(seed=SEED, events_per_day=EVENTS_PER_DAY).events(*days(windows)))


# -- the report ---------------------------------------------------------------------------------------


def table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join(" --- " for _ in COLUMNS) + "|"]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def section(before: list[Row], after: list[Row], seconds: float) -> str:
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        HEADING,
        "",
        f"Measured {when} by `python benchmarks/rate_limit.py{' --before DIR' if before else ''} --record`"
        f" ({seconds:.0f} s).",
        "",
        "`FakeShortPen(rate_limit=RateLimit(per_second=R))` (a token bucket, burst R, 429 + `Retry-After`"
        " in whole seconds when empty) served on 127.0.0.1 by one process; `ShortPen.clicks()` over one-day"
        " windows from 2025-01-01 (200 clicks a day) in another. Requests and 429s are counted by the"
        " server; the floor is windows / R; data exact means the events equal the fake's ground truth.",
        "",
    ]
    if before:
        parts += ["Before (the client without adaptive rate control):", "", table(before), ""]
        parts += ["After (this checkout):", ""]
    parts += [table(after), ""]
    return "\n".join(parts)


def section_of(path: Path) -> str:
    """This benchmark's section of ``path`` (from its heading to the next), or "" (for ``bench.py``,
    which rewrites the rest of the file)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    start = text.find(HEADING)
    if start < 0:
        return ""
    end = text.find("\n## ", start + len(HEADING))
    return "\n" + (text[start:] if end < 0 else text[start : end + 1]).rstrip("\n") + "\n"


def record(text: str, path: Path) -> None:
    """Replace this benchmark's section of ``path`` (or append it), leaving the rest as it is."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    start = old.find(HEADING)
    if start < 0:
        new = old.rstrip("\n") + "\n\n" + text
    else:
        following = old.find("\n## ", start + len(HEADING))
        new = old[:start] + text + ("" if following < 0 else "\n" + old[following + 1 :])
    path.write_text(new.rstrip("\n") + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The client against a rate-limited fake on loopback.")
    parser.add_argument("--before", type=Path, help="also run the issue's rows with the client code in DIR")
    parser.add_argument("--before-label", default="before", help="what to call it in the table")
    parser.add_argument("--record", action="store_true", help="write the section of benchmarks/RESULTS.md")
    parser.add_argument("--output", type=Path, default=RESULTS, help="the file --record writes")
    parser.add_argument("--quick", action="store_true", help="a tiny run")
    parser.add_argument("--serve", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--fetch", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve is not None:
        serve(args.serve)
        return
    if args.fetch is not None:
        fetch(args.fetch[0], json.loads(args.fetch[1]))
        return
    started = time.perf_counter()
    before: list[Row] = []
    if args.before is not None:
        for scenario in QUICK_ROWS if args.quick else ISSUE_ROWS:
            before.append(measure(scenario, code=args.before.resolve(), label=args.before_label))
            print(table(before[-1:]).splitlines()[-1], flush=True)
    after: list[Row] = []
    for scenario in QUICK_ROWS if args.quick else AFTER_ROWS:
        after.append(measure(scenario, code=ROOT, label="after" if before else "this checkout"))
        print(table(after[-1:]).splitlines()[-1], flush=True)
    text = section(before, after, time.perf_counter() - started)
    print()
    print(text)
    if args.record:
        record(text, args.output)


if __name__ == "__main__":
    main()
