"""``make check-regen`` catches changed, removed and added generated files (golden-record style)."""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import regen  # a script, not a package: imported from its folder


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One generation into a temporary folder, shared by the tests of this module."""
    out = tmp_path_factory.mktemp("regen") / "_generated"
    regen.generate(out)
    return out


@pytest.fixture
def committed_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "_generated"
    shutil.copytree(regen.GENERATED, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_committed_tree_matches_a_fresh_generation(fresh: Path) -> None:
    assert regen.compare(fresh, regen.GENERATED) == []
    assert (fresh.parent / "_spec.py").read_text() == regen.SPEC_MODULE.read_text()


def test_edited_file_is_reported(fresh: Path, committed_copy: Path) -> None:
    target = committed_copy / "models" / "analytics_event.py"
    target.write_text(target.read_text() + "\n# hand edit\n")
    assert regen.compare(fresh, committed_copy) == ["changed  _generated/models/analytics_event.py"]


def test_removed_file_is_reported(fresh: Path, committed_copy: Path) -> None:
    (committed_copy / "errors.py").unlink()
    assert regen.compare(fresh, committed_copy) == ["missing  _generated/errors.py"]


def test_added_file_is_reported(fresh: Path, committed_copy: Path) -> None:
    (committed_copy / "api" / "helpers.py").write_text("x = 1\n")
    assert regen.compare(fresh, committed_copy) == ["extra    _generated/api/helpers.py"]


def test_generation_is_location_independent(tmp_path: Path, fresh: Path) -> None:
    """Generating inside the project (where ruff finds our pyproject.toml) gives the same bytes."""
    inside = ROOT / ".regen-test-tmp" / "_generated"
    try:
        regen.generate(inside)
        assert regen.compare(fresh, inside) == []
    finally:
        shutil.rmtree(inside.parent, ignore_errors=True)


def test_spec_module_records_version_hash_and_document() -> None:
    namespace: dict[str, Any] = {}
    exec(regen.spec_module_text(), namespace)  # noqa: S102  (the module regen writes, run as Python)
    spec = yaml.safe_load(regen.SPEC.read_bytes())
    assert namespace["SPEC_VERSION"] == spec["info"]["version"]
    assert namespace["SPEC_SHA256"] == hashlib.sha256(regen.SPEC.read_bytes()).hexdigest()
    assert namespace["SPEC"] == spec  # the whole document, as data
    assert list(namespace["SPEC"]["components"]["schemas"]) == list(spec["components"]["schemas"])
