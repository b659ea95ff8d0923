"""Events shaped like a real server's, from the fake's (until the fake has a shape of its own).

Per optional field a tenth absent and a tenth null; two fields the spec does not know on every event
(text and integer); sub-second stamps on a third of the events; ties (an event at the same instant as
the one before it) and small inversions (two neighbours swapped). Take the fake's events of a range
with a DST change (``Europe/Berlin``, the last week of March) for the DST day.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import realistic as _benchmark  # a script, not a package: imported from its folder

Event = dict[str, Any]
TEXTS = ("newsletter", "ads", 'say "hi" \\ there', "ünïcode")


def realistic(events: list[Event], *, seed: int = 0) -> list[Event]:
    """The benchmarks' realistic shaping (benchmarks/realistic.py), with unknown texts that need
    escaping in JSON and CSV."""
    return _benchmark.realistic(events, seed=seed, texts=TEXTS)


def in_order(events: list[Event]) -> list[Event]:
    """What the client delivers: ascending by instant, ties in the server's order."""
    return sorted(events, key=lambda e: dt.datetime.fromisoformat(e["created_at"]))


def body(events: Any, **envelope: Any) -> bytes:
    document = {"success": True, "status_code": 200, "message": "", "data": events, **envelope}
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
