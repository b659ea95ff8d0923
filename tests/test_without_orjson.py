"""orjson is optional (the ``speedups`` extra): without it, responses are decoded with the standard
library and everything gives the same results. Run in a fresh interpreter where ``import orjson`` fails."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import sys
sys.modules["orjson"] = None  # makes `import orjson` fail
import httpx, json
from shortpen_api_client import ShortPen, _decode
from shortpen_api_client.testing import FakeShortPen

assert _decode._loads is _decode.loads_exact and not _decode.LOSSY_INTEGERS
fake = FakeShortPen(seed=4, events_per_day=40)
http = httpx.Client(transport=fake.transport(), base_url="https://api.shortpen.com")
with ShortPen(token=fake.token, http_client=http, window_days=3) as client:
    events = [event.to_dict() for event in client.clicks("2025-02-01", "2025-02-10", workspace_id=31)]
    client.export("2025-02-01", "2025-02-10", sys.argv[1], workspace_id=31)
try:
    _decode.decode_events(b'{"success": true, "data": [')
except Exception as exc:
    error = type(exc).__name__
print(json.dumps({"events": events, "error": error}))
"""


def test_clicks_and_export_work_with_the_standard_library_decoder(tmp_path: Path) -> None:
    output = tmp_path / "clicks.jsonl"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(output)], capture_output=True, text=True, check=True, timeout=60
    )
    result = json.loads(done.stdout)
    from shortpen_api_client.testing import FakeShortPen

    expected = FakeShortPen(seed=4, events_per_day=40).events("2025-02-01", "2025-02-10", workspace_id=31)
    assert result["events"] == expected  # to_dict() of each model: every field as the server sent it
    assert [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()] == expected
    assert result["error"] == "InvalidResponseError"
