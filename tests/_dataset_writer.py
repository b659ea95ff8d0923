"""A sync's storage side, run as a subprocess that the kill-and-resume test kills with ``kill -9``.

``python -m tests._dataset_writer DIR`` writes the days of :data:`DAYS` into a parquet dataset in DIR,
over and over, until killed, compacting its journal into the manifest every four days. Light on
purpose (no pytest, hypothesis or pyarrow.dataset to import), so the process is writing within a few
milliseconds of printing ``ready``.
"""

from __future__ import annotations

import itertools
import sys
from datetime import UTC, date, datetime, timedelta
from typing import Any

from shortpen_api_client._dataset import Dataset

DAYS = [date(2025, 1, 1) + timedelta(days=i) for i in range(10)]


def expected_events(day: date) -> list[dict[str, Any]]:
    """What the server holds for ``day``: a few thousand events, so a file takes a moment to write."""
    return [
        {
            "id": day.day * 10_000 + i,
            "workspace_id": 24,
            "organization_id": 3,
            "url_id": 501,
            "domain": "go.shortpen.com",
            "country": "FR",
            "created_at": f"{day.isoformat()}T{i % 24:02d}:{i % 60:02d}:00+01:00",
        }
        for i in range(2000 + day.day)
    ]


def main(output_dir: str) -> None:
    dataset = Dataset(output_dir)
    print("ready", flush=True)
    for count, day in enumerate(itertools.cycle(DAYS), start=1):
        dataset.write_day(
            day, expected_events(day), fetched_at=datetime.now(UTC), client_version="x", spec_sha256="y"
        )
        if count % 4 == 0:  # so that kills also land in a compaction of the journal into the manifest
            dataset.compact()


if __name__ == "__main__":
    main(sys.argv[1])
