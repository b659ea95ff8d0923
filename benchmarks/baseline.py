"""The script a user would write by hand, without this package: the benchmarks' baseline.

POST each window with ``httpx.Client``, ``json.loads`` the body, then write the events with the
obvious code: ``json.dumps`` per line, ``csv.DictWriter``, ``pyarrow.Table.from_pylist`` and
``pq.write_table``. No retries, no splitting, no typing, one window after another.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

Window = tuple[str, str]

COLUMNS = [
    "id",
    "workspace_id",
    "organization_id",
    "url_id",
    "domain",
    "url_slug",
    "device_type",
    "platform",
    "browser",
    "country",
    "referrer",
    "created_at",
]


def fetch(base_url: str, token: str, windows: list[Window]) -> Iterator[dict[str, Any]]:
    """Every event of ``windows``, one request at a time."""
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        for start, end in windows:
            response = http.post("/v1/analytics", json={"start": start, "end": end})
            response.raise_for_status()
            yield from json.loads(response.content)["data"]


def count(base_url: str, token: str, windows: list[Window]) -> int:
    return sum(1 for _ in fetch(base_url, token, windows))


def export_jsonl(base_url: str, token: str, windows: list[Window], output: Path) -> int:
    events = 0
    with output.open("w", encoding="utf-8") as file:
        for event in fetch(base_url, token, windows):
            file.write(json.dumps(event) + "\n")
            events += 1
    return events


def export_csv(base_url: str, token: str, windows: list[Window], output: Path) -> int:
    events = 0
    with output.open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for event in fetch(base_url, token, windows):
            writer.writerow(event)
            events += 1
    return events


def export_parquet(base_url: str, token: str, windows: list[Window], output: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = list(fetch(base_url, token, windows))
    pq.write_table(pa.Table.from_pylist(rows), output)
    return len(rows)
