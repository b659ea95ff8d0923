"""``AsyncShortPen``: the asyncio twin of ``ShortPen``, tasks over one ``httpx.AsyncClient``
(``_client_base`` holds what the two share)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import functools
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, BinaryIO, Self, cast

import httpx

from ._arrow import events_columns, import_pyarrow
from ._arrow_body import window_table
from ._body import DEFAULT_MAX_RESPONSE_BYTES, Body
from ._decode import checked_models
from ._drive import AsyncDecoder, Control, Exchange, Held
from ._edges import Delivery, Events
from ._engine import (
    Attempt,
    Budget,
    Event,
    Outcome,
    Progress,
    Run,
    Woke,
    attempt_timed_out,
    failure,
    interpret,
)
from ._generated.models import AnalyticsEvent
from ._jobs import DEFAULT_LOOKBACK_DAYS, ExportJob, ExportReport, SyncJob, SyncReport
from ._model_rows import body_to_rows, checked_rows, window_models
from ._windows import Window
from .errors import DateRange, ShortPenError

if TYPE_CHECKING:
    import pyarrow

from ._client_base import (
    DEFAULT_MAX_BUFFERED_BYTES,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    DEFAULT_WINDOW_DAYS,
    C,
    _BaseClient,
    _checked,
    _decode_window,
    _held,
    _InFlight,
    _Received,
    _record_batches,
    _table,
    kept_secret,
)


class AsyncShortPen(_BaseClient[httpx.AsyncClient]):
    """The asyncio twin of ``ShortPen``: same arguments, ``clicks()`` is an async iterator and
    ``http_client`` an ``httpx.AsyncClient``. Use it with ``async with``."""

    def __init__(
        self,
        token: str | None = None,
        *,
        environment: str = "api",
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        total_timeout: float | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        window_days: int = DEFAULT_WINDOW_DAYS,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        max_requests: int | None = None,
        max_requests_per_second: float | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_buffered_bytes: int = DEFAULT_MAX_BUFFERED_BYTES,
        http_client: httpx.AsyncClient | None = None,
        progress: Callable[[Progress], None] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(
            token,
            environment=environment,
            base_url=base_url,
            timeout=timeout,
            total_timeout=total_timeout,
            max_retries=max_retries,
            window_days=window_days,
            max_concurrency=max_concurrency,
            max_requests=max_requests,
            max_requests_per_second=max_requests_per_second,
            max_response_bytes=max_response_bytes,
            max_buffered_bytes=max_buffered_bytes,
            http_client=http_client,
            http_class=httpx.AsyncClient,
            progress=progress,
            clock=clock,
            rng=rng,
        )
        self._sleep = sleep

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()
        if self._generated is not None:
            await self._generated.get_async_httpx_client().aclose()
        self._unhide()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def clicks(
        self,
        start: dt.date | str,
        end: dt.date | str,
        *,
        workspace_id: int | None = None,
        url_id: int | None = None,
    ) -> AsyncIterator[AnalyticsEvent]:
        """Every click from ``start`` to ``end`` (inclusive), ascending by ``created_at``, each once.

        Arguments are checked now, before any request; iterate with ``async for``.
        """
        run = self._run(start, end, workspace_id, url_id)
        return self._events(run)

    async def _events(self, run: Run) -> AsyncIterator[AnalyticsEvent]:
        with kept_secret(self._settings.token):
            chunks = self._delivered(run, checked_rows, from_body=body_to_rows)  # type: ignore[type-var]  # Rows | Events: each joins the other
            async with contextlib.aclosing(chunks) as windows:
                async for window, events in windows:
                    for event in checked_models(window.as_tuple(), window_models(events)):
                        yield event

    def clicks_batches(
        self,
        start: dt.date | str,
        end: dt.date | str,
        *,
        workspace_id: int | None = None,
        url_id: int | None = None,
    ) -> AsyncIterator[pyarrow.RecordBatch]:
        """Like ``ShortPen.clicks_batches``; iterate with ``async for`` (converted in a worker thread)."""
        run = self._run(start, end, workspace_id, url_id)
        import_pyarrow()
        return self._record_batches(run)

    async def clicks_table(
        self,
        start: dt.date | str,
        end: dt.date | str,
        *,
        workspace_id: int | None = None,
        url_id: int | None = None,
    ) -> pyarrow.Table:
        """Like ``ShortPen.clicks_table``: ``await client.clicks_table(...)``."""
        batches = self.clicks_batches(start, end, workspace_id=workspace_id, url_id=url_id)
        async with contextlib.aclosing(batches) as stream:  # type: ignore[type-var]  # an async generator
            return _table([batch async for batch in stream])

    async def _record_batches(self, run: Run) -> AsyncIterator[pyarrow.RecordBatch]:
        with kept_secret(self._settings.token):
            # Converted in the decoding thread, straight from the body when pyarrow's reader can.
            batches = self._delivered(run, events_columns, from_body=window_table)
            async with contextlib.aclosing(batches) as windows:
                async for _, columns in windows:
                    for batch in _record_batches(columns):
                        yield batch

    async def _delivered(
        self,
        run: Run,
        convert: Callable[[Events], C],
        *,
        from_body: Callable[[bytes, DateRange], C | None] | None = None,
        ahead: int = 1,
    ) -> AsyncGenerator[tuple[Window, C]]:
        """The driver's windows, in order, with the exactly-once rules at window edges applied
        (``_edges.Delivery``): what every public method consumes."""
        deliver = Delivery()
        chunks = self._converted(
            run, cast("Callable[[list[Event]], C]", convert), from_body=from_body, ahead=ahead
        )
        async with contextlib.aclosing(chunks) as windows:
            async for window, chunk in windows:
                yield window, deliver(window.as_tuple(), chunk)

    async def export(
        self,
        start: dt.date | str,
        end: dt.date | str,
        output: Path | str | BinaryIO,
        *,
        format: str | None = None,
        workspace_id: int | None = None,
        url_id: int | None = None,
    ) -> ExportReport:
        """Like ``ShortPen.export``; files are written in a worker thread, off the event loop."""
        run = self._run(start, end, workspace_id, url_id)
        job = ExportJob(output, format)
        started = time.perf_counter()
        with kept_secret(self._settings.token), job.writer:
            # Each window is encoded for the file in the decoding thread; written in a worker thread.
            writer = job.writer
            encoded_windows = self._delivered(
                run, writer.encode, from_body=writer.encode_body, ahead=writer.decode_ahead
            )
            async with contextlib.aclosing(encoded_windows) as windows:
                async for _, encoded in windows:
                    await asyncio.to_thread(writer.write_encoded, encoded)
        return job.report(run, time.perf_counter() - started)

    async def sync(
        self,
        start: dt.date | str,
        end: dt.date | str | None = None,
        *,
        output_dir: Path | str,
        lookback_days: int = DEFAULT_LOOKBACK_DAYS,
        format: str = "parquet",
        workspace_id: int | None = None,
        url_id: int | None = None,
        verify: bool = False,
    ) -> SyncReport:
        """Like ``ShortPen.sync``; files are written in a worker thread, off the event loop."""
        # In a thread too: planning takes the folder's lock and checks the days it keeps.
        job, run = await asyncio.to_thread(
            self._sync_job, start, end, output_dir, lookback_days, format, workspace_id, url_id, verify
        )
        with kept_secret(self._settings.token):
            return await self._sync(job, run)

    async def _sync(self, job: SyncJob, run: Run) -> SyncReport:
        try:  # the folder's lock is held until job.finish, which compacts the journal
            started = time.perf_counter()
            await asyncio.to_thread(job.prepare)
            if run.windows:
                async with contextlib.aclosing(self._delivered(run, _checked)) as windows:
                    async for window, events in windows:
                        await asyncio.to_thread(job.write, window, events)
            report = job.report(run, time.perf_counter() - started)
        except BaseException as exc:
            await asyncio.to_thread(job.finish, exc)
            raise
        await asyncio.to_thread(job.finish)
        return report

    async def _converted(
        self,
        run: Run,
        convert: Callable[[list[Event]], C],
        *,
        from_body: Callable[[bytes, DateRange], C | None] | None = None,
        ahead: int = 1,
    ) -> AsyncGenerator[tuple[Window, C]]:
        """``ShortPen._converted`` for the event loop: each planned window's events through
        ``convert`` (or a 200's body through ``from_body``), in date order, up to ``max_concurrency``
        windows fetched at once (fewer while those hold ``max_buffered_bytes``), each decoded in the
        decoding thread when the consumer is about to need it (``AsyncDecoder``). A window that
        fails ends the call at once, even while earlier ones are still in flight."""
        windows = enumerate(run.windows)
        control = Control(run)
        budget = Budget(run.settings)
        decoder = AsyncDecoder(ahead)
        pending: collections.deque[_InFlight[asyncio.Task[C]]] = collections.deque()
        decode = functools.partial(_decode_window, convert, from_body, self._settings.token)

        def fill() -> None:
            while (
                budget.may_start(_held(pending), run.concurrency)
                and (planned := next(windows, None)) is not None
            ):
                index, window = planned
                held = Held()
                turn = functools.partial(decoder.run, index)
                task = asyncio.ensure_future(self._fetch_window(control, window, held, decode, turn))
                pending.append(_InFlight(window, held, task))

        try:
            fill()
            index = 0
            while pending:
                decoder.advance(index)
                await _asettle([entry.task for entry in pending])
                head = pending.popleft()
                chunk = head.task.result()
                budget.delivered(head.window, head.held.bytes())
                fill()
                control.delivered(head.window, chunk, self._clock())
                yield head.window, chunk
                index += 1
        finally:
            control.stop()
            try:
                for entry in pending:
                    entry.task.cancel()
                await asyncio.gather(*(entry.task for entry in pending), return_exceptions=True)
            finally:
                decoder.close()

    async def _fetch_window(
        self,
        control: Control,
        window: Window,
        held: Held,
        decode: Callable[[httpx.Response, Body, Window], C],
        turn: Callable[[Callable[[], C]], Awaitable[C]],
    ) -> C:
        protocol, step = control.start(window, self._clock())
        try:
            while True:
                if isinstance(step, Attempt):
                    outcome = await self._attempt(control, step, held, decode, turn)
                    step = control.step(protocol, outcome)
                else:
                    await self._sleep(step.seconds)
                    step = control.step(protocol, Woke(self._clock()))
        except StopIteration as done:
            chunk: C = done.value
            return chunk

    async def _attempt(
        self,
        control: Control,
        step: Attempt,
        held: Held,
        decode: Callable[[httpx.Response, Body, Window], C],
        turn: Callable[[Callable[[], C]], Awaitable[C]],
    ) -> Outcome:
        """One request, bounded end to end by the attempt's timeout (``asyncio.timeout``). An error
        status is raised at once; a 200's body is decoded and converted on this window's ``turn``,
        in the decoding thread (``AsyncDecoder.run``), off the event loop."""
        window = step.window
        started = self._clock()
        exchange = held.exchange()
        status = None
        try:
            request = self._build(self._http, control.run, window, step.timeout, exchange.atrace)
            try:
                async with asyncio.timeout(step.timeout):
                    response, body = await self._receive(request, window, exchange)
            except TimeoutError:
                raise attempt_timed_out(step.timeout, exchange.phase, window) from None
            status = response.status_code
            if status != 200:  # interpret raises the status's error: known now, not on the decoding turn
                interpret(response, body.finish(), window, self._settings.token)
            events = await turn(functools.partial(decode, response, body, window))
        except (httpx.TransportError, ShortPenError) as exc:
            held.drop(exchange)
            now = self._clock()
            return failure(
                exc, window, status=status, started=exchange.started, elapsed=now - started, at=now
            )
        now = self._clock()
        return Outcome(events=events, status=status, elapsed=now - started, at=now)

    async def _receive(self, request: httpx.Request, window: Window, exchange: Exchange) -> _Received:
        """Send ``request`` and stream the body (at most ``max_response_bytes`` of it, decoded)."""
        response = await self._http.send(request, stream=True, follow_redirects=False)
        try:
            body = exchange.begin(response, limit=self._settings.max_response_bytes, window=window)
            if not response.is_stream_consumed:
                async for chunk in response.aiter_raw():
                    if not body.feed(chunk):
                        break
            return response, body
        finally:
            await response.aclose()


async def _asettle(tasks: list[asyncio.Task[Any]]) -> None:
    """``_settle`` for tasks: until the oldest is done, or any has failed (then raise it at once)."""
    waiting = set(tasks)
    while not tasks[0].done():
        done, waiting = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            if task in done and task.exception() is not None:
                task.result()
