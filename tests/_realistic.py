"""Events shaped like a real server's, from the fake's (until the fake has a shape of its own).

Per optional field a tenth absent and a tenth null; two fields the spec does not know on every event
(text and integer); sub-second stamps on a third of the events; ties (an event at the same instant as
the one before it) and small inversions (two neighbours swapped). Take the fake's events of a range
with a DST change (``Europe/Berlin``, the last week of March) for the DST day.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

from shortpen_api_client._schema import EVENT

Event = dict[str, Any]
OPTIONAL = [f.name for f in EVENT if not f.required]
UNKNOWN = ("utm_source", "session_ms")


def realistic(events: list[Event], *, seed: int = 0) -> list[Event]:
    rng = random.Random(seed)
    out: list[Event] = []
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
        event["utm_source"] = rng.choice(("newsletter", "ads", 'say "hi" \\ there', "ünïcode"))
        event["created_at"] = created_at  # unknown fields before it, as a newer server might put them
        event["session_ms"] = rng.randrange(10**6)
        out.append(event)
    for i in range(1, len(out), 40):  # ties
        out[i]["created_at"] = out[i - 1]["created_at"]
    for i in range(5, len(out) - 1, 50):  # small inversions
        out[i], out[i + 1] = out[i + 1], out[i]
    return out


def in_order(events: list[Event]) -> list[Event]:
    """What the client delivers: ascending by instant, ties in the server's order."""
    return sorted(events, key=lambda e: dt.datetime.fromisoformat(e["created_at"]))


def body(events: Any, **envelope: Any) -> bytes:
    document = {"success": True, "status_code": 200, "message": "", "data": events, **envelope}
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
