"""Versions a service can see (issue 16.7): the package's, the spec's and the spec's hash."""

from __future__ import annotations

import hashlib
import re

import anyio
import httpx
from click.testing import CliRunner

from shortpen_api_client import SPEC_SHA256, SPEC_VERSION, AsyncShortPen, ShortPen, __version__
from shortpen_api_client._cli import cli
from shortpen_api_client.testing import FakeShortPen

from .conftest import SPEC_PATH


def test_version_option_prints_package_spec_version_and_hash_prefix() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output == (
        f"shortpen, version {__version__} (ShortPen API spec {SPEC_VERSION}, sha256 {SPEC_SHA256[:12]})\n"
    )
    prefix = re.search(r"sha256 ([0-9a-f]+)\)", result.output)
    assert prefix is not None
    assert prefix.group(1) == hashlib.sha256(SPEC_PATH.read_bytes()).hexdigest()[:12]


def test_user_agent_carries_the_spec_version_sync_and_async() -> None:
    fake = FakeShortPen(events_per_day=1)
    expected = f"shortpen-api-client/{__version__} (spec {SPEC_VERSION})"
    with ShortPen(
        token=fake.token,
        base_url="https://api.shortpen.com",
        http_client=httpx.Client(transport=fake.transport()),
    ) as client:
        list(client.clicks("2025-01-01", "2025-01-01"))

    async def fetch() -> None:
        async with AsyncShortPen(
            token=fake.token,
            base_url="https://api.shortpen.com",
            http_client=httpx.AsyncClient(transport=fake.transport()),
        ) as client:
            async for _ in client.clicks("2025-01-02", "2025-01-02"):
                pass

    anyio.run(fetch)
    assert [r.headers["user-agent"] for r in fake.requests] == [expected, expected]
