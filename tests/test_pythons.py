"""``scripts/pythons.py``: which interpreters ``make test`` runs the suite on, and what it reports."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import pythons  # a script, not a package: imported from its folder
from pythons import Interpreter, Supported

CLAIMS = Supported(SpecifierSet(">=3.11"), ("3.11", "3.12", "3.13"))


def fake_python(path: Path, printed: str, *, status: int = 0) -> Path:
    """An executable that answers the probe with ``printed`` (and exits with ``status``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho '{printed}'\nexit {status}\n")
    path.chmod(0o755)
    return path


def interp(version: str, where: str = "/x") -> Interpreter:
    major, minor, micro = (int(p) for p in version.split("."))
    return Interpreter(Path(where) / f"python{version}", (major, minor, micro))


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("cpython 3 12 1 0", (3, 12, 1)),
        ("pypy 3 11 9 0", None),  # another implementation
        ("cpython 3 13 0 1", None),  # the free-threaded build
        ("cpython 3 x 0 0", None),
        ("", None),
    ],
)
def test_parse_probe(printed: str, expected: tuple[int, int, int] | None) -> None:
    found = pythons.parse_probe(Path("/p"), printed + "\n")
    assert (found.version if found else None) == expected


def test_probe_asks_the_interpreter_itself() -> None:
    found = pythons.probe(Path(sys.executable))
    assert found is not None
    assert found.version == tuple(sys.version_info[:3])


def test_probe_skips_a_failing_or_missing_interpreter(tmp_path: Path) -> None:
    # What a pyenv shim of an inactive version does: prints something, exits 127.
    shim = fake_python(tmp_path / "python3.12", "cpython 3 12 1 0", status=127)
    assert pythons.probe(shim) is None
    assert pythons.probe(tmp_path / "absent") is None


def test_choose_keeps_the_newest_patch_of_each_admitted_minor_in_order() -> None:
    found = [
        interp("3.13.0"),
        interp("3.11.2", "/usr/bin"),
        interp("3.10.13"),  # below requires-python
        interp("3.11.7", "/pyenv"),
        interp("3.11.7", "/later"),  # a tie: the first one found stays
        interp("3.12.1"),
    ]
    chosen = pythons.choose(found, CLAIMS)
    assert [(i.release, str(i.path.parent)) for i in chosen] == [
        ("3.11.7", "/pyenv"),
        ("3.12.1", "/x"),
        ("3.13.0", "/x"),
    ]


def test_candidates_read_pyenv_versions_not_its_shims(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    on_path = fake_python(bindir / "python3", "cpython 3 11 2 0")
    fake_python(bindir / "python3.11", "cpython 3 11 2 0")
    fake_python(bindir / "python3-config", "not an interpreter")
    (bindir / "python3.11-link").symlink_to(on_path)  # not a python3[.N] name: ignored
    pyenv = tmp_path / "pyenv"
    shim = fake_python(pyenv / "shims" / "python3.12", "cpython 3 12 1 0", status=127)
    v12 = fake_python(pyenv / "versions" / "3.12.1" / "bin" / "python3", "cpython 3 12 1 0")
    running = fake_python(tmp_path / "venv" / "python", "cpython 3 11 7 0")
    (bindir / "python3.12").symlink_to(v12)  # the same file twice: probed once

    env = {
        "PATH": os.pathsep.join([str(pyenv / "shims"), str(bindir), "relative/bin"]),
        "PYENV_ROOT": str(pyenv),
    }
    found = pythons.candidates(env, str(running))

    assert found == [running, on_path, bindir / "python3.11", v12]
    assert shim not in found
    chosen = pythons.choose([i for p in found if (i := pythons.probe(p))], CLAIMS)
    assert [(i.release, i.path) for i in chosen] == [("3.11.7", running), ("3.12.1", v12)]


def test_candidates_default_pyenv_root_is_in_home(tmp_path: Path) -> None:
    v13 = fake_python(tmp_path / ".pyenv" / "versions" / "3.13.0" / "bin" / "python3", "cpython 3 13 0 0")
    running = fake_python(tmp_path / "python", "cpython 3 11 7 0")
    assert pythons.candidates({"PATH": ""}, str(running), home=tmp_path) == [running, v13]


def test_report_names_what_runs_and_what_is_missing() -> None:
    lines = pythons.report([interp("3.11.7"), interp("3.14.0")], CLAIMS)
    assert lines == [
        "requires-python >=3.11; classifiers list 3.11, 3.12, 3.13",
        "found 3.11.7  /x/python3.11.7",
        "found 3.14.0  /x/python3.14.0  (not in the classifiers; run anyway)",
        "missing 3.12: listed in the classifiers, not on this machine (not run)",
        "missing 3.13: listed in the classifiers, not on this machine (not run)",
    ]
    assert pythons.report([], CLAIMS)[-1] == "no supported CPython found on this machine"


def test_supported_reads_classifiers_and_requires_python(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\nrequires-python = ">=3.12"\nclassifiers = [\n'
        '  "Programming Language :: Python :: 3.13",\n'
        '  "Programming Language :: Python :: 3 :: Only",\n'
        '  "Programming Language :: Python :: 3.12",\n]\n'
    )
    claims = pythons.supported(pyproject)
    assert claims.listed == ("3.12", "3.13")
    assert not claims.admits(interp("3.11.7"))
    assert claims.admits(interp("3.12.0"))


def test_the_project_lists_only_versions_it_admits() -> None:
    claims = pythons.supported()
    assert claims.listed
    assert all(claims.requires.contains(f"{minor}.0") for minor in claims.listed)
