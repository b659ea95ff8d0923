"""``make api-check``: breaking changes since the last release need a version bump and a CHANGELOG note."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import api_check  # scripts, not a package: imported from their folder
import changelog
import release_refs

CHANGELOG = "# Changelog\n\n## Unreleased\n\n{unreleased}\n## 0.1.0 (first release)\n\n- all\n"


@pytest.mark.parametrize(
    ("released", "current", "enough"),
    [
        ("0.1.0", "0.1.0", False),
        ("0.1.0", "0.1.1", False),  # a patch bump is not enough
        ("0.1.3", "0.2.0", True),  # while 0.x, a minor bump is
        ("0.1.0", "1.0.0", True),
        ("1.4.2", "1.5.0", False),  # from 1.0 on, it takes a major bump
        ("1.4.2", "2.0.0", True),
    ],
)
def test_bump_rules(released: str, current: str, enough: bool) -> None:
    assert api_check.bumped_enough(released, current) is enough


def test_no_breakage_passes_without_a_bump() -> None:
    verdict = api_check.judge(
        breakages=[], released="0.1.0", current="0.1.0", changelog_text="", since="v0.1.0"
    )
    assert verdict.problems == []


def test_breakage_without_bump_or_note_fails_naming_both() -> None:
    verdict = api_check.judge(
        breakages=["API: `X.__init__(a)`: *Parameter was removed*"],
        released="0.1.0",
        current="0.1.0",
        changelog_text=CHANGELOG.format(unreleased="- a fix\n"),
        since="v0.1.0",
    )
    assert verdict.problems == [
        "the version is 0.1.0, released v0.1.0 was 0.1.0: a breaking change needs at least 0.2.0 in "
        "shortpen_api_client/_version.py",
        "CHANGELOG.md says nothing about it: add a '### Breaking' entry under '## Unreleased' (or "
        "'## 0.1.0') that says what a service must change",
    ]


@pytest.mark.parametrize(
    ("text", "version", "ok"),
    [
        (CHANGELOG.format(unreleased="### Breaking\n- `x` removed\n"), "0.2.0", True),
        (CHANGELOG.format(unreleased="- BREAKING: response field `x` removed\n"), "0.2.0", True),
        ("# C\n\n## 0.2.0 (2026-12-03)\n\n### Breaking\n- x\n\n## 0.1.0\n", "0.2.0", True),
        (CHANGELOG.format(unreleased="- a fix\n"), "0.2.0", False),
        ("# C\n\n## 0.1.0\n\n### Breaking\n- an old one\n", "0.2.0", False),  # released: not this one
        (CHANGELOG.format(unreleased="### Breaking changes\n- x\n"), "0.2.0", True),
        (CHANGELOG.format(unreleased="- **Breaking**: `x` is gone, use `y`\n"), "0.2.0", True),
        (CHANGELOG.format(unreleased="**Breaking:** `x` is gone\n"), "0.2.0", True),
        (CHANGELOG.format(unreleased="### Fixed\n  - BREAKING: response field `x` removed\n"), "0.2.0", True),
        # the word elsewhere is no note
        (CHANGELOG.format(unreleased="- a non-breaking fix\n"), "0.2.0", False),
        (CHANGELOG.format(unreleased="### Non-breaking\n- x\n"), "0.2.0", False),
        (CHANGELOG.format(unreleased="- no breaking change here\n"), "0.2.0", False),
        (CHANGELOG.format(unreleased="- Breaking news: faster export\n"), "0.2.0", False),
        (CHANGELOG.format(unreleased="- see the **breaking** note below\n"), "0.2.0", False),
    ],
)
def test_the_note_must_be_under_unreleased_or_the_new_version(text: str, version: str, ok: bool) -> None:
    assert api_check.notes_breaking(text, version) is ok


# -- end to end, in a clone with a release tag --


def _git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True, env=env
    ).stdout


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small git repository: this tree's package, scripts, spec and CHANGELOG, released as v0.1.0."""
    repo = tmp_path_factory.mktemp("api-check") / "repo"
    repo.mkdir()
    tracked = _git(
        ROOT,
        "ls-files",
        "--cached",
        "--others",
        "--exclude-standard",
        "shortpen_api_client",
        "scripts",
        "openapi.yaml",
        "CHANGELOG.md",
    )
    for name in tracked.splitlines():
        if (ROOT / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, repo / name)
    (repo / "shortpen_api_client" / "_version.py").write_text('__version__ = "0.1.0"\n')
    (repo / "CHANGELOG.md").write_text(CHANGELOG.format(unreleased=""))
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "0.1.0")
    _git(repo, "tag", "v0.1.0")
    return repo


def run_check(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(repo / "scripts" / "api_check.py"), *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(repo)},
        timeout=300,
    )


def edit(repo: Path, path: str, old: str, new: str) -> None:
    target = repo / path
    text = target.read_text()
    assert old in text
    target.write_text(text.replace(old, new, 1))


def test_unchanged_release_passes(released: Path) -> None:
    result = run_check(released)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no breaking change since v0.1.0 (0.1.0); version 0.1.0" in result.stdout


def test_a_removed_parameter_fails_until_bump_and_note(released: Path, tmp_path: Path) -> None:
    repo = tmp_path / "work"
    shutil.copytree(released, repo)
    edit(repo, "shortpen_api_client/_jobs.py", "    splits: int\n", "")  # ExportReport(splits=...) gone
    result = run_check(repo)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "ExportReport.__init__(splits)" in result.stdout
    assert "Parameter was removed" in result.stdout
    assert "needs at least 0.2.0" in result.stdout
    edit(repo, "shortpen_api_client/_version.py", "0.1.0", "0.2.0")
    result = run_check(repo)
    assert result.returncode == 1
    assert "needs at least" not in result.stdout
    assert "CHANGELOG.md says nothing about it" in result.stdout
    edit(repo, "CHANGELOG.md", "## Unreleased\n\n", "## Unreleased\n\n### Breaking\n- `splits` is gone\n")
    result = run_check(repo)
    assert result.returncode == 0, result.stdout
    assert "fine: version 0.2.0" in result.stdout


def test_a_breaking_spec_change_counts_too(released: Path, tmp_path: Path) -> None:
    repo = tmp_path / "work"
    shutil.copytree(released, repo)
    edit(
        repo,
        "openapi.yaml",
        "        url_id:\n          type: integer\n          description: Optional",
        "        url_id:\n          type: string\n          description: Optional",
    )
    result = run_check(repo)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "spec: request field `url_id`: type integer -> string" in result.stdout
    assert "needs at least 0.2.0" in result.stdout


def test_without_a_release_tag_it_says_so_and_passes(released: Path, tmp_path: Path) -> None:
    repo = tmp_path / "untagged"
    shutil.copytree(released, repo)
    _git(repo, "tag", "-d", "v0.1.0")
    edit(repo, "shortpen_api_client/_jobs.py", "    splits: int\n", "")
    result = run_check(repo)
    assert result.returncode == 0  # CI clones may lack tags ...
    assert result.stdout.startswith(
        "api-check: NOT CHECKED: no release tag (v*) in this clone"
    )  # ... so it says
    assert "breaking changes were not looked for" in result.stdout
    assert "--against REF" in result.stdout
    result = run_check(repo, "--against", "HEAD")  # a ref given: compared with it
    assert result.returncode == 1
    assert "breaking changes since HEAD (0.1.0)" in result.stdout
    assert "ExportReport.__init__(splits)" in result.stdout


def test_a_clone_keeps_the_tags(released: Path, tmp_path: Path) -> None:
    """CI runs in a fresh clone of main: a local clone carries the release tags, so the check runs."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(released), str(clone)], check=True)
    assert _git(clone, "tag").split() == ["v0.1.0"]
    assert release_refs.latest_tag(clone) == "v0.1.0"
    assert changelog.section_text((clone / "CHANGELOG.md").read_text(), "Unreleased") == "\n\n"
