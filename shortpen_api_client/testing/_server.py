"""The socket way in: the fake's handler behind a stdlib HTTP/1.1 server on loopback.

One thread per connection (``ThreadingHTTPServer``), keep-alive, Content-Length or chunked request
bodies (at most ``MAX_BODY_BYTES``: a larger one is answered 413 unread; a negative or malformed
length or chunk size 400; either closes the connection). Every method reaches the fake's handler
(TRACE, CONNECT and made-up ones too: on the API's path they get its 405 with an ``Allow``
header), and the errors the stdlib answers itself (a bad request line, a URI or header too long)
come as the JSON error envelope, never its HTML page. Response effects happen on the socket: a
dropped connection closes it without a response, a truncated body sends less than its
Content-Length and closes, a drip sends the body in pieces with waits between them. Waits are
interruptible: leaving :func:`serve` wakes them and closes every open
connection, so shutdown never waits for a client.
"""

from __future__ import annotations

import contextlib
import re
import socket
import socketserver
import sys
import threading
from collections.abc import Callable, Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import httpx

from ._faults import DroppedConnection
from ._responses import Effects, effects_of, error_response

Handler = Callable[[httpx.Request], httpx.Response]

_SMALL = 64 * 1024  # below this, status line, headers and body go out in one send
MAX_BODY_BYTES = 1024 * 1024
"""The largest request body read (1 MiB): the API's request is a JSON object of a few fields, well
under a kilobyte; a larger one is answered 413 without being read, so that a long-running
``shortpen fake-server`` holds no client's flood in memory."""
_LINE = 1024
"""The longest chunk-size or trailer line read (a chunk size is a few hex digits)."""
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")
_DIGITS = re.compile(r"[0-9]{1,20}")


class _BadBody(Exception):
    """A request body that cannot or will not be read: answered with ``status`` and the connection
    closed (what follows it on the connection cannot be found)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


_DISCONNECTS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


class _Server(ThreadingHTTPServer):
    # Handler threads are joined on close (connections are shut down first, so none lingers).
    daemon_threads = False
    block_on_close = True

    def __init__(self, address: tuple[str, int], handler: Handler) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.handler = handler
        self.stopping = threading.Event()
        self.errors: list[BaseException] = []
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        super().__init__(address, _RequestHandler)

    def server_bind(self) -> None:
        # Not HTTPServer.server_bind: it looks up the host's FQDN, which can be slow; loopback needs none.
        socketserver.TCPServer.server_bind(self)
        host, port = self.socket.getsockname()[:2]
        self.server_name = host
        self.server_port = port

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Called with the exception being handled: a bug in the fake, kept to fail serve()'s caller.
        error = sys.exc_info()[1]
        if error is not None and not isinstance(error, _DISCONNECTS):
            self.errors.append(error)

    def close_connections(self) -> None:
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "FakeShortPen"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a test run's output is not the place for an access log."""

    def _read_body(self) -> bytes:
        """The request body (Content-Length or chunked), at most ``MAX_BODY_BYTES``; a negative or
        malformed length or chunk size is refused (``rfile.read(-1)`` would read until the client
        closes: one such request used to block its connection's thread for good)."""
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            return self._read_chunks()
        raw = (self.headers.get("content-length") or "0").strip()
        if not _DIGITS.fullmatch(raw):
            raise _BadBody(400, f"Content-Length: not a length: {raw[:40]!r}")
        length = int(raw)
        if length > MAX_BODY_BYTES:
            raise _BadBody(413, f"body: {length} bytes, more than the {MAX_BODY_BYTES} this server reads")
        return self.rfile.read(length) if length else b""

    def _read_chunks(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(_LINE + 1)
            size_field = line.split(b";", 1)[0].strip()
            if len(line) > _LINE or not _HEX.fullmatch(size_field):
                raise _BadBody(400, f"chunked body: not a chunk size: {size_field[:40]!r}")
            size = int(size_field, 16)
            if size == 0:
                for _ in range(100):  # trailer lines, up to the blank line that ends the body
                    if self.rfile.readline(_LINE + 1) in (b"\r\n", b"\n", b""):
                        return b"".join(parts)
                raise _BadBody(400, "chunked body: too many trailer lines")
            total += size
            if total > MAX_BODY_BYTES:
                raise _BadBody(413, f"body: more than the {MAX_BODY_BYTES} bytes this server reads")
            parts.append(self.rfile.read(size))
            self.rfile.readline(_LINE + 1)

    def _serve(self) -> None:
        server = cast(_Server, self.server)
        try:
            body = self._read_body()
        except _BadBody as bad:
            self.close_connection = True
            self._send(error_response(bad.status, str(bad)), head_only=False)
            return
        headers = [
            (name, value)
            for name, value in self.headers.items()
            if name.lower() not in ("transfer-encoding", "content-length")
        ]
        host = self.headers.get("host") or f"{server.server_name}:{server.server_port}"
        try:
            if not self.path.startswith("/") and "://" not in self.path:
                raise ValueError("not an origin-form or absolute URL (CONNECT's host:port is not a path)")
            url = httpx.URL(self.path if "://" in self.path else f"http://{host}{self.path}")
            request = httpx.Request(self.command, url, headers=headers, content=body)
        except (httpx.InvalidURL, ValueError):
            self._send(error_response(400, "path: is not a valid URL"), head_only=False)
            return
        try:
            response = server.handler(request)
        except DroppedConnection:
            self.close_connection = True
            return
        except Exception as exc:
            server.errors.append(exc)
            self._send(error_response(500, f"FakeShortPen failed: {exc!r}"), head_only=False)
            return
        effects = effects_of(response)
        if effects.delay and server.stopping.wait(effects.delay):
            self.close_connection = True
            return
        self._send(response, head_only=self.command == "HEAD", effects=effects)

    def _send(self, response: httpx.Response, *, head_only: bool, effects: Effects | None = None) -> None:
        server = cast(_Server, self.server)
        effects = effects or Effects()
        body = b"" if head_only else response.content
        reason = httpx.codes.get_reason_phrase(response.status_code)
        lines = [f"HTTP/1.1 {response.status_code} {reason}".encode()]
        lines += [b"%s: %s" % (name, value) for name, value in response.headers.raw]
        if effects.truncated or self.close_connection:
            self.close_connection = True
            lines.append(b"Connection: close")
        head = b"\r\n".join(lines) + b"\r\n\r\n"
        if effects.drip_chunks and body:
            self.wfile.write(head)
            size = max(1, -(-len(body) // effects.drip_chunks))
            for i in range(0, len(body), size):
                if i and server.stopping.wait(effects.drip_interval):
                    self.close_connection = True
                    return
                self.wfile.write(body[i : i + size])
        elif len(body) < _SMALL:
            self.wfile.write(head + body)
        else:
            self.wfile.write(head)
            self.wfile.write(body)

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except _DISCONNECTS:
            self.close_connection = True

    def __getattr__(self, name: str) -> Callable[[], None]:
        """``do_<METHOD>`` for every method: the fake's handler decides (404, 405 with Allow, ...),
        where the stdlib would answer an unknown method with its own 501 HTML page."""
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The stdlib's own errors (bad request line, URI or headers too long) as the JSON envelope."""
        self.close_connection = True
        text = (message or HTTPStatus(code).phrase)[:200]
        self._send(error_response(int(code), text), head_only=getattr(self, "command", None) == "HEAD")


@contextlib.contextmanager
def serve(handler: Handler, *, host: str, port: int) -> Iterator[str]:
    """Serve ``handler`` on ``host:port`` (0: an ephemeral port) in a background thread; yield its URL."""
    server = _Server((host, port), handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="FakeShortPen", daemon=True
    )
    thread.start()
    try:
        display = f"[{host}]" if ":" in host else host
        yield f"http://{display}:{server.server_port}"
    finally:
        server.stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        thread.join()
    if server.errors:
        raise RuntimeError(
            f"FakeShortPen's server failed {len(server.errors)} time(s); the first error is attached"
        ) from server.errors[0]
