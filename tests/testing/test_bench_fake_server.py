"""``benchmarks/fake_server.py``: the benchmarks' fakes, with ``--shape`` and ``--timezone``."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from types import ModuleType

import pytest

from ..conftest import ROOT

SCRIPT = ROOT / "benchmarks" / "fake_server.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_fake_server", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_each_fake_takes_its_shape_and_timezone_or_the_defaults() -> None:
    server = load()
    plain = server.fake("2000")
    realistic = server.fake("300:0.04,shape=realistic,timezone=Europe/Berlin")
    default_realistic = server.fake("50,timezone=Asia/Tokyo", shape="realistic")
    assert (plain.shape, str(plain.timezone), plain.events_per_day, plain.faults) == (
        "spec",
        "UTC",
        2000,
        None,
    )
    assert (realistic.shape, str(realistic.timezone), realistic.events_per_day) == (
        "realistic",
        "Europe/Berlin",
        300,
    )
    assert realistic.faults is not None
    assert (default_realistic.shape, str(default_realistic.timezone)) == ("realistic", "Asia/Tokyo")
    assert any("beta_flags" in e for e in realistic.events("2025-03-30", "2025-03-30"))


@pytest.mark.parametrize("spec", ["20,colour=red", "20,shape=messy", "20,shape"])
def test_a_bad_option_stops_with_a_message(spec: str) -> None:
    with pytest.raises(SystemExit, match="--fake"):
        load().fake(spec)


def test_it_serves_until_stdin_closes() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--shape", "realistic", "--fake", "5", "--fake", "5,shape=spec"],
        input=b"",
        capture_output=True,
        timeout=60,
        check=True,
    )
    urls = result.stdout.decode().split()
    assert len(urls) == 2
    assert all(url.startswith("http://127.0.0.1:") for url in urls)
