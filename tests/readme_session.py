"""Runs README.md's code blocks in order, as a reader would, against the fake ShortPen the caller serves.

Run by tests/test_readme_blocks.py as ``python tests/readme_session.py README.md`` in an empty
working folder, with ``SHORTPEN_TOKEN`` / ``SHORTPEN_BASE_URL`` naming the fake. Prints one JSON
line per block: ``{"line": N, "lang": ..., "ran": [...] or "skipped": why}`` (an exception ends the
session with a traceback naming the block's line).

- ``python``: executed in one namespace shared by the whole README (later blocks use earlier imports,
  as a reader's session would); functions named ``test_*`` that a block defines are called (the
  examples of testing a service against the fake), coroutines with ``asyncio.run``.
- ``sql``: executed with DuckDB; a block whose first line is ``-- duckdb FILE`` runs against that
  database file, the others in memory. Each must return rows.
- ``bash``: each ``shortpen`` command runs as the installed CLI would (``python -m
  shortpen_api_client.cli``) and must exit 0, except ``fake-server`` (it serves until stopped) and
  ``demo`` (tests/test_cli.py runs it); other lines (``pip``, ``uv``, ``poetry``, ``make``,
  ``export VAR=...``) install or set up and are not run here: CI itself runs ``make test`` and
  ``make demo`` from a clean clone.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.M | re.S)
NOT_RUN = ("fake-server", "demo")


def blocks(readme: str) -> list[tuple[int, str, str]]:
    return [(readme[: m.start()].count("\n") + 1, m.group(1), m.group(2)) for m in BLOCK.finditer(readme)]


def run_python(code: str, line: int, namespace: dict[str, Any]) -> list[str]:
    before = set(namespace)
    exec(compile(code, f"README.md:{line}", "exec"), namespace)  # noqa: S102  (our own README's code)
    ran = []
    for name in [n for n in namespace if n not in before and n.startswith("test_")]:
        result = namespace[name]()
        if inspect.iscoroutine(result):
            asyncio.run(result)
        ran.append(name)
    return ran or ["executed"]


def run_sql(code: str, line: int) -> list[str]:
    import duckdb

    first = code.splitlines()[0]
    database = first.split()[2].rstrip(":") if first.startswith("-- duckdb ") else ":memory:"
    with duckdb.connect(database, read_only=database != ":memory:") as con:
        rows = con.sql(code).fetchall()
    if not rows:
        raise AssertionError(f"README.md:{line}: the query returned no rows")
    return [f"{len(rows)} rows"]


def run_bash(code: str, line: int) -> list[str]:
    ran = []
    for text in code.splitlines():
        command = text.split(" #", 1)[0].strip()
        if not command.startswith("shortpen "):
            continue
        args = shlex.split(command)[1:]
        if args[0] in NOT_RUN:
            continue
        result = subprocess.run(
            [sys.executable, "-m", "shortpen_api_client.cli", *args],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(f"README.md:{line}: `{command}` exited {result.returncode}: {result.stderr}")
        ran.append(command)
    return ran


def main() -> None:
    readme = Path(sys.argv[1]).read_text(encoding="utf-8")
    namespace: dict[str, Any] = {"__name__": "readme"}
    for line, lang, code in blocks(readme):
        started = time.perf_counter()
        if lang == "python":
            ran = run_python(code, line, namespace)
        elif lang == "sql":
            ran = run_sql(code, line)
        elif lang == "bash":
            ran = run_bash(code, line)
        else:
            print(json.dumps({"line": line, "lang": lang, "skipped": "not code to run"}), flush=True)
            continue
        seconds = round(time.perf_counter() - started, 2)
        print(json.dumps({"line": line, "lang": lang, "ran": ran, "seconds": seconds}), flush=True)


if __name__ == "__main__":
    main()
