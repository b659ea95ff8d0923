"""``make test-matrix``: the test suite on every supported CPython this machine has.

``scripts/pythons.py`` finds the interpreters (one per minor version admitted by requires-python;
pyenv's versions are read from its folder, so nothing needs to be on PATH). Each gets its own
environment under ``.nox/``, synced from ``uv.lock`` as ``make install`` syncs ``.venv`` (``uv sync
--locked --all-extras``, the uv pinned in the dev group), so every version runs the same pinned
dependencies. Lint, types and the regen check do not depend on the interpreter: ``make check``
runs them once, in ``.venv``.

    nox                        # the report, then the suite on each version found
    nox -s "tests(3.12)"       # one version; arguments after ``--`` go to pytest

The oldest version found runs the whole suite; the others all but the ``tooling`` and ``slow``
tests (see ``pytest_args``). Each run spreads over the machine's cores (pytest-xdist).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nox

sys.path.insert(0, str(Path(__file__).resolve().parent / "scripts"))
import pythons  # a script, not a package: imported from its folder

nox.options.default_venv_backend = "uv"
nox.options.download_python = "never"  # the machine's interpreters only; a missing one is reported
nox.options.reuse_venv = "yes"  # `uv sync --locked` below makes a reused environment exact again
nox.options.error_on_external_run = True

CLAIMS = pythons.supported()
FOUND = pythons.discover(CLAIMS)


@nox.session(python=False)
def interpreters(session: nox.Session) -> None:
    """Say which supported versions this machine has (and so which ones run), and which it lacks."""
    for line in pythons.report(FOUND, CLAIMS):
        session.log(line)
    if not FOUND:
        session.error("no supported CPython found: nothing to test")


@nox.session
@nox.parametrize("python", [nox.param(str(i.path), id=i.minor) for i in FOUND])
def tests(session: nox.Session) -> None:
    """The pytest suite in this version's locked environment (``pytest_args``: what runs where)."""
    # The Makefile points uv at .venv; everything in this session means this session's environment.
    session.env["UV_PROJECT_ENVIRONMENT"] = session.virtualenv.location
    session.run_install("uv", "sync", "--locked", "--all-extras", "--quiet", f"--python={session.python}")
    session.run("python", "-c", "import sys; print('python', sys.version.split()[0], sys.executable)")
    session.run("pytest", *pytest_args(session.python), *session.posargs)


def pytest_args(python: object) -> list[str]:
    """The suite runs on as many processes as the machine has cores (pytest-xdist). The oldest
    version found runs every test; the others leave out the ``tooling`` tests (regen, spec-change
    reports, API diff, packaging, benchmarks, README blocks), which check the repository's pinned
    tools rather than the package on that Python, and the ``slow`` ones: the ``shortpen`` command
    (tests/test_cli.py, every test a subprocess), ``shortpen load`` and a dlt load killed mid-way,
    syncs killed mid-way, the command's token tests. So the command itself is tested on the oldest
    version only; the library under it, the dlt source included, on every version. Those two groups
    are about 60% of the suite's time: with them CI took over 10 minutes on 2 cores."""
    args = ["--numprocesses=auto"]
    oldest = min(FOUND, key=lambda found: found.version)
    if str(python) != str(oldest.path):
        args += ["-m", "not live and not tooling and not slow"]
    return args
