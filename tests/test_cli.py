"""The ``shortpen`` command, run as a subprocess against the fake served on loopback:
exit codes, one-line errors naming the bad value, never a traceback, never the token."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import click
import httpx
import pyarrow.parquet as pq
import pytest

from shortpen_api_client.testing import FakeShortPen, Fault, FaultPlan, RateLimit

from .conftest import ROOT

pytestmark = pytest.mark.slow  # end to end in subprocesses: on one Python (noxfile.py)

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
        (
            ["--start", "2025-03-02", "--end", "2025-03-01"],
            ["--start (2025-03-02) is after end (2025-03-01)"],
        ),
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


@pytest.mark.parametrize("value", ["0", "-2", "nan", "inf"])
def test_a_bad_max_requests_per_second_exits_2_naming_it(url: str, tmp_path: Path, value: str) -> None:
    out = tmp_path / "clicks.csv"
    result = shortpen(
        "export", "--start", "2025-03-01", "--end", "2025-03-02", "--output", str(out),
        "--max-requests-per-second", value, env=connected(url),
    )  # fmt: skip
    assert_one_line_error(result, 2, "--max-requests-per-second must be a positive number", value)
    assert not out.exists()


def test_a_max_requests_per_second_below_the_floor_exits_2_naming_it(url: str, tmp_path: Path) -> None:
    out = tmp_path / "clicks.csv"
    result = shortpen(
        "export", "--start", "2025-03-01", "--end", "2025-03-02", "--output", str(out),
        "--max-requests-per-second", "1e-300", env=connected(url),
    )  # fmt: skip
    assert_one_line_error(result, 2, "--max-requests-per-second must be at least 0.01", "1e-300")
    assert not out.exists()


@pytest.mark.parametrize("command", ["export", "sync"])
def test_max_requests_per_second_paces_export_and_sync(tmp_path: Path, command: str) -> None:
    """At 5 a second against a fake limited to 5 a second (burst 2): no 429, and five requests
    take 0.8 s."""
    limit = RateLimit(per_second=5, burst=2)
    limited = FakeShortPen(seed=31, token=TOKEN, events_per_day=5, rate_limit=limit)
    output = ["--output", str(tmp_path / ("out.jsonl" if command == "export" else "dataset"))]
    with limited.serve() as base_url:
        result = shortpen(
            command, "--start", "2025-01-01", "--end", "2025-01-05", *output, "--window-days", "1",
            "--max-requests-per-second", "5", *(["--format", "jsonl"] if command == "sync" else []),
            env=connected(base_url),
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    requests = limited.requests
    assert [r.fault for r in requests] == [None] * 5
    assert requests[-1].at - requests[0].at >= 0.75  # paced 0.2 s apart (a client may be late, not early)


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
    assert_one_line_error(result, 2, "no API token: set the SHORTPEN_TOKEN environment variable")
    assert "token=" not in result.stderr  # the command has no token argument to pass


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
            "--max-retries",
            "0",  # (a bad body is retried like any failure; no real backoff in a test)
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


class HeldAfterTwo(FakeShortPen):
    """Answers two requests, then holds the others until the test opens its gate: the export is then
    certainly mid-run, two windows in its temporary file, however slow the machine."""

    def __init__(self) -> None:
        super().__init__(seed=3, token=TOKEN, events_per_day=300)
        self.gate = threading.Event()
        self.held = threading.Event()
        self._arrivals = itertools.count(1)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if next(self._arrivals) > 2:
            self.held.set()
            self.gate.wait(timeout=120)
        return super().handle(request)


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX signals")
@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP"])
def test_sigterm_or_sighup_mid_export_removes_the_temporary_file(tmp_path: Path, name: str) -> None:
    """Python's default for these signals ends the process at once: the finding's 95-150 MB
    ``.out.jsonl.<hex>.tmp`` stayed. The command turns them into an exception, as Ctrl-C is."""
    signum = getattr(signal, name)
    fake = HeldAfterTwo()
    out = tmp_path / "out.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHORTPEN_")}
    with fake.serve() as url:
        proc = subprocess.Popen(
            [sys.executable, "-m", "shortpen_api_client.cli", "export", "--start", "2025-01-01",
             "--end", "2025-01-31", "-o", str(out), "--window-days", "1", "--concurrency", "1", "-q"],
            env={**env, "PYTHONPATH": str(ROOT), **connected(url)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert fake.held.wait(timeout=60), "the export never reached its third window"
            while not any(p.stat().st_size > 0 for p in tmp_path.glob(".out.jsonl.*.tmp")):
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                time.sleep(0.01)  # the two windows are written: the export is mid-run
            proc.send_signal(signum)
            _, stderr = proc.communicate(timeout=60)
        finally:
            proc.kill()
            proc.wait()
            fake.gate.set()
    assert proc.returncode == 128 + signum, stderr  # as a shell reports a death by that signal
    assert stderr == f"shortpen: terminated by {name}\n"
    assert list(tmp_path.iterdir()) == []  # no temporary file, no output


@pytest.mark.skipif(os.name != "posix", reason="symlinks")
def test_an_output_that_is_a_symlink_exits_2_and_is_left_alone(url: str, tmp_path: Path) -> None:
    (tmp_path / "out.jsonl").symlink_to("/dev/null")
    result = shortpen(
        "export", "--start", "2025-01-01", "--end", "2025-01-02", "-o", str(tmp_path / "out.jsonl"),
        env=connected(url),
    )  # fmt: skip
    assert_one_line_error(result, 2, "out.jsonl", "symbolic link")
    assert (tmp_path / "out.jsonl").is_symlink()


# -- issue 11: messages in flags, refusals, partial stdout, help, plurals, "0 events" -------------------

PYTHON_SYNTAX = re.compile(r"\b[a-z_]+=|\bNone\b")  # format=, workspace_id=None


def assert_in_flags(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    """A one-line error, exit 2, in the command's words: flags, never Python's ``name=value``."""
    assert_one_line_error(result, 2, *needles)
    assert not PYTHON_SYNTAX.search(result.stderr), result.stderr
    return result.stderr.strip()


def export_args(output: str, *more: str) -> list[str]:
    return ["export", "--start", "2025-01-01", "--end", "2025-01-02", "--output", output, *more]


def test_no_format_and_no_suffix_names_the_format_flag(url: str, tmp_path: Path) -> None:
    result = shortpen(*export_args(str(tmp_path / "clicks.data")), env=connected(url))
    line = assert_in_flags(result, "--format is needed: ", "'clicks.data'", ".jsonl, .csv or .parquet")
    assert "pass format" not in line
    assert list(tmp_path.iterdir()) == []


def test_a_file_without_a_known_suffix_takes_the_format_flag(
    fake: FakeShortPen, url: str, tmp_path: Path
) -> None:
    out = tmp_path / "clicks.data"
    result = shortpen(*export_args(str(out), "--format", "csv", "-q"), env=connected(url))
    assert result.returncode == 0, result.stderr
    assert out.read_text().splitlines()[0].startswith("id,")  # CSV, its header first
    assert len(out.read_text().splitlines()) == 1 + len(fake.events("2025-01-01", "2025-01-02"))


def test_a_suffix_contradicting_the_format_exits_2(url: str, tmp_path: Path) -> None:
    """It used to write Parquet into m.csv, silently."""
    result = shortpen(*export_args(str(tmp_path / "m.csv"), "--format", "parquet"), env=connected(url))
    assert_in_flags(result, "--format parquet contradicts the suffix of 'm.csv': name the file 'm.parquet'")
    assert list(tmp_path.iterdir()) == []


def test_output_dot_says_it_is_a_directory(url: str, tmp_path: Path) -> None:
    """It used to say: cannot tell the export format from ''."""
    result = shortpen(*export_args("."), env=connected(url), cwd=tmp_path)
    assert_in_flags(result, "--output '.' is a directory: an export writes one file; give its name")
    assert "''" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_output_with_a_trailing_slash_is_refused(url: str, tmp_path: Path) -> None:
    """``dir.csv/`` means a folder: it used to be written as the file ``dir.csv``."""
    result = shortpen(*export_args("dir.csv/"), env=connected(url), cwd=tmp_path)
    assert_in_flags(result, "--output 'dir.csv/' names a directory (it ends with a separator)")
    assert list(tmp_path.iterdir()) == []


def test_sync_to_stdout_is_refused(url: str, tmp_path: Path) -> None:
    """It used to create a folder named ``-``."""
    result = shortpen(
        "sync",
        "--output",
        "-",
        "--start",
        "2025-01-01",
        "--end",
        "2025-01-02",
        env=connected(url),
        cwd=tmp_path,
    )
    assert_in_flags(result, "--output -: sync writes a dataset folder, not stdout")
    assert list(tmp_path.iterdir()) == []


def test_a_folder_of_another_source_is_described_in_words(url: str, tmp_path: Path) -> None:
    folder = tmp_path / "dataset"
    args = ["sync", "--output", str(folder), "--start", "2025-01-01", "--end", "2025-01-02", "-q"]
    assert shortpen(*args, "--workspace-id", "24", env=connected(url)).returncode == 0
    result = shortpen(*args, "--workspace-id", "31", env=connected(url))
    assert_in_flags(
        result,
        f"the folder {str(folder)!r} holds the clicks of {url}, workspace 24 (all links); "
        "this sync is for workspace 31: use another folder",
    )


def test_a_folder_of_another_format_names_the_format_flag(url: str, tmp_path: Path) -> None:
    folder = tmp_path / "dataset"
    args = ["sync", "--output", str(folder), "--start", "2025-01-01", "--end", "2025-01-02", "-q"]
    assert shortpen(*args, env=connected(url)).returncode == 0  # parquet, the default
    result = shortpen(*args, "--format", "csv", env=connected(url))
    assert_in_flags(
        result, "--format csv does not match the dataset in", "sync it as parquet, or use another folder"
    )


def test_a_failure_on_stdout_says_how_many_lines_were_written(tmp_path: Path) -> None:
    """JSONL on stdout is streamed: two windows were out when the third failed."""
    fake = FakeShortPen(
        seed=2, token=TOKEN, events_per_day=25, faults=FaultPlan({3: Fault.server_error(500)})
    )
    with fake.serve() as url:
        result = shortpen(
            "export", "--start", "2025-01-01", "--end", "2025-01-05", "--output", "-",
            "--window-days", "1", "--concurrency", "1", "--max-retries", "0", env=connected(url),
        )  # fmt: skip
    written = fake.events("2025-01-01", "2025-01-02")
    assert [json.loads(line) for line in result.stdout.splitlines()] == written
    n = len(written)
    assert_one_line_error(
        result,
        1,
        "ServerError",
        "HTTP 500",
        f"(stdout got the first {n} lines ({n} events) before the failure",
    )


def test_a_failure_before_any_line_on_stdout_says_so() -> None:
    fake = FakeShortPen(seed=2, token=TOKEN, faults=FaultPlan({1: Fault.server_error(500)}))
    with fake.serve() as url:
        result = shortpen(*export_args("-", "--max-retries", "0"), env=connected(url))
    assert result.stdout == ""
    assert_one_line_error(result, 1, "HTTP 500", "(nothing was written to stdout)")


def test_the_help_says_stdout_is_partial_on_failure() -> None:
    result = shortpen("export", "--help")
    assert result.returncode == 0
    assert "a failure leaves the lines already written there" in " ".join(result.stdout.split())


def test_every_option_of_every_command_has_help() -> None:
    """``--max-retries`` and ``fake-server --events-per-day`` had none."""
    from shortpen_api_client._cli import cli

    commands = {"shortpen": cli, **{f"shortpen {name}": command for name, command in cli.commands.items()}}
    missing = [
        f"{where} {param.opts[0]}"
        for where, command in commands.items()
        for param in command.params
        if isinstance(param, click.Option) and not param.help
    ]
    assert missing == []
    for command, option in (("export", "--max-retries"), ("fake-server", "--events-per-day")):
        (param,) = [p for p in cli.commands[command].params if option in p.opts]
        assert isinstance(param, click.Option)
        assert param.help
        shown = " ".join(shortpen(command, "--help").stdout.split())
        assert f"{option} INTEGER" in shown
        assert " ".join(param.help.split()) in shown  # what `--help` prints for it


def test_summaries_say_one_window_one_request(fake: FakeShortPen, url: str, tmp_path: Path) -> None:
    out = tmp_path / "day.jsonl"
    result = shortpen(
        "export", "--start", "2025-01-01", "--end", "2025-01-01", "--output", str(out), env=connected(url)
    )
    n = len(fake.events("2025-01-01", "2025-01-01"))
    assert f"Exported {n} events to {out}" in result.stdout
    assert ": 1 window, 1 request, 0 retries, 0 splits, " in result.stdout
    synced = shortpen(
        "sync",
        "--output",
        str(tmp_path / "ds"),
        "--start",
        "2025-01-01",
        "--end",
        "2025-01-01",
        env=connected(url),
    )
    assert "1 day fetched, 0 already complete, " in synced.stdout
    assert "; 1 window, 1 request, 0 retries, 0 splits, " in synced.stdout


def test_an_unknown_link_exports_0_events_and_says_so(url: str, tmp_path: Path) -> None:
    out = tmp_path / "none.csv"
    result = shortpen(
        "export", "--start", "2025-01-01", "--end", "2025-01-07", "--output", str(out), "--url-id", "999",
        env=connected(url),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        f"Exported 0 events to {out} (no clicks in 2025-01-01..2025-01-07 for link 999): 1 window, 1 request, "
    )
    assert len(out.read_text().splitlines()) == 1  # the header: a valid, empty CSV


def test_days_to_come_export_and_sync_0_events_and_say_so(url: str, tmp_path: Path) -> None:
    day = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).date().isoformat()
    result = shortpen(
        "export", "--start", day, "--end", day, "--output", "-", "--workspace-id", "31", env=connected(url)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert f"Exported 0 events to stdout (no clicks on {day} in workspace 31): 1 window" in result.stderr
    synced = shortpen(
        "sync", "--output", str(tmp_path / "ds"), "--start", day, "--end", day, "--url-id", "999",
        env=connected(url),
    )  # fmt: skip
    assert synced.returncode == 0, synced.stderr
    assert "1 day fetched, 0 already complete, 0 events (no clicks for link 999); 1 window" in synced.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--fault-rate", "2"], "Invalid value for '--fault-rate': 2.0 is not in the range 0<=x<=1"),
        (["--timezone", "Mars/Olympus"], "Invalid value for '--timezone': unknown timezone 'Mars/Olympus'"),
        (["--port", "70000"], "Invalid value for '--port'"),
        (["--events-per-day", "-1"], "Invalid value for '--events-per-day'"),
        (["--events-per-day", "300000"], "the fake refuses these settings: "),
    ],
)
def test_fake_server_settings_it_refuses_exit_2(args: list[str], needle: str) -> None:
    """They used to exit 1 as if an API had failed: ``ValueError: rate must be in [0, 1], got 2.0``."""
    result = shortpen("fake-server", "--port", "0", *args)
    assert_one_line_error(result, 2, needle)


def test_max_response_bytes_is_a_connection_option(url: str, tmp_path: Path) -> None:
    out = tmp_path / "clicks.jsonl"
    base = ["export", "--start", "2025-01-01", "--end", "2025-01-02", "-o", str(out)]
    refused = shortpen(*base, "--max-response-bytes", "0", env=connected(url))
    assert_one_line_error(refused, 2, "--max-response-bytes must be an integer >= 1, got 0")
    too_small = shortpen(*base, "--max-response-bytes", "2000", env=connected(url))
    assert_one_line_error(too_small, 1, "WindowTooLargeError", "2025-01-01: ", "max_response_bytes=2,000")
    assert not out.exists()
