"""Shared fixtures. Project paths for tests that read the repository's own files."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = ROOT / "openapi.yaml"

# dlt (tests/test_dlt.py, `shortpen load`) sends usage telemetry unless told not to: tests stay offline.
os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"

import pytest  # noqa: E402  (kept below the path constants that the test modules import)


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio (the async client uses asyncio.timeout)."""
    return "asyncio"


# -- Recorded HTTP behaviour (VCR cassettes via pytest-recording): see tests/cassettes/README.md --

from typing import Any  # noqa: E402  (this block is appended so that parallel edits above merge cleanly)

from ._cassettes import CASSETTE_DIR, register  # noqa: E402
from ._cassettes import vcr_config as _vcr_config  # noqa: E402


@pytest.fixture(scope="module")
def vcr_cassette_dir() -> str:
    """All cassettes in tests/cassettes/ (pytest-recording's default is one folder per module)."""
    return str(CASSETTE_DIR)


@pytest.fixture
def vcr_config(record_mode: str) -> dict[str, Any]:
    """Replay only ("none") unless ``--record-mode`` says otherwise (``make record``)."""
    return _vcr_config(record_mode)


def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    """pytest-recording makes a ``vcr.VCR`` per test: add the JSON body matcher and our serializer."""
    register(vcr)
