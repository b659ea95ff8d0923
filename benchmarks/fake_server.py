"""Serve ``FakeShortPen`` instances on loopback for the benchmarks, in a process of their own.

Each ``--fake EVENTS_PER_DAY[:LATENCY_SECONDS]`` starts one fake (seed 7) on its own port; their base
URLs are printed one a line, in order, then the process serves until its stdin is closed (the
benchmark keeps the pipe open while it measures). Being another process, the fakes' CPU work never
competes with the measured client for the GIL.

    python benchmarks/fake_server.py --fake 2000 --fake 200:0.04
"""

from __future__ import annotations

import argparse
import contextlib
import sys

from shortpen_api_client.testing import FakeShortPen, Fault, FaultPlan

SEED = 7


def fake(spec: str) -> FakeShortPen:
    """``"2000"``: 2000 clicks a day; ``"200:0.04"``: 200 a day, every response 40 ms late."""
    events_per_day, _, latency = spec.partition(":")
    faults = None
    if latency and float(latency) > 0:
        faults = FaultPlan(rate=1.0, kinds=(Fault.latency(float(latency)),))
    return FakeShortPen(seed=SEED, events_per_day=int(events_per_day), faults=faults)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve FakeShortPen instances for the benchmarks.")
    parser.add_argument("--fake", action="append", required=True, help="EVENTS_PER_DAY[:LATENCY_SECONDS]")
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as stack:
        for spec in args.fake:
            print(stack.enter_context(fake(spec).serve()), flush=True)
        sys.stdin.read()  # returns when the benchmark closes the pipe (or exits)


if __name__ == "__main__":
    main()
