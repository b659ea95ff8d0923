"""What the two I/O drivers (``ShortPen``'s threads, ``AsyncShortPen``'s tasks) need beside httpx and
the sans-I/O protocol: one call's ``Control`` (its stop signal, and the lock that makes its ``Run``
single-threaded), the bookkeeping of an attempt (``Exchange``) and of a window's bytes (``Held``),
and the two thread helpers of ``ShortPen``: ``within`` (a wall-clock bound on an attempt) and
``Decoder`` (decoding just ahead of the consumer).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading
import time
from collections.abc import Callable, Generator
from typing import Any, Final, TypeVar

import httpx

from ._body import Body
from ._engine import Cancelled, Chunk, Run, Sent, Step, attempt_timed_out
from ._windows import Window

T = TypeVar("T")


class Control:
    """One call's stop signal, and the lock around every step into its ``Run``.

    The protocol and the ``Run`` take no lock of their own (sans-I/O); the drivers go through here,
    one step at a time. Once ``stop()`` has returned no step is taken (``Cancelled``), so a call
    that has stopped (the consumer is done, or a window failed) logs nothing more. ``AsyncShortPen``
    uses it too (the lock is then never contended), so both drivers stop alike.
    """

    def __init__(self, run: Run) -> None:
        self.run = run
        self.stopped = threading.Event()
        self._lock = threading.Lock()

    def start(self, window: Window, now: float) -> tuple[Generator[Step, Sent, Chunk], Step]:
        """The protocol for ``window`` and its first step."""
        with self._lock:
            if self.stopped.is_set():
                raise Cancelled
            protocol = self.run.protocol(window, now)
            return protocol, next(protocol)

    def step(self, protocol: Generator[Step, Sent, Chunk], sent: Sent) -> Step:
        """Send what happened; the next step (``StopIteration`` carries the window's events)."""
        with self._lock:
            if self.stopped.is_set():
                raise Cancelled
            return protocol.send(sent)

    def delivered(self, window: Window, events: Chunk, now: float) -> None:
        with self._lock:
            self.run.delivered(window, events, now=now)

    def stop(self) -> None:
        with self._lock:
            self.stopped.set()


#: httpcore's trace events (the ``trace`` request extension), by the phase of an attempt they start.
_TRACED: Final = {
    "connect_tcp": "connect",
    "connect_unix_socket": "connect",
    "start_tls": "connect",
    "send_request_headers": "write",
    "send_request_body": "write",
    "receive_response_headers": "headers",
    "receive_response_body": "read",
}


class Exchange:
    """One attempt's progress, written by whoever reads the response and read by whoever waits for
    it: whether the response had started (its headers arrived), where the attempt is (``phase``),
    its ``Body``, and whether the waiting side has given up on it (``abandoned``: the reading side
    stops at its next chance)."""

    def __init__(self) -> None:
        self.started = False
        self.abandoned = False
        self.body: Body | None = None
        self._traced: str | None = None

    @property
    def phase(self) -> str:
        """Where the attempt is, for a timeout: ``"read"`` once the response has started; before,
        the phase httpcore's trace last entered (``"connect"``, ``"write"``, ``"headers"``), or
        ``"headers"`` for a transport that does not trace (a mock)."""
        if self.started:
            return "read"
        return self._traced or "headers"

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's ``trace`` extension (``"http11.receive_response_headers.started"``, ...)."""
        name, _, stage = event.rpartition(".")
        phase = _TRACED.get(name.rpartition(".")[2])
        if stage == "started" and phase is not None:
            self._traced = phase

    async def atrace(self, event: str, info: dict[str, Any]) -> None:
        """``trace`` for httpx's async client (which awaits its trace callback)."""
        self.trace(event, info)

    def begin(self, response: httpx.Response, *, limit: int, window: Window) -> Body:
        """The headers are here: the ``Body`` to feed. A body httpx has already read (an
        ``httpx.MockTransport`` or recorded response) is fed to it here, whole."""
        self.started = True
        self.body = Body(response.status_code, response.headers, limit=limit, window=window.as_tuple())
        if response.is_stream_consumed:
            self.body.feed_decoded(response.content)
        return self.body

    @property
    def received(self) -> int:
        return 0 if self.body is None else self.body.received


class Held:
    """The response bytes a window holds until it is delivered: its attempts' bodies, received or
    arriving (a failed attempt's are dropped). Each count has one writer; any thread may sum them."""

    def __init__(self) -> None:
        self._exchanges: list[Exchange] = []

    def exchange(self) -> Exchange:
        exchange = Exchange()
        self._exchanges.append(exchange)
        return exchange

    def drop(self, exchange: Exchange) -> None:
        self._exchanges.remove(exchange)

    def bytes(self) -> int:
        return sum(exchange.received for exchange in list(self._exchanges))


class IOThreads:
    """The threads that send requests and read responses for one call: reused from attempt to
    attempt (see ``within``), created as needed up to ``limit``, and daemons, so that one stuck on
    a silent server never holds the process at exit (a ``ThreadPoolExecutor``'s threads would)."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._work: queue.SimpleQueue[tuple[Callable[[], Any], concurrent.futures.Future[Any]] | None] = (
            queue.SimpleQueue()
        )
        self._idle = threading.Semaphore(0)
        self._threads = 0
        self._lock = threading.Lock()

    def submit(self, fn: Callable[[], T]) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._work.put((fn, future))
        if not self._idle.acquire(blocking=False):
            with self._lock:
                if self._threads < self._limit:
                    self._threads += 1
                    threading.Thread(target=self._serve, name="shortpen-io", daemon=True).start()
        return future

    def _serve(self) -> None:
        while (item := self._work.get()) is not None:
            fn, future = item
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn())
                except BaseException as exc:  # handed to whoever waits for the future
                    future.set_exception(exc)
            self._idle.release()

    def shutdown(self) -> None:
        """Each thread ends once it is done with what it is doing (nothing waits for it)."""
        with self._lock:
            for _ in range(self._threads):
                self._work.put(None)


def within(
    io: IOThreads,
    seconds: float,
    receive: Callable[[], T],
    window: Window,
    control: Control,
    exchange: Exchange,
) -> T:
    """``receive()`` on an I/O thread (``io``), waited for at most ``seconds`` (then an
    ``APITimeoutError`` whose phase says whether the response had started) and only while the call
    goes on (else ``Cancelled``). An attempt given up on is ``abandoned``: its I/O stops at its next
    byte or read timeout, or never starts.

    The I/O threads live as long as the call, so the response bytes are allocated by a few
    long-lived threads, not by a new thread per attempt (each new thread may take another malloc
    arena, which keeps the memory it once held: that was most of a long export's extra peak)."""
    future = io.submit(receive)
    give_up = time.monotonic() + seconds
    try:
        while True:
            try:
                return future.result(timeout=min(0.1, max(0.0, give_up - time.monotonic())))
            except concurrent.futures.TimeoutError:
                pass
            if control.stopped.is_set():
                raise Cancelled
            if time.monotonic() >= give_up:
                raise attempt_timed_out(seconds, exchange.phase, window)
    except BaseException:
        exchange.abandoned = True
        raise


class Decoder:
    """Decodes the fetched windows in one thread of its own, each when the consumer has reached the
    window before it.

    Decoding is CPU work that the GIL runs one thread at a time anyway. Done just ahead of the
    consumer, the decoded events of at most ``1 + ahead`` windows exist at once (two, but for the
    JSONL and CSV exports), however many were fetched
    ahead (their raw bytes are several times smaller); done in one thread, the memory each window
    frees is reused by the next, where eight threads would each keep an allocator arena of their own.
    """

    AHEAD = 1

    def __init__(self, ahead: int = AHEAD) -> None:
        """``ahead``: how many windows past the consumer's may be decoded, each in a thread of its
        own (2 for the JSONL and CSV exports from the body: pyarrow's reader releases the GIL, and
        what they make is text, not objects for the collector)."""
        self.ahead = ahead
        self._ready = threading.Condition()
        self._consumer_at = 0
        self._cancelled = False
        self._thread = concurrent.futures.ThreadPoolExecutor(
            max_workers=ahead, thread_name_prefix="shortpen-decode"
        )

    def advance(self, index: int) -> None:
        """The consumer now waits for window ``index``."""
        with self._ready:
            self._consumer_at = index
            self._ready.notify_all()

    def run(self, index: int, decode: Callable[[], T]) -> T:
        """``decode()`` for window ``index``, in the decoding thread, on its turn (called by a worker)."""
        with self._ready:
            self._ready.wait_for(lambda: self._cancelled or index <= self._consumer_at + self.ahead)
            if self._cancelled:
                raise Cancelled
        return self._thread.submit(decode).result()

    def cancel(self) -> None:
        with self._ready:
            self._cancelled = True
            self._ready.notify_all()

    def close(self) -> None:
        """After the workers have stopped."""
        self._thread.shutdown(wait=True, cancel_futures=True)


class AsyncDecoder:
    """``Decoder`` for ``AsyncShortPen``: each fetched window is decoded and converted in one thread
    of its own (off the event loop, which keeps fetching meanwhile), when the consumer has reached
    the window before it. The same reasons as ``Decoder``: at most two windows' decoded events
    exist at once, and pyarrow's readers, which release the GIL, run beside the loop."""

    AHEAD = 1

    def __init__(self, ahead: int = AHEAD) -> None:
        """``ahead``: as for ``Decoder``."""
        self.ahead = ahead
        self._consumer_at = 0
        self._moved = asyncio.Event()
        self._thread = concurrent.futures.ThreadPoolExecutor(
            max_workers=ahead, thread_name_prefix="shortpen-decode"
        )

    def advance(self, index: int) -> None:
        """The consumer now waits for window ``index``."""
        self._consumer_at = index
        self._moved.set()

    async def run(self, index: int, decode: Callable[[], T]) -> T:
        """``decode()`` for window ``index``, in the decoding thread, on its turn (called by a task)."""
        while index > self._consumer_at + self.ahead:
            self._moved.clear()
            await self._moved.wait()
        return await asyncio.get_running_loop().run_in_executor(self._thread, decode)

    def close(self) -> None:
        """Once the tasks have ended: a decoding still running finishes in its thread, unwaited."""
        self._thread.shutdown(wait=False, cancel_futures=True)
