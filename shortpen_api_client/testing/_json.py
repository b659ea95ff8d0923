"""JSON encoding for the fake: orjson when it is installed (the ``speedups`` extra), else the stdlib.

Both produce the same bytes for what the fake serializes (ints, ASCII strings, bools, None), so a
response does not depend on which one is installed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


def _std_dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


dumps: Callable[[Any], bytes]
loads: Callable[[bytes], Any]
try:
    import orjson
except ImportError:  # pragma: no cover - exercised only where the speedups extra is not installed
    dumps = _std_dumps
    loads = json.loads
else:
    dumps = orjson.dumps
    loads = orjson.loads


def canonical(value: Any) -> bytes:
    """One spelling per JSON value: sorted keys, no whitespace (used to key fault draws)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
