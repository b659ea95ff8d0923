"""Cassettes recorded from the real ShortPen API: ``make record-live`` (tests/cassettes/live/).

None exist in this repository: the real API is not reachable from the machines this project is built
on, and a live cassette holds an account's real clicks (they are git-ignored; see
tests/cassettes/README.md). These tests are marked ``live`` and deselected by default; without its
cassette a live test fails, saying how to record one.

Only ``make record-live`` (``scripts/record.py --live``), which refuses to run without
``SHORTPEN_TOKEN``, records here: it sets ``SHORTPEN_RECORD_LIVE=1``. Any other run replays, even with
``--record-mode=rewrite``, so a stray re-record neither calls the real API nor deletes a live cassette.

The real data is unknown, so these tests assert only what holds for any account: the window plan,
the order and uniqueness of events, and how a bad token is answered.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import pytest

from shortpen_api_client import AuthenticationError, ShortPen

from ._cassettes import LIVE_CASSETTE_DIR
from ._cassettes import vcr_config as _vcr_config
from .test_recorded import Wire

pytestmark = pytest.mark.live
RECORDING_LIVE = os.environ.get("SHORTPEN_RECORD_LIVE") == "1"
INVALID_TOKEN = "sp_invalid_token_for_recording_7c1e"
# A fortnight, in windows of 7, 7 and 1 days: small enough for a busy account's cassette.
LIVE_RANGE = ("2025-06-01", "2025-06-15")
LIVE_PLAN = [("2025-06-01", "2025-06-07"), ("2025-06-08", "2025-06-14"), ("2025-06-15", "2025-06-15")]


@pytest.fixture(scope="module")
def vcr_cassette_dir() -> str:
    return str(LIVE_CASSETTE_DIR)


@pytest.fixture
def vcr_config(record_mode: str) -> dict[str, Any]:
    return _vcr_config(record_mode if RECORDING_LIVE else "none")


@pytest.fixture(autouse=True)
def _default_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHORTPEN_BASE_URL", raising=False)


@pytest.fixture
def live(vcr: Any) -> tuple[Wire, str]:
    """The wire and the token: SHORTPEN_TOKEN when recording; any token when replaying."""
    wire = Wire(vcr)
    if wire.recording:
        token = os.environ.get("SHORTPEN_TOKEN", "").strip()
        if not token:
            pytest.fail("recording live needs SHORTPEN_TOKEN: run `make record-live`")
        return wire, token
    if len(vcr) == 0:
        pytest.fail("no live cassette: `make record-live` records one against the real API")
    return wire, "replaying-any-token-works"


@pytest.mark.vcr
def test_live_window_plan(live: tuple[Wire, str]) -> None:
    wire, token = live
    with wire.network_client() as http, ShortPen(token, http_client=http, **wire.options()) as sp:
        events = [e.to_dict() for e in sp.clicks(*LIVE_RANGE)]
    assert set(LIVE_PLAN) <= set(wire.windows)  # more windows only if the server made it split
    assert wire.urls == {"https://api.shortpen.com/v1/analytics"}
    assert len({e["id"] for e in events}) == len(events)
    stamps = [dt.datetime.fromisoformat(e["created_at"]) for e in events]
    assert stamps == sorted(stamps)
    assert all(LIVE_RANGE[0] <= e["created_at"][:10] <= LIVE_RANGE[1] for e in events)
    wire.assert_cassette_used_exactly()


@pytest.mark.vcr
def test_live_invalid_token_is_401(live: tuple[Wire, str]) -> None:
    wire, _ = live
    with wire.network_client() as http, ShortPen(INVALID_TOKEN, http_client=http, sleep=lambda s: None) as sp:
        with pytest.raises(AuthenticationError) as raised:
            list(sp.clicks(LIVE_RANGE[0], LIVE_RANGE[0]))
    assert raised.value.status_code == 401
    assert INVALID_TOKEN not in str(raised.value)
    assert len(wire.sent) == 1
    wire.assert_cassette_used_exactly()
