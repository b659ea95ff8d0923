"""The in-process way in: an ``httpx.MockTransport`` for ``httpx.Client`` and ``httpx.AsyncClient``.

It calls the fake's one handler and then carries out the response's :class:`Effects` the way a socket
would be seen from the client: waits (``time.sleep`` in a sync client, ``asyncio.sleep`` in an async
one, so an event loop keeps running), a body in slow pieces, a body cut off mid-way
(``httpx.RemoteProtocolError`` while reading it). The client's read timeout is honoured: a wait longer
than it ends in ``httpx.ReadTimeout`` after the timeout, as on a real socket.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator

import httpx

from ._responses import Effects, effects_of


def _read_timeout(request: httpx.Request) -> float | None:
    timeout = request.extensions.get("timeout")
    if isinstance(timeout, dict):
        value = timeout.get("read")
        return float(value) if value is not None else None
    return None


def _pieces(body: bytes, chunks: int) -> list[bytes]:
    size = max(1, -(-len(body) // chunks))
    return [body[i : i + size] for i in range(0, len(body), size)]


class _Wire:
    """Waits (and reading timeouts) shared by the sync and async paths."""

    def __init__(self, request: httpx.Request) -> None:
        self.request = request
        self.read_timeout = _read_timeout(request)

    def wait_for(self, seconds: float) -> tuple[float, bool]:
        """How long to wait, and whether the read times out at the end of it."""
        if self.read_timeout is not None and seconds > self.read_timeout:
            return self.read_timeout, True
        return seconds, False

    def timed_out(self) -> httpx.ReadTimeout:
        return httpx.ReadTimeout("The read operation timed out", request=self.request)


class _EffectStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body sent in pieces with waits between them, possibly cut off at the end."""

    def __init__(self, wire: _Wire, body: bytes, effects: Effects, expected: int) -> None:
        self._wire = wire
        self._body = body
        self._effects = effects
        self._expected = expected

    def _plan(self) -> list[bytes]:
        if self._effects.drip_chunks:
            return _pieces(self._body, self._effects.drip_chunks)
        return [self._body] if self._body else []

    def _cut_off(self) -> httpx.RemoteProtocolError:
        return httpx.RemoteProtocolError(
            "peer closed connection without sending complete message body: "
            f"received {len(self._body)} bytes, expected {self._expected}",
            request=self._wire.request,
        )

    def __iter__(self) -> Iterator[bytes]:
        for i, piece in enumerate(self._plan()):
            if i:
                seconds, times_out = self._wire.wait_for(self._effects.drip_interval)
                time.sleep(seconds)
                if times_out:
                    raise self._wire.timed_out()
            yield piece
        if self._effects.truncated:
            raise self._cut_off()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for i, piece in enumerate(self._plan()):
            if i:
                seconds, times_out = self._wire.wait_for(self._effects.drip_interval)
                await asyncio.sleep(seconds)
                if times_out:
                    raise self._wire.timed_out()
            yield piece
        if self._effects.truncated:
            raise self._cut_off()


def _with_stream(wire: _Wire, response: httpx.Response, effects: Effects) -> httpx.Response:
    if not effects.drip_chunks and not effects.truncated:
        return response
    body = response.content
    expected = int(response.headers.get("content-length", len(body)))
    return httpx.Response(
        response.status_code,
        headers=response.headers,
        stream=_EffectStream(wire, body, effects, expected),
        extensions=response.extensions,
    )


class FakeTransport(httpx.MockTransport):
    """``httpx.MockTransport`` around the fake's handler, carrying out each response's effects."""

    def __init__(self, handler: Callable[[httpx.Request], httpx.Response]) -> None:
        super().__init__(handler)
        self._handle = handler

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        response = self._handle(request)
        wire = _Wire(request)
        effects = effects_of(response)
        if effects.delay:
            seconds, times_out = wire.wait_for(effects.delay)
            time.sleep(seconds)
            if times_out:
                raise wire.timed_out()
        return _with_stream(wire, response, effects)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        response = self._handle(request)
        wire = _Wire(request)
        effects = effects_of(response)
        if effects.delay:
            seconds, times_out = wire.wait_for(effects.delay)
            await asyncio.sleep(seconds)
            if times_out:
                raise wire.timed_out()
        return _with_stream(wire, response, effects)
