"""``make record`` / ``make record-live``: record the VCR cassettes again, then replay them offline.

    python scripts/record.py          tests/cassettes/*.yaml from FakeShortPen (in-process, no network)
    python scripts/record.py --live   tests/cassettes/live/*.yaml from the real API, with SHORTPEN_TOKEN

Both run the recorded tests with ``--record-mode=rewrite`` (pytest-recording), then once more in
replay mode together with the cassette guards (no token, cookie or foreign bearer value in any
cassette; with SHORTPEN_TOKEN set, the guards look for that token too). See tests/cassettes/README.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASSETTES = ROOT / "tests" / "cassettes"

REFUSAL = """\
make record-live: refusing to run: SHORTPEN_TOKEN is not set.
It records cassettes against the real ShortPen API (https://api.shortpen.com), which needs an API
token: SHORTPEN_TOKEN=<your token> make record-live
The token is sent only to the API; the cassettes get 'Bearer <REDACTED>' instead (and the guards
check that it is nowhere in tests/cassettes/). To re-record from the fake instead: make record"""


def pytest(*args: str, env: dict[str, str]) -> int:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
    print("+ pytest", " ".join(command[3:]), flush=True)
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--live", action="store_true", help="record against the real API (needs SHORTPEN_TOKEN)"
    )
    args = parser.parse_args(argv)

    env = dict(os.environ)
    env.pop("SHORTPEN_BASE_URL", None)  # cassettes hold the canonical URLs
    if args.live:
        if not env.get("SHORTPEN_TOKEN", "").strip():
            print(REFUSAL, file=sys.stderr)
            return 2
        env["SHORTPEN_RECORD_LIVE"] = "1"
        tests, folder, marks = "tests/test_recorded_live.py", CASSETTES / "live", "live"
    else:
        env.pop("SHORTPEN_RECORD_LIVE", None)
        tests, folder, marks = "tests/test_recorded.py", CASSETTES, "not live"

    status = pytest(tests, "-m", marks, "--record-mode=rewrite", env=env) or pytest(
        tests, "tests/test_cassettes.py", "-m", f"{marks} or not live", env=env
    )
    for path in sorted(folder.glob("*.yaml")):
        print(f"{path.stat().st_size:>9,} bytes  {path.relative_to(ROOT)}")
    return status


if __name__ == "__main__":
    sys.exit(main())
