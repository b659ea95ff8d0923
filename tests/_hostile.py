"""Small hostile servers on loopback for the security tests.

``Hostile`` answers every request with one scripted response (change it between calls) and records
what it received: the request line's target and the headers. A "proxy" is just such a server: a
client that trusts ``HTTP_PROXY`` sends it the absolute URL and every header, the token included.

Also the forms a server may echo a token in, and ``leaks``: which 8-character fragments of any of
those forms a text shows (computed here independently of the package's scrubbing code).
"""

from __future__ import annotations

import base64
import functools
import html
import random
import re
import socketserver
import string
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

import attrs


@attrs.frozen
class Received:
    method: str
    target: str
    headers: dict[str, str]


class Hostile:
    """``with Hostile(status, body, content_type, headers) as server: ... server.url ... server.requests``."""

    def __init__(
        self,
        status: int = 200,
        body: bytes | str = b"",
        content_type: str = "text/plain",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = dict(headers or {})
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        hostile = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                with hostile._lock:
                    hostile.requests.append(
                        Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
                    )
                    status, body, content_type = hostile.status, hostile.body, hostile.content_type
                    headers = dict(hostile.headers)
                payload = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: the tests read ``requests``

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def server_bind(self) -> None:
                socketserver.TCPServer.server_bind(self)  # no FQDN lookup (HTTPServer's would do DNS)
                self.server_name, self.server_port = self.socket.getsockname()[:2]

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port: int = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        # (serve_forever's default poll of 0.5 s is what shutdown() waits for: half a second a test)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()


# -- tokens and the forms they may be echoed in -------------------------------------------------------

_TOKEN_CHARS = string.ascii_letters + string.digits + "-._~+/"


def make_token(length: int, seed: int = 0) -> str:
    """A token of ``length`` characters from RFC 6750's b64token alphabet (with its punctuation, so
    that its encoded forms differ from it)."""
    rng = random.Random(f"{length}-{seed}")
    chars = [rng.choice(_TOKEN_CHARS) for _ in range(length)]
    for i, special in zip(range(2, length, 5), "/+~.-_", strict=False):
        chars[i] = special
    return "".join(chars)


def _lower_hex(encoded: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), encoded)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


ECHOES: dict[str, Callable[[str], str]] = {
    "plain": lambda t: t,
    "header": lambda t: f"Authorization: Bearer {t}",
    "url-encoded": lambda t: urllib.parse.quote(t, safe=""),
    "url-encoded-lower": lambda t: _lower_hex(urllib.parse.quote(t, safe="")),
    "url-bearer": lambda t: urllib.parse.urlencode({"auth": f"Bearer {t}"}),
    "json-escaped": lambda t: "".join(f"\\u{ord(c):04x}" for c in t),
    "json-slash": lambda t: t.replace("/", "\\/"),
    "html": lambda t: html.escape(t).replace("/", "&#x2f;"),
    "base64": lambda t: _b64(t.encode()),
    "base64-bearer": lambda t: _b64(f"Bearer {t}".encode()),
    "base64url-basic": lambda t: base64.urlsafe_b64encode(f"user:{t}".encode()).decode(),
    # cut: a run of 8 or more of the token's characters is as much a leak as the whole token
    "cut-prefix": lambda t: t[: max(8, len(t) - 1)],
    "cut-suffix": lambda t: t[-max(8, len(t) - 1) :],
    "cut-middle": lambda t: _middle(t),
    "cut-48": lambda t: t[: max(8, min(48, len(t) - 2))] + "...",
    "cut-url-encoded": lambda t: urllib.parse.quote(t[: max(8, len(t) - 3)], safe=""),
    "cut-json-escaped": lambda t: "".join(f"\\u{ord(c):04x}" for c in _middle(t)),
    "cut-base64": lambda t: _b64(t[: max(8, len(t) - 1)].encode()),
}
"""How a server may quote the token back: name -> the echoed text for a token."""


def _middle(token: str) -> str:
    """8 or more characters from the middle of ``token`` (neither its first nor its last when it
    has more than 9)."""
    size = max(8, len(token) // 2)
    start = min((len(token) - size) // 2 + 1, len(token) - size)
    return token[start : start + size]


def _forms(token: str) -> Iterator[str]:
    yield token
    encoded = urllib.parse.quote(token, safe="")
    yield encoded
    yield _lower_hex(encoded)
    yield urllib.parse.quote_plus(token)
    yield "".join(f"\\u{ord(c):04x}" for c in token)
    yield token.replace("/", "\\/")
    yield html.escape(token).replace("/", "&#x2f;")
    raw = token.encode()
    for k in range(3):  # base64 at each byte alignment: only the groups made of token bytes alone
        encoded64 = _b64(b"\0" * k + raw)
        core = encoded64[4 if k else 0 : 4 * ((k + len(raw)) // 3)]
        yield core
        yield core.replace("+", "-").replace("/", "_")


@functools.cache
def _fragments(token: str, n: int) -> frozenset[str]:
    return frozenset(form[i : i + n] for form in _forms(token) for i in range(len(form) - n + 1))


def leaks(text: str, token: str, n: int = 8) -> list[str]:
    """The ``n``-character fragments of any form of ``token`` that ``text`` contains (also once the
    backslashes a ``repr`` doubles are undone)."""
    fragments = _fragments(token, n)
    found = []
    for t in {text, text.replace("\\\\", "\\")}:
        found += [t[i : i + n] for i in range(len(t) - n + 1) if t[i : i + n] in fragments]
    return found
