"""CHANGELOG.md as text: its sections, and the spec-change report block that ``make regen`` keeps.

Pure functions (text in, text out). The report lives under ``## Unreleased`` between two markers, so
rerunning ``make regen`` replaces it instead of adding lines; an empty report removes the block. At a
release the maintainer renames ``## Unreleased`` to the version: the block then stays there, inert,
and the next ``make regen`` starts a new one under a new ``## Unreleased``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

UNRELEASED: Final = "Unreleased"
BEGIN: Final = "<!-- spec-change report: written by `make regen`, replaced on every run -->"
END: Final = "<!-- /spec-change report -->"
_HEADING: Final = re.compile(r"^## +(.+?) *$", re.MULTILINE)


def sections(text: str) -> list[tuple[str, int, int]]:
    """``(title, start, end)`` of every ``## `` section: ``start`` is the heading line's start, ``end``
    the next heading's start (or the end of the text)."""
    found = list(_HEADING.finditer(text))
    ends = [m.start() for m in found[1:]] + [len(text)]
    return [(m.group(1), m.start(), end) for m, end in zip(found, ends, strict=True)]


def section_text(text: str, title: str) -> str | None:
    """The body of the first section whose title is ``title`` or starts with ``title`` and a space
    (``## 0.2.0 (2026-12-03)`` matches ``0.2.0``), without its heading; None if there is none."""
    for name, start, end in sections(text):
        if name == title or name.startswith(f"{title} "):
            return text[text.index("\n", start) + 1 : end] if "\n" in text[start:end] else ""
    return None


def report_block(lines: Sequence[str]) -> str:
    return "\n".join([BEGIN, *lines, END]) + "\n"


def write_report(text: str, lines: Sequence[str]) -> str:
    """``text`` with the report block under ``## Unreleased`` set to ``lines`` (removed if empty).

    The section is created above the first release when it is missing; a block already there is
    replaced in place; a new one goes right under the heading.
    """
    block = report_block(lines) if lines else ""
    found = next(((s, e) for title, s, e in sections(text) if title == UNRELEASED), None)
    if found is None:
        if not block:
            return text
        first = _HEADING.search(text)
        at = first.start() if first else len(text)
        prefix = text[:at] if not text[:at] or text[:at].endswith("\n\n") else text[:at].rstrip("\n") + "\n\n"
        return f"{prefix}## {UNRELEASED}\n\n{block}\n{text[at:]}"
    start, end = found
    body = text[start:end]
    old = re.search(re.escape(BEGIN) + r".*?" + re.escape(END) + r"\n?", body, re.DOTALL)
    if old is not None:
        new_body = body[: old.start()] + block + body[old.end() :]
        if not block:  # no report: also drop the blank line the block was given
            new_body = body[: old.start()].rstrip("\n") + "\n\n" + body[old.end() :].lstrip("\n")
    elif block:
        heading_end = body.index("\n") + 1 if "\n" in body else len(body)
        rest = body[heading_end:].lstrip("\n")
        new_body = f"{body[:heading_end]}\n{block}" + (f"\n{rest}" if rest else "")
    else:
        return text
    return text[:start] + new_body + text[end:]
