"""The fake's request log: complete by default (tests read it), bounded on request
(``max_recorded_requests``, what ``shortpen fake-server`` uses), with the same fault draws either way
and no request body kept by the counts behind those draws."""

from __future__ import annotations

import contextlib
import json
import tracemalloc
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

import shortpen_api_client.testing
from shortpen_api_client import _cli
from shortpen_api_client.testing import FakeShortPen, Fault, FaultPlan

from .conftest import PATH, WEEK, client_for


def days(n: int) -> list[dict[str, str]]:
    return [{"start": f"2025-01-{d:02d}", "end": f"2025-01-{d:02d}"} for d in range(1, n + 1)]


def test_by_default_every_request_is_recorded(fake: FakeShortPen) -> None:
    with client_for(fake) as http:
        for body in days(30):
            http.post(PATH, json=body)
    assert [r.number for r in fake.requests] == list(range(1, 31))
    assert fake.request_count == 30


def test_a_bounded_log_keeps_the_last_requests_and_counts_them_all() -> None:
    fake = FakeShortPen(events_per_day=2, max_recorded_requests=3)
    with client_for(fake) as http:
        for body in days(5):
            http.post(PATH, json=body)
    assert [r.number for r in fake.requests] == [3, 4, 5]
    assert [r.body for r in fake.requests] == days(5)[2:]
    assert fake.request_count == 5
    assert "requests=5" in repr(fake)


def test_a_log_of_zero_records_nothing() -> None:
    fake = FakeShortPen(events_per_day=2, max_recorded_requests=0)
    with client_for(fake) as http:
        assert http.post(PATH, json=WEEK).status_code == 200
    assert fake.requests == []
    assert fake.request_count == 1


@pytest.mark.parametrize("value", [-1, 1.5, True, "10"])
def test_max_recorded_requests_must_be_none_or_a_count(value: Any) -> None:
    with pytest.raises(ValueError, match="max_recorded_requests must be None or an integer >= 0"):
        FakeShortPen(max_recorded_requests=value)


def test_the_fault_draws_are_the_same_with_a_bounded_log() -> None:
    """Draws depend on the request and how often it was seen (retries get fresh draws): bounding the
    log must not change them."""
    bodies = days(10) * 3 + [{"start": "2025-01-01", "end": "2025-01-31"}] * 5

    def statuses(fake: FakeShortPen) -> list[int]:
        with client_for(fake) as http:
            return [http.post(PATH, json=body).status_code for body in bodies]

    def plan() -> FaultPlan:
        return FaultPlan(rate=0.4, seed=11, kinds=(Fault.rate_limit(retry_after=1), Fault.server_error(503)))

    complete = FakeShortPen(events_per_day=2, faults=plan())
    bounded = FakeShortPen(events_per_day=2, faults=plan(), max_recorded_requests=2)
    want = statuses(complete)
    assert statuses(bounded) == want
    assert len(set(want)) > 1  # some faults were drawn, some not
    assert [r.fault for r in bounded.requests] == [r.fault for r in complete.requests[-2:]]


def test_a_long_run_with_a_bounded_log_holds_no_request_bodies() -> None:
    """400 distinct 100 kB bodies (40 MB; each kept three times: as bytes, parsed, and as the key of
    its count): a bounded fake keeps two of them, the counts none (before: about 115 MB held)."""
    fake = FakeShortPen(events_per_day=2, max_recorded_requests=2)
    with httpx.Client(transport=fake.transport(), base_url="https://api.shortpen.com") as http:
        http.post(PATH, json=WEEK)  # warm-up: what the first request imports is not the fake's memory
        tracemalloc.start()
        try:
            for i in range(400):
                content = json.dumps({"start": "2025-01-01", "end": "2025-01-01", "pad": f"{i:06d}" * 16_000})
                http.post(PATH, content=content.encode())
            held, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert fake.request_count == 401
    assert held < 20_000_000  # a fifth of what the counts alone held before (the log keeps two)


def test_the_cli_fake_server_keeps_no_request_log(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[FakeShortPen] = []

    class Spy(FakeShortPen):
        """The CLI's fake, answering three requests while it serves."""

        def __init__(self, **options: Any) -> None:
            super().__init__(**options)
            made.append(self)

        @contextlib.contextmanager
        def serve(self, *, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
            with super().serve(host=host, port=0) as url, httpx.Client(base_url=url) as http:
                for body in days(3):
                    http.post(PATH, json=body, headers={"Authorization": "Bearer local-dev"})
                yield url

    class Interrupted:
        @staticmethod
        def sleep(seconds: float) -> None:
            raise KeyboardInterrupt  # Ctrl-C, at once

    monkeypatch.setattr(shortpen_api_client.testing, "FakeShortPen", Spy)
    monkeypatch.setattr(_cli, "time", Interrupted)
    result = CliRunner().invoke(_cli.cli, ["fake-server", "--port", "0", "--token", "local-dev"])
    assert result.exit_code == 0, result.output
    assert "stopped after 3 request(s)" in result.output
    (fake,) = made
    assert fake.request_count == 3
    assert fake.requests == []
