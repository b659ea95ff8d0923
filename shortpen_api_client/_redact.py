"""Taking the token, and any bearer credential, out of text a server sent, before any of it is shown.

A proxy's error page or a debugging echo may quote the request's ``Authorization`` header back,
plainly or encoded. ``scrub`` removes from the whole text:

- the token with each of its characters written plainly, percent-encoded (``%2F`` or ``%2f``, also
  encoded twice as ``%252F``), JSON-escaped (``\\u002f``, ``\\/``) or as an HTML character reference
  (``&#47;``, ``&#x2f;``, ``&amp;``), in any mix (JSON's ``\\\\`` and ``\\"`` too);
- the token's base64 forms (standard and URL-safe, at each of the three byte alignments, so also
  inside the base64 of a longer text such as ``Bearer <token>`` or ``user:<token>``);
- any run of ``FRAGMENT`` (8) or more consecutive characters of the token, or of one of its base64
  forms: a server that quotes the token cut (``token[:48] + "..."``) shows none of it; also where
  such a run is written URL-encoded, JSON-escaped or as HTML character references (decoded one
  character at a time, in any mix, and mapped back to the text);
- any ``Bearer <credential>``, also with its space URL- or JSON-encoded (``Bearer%20...``).

``excerpt`` makes the short quote of a body that an error message shows: it scrubs first and cuts
after, so that no cut can leave a fragment of the token that the scrub would not recognise.
``LOG_SCRUBBER`` does the same for the records of httpx's and httpcore's loggers.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import functools
import logging
import re
import threading
from collections.abc import Callable, Iterator
from typing import Final

REDACTED: Final = "[redacted]"

_BEARER = re.compile(
    r"(?i)\b(bearer(?:\s+|%20|\+|\\u0020|&#0*32;|&#x0*20;|&nbsp;))(?!\[redacted\])[^\s\"'<>,;]+"
)
_ENTITIES: Final = {"&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos"}
_BASE64_CHAR: Final = "[A-Za-z0-9+/_-]"
_MIN_BASE64: Final = 8
"""Characters: shorter base64 runs (tokens under 8 bytes) could match anything; not looked for."""

FRAGMENT: Final = 8
"""Characters: a run of this many consecutive characters of the token (or of its base64) is taken
out wherever it appears. Shorter runs are common in ordinary text; eight characters of a token are
already more than anyone should see."""
_ENCODINGS: Final = {  # name -> (what betrays it, a regex for one character written so); in the
    # order they are tried at one place of a text (``%2541``: URL-encoded twice, when that is read)
    "url-twice": ("%25", r"%25(?P<url2>[0-9A-Fa-f]{2})"),
    "url": ("%", r"%(?P<url>[0-9A-Fa-f]{2})"),
    "json": ("\\", r"\\u(?P<json>[0-9A-Fa-f]{4})|\\(?P<esc>[/\\\"])"),
    "html": (
        "&",
        r"&#0{0,4}(?P<dec>[0-9]{1,7});|&#[xX]0{0,4}(?P<hex>[0-9A-Fa-f]{1,6});|&(?P<name>amp|lt|gt|quot|apos);",
    ),
}
_VIEWS: Final = (
    ("url",),
    ("url-twice", "url"),
    ("json",),
    ("html",),
    ("url-twice", "url", "json", "html"),
    ("url", "json", "html"),
)
"""The decodings of a text searched for runs of the token: each encoding alone, and all of them
mixed (URL-encoding read once or twice). One reading is not enough: ``%2541`` is ``%41`` read
once but ``A`` read twice, and a token may itself hold ``%25``, ``\\u`` or ``&#``."""
_NAMED: Final = {name: char for char, name in _ENTITIES.items()}

EXCERPT_CHARS: Final = 80
"""Characters of a body quoted in an error message."""
HEAD_BYTES: Final = 16 * 1024
"""Bytes of a body read for its excerpt: the excerpt needs far fewer, and a large error body is
not worth decoding whole to show 80 characters of it."""


def _hex(digits: str) -> str:
    """A regex for hex ``digits``, in either case."""
    return "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in digits)


def _char(c: str) -> str:
    """A regex for one character of the token, in any of the forms a server may write it."""
    code = ord(c)
    utf8 = c.encode()
    forms = [  # the encoded forms before the plain character: at a place where both match
        # (the token ends in a backslash, the text goes on with \u005c), the longer one is taken
        "".join(f"%25{_hex(f'{b:02x}')}" for b in utf8),  # URL-encoded twice
        "".join(f"%{_hex(f'{b:02x}')}" for b in utf8),  # URL-encoded
        rf"&#0{{0,4}}{code};",  # an HTML character reference, decimal ...
        rf"&#[xX]0{{0,4}}{_hex(f'{code:x}')};",  # ... or hexadecimal
    ]
    if code <= 0xFFFF:
        forms.append(rf"\\u{_hex(f'{code:04x}')}")  # JSON
    if c in _ENTITIES:
        forms.append(f"&{_ENTITIES[c]};")
    if c in '/\\"':
        forms.append(re.escape("\\" + c))  # JSON escapes a quote and a backslash (and may a solidus)
    forms.append(re.escape(c))
    return "(?:" + "|".join(forms) + ")"


def _base64_cores(secret: str) -> set[str]:
    """The base64 characters that the token's bytes alone determine, at each of the three byte
    alignments the token may have inside a longer encoded text; standard and URL-safe alphabets."""
    raw = secret.encode()
    cores = set()
    for k in range(3):
        encoded = base64.b64encode(b"\0" * k + raw).decode()
        # Character i holds bits [6i, 6i + 6): keep those inside the token's bits [8k, 8(k + n)).
        core = encoded[-(-8 * k // 6) : 8 * (k + len(raw)) // 6]
        if len(core) >= _MIN_BASE64:
            cores.add(core)
            cores.add(core.translate(str.maketrans("+/", "-_")))
    return cores


@functools.lru_cache(maxsize=8)
def _pattern(secret: str) -> re.Pattern[str]:
    """One regex for every form of ``secret`` (cached: a client scrubs with the same token)."""
    forms = ["".join(map(_char, secret))]
    # A base64 core, with the characters on its edges that hold a few of the token's bits too.
    forms += [f"{_BASE64_CHAR}?{re.escape(core)}{_BASE64_CHAR}?=*" for core in sorted(_base64_cores(secret))]
    return re.compile("|".join(forms))


def reach(secret: str | None) -> int:
    """An upper bound on the length of any form of ``secret`` that ``scrub`` recognises (at most 20
    characters for one of its characters: four UTF-8 bytes URL-encoded twice)."""
    return 20 * len(secret) + 8 if secret else 0


@functools.lru_cache(maxsize=8)
def _fragments(secret: str) -> tuple[frozenset[str], re.Pattern[str]]:
    """The ``FRAGMENT``-character runs of ``secret`` and of its base64 cores, and a regex for the
    stretches of text that may hold one (``FRAGMENT`` or more characters that those runs use)."""
    sources = [secret, *sorted(_base64_cores(secret))]
    grams = frozenset(s[i : i + FRAGMENT] for s in sources for i in range(len(s) - FRAGMENT + 1))
    alphabet = "".join(sorted({c for gram in grams for c in gram}))
    return grams, re.compile(f"[{re.escape(alphabet)}]{{{FRAGMENT},}}")


@functools.cache  # at most one for each subset of the (four) encodings
def _view(encodings: frozenset[str]) -> re.Pattern[str]:
    """One regex for a character written in any of ``encodings``."""
    return re.compile("|".join(regex for name, (_, regex) in _ENCODINGS.items() if name in encodings))


def _unit(match: re.Match[str]) -> str:
    """The character that one match of a ``_view`` writes."""
    kind = match.lastgroup or ""
    value = match.group(kind)
    if kind == "name":
        return _NAMED[value]
    if kind == "esc":
        return value
    code = int(value, 10 if kind == "dec" else 16)
    return chr(code) if code <= 0x10FFFF else "\ufffd"


def _decoded(text: str, unit: re.Pattern[str]) -> tuple[str, list[int]] | None:
    """``text`` with each encoded character (``unit``) decoded, and where each character of the
    result starts in ``text`` (plus ``len(text)`` at the end); None when nothing is encoded."""
    pieces: list[str] = []
    origin: list[int] = []
    last = 0
    for match in unit.finditer(text):
        start = match.start()
        pieces += (text[last:start], _unit(match))
        origin += range(last, start + 1)
        last = match.end()
    if not pieces:
        return None
    pieces.append(text[last:])
    origin += range(last, len(text) + 1)
    return "".join(pieces), origin


def _spans(text: str, grams: frozenset[str], runs: re.Pattern[str]) -> Iterator[tuple[int, int]]:
    """Where ``text`` holds one of ``grams`` (overlapping spans, in order)."""
    for run in runs.finditer(text):
        stretch, base = run.group(), run.start()
        for i in range(len(stretch) - FRAGMENT + 1):
            if stretch[i : i + FRAGMENT] in grams:
                yield base + i, base + i + FRAGMENT


def _without_fragments(text: str, secret: str) -> str:
    """``text`` with every run of ``FRAGMENT`` or more characters of ``secret`` (or of its base64)
    replaced, written plainly or in any of the ``_VIEWS`` of it."""
    grams, runs = _fragments(secret)
    spans = list(_spans(text, grams, runs))
    present = {name for name, (sign, _) in _ENCODINGS.items() if sign in text}
    for encodings in {frozenset(present.intersection(view)) for view in _VIEWS} - {frozenset()}:
        decoded = _decoded(text, _view(encodings))
        if decoded is not None:
            plain, origin = decoded
            spans += [(origin[a], origin[b]) for a, b in _spans(plain, grams, runs)]
    if not spans:
        return text
    out: list[str] = []
    kept = 0  # text[:kept] is settled
    start = end = -1
    for a, b in sorted(spans):
        if a > end:  # a new span, apart from the current one
            if end >= 0:
                out += (text[kept:start], REDACTED)
                kept = end
            start = a
        end = max(end, b)
    out += (text[kept:start], REDACTED, text[end:])
    return "".join(out)


def scrub(text: str, secret: str | None = None) -> str:
    """``text`` without ``secret`` (in any of its forms, or any run of ``FRAGMENT`` of its
    characters) and without any bearer credential. Idempotent: what was taken out before is left as
    it is (a short token's characters inside ``[redacted]`` included)."""
    if REDACTED in text:
        return REDACTED.join(scrub(part, secret) for part in text.split(REDACTED))
    if secret:
        text = _pattern(secret).sub(REDACTED, text)
        if len(secret) >= FRAGMENT:  # the runs between what was taken out already
            text = REDACTED.join(_without_fragments(part, secret) for part in text.split(REDACTED))
    return _BEARER.sub(rf"\1{REDACTED}", text)


def scrub_exception(error: BaseException, secret: str) -> bool:
    """Scrub ``secret`` from ``error`` and every exception linked to it (``__cause__``,
    ``__context__``, an exception group's members): their string arguments, ``message`` and
    ``__notes__``; an exception whose text still shows it, and whose arguments are not all strings
    (``ValueError({"v": token})``), gets its scrubbed text as its one argument. A linked exception
    whose text shows it even then (a ``__str__`` of its own) is unlinked, with what followed it.
    The last guard before an error leaves a public method: values the server sent may be quoted by
    a parser's own error (``fromisoformat``'s, Arrow's). Returns whether ``error``'s own text is
    clean now (False: the caller must not show it)."""
    seen: set[int] = set()

    def clean(link: BaseException) -> bool:
        if id(link) in seen:
            return True
        seen.add(id(link))
        _scrub_fields(link, secret)
        for linked, unlink in (
            (link.__cause__, functools.partial(setattr, link, "__cause__", None)),
            (link.__context__, functools.partial(setattr, link, "__context__", None)),
        ):
            if linked is not None and not clean(linked):
                unlink()
                link.__suppress_context__ = True
        members = [clean(member) for member in getattr(link, "exceptions", ())]  # every one scrubbed
        return all(members) and not _shows(link, secret)

    return clean(error)


def _scrub_fields(error: BaseException, secret: str) -> None:
    def scrubbed(value: object) -> object:
        return scrub(value, secret) if isinstance(value, str) else value

    def put(name: str, value: object) -> None:
        with contextlib.suppress(AttributeError, TypeError):  # read-only on some exception types
            setattr(error, name, value)

    put("args", tuple(map(scrubbed, error.args)))
    for name in ("message", "strerror", "filename", "filename2"):  # the text of OSError's too
        value = getattr(error, name, None)
        if isinstance(value, str):
            put(name, scrubbed(value))
    notes = getattr(error, "__notes__", None)
    if isinstance(notes, list):
        put("__notes__", list(map(scrubbed, notes)))
    if _shows(error, secret) and error.args and not all(isinstance(a, str) for a in error.args):
        put("args", (scrub(text_of(error), secret),))


def text_of(error: BaseException) -> str:
    """``str(error)``, or its type's name when even that fails."""
    try:
        return str(error)
    except Exception:  # a text that cannot even be made
        return type(error).__name__


def _shows(error: BaseException, secret: str) -> bool:
    """Whether ``error``'s text, repr or notes show ``secret`` (or cannot be made, so cannot be
    checked)."""
    try:
        shown = repr(error).removeprefix(type(error).__name__)  # (a class name is no secret)
        texts = [str(error), shown, *map(str, getattr(error, "__notes__", None) or ())]
    except Exception:  # not checkable, so not shown
        return True
    return any(scrub(text, secret) != text for text in texts)


def excerpt(content: bytes, secret: str | None = None, *, limit: int = EXCERPT_CHARS) -> str:
    """The start of ``content`` as one line of at most ``limit`` characters, scrubbed before cut.

    Only the first ``HEAD_BYTES`` are decoded; when the body is longer, the last characters of that
    head, where a form of the token cut by it could begin, are dropped too.
    """
    text = scrub(content[:HEAD_BYTES].decode("utf-8", "replace"), secret)
    if len(content) > HEAD_BYTES:
        text = text[: max(0, len(text) - reach(secret))]
    return " ".join(text.split())[:limit]


class _LogScrubber(logging.Filter):
    """Scrubs the tokens of the open clients out of the records of httpx's and httpcore's loggers.

    httpcore's DEBUG records show each response's headers, which a hostile server may fill with the
    token. One instance is added to those loggers once (it only runs for records whose level is
    enabled); clients register their token while they are open (``hide``). The set of tokens is
    replaced, never changed in place, so a record being filtered sees a consistent one.
    """

    LOGGERS: Final = (
        "httpx",
        "httpcore.connection",
        "httpcore.http11",
        "httpcore.http2",
        "httpcore.proxy",
        "httpcore.socks",
    )

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._counts: collections.Counter[str] = collections.Counter()
        self._secrets: tuple[str, ...] = ()
        self._installed = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self._secrets
        if secrets:
            message = clean = record.getMessage()
            for secret in secrets:
                clean = scrub(clean, secret)
            if clean != message:
                record.msg, record.args = clean, None
        return True

    def hide(self, secret: str) -> Callable[[], None]:
        """Scrub ``secret`` from now on; call the result to stop (once)."""
        with self._lock:
            if not self._installed:
                for name in self.LOGGERS:
                    logging.getLogger(name).addFilter(self)
                self._installed = True
            self._counts[secret] += 1
            self._secrets = tuple(self._counts)
        return functools.partial(self._forget, secret)

    def _forget(self, secret: str) -> None:
        with self._lock:
            self._counts[secret] -= 1
            if self._counts[secret] <= 0:
                del self._counts[secret]
            self._secrets = tuple(self._counts)

    def hidden(self) -> int:
        """How many distinct tokens are being scrubbed (for tests)."""
        return len(self._secrets)


LOG_SCRUBBER: Final = _LogScrubber()
"""The one filter on httpx's and httpcore's loggers (``LOG_SCRUBBER.hide(token)``)."""
