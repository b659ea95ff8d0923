"""Recorded HTTP behaviour: cassettes lock which requests the client sends and what it makes of the
answers (the window plan, retries, splits, errors, URLs).

One test code, two ways to run it (see tests/cassettes/README.md):

- replay (the default, CI): the client gets a plain ``httpx.Client()``; vcrpy's patched transport
  answers from ``tests/cassettes/<test name>.yaml`` and any request not in it fails the test. No
  network, no fake on the wire.
- record (``make record``, i.e. ``--record-mode=rewrite``): the same client reaches ``FakeShortPen``
  through a plain ``httpx.MockTransport`` (which vcrpy records; the fake's own transport is a subclass
  that overrides ``handle_request``, so vcrpy's patch would not see it) and sequentially
  (``max_concurrency=1``), so the cassette reads in the order things happened and re-recording is
  diff-free. Replay runs the default concurrency: matching is by body, not by order.

Either way the fake (same seed, no network) is the ground truth the events are compared with.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from vcr.errors import CannotOverwriteExistingCassetteException  # type: ignore[import-untyped]  # vcrpy ships no type hints

from shortpen_api_client import AsyncShortPen, AuthenticationError, BadRequestError, ShortPen
from shortpen_api_client.testing import FakeShortPen, Fault, FaultPlan

from ._cassettes import CASSETTE_DIR, RECORDING_TOKEN, load_interactions

# No socket may connect while a cassette replays (pytest-recording lifts this while recording).
pytestmark = pytest.mark.block_network

SEED = 6
EVENTS_PER_DAY = 3  # small enough for a quarter's cassette to be reviewed
API = "https://api.shortpen.com/v1/analytics"
STAGING = "https://staging-api.shortpen.com/v1/analytics"
WRONG_TOKEN = "sp_wrong_token_5b0e3d91c2aa"

Window = tuple[str, str]


def fake_for(**options: Any) -> FakeShortPen:
    return FakeShortPen(seed=SEED, events_per_day=EVENTS_PER_DAY, token=RECORDING_TOKEN, **options)


class Wire:
    """What the recorded tests send through: the fake (recording) or the cassette (replay).

    Logs every request the client sends (an httpx event hook: the same in both modes).
    """

    def __init__(self, cassette: Any) -> None:
        self.cassette = cassette
        self.recording: bool = not cassette.write_protected
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def _log(self, request: httpx.Request) -> None:
        self.sent.append((str(request.url), json.loads(request.content)))

    async def _alog(self, request: httpx.Request) -> None:
        self._log(request)

    def client(self, fake: FakeShortPen) -> httpx.Client:
        if self.recording:
            transport = httpx.MockTransport(fake.transport().handle_request)
            return httpx.Client(transport=transport, event_hooks={"request": [self._log]})
        return self.network_client()

    def network_client(self) -> httpx.Client:
        """httpx's own transport: vcrpy answers it from the cassette (or records a real server)."""
        return httpx.Client(event_hooks={"request": [self._log]})

    def async_client(self, fake: FakeShortPen) -> httpx.AsyncClient:
        hooks = {"request": [self._alog]}
        if self.recording:
            transport = httpx.MockTransport(fake.transport().handle_async_request)
            return httpx.AsyncClient(transport=transport, event_hooks=hooks)
        return httpx.AsyncClient(event_hooks=hooks)

    def options(self) -> dict[str, Any]:
        """Client options that differ between the modes (only the order of requests depends on them)."""
        return {"max_concurrency": 1} if self.recording else {}

    @property
    def windows(self) -> list[Window]:
        return [(body["start"], body["end"]) for _, body in self.sent]

    @property
    def urls(self) -> set[str]:
        return {url for url, _ in self.sent}

    def assert_cassette_used_exactly(self) -> None:
        """Every request sent is in the cassette and every recorded interaction was sent, once."""
        if self.recording:
            assert len(self.cassette) == len(self.sent)
        else:
            assert self.cassette.all_played
            assert self.cassette.play_count == len(self.cassette) == len(self.sent)


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The recorded URLs are the defaults: a developer's SHORTPEN_BASE_URL must not change them."""
    monkeypatch.delenv("SHORTPEN_BASE_URL", raising=False)
    monkeypatch.delenv("SHORTPEN_TOKEN", raising=False)


@pytest.fixture
def wire(vcr: Any) -> Wire:
    assert vcr is not None, "mark the test with @pytest.mark.vcr"
    return Wire(vcr)


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


class AsyncSleeps(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def ids(events: list[dict[str, Any]]) -> list[int]:
    return [event["id"] for event in events]


QUARTER_WINDOWS = [
    ("2025-01-01", "2025-01-07"),
    ("2025-01-08", "2025-01-14"),
    ("2025-01-15", "2025-01-21"),
    ("2025-01-22", "2025-01-28"),
    ("2025-01-29", "2025-02-04"),
    ("2025-02-05", "2025-02-11"),
    ("2025-02-12", "2025-02-18"),
    ("2025-02-19", "2025-02-25"),
    ("2025-02-26", "2025-03-04"),
    ("2025-03-05", "2025-03-11"),
    ("2025-03-12", "2025-03-18"),
    ("2025-03-19", "2025-03-25"),
    ("2025-03-26", "2025-03-31"),
]


@pytest.mark.vcr
def test_quarter_export(wire: Wire, tmp_path: Path) -> None:
    """The window plan: a quarter is 13 weekly windows (the last one 6 days), each requested once."""
    fake = fake_for()
    output = tmp_path / "q1.jsonl"
    with wire.client(fake) as http, ShortPen(RECORDING_TOKEN, http_client=http, **wire.options()) as sp:
        report = sp.export("2025-01-01", "2025-03-31", output)
    assert sorted(wire.windows) == QUARTER_WINDOWS
    assert wire.urls == {API}
    wire.assert_cassette_used_exactly()
    written = [json.loads(line) for line in output.read_text().splitlines()]
    assert written == fake.events("2025-01-01", "2025-03-31")
    assert (report.events, report.windows, report.requests, report.retries, report.splits) == (
        len(written),
        13,
        13,
        0,
        0,
    )


@pytest.mark.vcr
def test_split_after_a_persisting_504(wire: Wire) -> None:
    """A week too big for one response: 504 (nginx HTML), retried once, 504 again, then split in two."""
    fake = fake_for(max_events_per_response=12)  # the week has 18 clicks, its halves 11 and 7
    sleeps = Sleeps()
    with wire.client(fake) as http, ShortPen(RECORDING_TOKEN, http_client=http, sleep=sleeps) as sp:
        events = [e.to_dict() for e in sp.clicks("2025-01-01", "2025-01-07")]
    assert wire.windows == [
        ("2025-01-01", "2025-01-07"),
        ("2025-01-01", "2025-01-07"),
        ("2025-01-01", "2025-01-04"),
        ("2025-01-05", "2025-01-07"),
    ]
    assert len(sleeps) == 1  # one backoff before the retry; none before the split
    assert events == fake.events("2025-01-01", "2025-01-07")
    statuses = [r["status"]["code"] for r in wire.cassette.responses]
    assert statuses == [504, 504, 200, 200]
    wire.assert_cassette_used_exactly()


@pytest.mark.vcr
def test_retry_after_a_429_honours_retry_after(wire: Wire) -> None:
    """429 with Retry-After: 3 is retried after exactly 3 seconds, the same window (never split)."""
    fake = fake_for(faults=FaultPlan({1: Fault.rate_limit(retry_after=3)}))
    sleeps = Sleeps()
    with wire.client(fake) as http, ShortPen(RECORDING_TOKEN, http_client=http, sleep=sleeps) as sp:
        events = [e.to_dict() for e in sp.clicks("2025-01-01", "2025-01-07")]
    assert wire.windows == [("2025-01-01", "2025-01-07")] * 2
    assert sleeps == [3.0]
    assert events == fake.events("2025-01-01", "2025-01-07")
    first = wire.cassette.responses[0]
    assert (first["status"]["code"], first["headers"]["retry-after"]) == (429, ["3"])
    wire.assert_cassette_used_exactly()


@pytest.mark.vcr
def test_401_is_raised_and_never_retried(wire: Wire) -> None:
    fake = fake_for()
    sleeps = Sleeps()
    with wire.client(fake) as http, ShortPen(WRONG_TOKEN, http_client=http, sleep=sleeps) as sp:
        with pytest.raises(AuthenticationError) as raised:
            list(sp.clicks("2025-01-01", "2025-01-07"))
    assert raised.value.status_code == 401
    assert raised.value.message == "Invalid token."
    assert WRONG_TOKEN not in str(raised.value)
    assert wire.windows == [("2025-01-01", "2025-01-07")]
    assert sleeps == []
    wire.assert_cassette_used_exactly()


@pytest.mark.vcr
def test_400_for_a_workspace_outside_the_account_is_raised_and_never_retried(wire: Wire) -> None:
    fake = fake_for()
    sleeps = Sleeps()
    with wire.client(fake) as http, ShortPen(RECORDING_TOKEN, http_client=http, sleep=sleeps) as sp:
        with pytest.raises(BadRequestError) as raised:
            list(sp.clicks("2025-01-01", "2025-01-07", workspace_id=99))
    assert raised.value.status_code == 400
    assert raised.value.message == "workspace_id: unknown workspace 99 (not in this organization)"
    assert [body for _, body in wire.sent] == [
        {"start": "2025-01-01", "end": "2025-01-07", "workspace_id": 99}
    ]
    assert sleeps == []
    wire.assert_cassette_used_exactly()


@pytest.mark.vcr
def test_url_id_filter_is_sent_with_every_window(wire: Wire) -> None:
    fake = fake_for()
    with wire.client(fake) as http, ShortPen(RECORDING_TOKEN, http_client=http, **wire.options()) as sp:
        events = [e.to_dict() for e in sp.clicks("2025-01-01", "2025-01-14", url_id=503)]
    assert sorted(json.dumps(body, sort_keys=True) for _, body in wire.sent) == [
        '{"end": "2025-01-07", "start": "2025-01-01", "url_id": 503}',
        '{"end": "2025-01-14", "start": "2025-01-08", "url_id": 503}',
    ]
    assert events == fake.events("2025-01-01", "2025-01-14", url_id=503)
    assert 0 < len(events) < len(fake.events("2025-01-01", "2025-01-14"))
    assert {e["url_id"] for e in events} == {503}
    wire.assert_cassette_used_exactly()


@pytest.mark.vcr
def test_staging_environment_url(wire: Wire) -> None:
    """environment="staging-api" sends to https://staging-api.shortpen.com (the host is matched)."""
    fake = fake_for()
    with (
        wire.client(fake) as http,
        ShortPen(RECORDING_TOKEN, environment="staging-api", http_client=http) as sp,
    ):
        events = [e.to_dict() for e in sp.clicks("2025-01-01", "2025-01-07")]
    assert wire.urls == {STAGING}
    assert [r.uri for r in wire.cassette.requests] == [STAGING]
    assert events == fake.events("2025-01-01", "2025-01-07")
    wire.assert_cassette_used_exactly()


@pytest.mark.vcr
@pytest.mark.anyio
async def test_async_client(wire: Wire) -> None:
    """AsyncShortPen sends the same windows and yields the same events, over httpx.AsyncClient."""
    fake = fake_for()
    sleeps = AsyncSleeps()
    async with (
        wire.async_client(fake) as http,
        AsyncShortPen(RECORDING_TOKEN, http_client=http, sleep=sleeps, **wire.options()) as sp,
    ):
        events = [e.to_dict() async for e in sp.clicks("2025-01-01", "2025-01-21")]
    assert sorted(wire.windows) == QUARTER_WINDOWS[:3]
    assert events == fake.events("2025-01-01", "2025-01-21")
    assert sleeps == []
    wire.assert_cassette_used_exactly()


# -- the lock --------------------------------------------------------------------------------------


@pytest.mark.default_cassette("test_quarter_export")
@pytest.mark.vcr(record_mode="none")  # never records, whatever --record-mode says
def test_a_different_window_plan_is_not_in_the_cassette(vcr: Any, record_mode: str, tmp_path: Path) -> None:
    """The lock works: the quarter export with 10-day windows asks for a window the cassette does not
    hold, and vcrpy's error surfaces from ``export`` unwrapped (it is not an httpx error); no file."""
    if record_mode != "none":
        pytest.skip("replays test_quarter_export's cassette: nothing to record")
    output = tmp_path / "q1.jsonl"
    with httpx.Client() as http, ShortPen(RECORDING_TOKEN, http_client=http, window_days=10) as sp:
        with pytest.raises(CannotOverwriteExistingCassetteException) as raised:
            sp.export("2025-01-01", "2025-03-31", output)
    assert "https://api.shortpen.com/v1/analytics" in str(raised.value)
    assert not output.exists()
    assert len(vcr) == 13


def test_quarter_plan_is_what_the_cassette_holds() -> None:
    """The cassette itself holds the 13 windows (read from the file, no client involved)."""
    interactions = load_interactions(CASSETTE_DIR / "test_quarter_export.yaml")
    bodies = [json.loads(i["request"]["body"]) for i in interactions]
    assert [(b["start"], b["end"]) for b in bodies] == QUARTER_WINDOWS
    days = sum(
        (dt.date.fromisoformat(end) - dt.date.fromisoformat(start)).days + 1 for start, end in QUARTER_WINDOWS
    )
    assert days == 90
