"""Shared fixtures. Project paths for tests that read the repository's own files."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = ROOT / "openapi.yaml"

import pytest  # noqa: E402  (kept below the path constants that the test modules import)


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio (the async client uses asyncio.timeout)."""
    return "asyncio"
