"""``make bench`` still runs: the benchmark script end to end on a tiny size (no timing asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.tooling  # run on one Python by `make test` (noxfile.py)


def test_the_benchmark_runs_on_a_tiny_size_and_writes_its_results(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    rate_section = "## Rate limits: 429s and wall time (`make bench-rate`)\n\n| kept |\n"
    results.write_text(f"# Benchmarks\n\nold figures\n\n{rate_section}", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--quick", "--output", str(results)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    text = results.read_text(encoding="utf-8")
    for figure in ("clicks()", "export to Parquet", "export to JSONL", "export to CSV", "latency", "client"):
        assert figure in text
        assert figure in done.stdout
    assert "Python " in text
    assert "httpx " in text
    assert "old figures" not in text  # rewritten ...
    assert text.endswith("\n" + rate_section)  # ... but the rate-limit benchmark's section is kept


def test_the_rate_limit_benchmark_runs_on_a_tiny_size_and_records_its_section(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmarks\n\n## Results\n\nkept as it is\n", encoding="utf-8")
    command = [sys.executable, str(ROOT / "benchmarks" / "rate_limit.py"), "--quick", "--record"]
    for _ in range(2):  # the second run replaces the section instead of adding one
        done = subprocess.run(
            [*command, "--output", str(results)], capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stderr
    text = results.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks\n\n## Results\n\nkept as it is\n")
    assert text.count("## Rate limits") == 1
    assert "| this checkout | 20/s | 6 |" in text
    assert "| yes |" in text  # the data were exact
