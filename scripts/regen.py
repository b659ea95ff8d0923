"""Regenerate the client from ``openapi.yaml``, or check that the committed one matches it.

``python scripts/regen.py``          writes ``shortpen_api_client/_generated/`` and ``_spec.py``, prints
                                     what changed for the endpoint since the last release (the
                                     ``v*`` tag, or ``--against REF``) and writes that report into
                                     CHANGELOG.md under ``## Unreleased`` (replaced on every run)
``python scripts/regen.py --check``  generates into a temporary folder and compares the whole tree
                                     with the committed one: a unified diff of each changed file,
                                     and the missing and extra files.

Both refuse to run with a generator (openapi-python-client) or ruff (its post hooks) other than the
exact versions pinned in ``uv.lock``: run them from the project's virtual environment (``make regen`` /
``make check-regen`` do, after ``make install``). Both read the edited spec with
``shortpen_api_client/_schema_derive.py``'s ``derive`` first: a shape this package cannot use is a
``SchemaError``, printed before anything is written. They never import the package itself (its import
checks ``_generated/`` against ``_spec.py``), so they run, and repair, when the committed tree is out
of step, edited by hand or half written. The regeneration is swapped in whole: generated into a
temporary folder beside ``_generated/``, then renamed into place. The comparison rules (what is
BREAKING) are in ``spec_diff.py``.
"""

from __future__ import annotations

import argparse
import difflib
import filecmp
import hashlib
import importlib.metadata
import json
import os
import pprint
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the package beside this script, also when run from a copy of the repo

import changelog  # noqa: E402  (scripts of this folder, importable once the path is set)
import release_refs  # noqa: E402
import spec_diff  # noqa: E402
from derivation import SUPPORTED, Derived, SchemaError, derive  # noqa: E402  (not via the package: see there)

SPEC = ROOT / "openapi.yaml"
CONFIG = ROOT / "generator-config.yml"
TEMPLATES = ROOT / "generator-templates"
PACKAGE = ROOT / "shortpen_api_client"
GENERATED = PACKAGE / "_generated"
SPEC_MODULE = PACKAGE / "_spec.py"
LOCK = ROOT / "uv.lock"
CHANGELOG = ROOT / "CHANGELOG.md"
IGNORED = {"__pycache__", ".mypy_cache", ".ruff_cache"}
PINNED = ("openapi-python-client", "ruff")
"""The tools whose output is committed: their exact versions are those of uv.lock."""
ADVICE = (
    "openapi.yaml, generator-config.yml or generator-templates/ changed without `make regen`, or a file "
    "was edited by hand: run `make regen` and commit openapi.yaml, generator-config.yml, "
    "generator-templates/ and the result together."
)


def locked_versions(lock: Path = LOCK) -> dict[str, str]:
    """Package name -> version, as ``uv.lock`` pins them."""
    with lock.open("rb") as f:
        data = tomllib.load(f)
    return {p["name"]: p["version"] for p in data.get("package", []) if "version" in p}


def installed_version(name: str) -> str | None:
    """The version of ``name`` in the environment this script runs in (where the tools are run from)."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def pin_problems(lock: Path = LOCK) -> list[str]:
    """One message per tool whose installed version is not the locked one."""
    locked = locked_versions(lock)
    problems = []
    for name in PINNED:
        want, have = locked.get(name), installed_version(name)
        if want is None:
            problems.append(f"{name} is not pinned in {lock.name}: add it to the dev group and run `uv lock`")
        elif have != want:
            found = f"{name} {have} is installed" if have else f"{name} is not installed"
            problems.append(
                f"{found}, but {lock.name} pins {name}=={want}: run `make install` (uv sync --locked) "
                "and use the project's .venv (make regen / make check-regen do)"
            )
    return problems


def read_spec(path: Path | None = None) -> dict[str, Any]:
    """openapi.yaml (``SPEC``) as JSON data (what ``_spec.SPEC`` records); exits on unreadable YAML."""
    try:
        return release_refs.spec_data((path or SPEC).read_bytes())
    except (yaml.YAMLError, ValueError) as exc:
        raise SystemExit(f"regen: {SPEC.name} is not a YAML mapping: {exc}\nNothing was written.") from None


def derived_or_exit(spec: dict[str, Any], what: str) -> Derived:
    """``derive(spec)``, or exit with the SchemaError's message (before anything is written)."""
    try:
        return derive(spec)
    except SchemaError as exc:
        raise SystemExit(
            f"regen: {what} has a shape this package cannot use: {exc}\n"
            "Nothing was written. Supported: one JSON operation whose 200 data is a list of objects; their "
            f"properties and the request body's: {SUPPORTED.removeprefix('supported: ')} "
            "(shortpen_api_client/_schema_derive.py)."
        ) from None


def spec_module_text(spec: Path = SPEC) -> str:
    """The source of ``_spec.py``: the spec's version, its sha256 and the whole document as data.

    The wheel does not ship ``openapi.yaml`` and pyyaml is a development dependency, so the document
    is recorded here as a Python literal (JSON types only): ``_schema.py`` derives the event and
    request schemas from it, and the fake validates requests against it.
    """
    raw = spec.read_bytes()
    document = json.loads(json.dumps(yaml.safe_load(raw), default=str))  # YAML dates become text
    text = (
        '"""Recorded by ``make regen`` (scripts/regen.py) from openapi.yaml; do not edit."""\n'
        "\n"
        "from typing import Any, Final\n"
        "\n"
        f"SPEC_VERSION: Final = {str(document['info']['version'])!r}\n"
        f"SPEC_SHA256: Final = {hashlib.sha256(raw).hexdigest()!r}\n"
        f"SPEC: Final[dict[str, Any]] = {pprint.pformat(document, sort_dicts=False, width=100)}\n"
        '"""openapi.yaml as data, in its own key order."""\n'
    )
    return _ruff_format(text, SPEC_MODULE)


def _ruff_format(text: str, path: Path) -> str:
    """``text`` formatted by the pinned ruff with the project's settings, as ``make lint`` expects."""
    ruff = Path(sys.executable).parent / "ruff"
    result = subprocess.run(
        [str(ruff), "format", "--stdin-filename", str(path), "-"],
        input=text,
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if result.returncode != 0:
        raise SystemExit(f"regen: ruff could not format {path.name}: {result.stderr.strip()}")
    return result.stdout


def generate(dest: Path) -> None:
    """Run the pinned generator into ``dest`` (which must not exist), then write ``_spec.py`` beside it."""
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    cmd = [
        str(bindir / "openapi-python-client"),
        "generate",
        "--path",
        str(SPEC),
        "--config",
        str(CONFIG),
        "--custom-template-path",
        str(TEMPLATES),
        "--meta",
        "none",
        "--output-path",
        str(dest),
        "--fail-on-warning",
    ]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not dest.is_dir():
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"regen: openapi-python-client failed (exit {result.returncode})")
    (dest.parent / SPEC_MODULE.name).write_text(spec_module_text(), encoding="utf-8")


def files(tree: Path) -> set[Path]:
    """Every file below ``tree``, relative to it, ignoring caches."""
    return {
        p.relative_to(tree)
        for p in tree.rglob("*")
        if p.is_file() and not IGNORED.intersection(p.relative_to(tree).parts)
    }


def compare(expected: Path, actual: Path) -> list[str]:
    """Differences between two trees, one line each: ``changed``, ``missing`` or ``extra`` and the path."""
    want, have = files(expected), files(actual) if actual.is_dir() else set()
    label = f"{actual.name}/"
    problems = [f"missing  {label}{p}" for p in sorted(want - have)]
    problems += [f"extra    {label}{p}" for p in sorted(have - want)]
    problems += [
        f"changed  {label}{p}"
        for p in sorted(want & have)
        if not filecmp.cmp(expected / p, actual / p, shallow=False)
    ]
    return problems


def unified_diff(committed: Path, fresh: Path, label: str) -> str:
    """What ``make regen`` would change in one file, as a unified diff (committed -> regenerated)."""
    before = committed.read_text(encoding="utf-8").splitlines(keepends=True) if committed.is_file() else []
    after = fresh.read_text(encoding="utf-8").splitlines(keepends=True) if fresh.is_file() else []
    lines = difflib.unified_diff(before, after, f"committed/{label}", f"make regen/{label}")
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


def check(generated: Path = GENERATED, spec_module: Path = SPEC_MODULE) -> tuple[list[str], str]:
    """Regenerate into a temporary folder and compare with ``generated`` and ``spec_module``: the
    problems (one line per file) and the unified diffs of the changed files."""
    diffs: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "_generated"
        generate(fresh)
        problems = compare(fresh, generated)
        prefix = generated.relative_to(ROOT) if generated.is_relative_to(ROOT) else Path(generated.name)
        for line in problems:
            if line.startswith("changed"):
                rel = Path(line.split(maxsplit=1)[1]).relative_to(generated.name)
                diffs.append(unified_diff(generated / rel, fresh / rel, str(prefix / rel)))
        fresh_spec = fresh.parent / SPEC_MODULE.name
        if not spec_module.is_file():
            problems.append(f"missing  {spec_module.name}")
        elif not filecmp.cmp(fresh_spec, spec_module, shallow=False):
            problems.append(f"changed  {spec_module.name}")
            diffs.append(unified_diff(spec_module, fresh_spec, f"shortpen_api_client/{spec_module.name}"))
    return problems, "".join(diffs)


def baseline(against: str | None, root: Path = ROOT) -> tuple[str, dict[str, Any]]:
    """The spec to report changes against, and how to name it.

    ``--against REF`` if given; else the last release (the newest ``v*`` tag); else HEAD (a repository
    without release tags); else, outside git (a copy of the files), ``_spec.py`` as it is before this
    regeneration. The spec is what the package was generated from there (``_spec.SPEC``), so a rerun
    reports the same changes and CHANGELOG's block stays the same.
    """
    if against is not None:
        spec = release_refs.spec_at(against, root)
        if spec is None:
            raise SystemExit(f"regen: no openapi.yaml or _spec.py at {against!r} (git show failed)")
        return against, spec
    tag = release_refs.latest_tag(root)
    if tag is not None and (spec := release_refs.spec_at(tag, root)) is not None:
        return tag, spec
    if (spec := release_refs.spec_at("HEAD", root)) is not None:
        return "HEAD (no release tag v* yet)", spec
    recorded = release_refs.assigned_literal(
        (root / release_refs.SPEC_MODULE).read_text(encoding="utf-8"), "SPEC"
    )
    if not isinstance(recorded, dict):
        raise SystemExit("regen: _spec.py holds no SPEC to compare with (pass --against REF)")
    return "_spec.py before this regeneration (not a git repository)", recorded


def report(old_spec: dict[str, Any], new_spec: dict[str, Any], new: Derived) -> list[spec_diff.Change] | None:
    """The changes from ``old_spec`` to the edited spec; None if the old spec cannot be derived."""
    try:
        old = derive(old_spec)
    except SchemaError as exc:
        print(f"regen: no change report: the spec compared with cannot be derived ({exc})")
        return None
    return spec_diff.compare(
        old,
        new,
        old_version=str(old_spec.get("info", {}).get("version")),
        new_version=str(new_spec.get("info", {}).get("version")),
    )


def changelog_lines(since: str, changes: Sequence[spec_diff.Change]) -> list[str]:
    """The block ``make regen`` keeps under ``## Unreleased``: a heading and one line per change."""
    if not changes:
        return []
    return [f"### Spec changes since {since.split()[0]} (`make regen`)", "", *(c.line() for c in changes)]


STAGING_PREFIX = ".regen-"
"""Temporary folders beside ``_generated/`` (in the package folder) that a regeneration stages in."""


def install(generated: Path = GENERATED, spec_module: Path = SPEC_MODULE) -> None:
    """Generate into a folder beside ``generated`` and swap it in by renames (old -> backup, new ->
    ``generated``, backup removed), then replace ``spec_module``: an interrupted run leaves the old
    tree or the new one (at worst none, which the next run writes), never a half-written mix.
    Staging folders a killed run left behind are removed first."""
    for stale in generated.parent.glob(f"{STAGING_PREFIX}*"):
        shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=generated.parent))
    try:
        fresh = staging / generated.name
        generate(fresh)
        for cache in [p for p in fresh.rglob("*") if p.name in IGNORED and p.is_dir()]:
            shutil.rmtree(cache, ignore_errors=True)  # the post hooks' ruff leaves its cache there
        if generated.exists():
            generated.rename(staging / f"{generated.name}.old")
        fresh.rename(generated)
        (staging / SPEC_MODULE.name).replace(spec_module)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def regen(against: str | None = None, changelog_path: Path = CHANGELOG) -> None:
    new_spec = read_spec()
    new = derived_or_exit(new_spec, SPEC.name)
    since, old_spec = baseline(against)
    changes = report(old_spec, new_spec, new)
    install()
    print(f"regen: wrote {GENERATED.relative_to(ROOT)}/ and {SPEC_MODULE.relative_to(ROOT)}")
    if changes is None:
        return
    if not changes:
        print(f"regen: no change to the endpoint since {since}")
    else:
        print(f"regen: changes to the endpoint since {since}:")
        print("\n".join(f"  {c.line()}" for c in changes))
        if spec_diff.is_breaking(changes):
            print(
                "regen: BREAKING for services that pin this package: bump the version (0.x: the minor, "
                "e.g. 0.1.3 -> 0.2.0) in shortpen_api_client/_version.py and say what to do in CHANGELOG.md"
            )
    if changelog_path.is_file():
        text = changelog_path.read_text(encoding="utf-8")
        updated = changelog.write_report(text, changelog_lines(since, changes))
        if updated != text:
            changelog_path.write_text(updated, encoding="utf-8")
            print(f"regen: {changelog_path.name}: the spec-change report under ## {changelog.UNRELEASED}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument(
        "--against", metavar="REF", help="git ref to report spec changes against (default: the last v* tag)"
    )
    args = parser.parse_args(argv)
    problems = pin_problems()
    if problems:
        print("regen: refusing to generate with tools other than the locked ones:", file=sys.stderr)
        print("\n".join(f"  {p}" for p in problems), file=sys.stderr)
        return 2
    if not args.check:
        regen(args.against)
        return 0
    derived_or_exit(read_spec(), SPEC.name)
    problems, diff = check()
    if problems:
        sys.stdout.write(diff)
        print("check-regen: the committed generated code differs from `make regen` output:")
        print("\n".join(f"  {line}" for line in problems))
        print(ADVICE)
        return 1
    print(f"check-regen: {GENERATED.relative_to(ROOT)}/ and {SPEC_MODULE.name} match openapi.yaml")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
