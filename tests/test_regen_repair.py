"""``make regen`` / ``make check-regen`` work in the very case they exist for: ``_generated/`` and
``_spec.py`` out of step, a generated file edited by hand or missing (an interrupted regeneration).

The package refuses to import then (``_schema`` checks the models against ``_spec.py``), so the scripts
must not import it: in a temporary copy of the repository, the tree is broken, ``check-regen`` reports
it with its diff and no traceback, and ``regen`` puts back exactly the committed files, swapping the
new tree in whole (no staging folder left behind).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from ._spec_copy import Copy, copy_repository, digest

pytestmark = pytest.mark.spec_change

PACKAGE = "shortpen_api_client"
MODEL = f"{PACKAGE}/_generated/models/analytics_event.py"
TREE = (f"{PACKAGE}/_generated", f"{PACKAGE}/_spec.py")


def retype_id(root: Path) -> None:
    """A hand edit that keeps names and required-ness: only the type check sees it."""
    model = root / MODEL
    text = model.read_text()
    assert "\n    id: int\n" in text
    model.write_text(text.replace("\n    id: int\n", "\n    id: str\n", 1))


def remove_model(root: Path) -> None:
    (root / MODEL).unlink()


def spec_ahead(root: Path) -> None:
    """``_spec.py`` records a field the generated model does not have (regenerated halfway)."""
    module = root / PACKAGE / "_spec.py"
    text = module.read_text()
    assert text.count('"referrer": {') == 1
    module.write_text(text.replace('"referrer": {', '"referer": {', 1))


BREAKAGES: dict[str, tuple[Callable[[Path], None], str, str]] = {
    # name: (the breakage, what importing the package says, what check-regen lists)
    "retyped": (
        retype_id,
        "`id` is typed str, the spec says int",
        "changed  _generated/models/analytics_event.py",
    ),
    "missing": (remove_model, "analytics_event", "missing  _generated/models/analytics_event.py"),
    "spec ahead": (spec_ahead, "`referer` is missing", "changed  _spec.py"),
}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("regen-repair") / "repo"
    root.mkdir()
    copy_repository(root)
    return root


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_check_regen_reports_and_regen_repairs_a_broken_tree(
    pristine: Path, tmp_path: Path, breakage: str
) -> None:
    breaks, import_error, listed = BREAKAGES[breakage]
    root = tmp_path / "repo"
    shutil.copytree(pristine, root)
    committed = digest(root, *TREE)
    breaks(root)
    copy = Copy(root, subprocess.CompletedProcess([], 0), {})

    imported = copy.run("-c", "import shortpen_api_client")
    assert imported.returncode != 0  # the package refuses to run on a broken tree ...
    assert import_error in imported.stderr

    check = copy.run("scripts/regen.py", "--check")  # ... and the scripts still report it
    assert check.returncode == 1, check.stdout + check.stderr
    assert "Traceback" not in check.stderr, check.stderr
    assert f"  {listed}" in check.stdout
    if breakage == "retyped":  # the unified diff of what make regen puts back
        assert f"--- committed/{MODEL}\n+++ make regen/{MODEL}\n" in check.stdout
        assert "\n-    id: str\n+    id: int\n" in check.stdout
    if breakage == "spec ahead":
        assert '\n-                    "referer": {"type": "string"' in check.stdout
        assert '\n+                    "referrer": {"type": "string"' in check.stdout
    assert "run `make regen`" in check.stdout

    repaired = copy.run("scripts/regen.py")  # ... and repair it
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "Traceback" not in repaired.stderr
    assert digest(root, *TREE) == committed
    assert not list((root / PACKAGE).glob(".regen-*"))  # swapped in whole, nothing left staged
    assert copy.run("-c", "import shortpen_api_client").returncode == 0
    assert copy.run("scripts/regen.py", "--check").returncode == 0


def test_stale_staging_folders_of_a_killed_regen_are_removed(pristine: Path, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(pristine, root)
    stale = root / PACKAGE / ".regen-killed" / "_generated"
    stale.mkdir(parents=True)
    (stale / "half.py").write_text("x = 1\n")
    copy = Copy(root, subprocess.CompletedProcess([], 0), {})
    result = copy.run("scripts/regen.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (root / PACKAGE / ".regen-killed").exists()
