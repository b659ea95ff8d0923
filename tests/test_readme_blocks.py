"""Every code block of README.md runs, in order, against a fake ShortPen served on loopback
(tests/readme_session.py says how each kind of block is run)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from shortpen_api_client.testing import FakeShortPen

from .conftest import ROOT

pytestmark = pytest.mark.tooling  # run on one Python by `make test` (noxfile.py)

README = ROOT / "README.md"


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, object]]:
    fake = FakeShortPen(seed=11, events_per_day=12)
    work = tmp_path_factory.mktemp("readme")
    with fake.serve() as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SHORTPEN_", "SOURCES__"))}
        env.update(
            {
                "SHORTPEN_TOKEN": fake.token,
                "SHORTPEN_BASE_URL": url,
                "PYTHONPATH": str(ROOT),
                "RUNTIME__DLTHUB_TELEMETRY": "false",
                "DLT_DATA_DIR": str(work / ".dlt-data"),
            }
        )
        result = subprocess.run(
            [sys.executable, str(ROOT / "tests" / "readme_session.py"), str(README)],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def fenced(lang: str) -> int:
    return len(re.findall(rf"^```{lang}\n", README.read_text(encoding="utf-8"), re.M))


def test_every_python_and_sql_block_ran(session: list[dict[str, object]]) -> None:
    for lang in ("python", "sql"):
        ran = [block for block in session if block["lang"] == lang and block.get("ran")]
        assert len(ran) == fenced(lang) > 0, lang


def test_the_testing_examples_ran_their_tests(session: list[dict[str, object]]) -> None:
    tests = [name for block in session for name in block.get("ran", []) if str(name).startswith("test_")]  # type: ignore[attr-defined]
    assert len(tests) >= 2  # the sync and the async example of testing a service against the fake


def test_the_shortpen_commands_of_the_readme_ran(session: list[dict[str, object]]) -> None:
    commands = [c for block in session if block["lang"] == "bash" for c in block.get("ran", [])]  # type: ignore[attr-defined]
    for verb in ("export", "sync", "load"):
        assert any(str(c).startswith(f"shortpen {verb} ") for c in commands), verb


def test_the_testing_examples_pass_under_plain_pytest(tmp_path: Path) -> None:
    """The README's examples of testing a service against the fake, each block saved as a test file
    of a project of its own (no conftest, no configuration), pass under plain ``pytest``."""
    blocks = re.findall(r"^```python\n(.*?)^```\n", README.read_text(encoding="utf-8"), re.M | re.S)
    examples = [block for block in blocks if re.search(r"^(async )?def test_", block, re.M)]
    assert len(examples) >= 2  # the sync and the async example
    for number, block in enumerate(examples):
        (tmp_path / f"test_readme_example_{number}.py").write_text(block, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHORTPEN_", "PYTEST_"))}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    tests = sum(len(re.findall(r"^(?:async )?def test_", block, re.M)) for block in examples)
    assert result.returncode == 0, result.stdout[-3000:]
    assert f"{tests} passed" in result.stdout, result.stdout[-3000:]
