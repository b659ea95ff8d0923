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


# -- the pinned tools (issue 16.6) --


def test_locked_versions_are_the_dev_groups_pins() -> None:
    """uv.lock, read with tomllib, pins the same generator and ruff as pyproject.toml's dev group."""
    locked = regen.locked_versions()
    pyproject = (ROOT / "pyproject.toml").read_text()
    for name in regen.PINNED:
        assert f'"{name}=={locked[name]}"' in pyproject


def test_the_installed_tools_are_the_locked_ones() -> None:
    assert regen.pin_problems() == []


@pytest.mark.parametrize("tool", regen.PINNED)
def test_another_tool_version_is_refused_naming_the_pin(
    tool: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    installed = dict.fromkeys(regen.PINNED, "") | regen.locked_versions()
    installed[tool] = "0.28.3"
    monkeypatch.setattr(regen, "installed_version", installed.get)

    def must_not_generate(dest: Path) -> None:
        raise AssertionError("generated with the wrong tool")

    monkeypatch.setattr(regen, "generate", must_not_generate)
    for argv in ([], ["--check"]):
        assert regen.main(argv) == 2
        err = capsys.readouterr().err
        pin = regen.locked_versions()[tool]
        assert f"{tool} 0.28.3 is installed, but uv.lock pins {tool}=={pin}" in err
        assert "make install" in err


def test_a_missing_tool_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    locked = regen.locked_versions()
    monkeypatch.setattr(regen, "installed_version", lambda name: None if name == "ruff" else locked[name])
    assert regen.pin_problems() == [
        f"ruff is not installed, but uv.lock pins ruff=={locked['ruff']}: run `make install` "
        "(uv sync --locked) and use the project's .venv (make regen / make check-regen do)"
    ]


# -- check-regen shows what drifted --


def test_check_prints_a_unified_diff_of_each_changed_file(committed_copy: Path, tmp_path: Path) -> None:
    target = committed_copy / "models" / "analytics_event.py"
    target.write_text(target.read_text().replace("        referrer = self.referrer\n", "", 1))
    (committed_copy / "errors.py").unlink()
    (committed_copy / "api" / "helpers.py").write_text("x = 1\n")
    spec_copy = tmp_path / "_spec.py"
    spec_copy.write_text(regen.SPEC_MODULE.read_text().replace("SPEC_VERSION: Final", "SPEC_VERSION:  Final"))
    problems, diff = regen.check(committed_copy, spec_copy)
    assert problems == [
        "missing  _generated/errors.py",
        "extra    _generated/api/helpers.py",
        "changed  _generated/models/analytics_event.py",
        "changed  _spec.py",
    ]
    assert "--- committed/_generated/models/analytics_event.py\n" in diff
    assert "+++ make regen/_generated/models/analytics_event.py\n" in diff
    assert "\n+        referrer = self.referrer\n" in diff  # what make regen would put back
    assert '\n-SPEC_VERSION:  Final = "' in diff
    assert '\n+SPEC_VERSION: Final = "' in diff
    assert "helpers.py" not in diff  # listed, not diffed


def test_check_regen_output_names_every_input_of_generation(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    diff = "--- committed/x.py\n+++ make regen/x.py\n@@ -1 +1 @@\n-a\n+b\n"
    monkeypatch.setattr(regen, "check", lambda: (["changed  _generated/x.py"], diff))
    assert regen.main(["--check"]) == 1
    out = capsys.readouterr().out
    assert out.startswith(diff)
    assert "  changed  _generated/x.py" in out
    for name in ("openapi.yaml", "generator-config.yml", "generator-templates/", "make regen"):
        assert name in out.splitlines()[-1]


# -- the regeneration is swapped in whole --


def test_install_swaps_the_new_tree_in_and_leaves_nothing_staged(fresh: Path, tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "_generated" / "models").mkdir(parents=True)
    (package / "_generated" / "models" / "stale.py").write_text("x = 1\n")  # gone after the swap
    (package / "_spec.py").write_text("old\n")
    regen.install(package / "_generated", package / "_spec.py")
    assert regen.compare(fresh, package / "_generated") == []
    assert (package / "_spec.py").read_text() == regen.SPEC_MODULE.read_text()
    assert sorted(p.name for p in package.iterdir()) == ["_generated", "_spec.py"]


def test_a_failed_generation_leaves_the_old_tree_as_it_was(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    package = tmp_path / "pkg"
    shutil.copytree(regen.GENERATED, package / "_generated", ignore=shutil.ignore_patterns("__pycache__"))
    (package / "_spec.py").write_text("old\n")
    before = {p: p.read_bytes() for p in package.rglob("*") if p.is_file()}

    def half_then_fail(dest: Path) -> None:
        (dest / "models").mkdir(parents=True)
        (dest / "models" / "analytics_event.py").write_text("# half written\n")
        raise SystemExit("regen: openapi-python-client failed (exit 1)")

    monkeypatch.setattr(regen, "generate", half_then_fail)
    with pytest.raises(SystemExit):
        regen.install(package / "_generated", package / "_spec.py")
    assert {p: p.read_bytes() for p in package.rglob("*") if p.is_file()} == before


# -- an unusable spec stops regen before anything is written --


def test_unsupported_spec_shape_stops_before_writing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    spec = yaml.safe_load(regen.SPEC.read_bytes())
    spec["components"]["schemas"]["AnalyticsEvent"]["properties"]["location"] = {
        "type": "object",
        "properties": {"lat": {"type": "number"}},
    }
    edited = tmp_path / "openapi.yaml"
    edited.write_text(yaml.safe_dump(spec, sort_keys=False))
    monkeypatch.setattr(regen, "SPEC", edited)

    def must_not_generate(dest: Path) -> None:
        raise AssertionError("generated from an unsupported spec")

    monkeypatch.setattr(regen, "generate", must_not_generate)
    for argv in ([], ["--check"]):
        with pytest.raises(SystemExit) as exc:
            regen.main(argv)
        message = str(exc.value.code)
        assert "regen: openapi.yaml has a shape this package cannot use" in message
        assert "AnalyticsEvent.location: type 'object' is not supported" in message
        assert "Nothing was written" in message


# -- the change report's baseline --


def test_baseline_is_the_spec_recorded_at_a_ref() -> None:
    from shortpen_api_client import _spec

    since, spec = regen.baseline("HEAD")
    assert since == "HEAD"
    assert spec == _spec.SPEC  # committed _spec.py matches the tree (check-regen), so HEAD's is this one


def test_baseline_outside_git_is_spec_py_before_regeneration(tmp_path: Path) -> None:
    module = tmp_path / "shortpen_api_client" / "_spec.py"
    module.parent.mkdir()
    module.write_text('SPEC_VERSION = "9"\nSPEC: dict[str, object] = {"info": {"version": "9"}}\n')
    since, spec = regen.baseline(None, root=tmp_path)
    assert since.startswith("_spec.py before this regeneration")
    assert spec == {"info": {"version": "9"}}


def test_changelog_block_names_the_baseline() -> None:
    from spec_diff import Change

    assert regen.changelog_lines("v0.1.0", []) == []
    assert regen.changelog_lines("HEAD (no release tag v* yet)", [Change("x", breaking=True)]) == [
        "### Spec changes since HEAD (`make regen`)",
        "",
        "- BREAKING: x",
    ]


def test_unreadable_yaml_stops_before_writing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    edited = tmp_path / "openapi.yaml"
    edited.write_text("openapi: 3.1.0\ninfo: [unclosed\n")
    monkeypatch.setattr(regen, "SPEC", edited)

    def must_not_generate(dest: Path) -> None:
        raise AssertionError("generated from broken YAML")

    monkeypatch.setattr(regen, "generate", must_not_generate)
    with pytest.raises(SystemExit) as exc:
        regen.main([])
    assert "regen: openapi.yaml is not a YAML mapping" in str(exc.value.code)
    assert "Nothing was written" in str(exc.value.code)
