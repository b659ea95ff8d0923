"""Taking the token, and any bearer credential, out of text a server sent, before any of it is shown.

A proxy's error page or a debugging echo may quote the request's ``Authorization`` header back,
plainly or encoded. ``scrub`` removes from the whole text:

- the token with each of its characters written plainly, percent-encoded (``%2F`` or ``%2f``, also
  encoded twice as ``%252F``), JSON-escaped (``\\u002f``, ``\\/``) or as an HTML character reference
  (``&#47;``, ``&#x2f;``, ``&amp;``), in any mix;
- the token's base64 forms (standard and URL-safe, at each of the three byte alignments, so also
  inside the base64 of a longer text such as ``Bearer <token>`` or ``user:<token>``);
- any ``Bearer <credential>``, also with its space URL- or JSON-encoded (``Bearer%20...``).

``excerpt`` makes the short quote of a body that an error message shows: it scrubs first and cuts
after, so that no cut can leave a fragment of the token that the scrub would not recognise.
``LOG_SCRUBBER`` does the same for the records of httpx's and httpcore's loggers.
"""

from __future__ import annotations

import base64
import collections
import functools
import logging
import re
import threading
from collections.abc import Callable
from typing import Final

REDACTED: Final = "[redacted]"

_BEARER = re.compile(
    r"(?i)\b(bearer(?:\s+|%20|\+|\\u0020|&#0*32;|&#x0*20;|&nbsp;))(?!\[redacted\])[^\s\"'<>,;]+"
)
_ENTITIES: Final = {"&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos"}
_BASE64_CHAR: Final = "[A-Za-z0-9+/_-]"
_MIN_BASE64: Final = 8
"""Characters: shorter base64 runs (tokens under 8 bytes) could match anything; not looked for."""

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
    forms = [
        re.escape(c),
        "".join(f"%{_hex(f'{b:02x}')}" for b in utf8),  # URL-encoded
        "".join(f"%25{_hex(f'{b:02x}')}" for b in utf8),  # URL-encoded twice
        rf"&#0{{0,4}}{code};",  # an HTML character reference, decimal ...
        rf"&#[xX]0{{0,4}}{_hex(f'{code:x}')};",  # ... or hexadecimal
    ]
    if code <= 0xFFFF:
        forms.append(rf"\\u{_hex(f'{code:04x}')}")  # JSON
    if c in _ENTITIES:
        forms.append(f"&{_ENTITIES[c]};")
    if c == "/":
        forms.append(r"\\/")  # JSON may escape the solidus
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


def scrub(text: str, secret: str | None = None) -> str:
    """``text`` without ``secret`` (in any of its forms) and without any bearer credential."""
    if secret:
        text = _pattern(secret).sub(REDACTED, text)
    return _BEARER.sub(rf"\1{REDACTED}", text)


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
