"""Serve the fake's clicks shaped like a real server's, for the benchmarks' realistic rows.

Until ``FakeShortPen`` has a shape of its own (``--shape realistic`` in ``fake_server.py``), this
process serves the same fakes as ``fake_server.py`` (same ``--fake`` specs, same seed) and reshapes
each 200 body: per optional field a tenth absent and a tenth null, two fields the spec does not know
on every event (text and integer), sub-second stamps on a third of the events, ties and small
inversions in ``created_at`` order; the account is in ``Europe/Berlin`` (DST days included).
Reshaped bodies are cached, so serving costs the measured clients nothing after the warm-up pass.

    python benchmarks/realistic.py --fake 2000 --fake 200:0.04
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import sys
import threading
import zlib
from typing import Any

import httpx

from shortpen_api_client._schema import EVENT
from shortpen_api_client.testing import FakeShortPen, Fault, FaultPlan

SEED = 7
OPTIONAL = [f.name for f in EVENT if not f.required]


TEXTS = ("newsletter", "ads", "partner", "social")


def realistic(
    events: list[dict[str, Any]], *, seed: int, texts: tuple[str, ...] = TEXTS
) -> list[dict[str, Any]]:
    """``events`` as a real server might send them (deterministic for a seed); ``texts`` are the
    values of the unknown text field (the tests pass some that need escaping)."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data
    out: list[dict[str, Any]] = []
    for original in events:
        event = dict(original)
        for name in OPTIONAL:
            draw = rng.random()
            if draw < 0.1:
                event.pop(name, None)
            elif draw < 0.2:
                event[name] = None
        created_at = event.pop("created_at")
        if rng.random() < 0.3:
            digits = rng.choice((3, 6))
            created_at = f"{created_at[:19]}.{rng.randrange(10**digits):0{digits}d}{created_at[19:]}"
        event["utm_source"] = rng.choice(texts)
        event["created_at"] = created_at  # unknown fields before it, as a newer server might put them
        event["session_ms"] = rng.randrange(10**6)
        out.append(event)
    for i in range(1, len(out), 40):  # ties
        out[i]["created_at"] = out[i - 1]["created_at"]
    for i in range(5, len(out) - 1, 50):  # small inversions
        out[i], out[i + 1] = out[i + 1], out[i]
    return out


class Realistic:
    """A fake whose 200 bodies are reshaped (and cached by request body)."""

    def __init__(self, fake: FakeShortPen) -> None:
        self.fake = fake
        self.cache: dict[bytes, bytes] = {}
        self.lock = threading.Lock()

    def handle(self, request: httpx.Request) -> httpx.Response:
        response = self.fake.handle(request)
        if response.status_code != 200:
            return response
        key = request.content
        with self.lock:
            body = self.cache.get(key)
        if body is None:
            document = json.loads(response.content)
            document["data"] = realistic(document["data"], seed=zlib.crc32(key))
            body = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
            with self.lock:
                self.cache[key] = body
        headers = {"content-type": "application/json"}
        return httpx.Response(200, content=body, headers=headers, extensions=response.extensions)


def fake(spec: str) -> FakeShortPen:
    """``"2000"``: 2000 clicks a day; ``"200:0.04"``: 200 a day, every response 40 ms late."""
    events_per_day, _, latency = spec.partition(":")
    faults = None
    if latency and float(latency) > 0:
        faults = FaultPlan(rate=1.0, kinds=(Fault.latency(float(latency)),))
    return FakeShortPen(
        seed=SEED, events_per_day=int(events_per_day), faults=faults, timezone="Europe/Berlin"
    )


def main(argv: list[str] | None = None) -> None:
    from shortpen_api_client.testing import _server

    parser = argparse.ArgumentParser(description="Serve realistic FakeShortPen bodies for the benchmarks.")
    parser.add_argument("--fake", action="append", required=True, help="EVENTS_PER_DAY[:LATENCY_SECONDS]")
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as stack:
        for spec in args.fake:
            print(
                stack.enter_context(_server.serve(Realistic(fake(spec)).handle, host="127.0.0.1", port=0)),
                flush=True,
            )
        sys.stdin.read()  # returns when the benchmark closes the pipe (or exits)


if __name__ == "__main__":
    main()
