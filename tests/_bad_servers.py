"""Small hostile HTTP servers on loopback, for the tests of what the client does with them: an endless
chunked body, a gzip bomb, a huge ``Content-Length``, a server that never answers, one that sends its
headers and then nothing. Raw sockets, one thread per connection; each counts what it sent."""

from __future__ import annotations

import gzip
import socket
import threading
from collections.abc import Callable
from types import TracebackType

Respond = Callable[[socket.socket, "Server"], None]


class Server:
    """Answers every request with ``respond(connection, server)``; ``requests`` counts requests and
    ``sent`` the body bytes written (before the client hung up)."""

    def __init__(self, respond: Respond) -> None:
        self.respond = respond
        self.requests = 0
        self.sent = 0
        self.closing = threading.Event()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._connections: list[socket.socket] = []
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> Server:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.closing.set()
        self._listener.close()
        with self._lock:
            for connection in self._connections:
                connection.close()

    def count(self, sent: int) -> None:
        with self._lock:
            self.sent += sent

    def _accept(self) -> None:
        while not self.closing.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._connections.append(connection)
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        try:
            while _read_request(connection):
                with self._lock:
                    self.requests += 1
                self.respond(connection, self)
        except OSError:
            pass  # the client hung up: what these tests expect of it
        finally:
            connection.close()


def _read_request(connection: socket.socket) -> bool:
    """Read one request (headers, and a body of Content-Length bytes); False at end of stream."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return False
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += connection.recv(65536)
    return True


def head(status: str = "200 OK", **headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status}", "Content-Type: application/json", "Connection: close"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def endless(status: str = "200 OK") -> Respond:
    """A chunked body that never ends (a JSON array that keeps opening), as fast as the client reads."""

    def respond(connection: socket.socket, server: Server) -> None:
        connection.sendall(head(status, Transfer_Encoding="chunked"))
        chunk = b'{"success": true, "data": [' + b"[" * 65000
        frame = b"%x\r\n%s\r\n" % (len(chunk), chunk)
        while not server.closing.is_set():
            connection.sendall(frame)
            server.count(len(chunk))

    return respond


def bomb(inflated: int) -> Respond:
    """A gzip body of a few MB at most that inflates to ``inflated`` bytes of zeros."""
    body = gzip.compress(b"\0" * inflated, compresslevel=9)

    def respond(connection: socket.socket, server: Server) -> None:
        connection.sendall(head(Content_Encoding="gzip", Content_Length=str(len(body))))
        for at in range(0, len(body), 65536):
            connection.sendall(body[at : at + 65536])
            server.count(min(65536, len(body) - at))
        connection.recv(1)  # until the client hangs up

    return respond


def huge_length(length: int) -> Respond:
    """A ``Content-Length`` of ``length`` bytes, and the bytes to match, for as long as they are read."""

    def respond(connection: socket.socket, server: Server) -> None:
        connection.sendall(head(Content_Length=str(length)))
        chunk = b" " * 65536
        while not server.closing.is_set():
            connection.sendall(chunk)
            server.count(len(chunk))

    return respond


def silent(connection: socket.socket, server: Server) -> None:
    """Reads the request and never answers (until the client hangs up)."""
    connection.recv(1)


def headers_then_silent(connection: socket.socket, server: Server) -> None:
    """Sends a 200's headers, then nothing."""
    connection.sendall(head(Content_Length="1000"))
    connection.recv(1)
