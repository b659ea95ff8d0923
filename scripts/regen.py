"""Regenerate the client from ``openapi.yaml``, or check that the committed one matches it.

``python scripts/regen.py``          writes ``shortpen_api_client/_generated/`` and ``_spec.py``
``python scripts/regen.py --check``  generates into a temporary folder and compares the whole tree
                                     with the committed one: changed, missing and extra files.

The generator and ruff (its post hooks) are the exact versions pinned in ``uv.lock``; run this
from the project's virtual environment (``make regen`` / ``make check-regen`` do).
"""

from __future__ import annotations

import argparse
import filecmp
import hashlib
import json
import os
import pprint
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi.yaml"
CONFIG = ROOT / "generator-config.yml"
TEMPLATES = ROOT / "generator-templates"
PACKAGE = ROOT / "shortpen_api_client"
GENERATED = PACKAGE / "_generated"
SPEC_MODULE = PACKAGE / "_spec.py"
IGNORED = {"__pycache__", ".mypy_cache", ".ruff_cache"}


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


def check(generated: Path = GENERATED, spec_module: Path = SPEC_MODULE) -> list[str]:
    """Regenerate into a temporary folder and compare with ``generated`` and ``spec_module``."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "_generated"
        generate(fresh)
        problems = compare(fresh, generated)
        fresh_spec = fresh.parent / SPEC_MODULE.name
        if not spec_module.is_file():
            problems.append(f"missing  {spec_module.name}")
        elif not filecmp.cmp(fresh_spec, spec_module, shallow=False):
            problems.append(f"changed  {spec_module.name}")
    return problems


def regen() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "_generated"
        generate(fresh)
        shutil.rmtree(GENERATED, ignore_errors=True)
        shutil.copytree(fresh, GENERATED)
        shutil.copyfile(fresh.parent / SPEC_MODULE.name, SPEC_MODULE)
    print(f"regen: wrote {GENERATED.relative_to(ROOT)}/ and {SPEC_MODULE.relative_to(ROOT)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    if not args.check:
        regen()
        return 0
    problems = check()
    if problems:
        print("check-regen: the committed generated code differs from `make regen` output:")
        print("\n".join(f"  {line}" for line in problems))
        print("Run `make regen` and commit openapi.yaml, generator-config.yml and the result together.")
        return 1
    print(f"check-regen: {GENERATED.relative_to(ROOT)}/ and {SPEC_MODULE.name} match openapi.yaml")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
