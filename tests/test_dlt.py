"""``shortpen_api_client.dlt``: the dlt source, loaded into DuckDB against the fake served on loopback.

Every load is compared with the fake's ground truth: no duplicate, no gap, after a first load, a later
one with new days, late clicks inside the lookback, several workspaces, and a load killed mid-way.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest

from shortpen_api_client.dlt import DATASET_NAME, merge_ranges, plan_days, shortpen_source
from shortpen_api_client.errors import InvalidArgumentError
from shortpen_api_client.testing import FakeShortPen, Fault, FaultPlan

from .conftest import ROOT

TOKEN = "spk_live_dlt_canary_5be1c0d94a7f"
D = dt.date


@pytest.fixture(autouse=True)
def offline_dlt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No telemetry, and dlt's data folder in the test's own temporary folder."""
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt-data"))
    monkeypatch.delenv("SHORTPEN_TOKEN", raising=False)
    monkeypatch.delenv("SOURCES__SHORTPEN__TOKEN", raising=False)


@pytest.fixture
def fake() -> FakeShortPen:
    return FakeShortPen(seed=5, token=TOKEN, events_per_day=40)


@pytest.fixture
def url(fake: FakeShortPen) -> Iterator[str]:
    with fake.serve() as base_url:
        yield base_url


def pipeline(tmp_path: Path) -> Any:
    return dlt.pipeline(
        pipeline_name="shortpen_test",
        destination=dlt.destinations.duckdb(str(tmp_path / "clicks.duckdb")),
        dataset_name=DATASET_NAME,
        pipelines_dir=str(tmp_path / "pipelines"),
    )


def loaded(tmp_path: Path, *, database: str = "clicks.duckdb") -> list[dict[str, Any]]:
    """The clicks table, ordered by instant then id, as dicts of the event's own fields."""
    with duckdb.connect(str(tmp_path / database), read_only=True) as con:
        # the dataset name is our own constant, not input
        cursor = con.execute(f"SELECT * FROM {DATASET_NAME}.clicks ORDER BY created_at, id")  # noqa: S608
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def ids(rows: list[dict[str, Any]]) -> list[int]:
    return sorted(row["id"] for row in rows)


def expected_ids(fake: FakeShortPen, start: str, end: str, workspace_ids: list[int | None]) -> list[int]:
    return sorted(e["id"] for w in workspace_ids for e in fake.events(start, end, workspace_id=w))


def requested(fake: FakeShortPen, since: int = 0) -> list[tuple[str, str, int | None]]:
    return sorted(
        (r.body["start"], r.body["end"], r.body.get("workspace_id")) for r in fake.requests[since:] if r.body
    )


# -- planning (pure) ------------------------------------------------------------------------------------


def test_merge_ranges_joins_overlapping_and_adjacent_days() -> None:
    ranges = [(D(2025, 1, 5), D(2025, 1, 6)), (D(2025, 1, 1), D(2025, 1, 3)), (D(2025, 1, 4), D(2025, 1, 4))]
    assert merge_ranges(ranges) == [(D(2025, 1, 1), D(2025, 1, 6))]
    assert merge_ranges([(D(2025, 1, 1), D(2025, 1, 1)), (D(2025, 1, 3), D(2025, 1, 3))]) == [
        (D(2025, 1, 1), D(2025, 1, 1)),
        (D(2025, 1, 3), D(2025, 1, 3)),
    ]


def test_plan_fetches_new_days_the_lookback_and_holes_only() -> None:
    loaded_ = [(D(2025, 1, 1), D(2025, 1, 10))]
    days = plan_days(D(2025, 1, 1), D(2025, 1, 12), loaded_, lookback_days=3)
    assert days == [D(2025, 1, d) for d in (8, 9, 10, 11, 12)]
    assert plan_days(D(2025, 1, 1), D(2025, 1, 10), loaded_, lookback_days=0) == []
    holes = [(D(2025, 1, 1), D(2025, 1, 2)), (D(2025, 1, 5), D(2025, 1, 10))]
    assert plan_days(D(2025, 1, 1), D(2025, 1, 10), holes, lookback_days=0) == [D(2025, 1, 3), D(2025, 1, 4)]
    assert plan_days(D(2025, 1, 1), D(2025, 1, 3), [], lookback_days=3) == [D(2025, 1, d) for d in (1, 2, 3)]


# -- arguments ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"start": "2025-02-30"}, "start"),
        ({"start": "2025-01-05", "end": "2025-01-01"}, "after end"),
        ({"workspace_ids": [24, 24]}, "workspace_ids"),
        ({"workspace_ids": 24}, "workspace_ids"),
        ({"workspace_ids": [0]}, "workspace_ids"),
        ({"lookback_days": -1}, "lookback_days"),
        ({"url_id": "501"}, "url_id"),
        ({"window_days": 0}, "window_days"),
        ({"base_url": "http://example.com"}, "http://"),
    ],
)
def test_bad_arguments_are_refused_before_any_request(
    fake: FakeShortPen, url: str, kwargs: dict[str, Any], needle: str
) -> None:
    arguments: dict[str, Any] = {"start": "2025-01-01", "end": "2025-01-03", "token": TOKEN, "base_url": url}
    arguments.update(kwargs)
    with pytest.raises(InvalidArgumentError, match=needle):
        shortpen_source(**arguments)
    assert fake.requests == []


def test_importing_the_package_never_imports_dlt() -> None:
    code = "import sys, shortpen_api_client; print('dlt' in sys.modules, 'duckdb' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**os.environ}
    )
    assert result.stdout.split() == ["False", "False"]


# -- loads against the fake -----------------------------------------------------------------------------


def test_a_first_load_equals_the_fakes_events(fake: FakeShortPen, url: str, tmp_path: Path) -> None:
    info = pipeline(tmp_path).run(shortpen_source("2025-01-01", "2025-01-10", token=TOKEN, base_url=url))
    assert not info.has_failed_jobs
    rows = loaded(tmp_path)
    events = fake.events("2025-01-01", "2025-01-10")
    assert ids(rows) == sorted(e["id"] for e in events)
    # the columns are the Parquet export's: the event's fields, typed; the instant exact
    first = rows[0]
    assert first["created_at"] == dt.datetime.fromisoformat(events[0]["created_at"])
    assert {k: first[k] for k in ("workspace_id", "organization_id", "url_id", "domain")} == {
        k: events[0][k] for k in ("workspace_id", "organization_id", "url_id", "domain")
    }


def test_a_later_load_fetches_only_new_days_and_the_lookback(
    fake: FakeShortPen, url: str, tmp_path: Path
) -> None:
    p = pipeline(tmp_path)
    p.run(shortpen_source("2025-01-01", "2025-01-10", token=TOKEN, base_url=url, window_days=30))
    before = len(fake.requests)
    p.run(
        shortpen_source(
            "2025-01-01", "2025-01-15", token=TOKEN, base_url=url, window_days=30, lookback_days=2
        )
    )
    assert requested(fake, before) == [("2025-01-09", "2025-01-15", None)]
    assert ids(loaded(tmp_path)) == expected_ids(fake, "2025-01-01", "2025-01-15", [None])


def test_late_clicks_inside_the_lookback_are_merged_without_duplicates(tmp_path: Path) -> None:
    # The same account, seen twice: the second time 2025-01-09 has many more clicks (recorded late).
    early = FakeShortPen(seed=5, token=TOKEN, events_per_day=40)
    late = FakeShortPen(seed=5, token=TOKEN, events_per_day=40, heavy_days={D(2025, 1, 9): 300})
    p = pipeline(tmp_path)
    with early.serve() as url:
        p.run(shortpen_source("2025-01-01", "2025-01-10", token=TOKEN, base_url=url))
    assert ids(loaded(tmp_path)) == expected_ids(early, "2025-01-01", "2025-01-10", [None])
    with late.serve() as url:
        p.run(shortpen_source("2025-01-01", "2025-01-10", token=TOKEN, base_url=url, lookback_days=3))
    rows = loaded(tmp_path)
    assert ids(rows) == expected_ids(late, "2025-01-01", "2025-01-10", [None])  # no duplicate, no gap
    assert len(ids(rows)) == len(set(ids(rows)))
    assert requested(late) == [("2025-01-08", "2025-01-10", None)]


def test_several_workspaces_with_state_per_workspace(fake: FakeShortPen, url: str, tmp_path: Path) -> None:
    p = pipeline(tmp_path)
    p.run(shortpen_source("2025-01-01", "2025-01-06", token=TOKEN, base_url=url, workspace_ids=[24]))
    before = len(fake.requests)
    p.run(
        shortpen_source(
            "2025-01-01", "2025-01-06", token=TOKEN, base_url=url, workspace_ids=[24, 31], lookback_days=1
        )
    )
    # workspace 24 only refetches its lookback day; workspace 31 is new: every day
    assert requested(fake, before) == [("2025-01-01", "2025-01-06", 31), ("2025-01-06", "2025-01-06", 24)]
    assert ids(loaded(tmp_path)) == expected_ids(fake, "2025-01-01", "2025-01-06", [24, 31])
    state = p.state["sources"]["shortpen"]["resources"]["clicks"]["loaded"]
    assert state == {"24": [["2025-01-01", "2025-01-06"]], "31": [["2025-01-01", "2025-01-06"]]}


def test_the_token_from_dlt_secrets_or_the_environment(fake: FakeShortPen, url: str, tmp_path: Path) -> None:
    os.environ["SOURCES__SHORTPEN__TOKEN"] = TOKEN  # dlt's secrets (also .dlt/secrets.toml)
    try:
        pipeline(tmp_path).run(shortpen_source("2025-01-01", "2025-01-02", base_url=url))
    finally:
        del os.environ["SOURCES__SHORTPEN__TOKEN"]
    os.environ["SHORTPEN_TOKEN"] = TOKEN
    try:
        pipeline(tmp_path / "b").run(shortpen_source("2025-01-01", "2025-01-02", base_url=url))
    finally:
        del os.environ["SHORTPEN_TOKEN"]
    assert (
        ids(loaded(tmp_path))
        == ids(loaded(tmp_path / "b"))
        == expected_ids(fake, "2025-01-01", "2025-01-02", [None])
    )


def files_holding(folder: Path, secret: str) -> list[Path]:
    needle = secret.encode()
    return [p for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_the_token_is_never_written_by_dlt(fake: FakeShortPen, url: str, tmp_path: Path) -> None:
    p = pipeline(tmp_path)
    p.run(shortpen_source("2025-01-01", "2025-01-03", token=TOKEN, base_url=url))
    os.environ["SOURCES__SHORTPEN__TOKEN"] = TOKEN
    try:
        p.run(shortpen_source("2025-01-01", "2025-01-04", base_url=url))
    finally:
        del os.environ["SOURCES__SHORTPEN__TOKEN"]
    assert str(p.last_trace).find(TOKEN) == -1
    # state, schema, traces, load packages, logs: everything dlt keeps, and the DuckDB file itself
    assert files_holding(tmp_path, TOKEN) == []
    assert len(list((tmp_path / "pipelines").rglob("*"))) > 5  # the scan did look at dlt's files


@pytest.mark.slow  # in subprocesses: on one Python (noxfile.py)
def test_a_load_killed_mid_way_is_exact_when_rerun(tmp_path: Path) -> None:
    slow = FakeShortPen(
        seed=5, token=TOKEN, events_per_day=40, faults=FaultPlan(rate=1.0, kinds=(Fault.latency(0.4),))
    )
    script = (
        "import sys, dlt\n"
        "from shortpen_api_client.dlt import shortpen_source, DATASET_NAME\n"
        f"p = dlt.pipeline(pipeline_name='shortpen_test', destination=dlt.destinations.duckdb({str(tmp_path / 'clicks.duckdb')!r}),"
        f" dataset_name=DATASET_NAME, pipelines_dir={str(tmp_path / 'pipelines')!r})\n"
        "p.run(shortpen_source('2025-01-01', '2025-01-30', token=sys.argv[2], base_url=sys.argv[1], window_days=1, max_concurrency=1))\n"
    )
    with slow.serve() as url:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        process = subprocess.Popen(
            [sys.executable, "-c", script, url, TOKEN], env=env, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        while len(slow.requests) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        assert process.returncode == -signal.SIGKILL
        slow.faults = None
        pipeline(tmp_path).run(shortpen_source("2025-01-01", "2025-01-30", token=TOKEN, base_url=url))
    assert ids(loaded(tmp_path)) == expected_ids(slow, "2025-01-01", "2025-01-30", [None])


# -- shortpen load ----------------------------------------------------------------------------------------


def shortpen_load(*args: str, cwd: Path, url: str, token: str = TOKEN) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHORTPEN_", "SOURCES__"))}
    env.update({"PYTHONPATH": str(ROOT), "SHORTPEN_TOKEN": token, "SHORTPEN_BASE_URL": url})
    return subprocess.run(
        [sys.executable, "-m", "shortpen_api_client.cli", "load", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow  # in subprocesses: on one Python (noxfile.py)
def test_shortpen_load_fills_shortpen_duckdb_and_a_later_run_adds_only_new_days(
    fake: FakeShortPen, url: str, tmp_path: Path
) -> None:
    first = shortpen_load("--start", "2025-01-01", "--end", "2025-01-31", cwd=tmp_path, url=url)
    assert first.returncode == 0, first.stderr
    rows = loaded(tmp_path, database="shortpen.duckdb")
    assert ids(rows) == expected_ids(fake, "2025-01-01", "2025-01-31", [None])
    assert f"Loaded {len(rows):,} rows into {DATASET_NAME}.clicks" in first.stdout
    assert "31 days fetched" in first.stdout
    before = len(fake.requests)
    second = shortpen_load("--start", "2025-01-01", "--end", "2025-02-10", cwd=tmp_path, url=url)
    assert second.returncode == 0, second.stderr
    assert min(start for start, _, _ in requested(fake, before)) == "2025-01-29"  # the lookback (3 days)
    assert "13 days fetched" in second.stdout  # 10 new days and 3 of lookback
    assert ids(loaded(tmp_path, database="shortpen.duckdb")) == expected_ids(
        fake, "2025-01-01", "2025-02-10", [None]
    )
    assert "WARNING" not in first.stderr + second.stderr
    assert TOKEN not in first.stdout + first.stderr + second.stdout + second.stderr


@pytest.mark.slow  # in subprocesses: on one Python (noxfile.py)
def test_shortpen_load_errors_are_one_line_with_the_right_status(url: str, tmp_path: Path) -> None:
    bad_date = shortpen_load("--start", "2025-02-30", cwd=tmp_path, url=url)
    assert bad_date.returncode == 2, bad_date.stderr
    assert bad_date.stderr.strip().splitlines() == [
        "shortpen: error: --start must be a real date as YYYY-MM-DD, got '2025-02-30'"
    ]
    refused = shortpen_load(
        "--start", "2025-01-01", "--end", "2025-01-02", cwd=tmp_path, url=url, token="not-it-0000"
    )
    assert refused.returncode == 1, refused.stderr
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith("shortpen: error: AuthenticationError: ")
    assert "not-it-0000" not in refused.stderr
