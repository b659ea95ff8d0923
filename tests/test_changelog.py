"""The spec-change report block that ``make regen`` keeps in CHANGELOG.md (scripts/changelog.py)."""

from __future__ import annotations

import sys

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import changelog  # a script, not a package: imported from its folder

INTRO = "# Changelog\n\nIntro.\n\n"
RELEASED = "## 0.1.0 (first release)\n\n### Added\n- everything\n"
UNRELEASED = "## Unreleased\n\n- Tests guard five behaviours.\n\n"
REPORT = ["### Spec changes since v0.1.0 (`make regen`)", "", "- BREAKING: response field `x` removed"]


def test_report_goes_right_under_unreleased() -> None:
    text = INTRO + UNRELEASED + RELEASED
    out = changelog.write_report(text, REPORT)
    assert out == (
        INTRO
        + "## Unreleased\n\n"
        + changelog.BEGIN
        + "\n"
        + "\n".join(REPORT)
        + "\n"
        + changelog.END
        + "\n\n- Tests guard five behaviours.\n\n"
        + RELEASED
    )


def test_rerun_replaces_the_block_instead_of_adding_lines() -> None:
    text = INTRO + UNRELEASED + RELEASED
    once = changelog.write_report(text, REPORT)
    assert changelog.write_report(once, REPORT) == once
    other = ["- response field `y` added (string, optional)"]
    twice = changelog.write_report(once, other)
    assert twice == changelog.write_report(text, other)
    assert twice.count(changelog.BEGIN) == 1
    assert "`x`" not in twice


def test_lines_added_by_hand_around_the_block_are_kept() -> None:
    once = changelog.write_report(INTRO + UNRELEASED + RELEASED, REPORT)
    edited = once.replace("- Tests guard", "- A hand-written line.\n- Tests guard")
    out = changelog.write_report(edited, ["- other"])
    assert "- A hand-written line.\n- Tests guard five behaviours." in out


def test_an_empty_report_removes_the_block() -> None:
    text = INTRO + UNRELEASED + RELEASED
    assert changelog.write_report(changelog.write_report(text, REPORT), []) == text
    assert changelog.write_report(text, []) == text


def test_unreleased_is_created_above_the_last_release_when_missing() -> None:
    out = changelog.write_report(INTRO + RELEASED, REPORT)
    assert out == INTRO + "## Unreleased\n\n" + changelog.report_block(REPORT) + "\n" + RELEASED
    assert changelog.write_report(out, REPORT) == out


def test_a_released_block_is_never_touched() -> None:
    """After a release (Unreleased renamed to the version), the next report starts a new block."""
    released = changelog.write_report(INTRO + UNRELEASED + RELEASED, REPORT).replace(
        "## Unreleased", "## 0.2.0"
    )
    out = changelog.write_report(released, ["- spec version 1.1.0 -> 1.2.0"])
    assert out.count(changelog.BEGIN) == 2
    assert changelog.section_text(out, "0.2.0") == changelog.section_text(released, "0.2.0")
    assert "- spec version 1.1.0 -> 1.2.0" in (changelog.section_text(out, "Unreleased") or "")


def test_section_text_by_title_or_version_prefix() -> None:
    text = INTRO + UNRELEASED + RELEASED
    assert changelog.section_text(text, "Unreleased") == "\n- Tests guard five behaviours.\n\n"
    assert changelog.section_text(text, "0.1.0") == "\n### Added\n- everything\n"
    assert changelog.section_text(text, "0.1") is None
    assert changelog.section_text(text, "0.2.0") is None


def test_the_projects_changelog_has_an_unreleased_section() -> None:
    assert changelog.section_text((ROOT / "CHANGELOG.md").read_text(), "Unreleased") is not None
