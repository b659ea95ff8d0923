"""The ``shortpen`` command, run as a subprocess against the fake served on loopback:
exit codes, one-line errors naming the bad value, never a traceback, never the token."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from shortpen_api_client.testing import FakeShortPen, Fault, FaultPlan

from .conftest import ROOT

TOKEN = "spk_live_cli_canary_93af17e2"


@pytest.fixture(scope="module")
def fake() -> FakeShortPen:
    return FakeShortPen(seed=31, token=TOKEN, events_per_day=25)


@pytest.fixture(scope="module")
def url(fake: FakeShortPen) -> Iterator[str]:
    with fake.serve() as base_url:
        yield base_url


def shortpen(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SHORTPEN_")}
    full_env.update({"PYTHONPATH": str(ROOT), **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "shortpen_api_client.cli", *args],
        env=full_env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def connected(url: str, token: str = TOKEN) -> dict[str, str]:
    return {"SHORTPEN_TOKEN": token, "SHORTPEN_BASE_URL": url}


def assert_one_line_error(result: subprocess.CompletedProcess[str], status: int, *needles: str) -> None:
    assert result.returncode == status, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("shortpen: error: ")
    for needle in needles:
        assert needle in lines[0]
    assert "Traceback" not in result.stderr
    assert TOKEN not in result.stderr + result.stdout


def test_export_to_parquet(fake: FakeShortPen, url: str, tmp_path: Path) -> None:
    out = tmp_path / "clicks.parquet"
    result = shortpen(
        "export", "--start", "2025-01-01", "--end", "2025-01-31", "--output", str(out), env=connected(url)
    )
    assert result.returncode == 0, result.stderr
    assert pq.read_table(out).column("id").to_pylist() == [
        e["id"] for e in fake.events("2025-01-01", "2025-01-31")
    ]
    assert f"Exported {pq.read_metadata(out).num_rows:,} events to {out}" in result.stdout
    assert "5 windows" in result.stdout
    assert TOKEN not in result.stdout + result.stderr


def test_export_to_stdout_streams_jsonl_as_sent(fake: FakeShortPen, url: str) -> None:
    result = shortpen(
        "export", "--start", "2025-02-01", "--end", "2025-02-03", "--output", "-", "--window-days", "1",
        env=connected(url),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == fake.events(
        "2025-02-01", "2025-02-03"
    )
    assert "events to stdout" in result.stderr  # the summary goes to stderr, the data to stdout


def test_export_with_workspace_and_url_filters(fake: FakeShortPen, url: str, tmp_path: Path) -> None:
    workspace = fake.workspace_ids[2]
    link = fake.url_ids(workspace)[1]
    out = tmp_path / "one-link.jsonl"
    result = shortpen(
        "export", "--start", "2025-01-01", "--end", "2025-01-15", "--output", str(out),
        "--workspace-id", str(workspace), "--url-id", str(link), "--quiet",
        env=connected(url),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # --quiet
    want = fake.events("2025-01-01", "2025-01-15", workspace_id=workspace, url_id=link)
    assert [json.loads(line) for line in out.read_text().splitlines()] == want


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--start", "2025-02-30", "--end", "2025-03-01"], ["--start must be", "'2025-02-30'"]),
        (["--start", "2025-03-02", "--end", "2025-03-01"], ["--start (2025-03-02) is after --end"]),
        (
            ["--start", "2025-03-01", "--end", "2025-03-02", "--window-days", "0"],
            ["--window-days must be", "0"],
        ),
        (["--start", "2025-03-01", "--end", "2025-03-02", "--url-id", "-4"], ["--url-id must be", "-4"]),
        (["--start", "2025-03-01", "--end", "2025-03-02", "--url-id", "abc"], ["'abc'"]),
        (["--end", "2025-03-02"], ["--start"]),
        (["--start", "2025-03-01", "--end", "2025-03-02", "--format", "xml"], ["xml"]),
    ],
)
def test_bad_input_exits_2_naming_the_value(
    url: str, tmp_path: Path, args: list[str], needles: list[str]
) -> None:
    out = tmp_path / "clicks.csv"
    result = shortpen("export", *args, "--output", str(out), env=connected(url))
    assert_one_line_error(result, 2, *needles)
    assert not out.exists()


def test_unknown_suffix_exits_2(url: str, tmp_path: Path) -> None:
    result = shortpen(
        "export",
        "--start",
        "2025-01-01",
        "--end",
        "2025-01-01",
        "-o",
        str(tmp_path / "x.xlsx"),
        env=connected(url),
    )
    assert_one_line_error(result, 2, "x.xlsx")


def test_missing_token_exits_2_saying_how_to_set_it(url: str, tmp_path: Path) -> None:
    result = shortpen(
        "export",
        "--start",
        "2025-01-01",
        "--end",
        "2025-01-01",
        "-o",
        str(tmp_path / "x.csv"),
        env={"SHORTPEN_BASE_URL": url},
    )
    assert_one_line_error(result, 2, "SHORTPEN_TOKEN")


def test_plain_http_to_a_remote_host_exits_2(tmp_path: Path) -> None:
    result = shortpen(
        "export", "--start", "2025-01-01", "--end", "2025-01-01", "-o", str(tmp_path / "x.csv"),
        "--base-url", "http://api.shortpen.com", env={"SHORTPEN_TOKEN": TOKEN},
    )  # fmt: skip
    assert_one_line_error(result, 2, "use https://")


def test_a_rejected_token_exits_1_without_printing_it(url: str, tmp_path: Path) -> None:
    out = tmp_path / "clicks.csv"
    wrong = "spk_live_wrong_token_5c0ffee"
    result = shortpen(
        "export", "--start", "2025-01-01", "--end", "2025-01-09", "-o", str(out), env=connected(url, wrong)
    )
    assert_one_line_error(result, 1, "AuthenticationError", "HTTP 401")
    assert wrong not in result.stderr + result.stdout
    assert not out.exists()


def test_an_api_failure_mid_export_exits_1_and_leaves_no_file(tmp_path: Path) -> None:
    fake = FakeShortPen(seed=2, token=TOKEN, faults=FaultPlan({3: Fault.server_error(500)}))
    out = tmp_path / "clicks.parquet"
    with fake.serve() as url:
        result = shortpen(
            "export", "--start", "2025-01-01", "--end", "2025-01-10", "-o", str(out),
            "--window-days", "1", "--concurrency", "1", "--max-retries", "0", env=connected(url),
        )  # fmt: skip
    assert_one_line_error(result, 1, "ServerError", "HTTP 500")
    assert list(tmp_path.iterdir()) == []


def test_sync_and_rerun(fake: FakeShortPen, url: str, tmp_path: Path) -> None:
    folder = tmp_path / "dataset"
    args = ["sync", "--output", str(folder), "--start", "2025-01-01", "--end", "2025-01-12"]
    first = shortpen(*args, env=connected(url))
    assert first.returncode == 0, first.stderr
    assert "12 days fetched, 0 already complete" in first.stdout
    again = shortpen(*args, "--lookback-days", "2", env=connected(url))
    assert again.returncode == 0, again.stderr
    assert "2 days fetched, 10 already complete" in again.stdout
    assert len(list(folder.glob("date=*/part-0.parquet"))) == 12


def test_usage_errors_exit_2_in_one_line() -> None:
    result = shortpen("export", "--nope")
    assert_one_line_error(result, 2, "--nope")
    assert shortpen("frobnicate").returncode == 2


def test_help_and_version() -> None:
    result = shortpen("--help")
    assert result.returncode == 0
    for command in ("export", "sync", "demo", "fake-server"):
        assert command in result.stdout
    version = shortpen("--version")
    assert version.returncode == 0
    assert "shortpen, version" in version.stdout


def test_fake_server_serves_until_stopped(tmp_path: Path) -> None:
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shortpen_api_client.cli",
            "fake-server",
            "--port",
            "0",
            "--token",
            "local-dev",
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            url = first.split(" on ", 1)[1].split(" ", 1)[0]
            assert url.startswith("http://127.0.0.1:")
            result = shortpen(
                "export", "--start", "2025-01-01", "--end", "2025-01-02", "-o", str(tmp_path / "c.jsonl"),
                env={"SHORTPEN_TOKEN": "local-dev", "SHORTPEN_BASE_URL": url},
            )  # fmt: skip
            assert result.returncode == 0, result.stderr
            assert (tmp_path / "c.jsonl").read_text().count("\n") == len(
                FakeShortPen(token="local-dev").events("2025-01-01", "2025-01-02")
            )
        finally:
            proc.terminate()  # Popen's exit then waits for it


def test_demo_exports_a_month_and_summarises_it(tmp_path: Path) -> None:
    result = shortpen("demo", "--output-dir", str(tmp_path / "demo"), "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    for label in ("events", "windows", "requests", "seconds", "top country", "top device_type", "file"):
        assert label in result.stdout
    assert "The file holds exactly the" in result.stdout
    (export,) = (tmp_path / "demo").glob("clicks-2025-03.*")
    assert pq.read_metadata(export).num_rows > 40_000


def test_missing_cli_extra_gives_a_clear_message() -> None:
    code = (
        "import sys; sys.modules['click'] = None; "
        "from shortpen_api_client.cli import main; raise SystemExit(main(['--help']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert 'pip install "shortpen-api-client[cli]"' in result.stderr


def run_with_terminal_stderr(*args: str, env: dict[str, str]) -> tuple[int, str]:
    """Run the command with stderr on a pseudo-terminal (as in an interactive shell)."""
    import pty

    primary, secondary = pty.openpty()
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "120", "TERM": "xterm", **env}
    with subprocess.Popen(
        [sys.executable, "-m", "shortpen_api_client.cli", *args],
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=secondary,
    ) as proc:
        os.close(secondary)
        chunks = []
        while True:
            try:
                data = os.read(primary, 65536)
            except OSError:  # the terminal closed: the process is done
                break
            if not data:
                break
            chunks.append(data)
        status = proc.wait(timeout=60)
    os.close(primary)
    return status, b"".join(chunks).decode("utf-8", "replace")


def test_progress_bar_on_a_terminal_and_quiet_silences_it(url: str, tmp_path: Path) -> None:
    common = [
        "export",
        "--start",
        "2025-01-01",
        "--end",
        "2025-03-31",
        "--window-days",
        "1",
        "--concurrency",
        "2",
    ]
    status, terminal = run_with_terminal_stderr(*common, "-o", str(tmp_path / "a.csv"), env=connected(url))
    assert status == 0
    assert "windows" in terminal
    assert "/90" in terminal  # windows done / planned
    assert TOKEN not in terminal
    status, terminal = run_with_terminal_stderr(
        *common, "-o", str(tmp_path / "b.csv"), "--quiet", env=connected(url)
    )
    assert status == 0
    assert terminal == ""


def test_a_server_sending_bad_data_is_an_api_failure_not_bad_input(tmp_path: Path) -> None:
    """An event whose created_at has no UTC offset is the server's fault: exit 1, one line."""
    script = (
        "import sys, httpx\n"
        "from shortpen_api_client.testing import FakeShortPen\n"
        "from shortpen_api_client._cli import run\n"
        "fake = FakeShortPen(seed=1, token='t')\n"
        "def handler(request):\n"
        "    data = [{**e, 'created_at': e['created_at'][:19]} for e in fake.events('2025-01-01', '2025-01-01')]\n"
        "    return httpx.Response(200, json={'success': True, 'status_code': 200, 'message': '', 'data': data})\n"
        "real = httpx.Client.__init__\n"
        "def patched(self, *a, **k):\n"
        "    k['transport'] = httpx.MockTransport(handler)\n"
        "    real(self, *a, **k)\n"
        "httpx.Client.__init__ = patched\n"
        "raise SystemExit(run(sys.argv[1:]))\n"
    )
    out = tmp_path / "clicks.parquet"
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            "export",
            "--start",
            "2025-01-01",
            "--end",
            "2025-01-01",
            "-o",
            str(out),
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT), "SHORTPEN_TOKEN": "t"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_max_response_bytes_is_a_connection_option(url: str, tmp_path: Path) -> None:
    out = tmp_path / "clicks.jsonl"
    base = ["export", "--start", "2025-01-01", "--end", "2025-01-02", "-o", str(out)]
    refused = shortpen(*base, "--max-response-bytes", "0", env=connected(url))
    assert_one_line_error(refused, 2, "--max-response-bytes must be an integer >= 1, got 0")
    too_small = shortpen(*base, "--max-response-bytes", "2000", env=connected(url))
    assert_one_line_error(too_small, 1, "WindowTooLargeError", "2025-01-01: ", "max_response_bytes=2,000")
    assert not out.exists()
