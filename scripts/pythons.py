"""The CPython interpreters of this machine that the project supports: one per minor version.

``python scripts/pythons.py`` prints what it found; ``noxfile.py`` (``make test-matrix``) runs the
test suite on each. Candidates, in this order:

1. the interpreter running this script (for ``make test-matrix``: the one ``.venv`` was made from);
2. every ``python3`` and ``python3.N`` on ``PATH``;
3. every ``versions/*/bin/python3`` under pyenv's root (``$PYENV_ROOT``, else ``~/.pyenv``): pyenv
   puts only the active version on ``PATH``, and its shims for the others fail, so they are read
   from its folder instead, and its shims folder is skipped.

Each candidate is asked its own version by running it. Kept: CPython builds with the GIL (a
free-threaded ``3.13t`` is another build of a minor version, not a version of its own) that
``requires-python`` admits. For each minor version the newest patch release wins (on a tie, the
first candidate). Which versions the project claims comes from pyproject's classifiers: a claimed
version missing from this machine is reported, never an error; only finding none at all is.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"

# Prints implementation, version and whether the build is free-threaded, on one line.
PROBE = (
    "import sys, sysconfig; "
    "print(sys.implementation.name, *sys.version_info[:3], int(bool(sysconfig.get_config_var('Py_GIL_DISABLED'))))"
)
PROBE_TIMEOUT = 20.0  # seconds; an interpreter's first start on a cold disk can take a few
_PATH_NAME = re.compile(r"python3(\.\d+)?")
_CLASSIFIER = re.compile(r"Programming Language :: Python :: (3\.\d+)")


@dataclass(frozen=True)
class Interpreter:
    path: Path
    version: tuple[int, int, int]

    @property
    def minor(self) -> str:
        """``"3.12"``"""
        return "{}.{}".format(*self.version[:2])

    @property
    def release(self) -> str:
        """``"3.12.1"``"""
        return "{}.{}.{}".format(*self.version)


@dataclass(frozen=True)
class Supported:
    """What pyproject.toml claims: ``requires-python`` and the minor versions in the classifiers."""

    requires: SpecifierSet
    listed: tuple[str, ...]

    def admits(self, interpreter: Interpreter) -> bool:
        return self.requires.contains(interpreter.release)


def supported(pyproject: Path = PYPROJECT) -> Supported:
    project = tomllib.loads(pyproject.read_text())["project"]
    listed = [m.group(1) for c in project.get("classifiers", []) if (m := _CLASSIFIER.fullmatch(c))]
    return Supported(SpecifierSet(project["requires-python"]), tuple(sorted(listed, key=_minor_key)))


def candidates(
    env: Mapping[str, str] = os.environ, executable: str = sys.executable, home: Path | None = None
) -> list[Path]:
    """Interpreter paths to probe, in order of preference, each file once (symlinks resolved)."""
    pyenv_root = Path(env.get("PYENV_ROOT") or (home or Path.home()) / ".pyenv")

    def all_paths() -> Iterator[Path]:
        yield Path(executable)
        for entry in env.get("PATH", "").split(os.pathsep):
            folder = Path(entry)
            if not entry or not folder.is_absolute() or folder == pyenv_root / "shims":
                continue
            try:
                names = sorted(p.name for p in folder.iterdir() if _PATH_NAME.fullmatch(p.name))
            except OSError:  # a PATH entry that is missing or unreadable
                continue
            yield from (folder / name for name in names)
        yield from sorted((pyenv_root / "versions").glob("*/bin/python3"))

    seen: set[Path] = set()
    found: list[Path] = []
    for path in all_paths():
        real = path.resolve()
        if real not in seen and real.is_file() and os.access(real, os.X_OK):
            seen.add(real)
            found.append(real)
    return found


def parse_probe(path: Path, output: str) -> Interpreter | None:
    """The interpreter that printed ``output`` for PROBE, or None if it is not a GIL CPython."""
    fields = output.split()
    if len(fields) != 5 or fields[0] != "cpython" or fields[4] != "0":
        return None
    try:
        major, minor, micro = (int(f) for f in fields[1:4])
    except ValueError:
        return None
    return Interpreter(path, (major, minor, micro))


def probe(path: Path) -> Interpreter | None:
    try:
        done = subprocess.run(
            [str(path), "-I", "-c", PROBE],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_probe(path, done.stdout) if done.returncode == 0 else None


def choose(found: Iterable[Interpreter], claims: Supported) -> list[Interpreter]:
    """One interpreter per admitted minor version, the newest patch release; ascending by version."""
    best: dict[str, Interpreter] = {}
    for interpreter in found:
        if not claims.admits(interpreter):
            continue
        current = best.get(interpreter.minor)
        if current is None or interpreter.version > current.version:
            best[interpreter.minor] = interpreter
    return sorted(best.values(), key=lambda i: i.version)


def discover(claims: Supported | None = None) -> list[Interpreter]:
    claims = claims or supported()
    return choose((i for path in candidates() if (i := probe(path)) is not None), claims)


def report(chosen: list[Interpreter], claims: Supported) -> list[str]:
    """Lines that say what was found and will run, and what is claimed but missing here."""
    lines = [f"requires-python {claims.requires}; classifiers list {', '.join(claims.listed) or 'none'}"]
    for interpreter in chosen:
        note = "" if interpreter.minor in claims.listed else "  (not in the classifiers; run anyway)"
        lines.append(f"found {interpreter.release}  {interpreter.path}{note}")
    minors = {i.minor for i in chosen}
    lines.extend(
        f"missing {minor}: listed in the classifiers, not on this machine (not run)"
        for minor in claims.listed
        if minor not in minors
    )
    if not chosen:
        lines.append("no supported CPython found on this machine")
    return lines


def _minor_key(minor: str) -> tuple[int, ...]:
    return tuple(int(part) for part in minor.split("."))


def main() -> int:
    claims = supported()
    chosen = discover(claims)
    print("\n".join(report(chosen, claims)))
    return 0 if chosen else 1


if __name__ == "__main__":
    sys.exit(main())
