"""``make api-check``: a change that breaks services does not land without a version bump and a note.

Compared with the last release (the newest ``v*`` tag reachable from HEAD, or ``--against REF``):

- the public Python API, with griffe (``griffe.find_breaking_changes``, what ``griffe check`` runs),
  attrs classes given the ``__init__`` attrs writes for them (``griffe_attrs.py``): a removed name, a
  parameter removed, moved, made required or given another default;
- the endpoint, with ``spec_diff.compare`` on the spec recorded at the release and the current one
  (the rules of what is BREAKING are in ``spec_diff.py``).

When either breaks, CI fails unless both hold:

- the version (``shortpen_api_client/_version.py``, which pyproject.toml reads) is bumped past the
  release's: a minor bump while 0.x (0.1.x -> 0.2.0), a major one from 1.0 (1.4.2 -> 2.0.0);
- CHANGELOG.md has a ``## Unreleased`` or ``## <new version>`` section that says what breaks: a
  ``### Breaking`` heading, a line starting ``**Breaking**``, or the ``- BREAKING:`` lines ``make regen``
  writes (the word anywhere else, as in "non-breaking", does not count).

No release tag in the clone (nothing released yet, or a clone made without tags): it says that the
API was NOT checked, with what to do, and exits 0 (CI clones may lack tags): there is nothing to
compare with. Pass ``--against REF`` to compare with any
commit. Exit status: 0 fine, 1 a breaking change without bump or note, 2 bad usage.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the package beside this script

import changelog  # noqa: E402  (scripts of this folder, importable once the path is set)
import griffe  # noqa: E402
import release_refs  # noqa: E402
import spec_diff  # noqa: E402
from derivation import derive  # noqa: E402  (the package's, loaded without importing the package)
from griffe_attrs import AttrsInit  # noqa: E402

PACKAGE = "shortpen_api_client"
VERSION_FILE = ROOT / release_refs.VERSION_MODULE
CHANGELOG = ROOT / "CHANGELOG.md"
_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")


def python_breakages(ref: str, root: Path = ROOT) -> list[str]:
    """griffe's breaking changes of the public API from ``ref`` to the working tree, one line each."""
    old = griffe.load_git(PACKAGE, ref=ref, repo=root, extensions=griffe.load_extensions(AttrsInit))
    new = griffe.load(PACKAGE, search_paths=[root], extensions=griffe.load_extensions(AttrsInit))
    return [
        b.explain(style=griffe.ExplanationStyle.MARKDOWN).removeprefix("- ")
        for b in griffe.find_breaking_changes(old, new)
    ]


def spec_breakages(ref: str, root: Path = ROOT) -> list[str]:
    """The BREAKING lines of the spec-change report from ``ref``'s spec to the current openapi.yaml."""
    old = release_refs.spec_at(ref, root)
    if old is None:
        return []
    new = release_refs.spec_data((root / release_refs.SPEC_FILE).read_bytes())
    return [c.text for c in spec_diff.compare(derive(old), derive(new)) if c.breaking]


def parse_version(text: str) -> tuple[int, int, int]:
    match = _VERSION.match(text)
    if match is None:
        raise ValueError(f"not a X.Y.Z version: {text!r}")
    major, minor, patch = (int(g) for g in match.groups())
    return major, minor, patch


def next_breaking(released: str) -> str:
    """The smallest version that may carry a breaking change after ``released``."""
    major, minor, _ = parse_version(released)
    return f"0.{minor + 1}.0" if major == 0 else f"{major + 1}.0.0"


def bumped_enough(released: str, current: str) -> bool:
    return parse_version(current) >= parse_version(next_breaking(released))


_BREAKING_NOTE = re.compile(
    r"^[ \t]*(?:#{3,6}[ \t]+breaking\b"  # a heading: ### Breaking (changes)
    r"|(?:[-*+][ \t]+)?\*\*breaking\b"  # a line or an item starting **Breaking**
    r"|[-*+][ \t]+BREAKING:)",  # an item of the report `make regen` writes: - BREAKING: ...
    re.IGNORECASE | re.MULTILINE,
)


def notes_breaking(text: str, version: str) -> bool:
    """Whether CHANGELOG.md says what breaks, under ``## Unreleased`` or ``## <version>``: a
    ``### Breaking`` heading, a line starting ``**Breaking**``, or ``make regen``'s ``- BREAKING:``
    lines. The word elsewhere ("non-breaking", "no breaking change") is no note."""
    for title in (changelog.UNRELEASED, version):
        body = changelog.section_text(text, title)
        if body is not None and _BREAKING_NOTE.search(body):
            return True
    return False


@dataclass
class Verdict:
    """What the check found and what is missing; ``problems`` empty means it passes."""

    breakages: list[str]
    problems: list[str]


def judge(
    *, breakages: Sequence[str], released: str, current: str, changelog_text: str, since: str
) -> Verdict:
    problems = []
    if breakages:
        if not bumped_enough(released, current):
            problems.append(
                f"the version is {current}, released {since} was {released}: a breaking change needs at "
                f"least {next_breaking(released)} in {release_refs.VERSION_MODULE}"
            )
        if not notes_breaking(changelog_text, current):
            problems.append(
                f"CHANGELOG.md says nothing about it: add a '### Breaking' entry under "
                f"'## {changelog.UNRELEASED}' (or '## {current}') that says what a service must change"
            )
    return Verdict(list(breakages), problems)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--against", metavar="REF", help="git ref of the release (default: the last v* tag)")
    args = parser.parse_args(argv)
    ref = args.against or release_refs.latest_tag()
    if ref is None:
        print(
            "api-check: NOT CHECKED: no release tag (v*) in this clone, so the public API and the spec were "
            "not compared with any release and breaking changes were not looked for. Tag each release "
            "(git tag vX.Y.Z), fetch tags (git fetch --tags) or pass --against REF."
        )
        return 0
    released_source = release_refs.show(ref, release_refs.VERSION_MODULE)
    if released_source is None:
        print(f"api-check: no {release_refs.VERSION_MODULE} at {ref!r}: is it a commit of this repository?")
        return 2
    released = release_refs.version_of(released_source)
    current = release_refs.version_of(VERSION_FILE.read_text(encoding="utf-8"))
    python = python_breakages(ref)
    spec = spec_breakages(ref)
    verdict = judge(
        breakages=[*(f"API: {b}" for b in python), *(f"spec: {s}" for s in spec)],
        released=released,
        current=current,
        changelog_text=CHANGELOG.read_text(encoding="utf-8"),
        since=ref,
    )
    if not verdict.breakages:
        print(f"api-check: no breaking change since {ref} ({released}); version {current}")
        return 0
    print(f"api-check: {len(verdict.breakages)} breaking changes since {ref} ({released}):")
    print("\n".join(f"  {line}" for line in verdict.breakages))
    if verdict.problems:
        print("api-check: FAILED:")
        print("\n".join(f"  {p}" for p in verdict.problems))
        return 1
    print(f"api-check: fine: version {current} and CHANGELOG.md say so")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
