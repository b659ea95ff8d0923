"""Serve ``FakeShortPen`` instances on loopback for the benchmarks, in a process of their own.

Each ``--fake EVENTS_PER_DAY[:LATENCY_SECONDS][,shape=SHAPE][,timezone=ZONE]`` starts one fake (seed 7)
on its own port; their base URLs are printed one a line, in order, then the process serves until its
stdin is closed (the benchmark keeps the pipe open while it measures). Being another process, the
fakes' CPU work never competes with the measured client for the GIL.

``--shape`` and ``--timezone`` set the default of every fake; a fake's own ``shape=`` / ``timezone=``
wins. ``shape=realistic`` is data shaped like a real server's (optional fields absent and null, two
fields the spec does not know, milliseconds, ties and inversions in ``created_at`` order); with a
zone that has DST (``timezone=Europe/Berlin``) a range may hold 23- and 25-hour days.

    python benchmarks/fake_server.py --fake 2000 --fake 200:0.04
    python benchmarks/fake_server.py --shape realistic --timezone Europe/Berlin --fake 2000 --fake 2000,shape=spec
"""

from __future__ import annotations

import argparse
import contextlib
import sys

from shortpen_api_client.testing import FakeShortPen, Fault, FaultPlan

SEED = 7
SHAPES = ("spec", "realistic")


def fake(spec: str, *, shape: str = "spec", timezone: str = "UTC") -> FakeShortPen:
    """``"2000"``: 2000 clicks a day; ``"200:0.04"``: 200 a day, every response 40 ms late;
    ``"2000,shape=realistic,timezone=Europe/Berlin"``: realistic data of a Berlin account."""
    head, *options = spec.split(",")
    events_per_day, _, latency = head.partition(":")
    settings = {"shape": shape, "timezone": timezone}
    for option in options:
        name, sep, value = option.partition("=")
        if not sep or name not in settings:
            raise SystemExit(f"--fake {spec}: unknown option {option!r} (shape=..., timezone=...)")
        settings[name] = value
    if settings["shape"] not in SHAPES:
        raise SystemExit(f"--fake {spec}: shape must be one of {', '.join(SHAPES)}")
    faults = None
    if latency and float(latency) > 0:
        faults = FaultPlan(rate=1.0, kinds=(Fault.latency(float(latency)),))
    return FakeShortPen(
        seed=SEED,
        events_per_day=int(events_per_day),
        faults=faults,
        shape=settings["shape"],
        timezone=settings["timezone"],
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve FakeShortPen instances for the benchmarks.")
    parser.add_argument(
        "--fake",
        action="append",
        required=True,
        help="EVENTS_PER_DAY[:LATENCY_SECONDS][,shape=SHAPE][,timezone=ZONE]",
    )
    parser.add_argument(
        "--shape", choices=SHAPES, default="spec", help="the fakes' data: spec (default) or realistic"
    )
    parser.add_argument("--timezone", default="UTC", help="the accounts' timezone (default UTC)")
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as stack:
        for spec in args.fake:
            served = fake(spec, shape=args.shape, timezone=args.timezone)
            print(stack.enter_context(served.serve()), flush=True)
        sys.stdin.read()  # returns when the benchmark closes the pipe (or exits)


if __name__ == "__main__":
    main()
