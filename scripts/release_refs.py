"""What a past commit (a release tag) says: its spec and its version, read with git from the repository.

``make regen`` compares the edited spec with the last release's; ``make api-check`` compares the public
API, the spec and the version with it. A release is a ``vX.Y.Z`` tag; when none is reachable (a clone
without tags, a copy that is no git repository) the callers say so and fall back (see each script).
"""

from __future__ import annotations

import ast
import json
import subprocess
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC_FILE = "openapi.yaml"
SPEC_MODULE = "shortpen_api_client/_spec.py"
VERSION_MODULE = "shortpen_api_client/_version.py"


def git(*args: str, root: Path = ROOT) -> str | None:
    """``git args`` in ``root``: its stdout, or None when git fails (no repository, unknown ref...)."""
    try:
        result = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=False, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout if result.returncode == 0 else None


def latest_tag(root: Path = ROOT) -> str | None:
    """The newest ``v*`` release tag reachable from HEAD, or None."""
    out = git("describe", "--tags", "--abbrev=0", "--match", "v[0-9]*", "HEAD", root=root)
    return out.strip() if out and out.strip() else None


def show(ref: str, path: str, root: Path = ROOT) -> str | None:
    """A file's text at ``ref``, or None when the ref or the file does not exist there."""
    return git("show", f"{ref}:{path}", root=root)


def assigned_literal(source: str, name: str) -> Any:
    """The literal value of ``name = ...`` (or ``name: T = ...``) in Python source, never executing it."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return ast.literal_eval(value)
    raise KeyError(f"no {name} = ... in the module")


def spec_data(raw: str | bytes) -> dict[str, Any]:
    """openapi.yaml as JSON data, as ``_spec.SPEC`` records it (YAML dates become text)."""
    data = json.loads(json.dumps(yaml.safe_load(raw), default=str))
    if not isinstance(data, dict):
        raise ValueError("openapi.yaml is not a mapping")
    return data


def spec_at(ref: str, root: Path = ROOT) -> dict[str, Any] | None:
    """The spec the package was generated from at ``ref``: ``_spec.SPEC`` there (what its code was made
    from), else that commit's openapi.yaml (older releases recorded only the version); None if absent."""
    module = show(ref, SPEC_MODULE, root)
    if module is not None:
        try:
            spec = assigned_literal(module, "SPEC")
        except (KeyError, SyntaxError, ValueError):
            spec = None
        if isinstance(spec, dict):
            return spec
    text = show(ref, SPEC_FILE, root)
    return spec_data(text) if text is not None else None


def version_of(source: str) -> str:
    """``__version__`` of a ``_version.py`` source."""
    value = assigned_literal(source, "__version__")
    if not isinstance(value, str):
        raise ValueError(f"__version__ is not a string: {value!r}")
    return value


def version_at(ref: str, root: Path = ROOT) -> str | None:
    text = show(ref, VERSION_MODULE, root)
    return version_of(text) if text is not None else None
