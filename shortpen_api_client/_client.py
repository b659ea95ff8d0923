"""``ShortPen``: the click log of any date range, window by window, over one ``httpx.Client``.

Both clients share the settings, planning, retry, error and decoding code (``_engine``,
``_client_base``); only the I/O loop differs: threads here, tasks over one ``httpx.AsyncClient`` in
``_async_client``.
"""

from __future__ import annotations

import collections
import concurrent.futures
import datetime as dt
import functools
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, BinaryIO, Self, cast

import httpx

from ._arrow import events_columns, import_pyarrow
from ._arrow_body import window_table
from ._body import DEFAULT_MAX_RESPONSE_BYTES, Body
from ._decode import checked_models
from ._drive import Control, Decoder, Exchange, Held, IOThreads, within
from ._edges import Delivery, Events
from ._engine import (
    Attempt,
    Budget,
    Cancelled,
    Event,
    Outcome,
    Progress,
    Run,
    Woke,
    failure,
    interpret,
)
from ._generated.models import AnalyticsEvent
from ._jobs import DEFAULT_LOOKBACK_DAYS, ExportJob, ExportReport, SyncReport
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


class ShortPen(_BaseClient[httpx.Client]):
    """The ShortPen analytics client.

    ``token`` falls back to ``SHORTPEN_TOKEN``; ``base_url`` to ``SHORTPEN_BASE_URL``, then to
    ``https://{environment}.shortpen.com``. Use it as a context manager (or call ``close()``).
    Pass ``http_client`` to use your own ``httpx.Client`` (you close it; redirects are never followed).
    ``sleep`` and ``clock`` exist so tests need not wait for real backoff.
    """

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
        http_client: httpx.Client | None = None,
        progress: Callable[[Progress], None] | None = None,
        sleep: Callable[[float], None] | None = None,
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
            http_class=httpx.Client,
            progress=progress,
            clock=clock,
            rng=rng,
        )
        self._sleep = sleep

    def close(self) -> None:
        if self._owns_http:
            self._http.close()
        if self._generated is not None:
            self._generated.get_httpx_client().close()
        self._unhide()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def clicks(
        self,
        start: dt.date | str,
        end: dt.date | str,
        *,
        workspace_id: int | None = None,
        url_id: int | None = None,
    ) -> Iterator[AnalyticsEvent]:
        """Every click from ``start`` to ``end`` (inclusive), ascending by ``created_at``, each once.

        Arguments are checked now, before any request; events stream as windows arrive.
        """
        run = self._run(start, end, workspace_id, url_id)
        return self._events(run)

    def _events(self, run: Run) -> Iterator[AnalyticsEvent]:
        # Decoded in the worker threads (straight from the body when pyarrow can); each model is built
        # only when asked for (see iter_models).
        with kept_secret(self._settings.token):
            for window, events in self._delivered(run, checked_rows, from_body=body_to_rows):  # type: ignore[type-var]  # Rows | Events: each joins the other
                yield from checked_models(window.as_tuple(), window_models(events))

    def clicks_batches(
        self,
        start: dt.date | str,
        end: dt.date | str,
        *,
        workspace_id: int | None = None,
        url_id: int | None = None,
    ) -> Iterator[pyarrow.RecordBatch]:
        """The clicks of ``clicks()`` as Arrow record batches (the ``parquet`` extra): the same events,
        order and exactly-once rules, the schema of the Parquet export; one batch per window with events.

        Arguments (and pyarrow) are checked now, before any request.
        """
        run = self._run(start, end, workspace_id, url_id)
        import_pyarrow()
        return self._record_batches(run)

    def clicks_table(
        self,
        start: dt.date | str,
        end: dt.date | str,
        *,
        workspace_id: int | None = None,
        url_id: int | None = None,
    ) -> pyarrow.Table:
        """``clicks_batches`` gathered into one ``pyarrow.Table`` (the whole range in memory)."""
        batches = self.clicks_batches(start, end, workspace_id=workspace_id, url_id=url_id)
        return _table(list(batches))

    def _record_batches(self, run: Run) -> Iterator[pyarrow.RecordBatch]:
        # Converted in the worker threads, straight from the body when pyarrow's reader can.
        with kept_secret(self._settings.token):
            for _, columns in self._delivered(run, events_columns, from_body=window_table):
                yield from _record_batches(columns)

    def _delivered(
        self,
        run: Run,
        convert: Callable[[Events], C],
        *,
        from_body: Callable[[bytes, DateRange], C | None] | None = None,
        ahead: int = 1,
    ) -> Iterator[tuple[Window, C]]:
        """The driver's windows, in order, with the exactly-once rules at window edges applied
        (``_edges.Delivery``): what every public method consumes."""
        deliver = Delivery()
        # The driver passes convert what interpret returned for the window: Events.
        chunks = self._converted(
            run, cast("Callable[[list[Event]], C]", convert), from_body=from_body, ahead=ahead
        )
        for window, chunk in chunks:
            yield window, deliver(window.as_tuple(), chunk)

    def export(
        self,
        start: dt.date | str,
        end: dt.date | str,
        output: Path | str | BinaryIO,
        *,
        format: str | None = None,
        workspace_id: int | None = None,
        url_id: int | None = None,
    ) -> ExportReport:
        """Write every click of the range to one file: ``.jsonl``, ``.csv`` or ``.parquet`` (from the
        suffix unless ``format`` is given). All or nothing: on any failure no file is left, and an
        existing ``output`` is only replaced on success.

        ``output`` may also be a binary stream (``sys.stdout.buffer``, a socket's file): JSONL (the
        default) or CSV is written to it as windows arrive; a failure leaves what was written."""
        run = self._run(start, end, workspace_id, url_id)
        job = ExportJob(output, format)
        started = time.perf_counter()
        with kept_secret(self._settings.token), job.writer:
            # Each window is encoded for the file in the worker threads; here it is only written.
            writer = job.writer
            for _, encoded in self._delivered(
                run, writer.encode, from_body=writer.encode_body, ahead=writer.decode_ahead
            ):
                writer.write_encoded(encoded)
        return job.report(run, time.perf_counter() - started)

    def sync(
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
        """Keep ``output_dir/date=YYYY-MM-DD/part-0.<format>`` up to date for [start, end].

        Days already complete are skipped, except the last ``lookback_days`` (late clicks), which
        are fetched again and replaced. ``end`` defaults to yesterday (UTC). A sync that was killed
        resumes where it stopped: rerun it. A day's file is checked by its size and a cheap check
        (first and last 64 KiB, Parquet footer); ``verify=True`` hashes every kept file in full."""
        job, run = self._sync_job(start, end, output_dir, lookback_days, format, workspace_id, url_id, verify)
        with (
            kept_secret(self._settings.token),
            job,
        ):  # job: the folder's lock; compacts the journal at the end
            started = time.perf_counter()
            job.prepare()
            if run.windows:
                for window, events in self._delivered(run, _checked):
                    job.write(window, events)
            return job.report(run, time.perf_counter() - started)

    def _converted(
        self,
        run: Run,
        convert: Callable[[list[Event]], C],
        *,
        from_body: Callable[[bytes, DateRange], C | None] | None = None,
        ahead: int = 1,
    ) -> Iterator[tuple[Window, C]]:
        """Each planned window's events passed through ``convert``, in date order, fetching up to
        ``max_concurrency`` windows at once (fewer while those hold ``max_buffered_bytes``); each is
        decoded and converted when the consumer is about to need it (``Decoder``). ``from_body``, if
        given, may convert a 200's body straight from its bytes (None: decode it as usual). A window
        that fails ends the call at once, even while earlier ones are still in flight."""
        windows = enumerate(run.windows)
        control = Control(run)
        budget = Budget(run.settings)
        decoder = Decoder(ahead)
        pending: collections.deque[_InFlight[concurrent.futures.Future[C]]] = collections.deque()
        workers = min(self._settings.max_concurrency, len(run.windows))
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="shortpen")
        io = IOThreads(2 * workers)  # twice as many: an attempt given up on may hold one for a while

        def fill() -> None:
            while (
                budget.may_start(_held(pending), run.concurrency)
                and (planned := next(windows, None)) is not None
            ):
                index, window = planned
                held = Held()
                decode = functools.partial(_decode_window, convert, from_body, self._settings.token)
                turn = functools.partial(decoder.run, index)
                future = pool.submit(self._fetch_window, control, io, window, held, decode, turn)
                pending.append(_InFlight(window, held, future))

        try:
            fill()
            index = 0
            while pending:
                decoder.advance(index)
                _settle([entry.task for entry in pending])
                head = pending.popleft()
                events = head.task.result()
                budget.delivered(head.window, head.held.bytes())
                fill()
                control.delivered(head.window, events, self._clock())
                yield head.window, events
                index += 1
        finally:
            # Stop at once: sleeping windows wake and give up, queued ones never start, and requests
            # in flight end on their own (their results are dropped, unlogged) instead of being waited for.
            control.stop()
            decoder.cancel()
            pool.shutdown(wait=False, cancel_futures=True)
            io.shutdown()
            decoder.close()

    def _fetch_window(
        self,
        control: Control,
        io: IOThreads,
        window: Window,
        held: Held,
        decode: Callable[[httpx.Response, Body, Window], C],
        turn: Callable[[Callable[[], C]], C],
    ) -> C:
        protocol, step = control.start(window, self._clock())
        try:
            while True:
                if isinstance(step, Attempt):
                    step = control.step(protocol, self._attempt(control, io, step, held, decode, turn))
                else:
                    if self._sleep is None:
                        control.stopped.wait(step.seconds)  # a real wait that stopping interrupts
                    else:
                        self._sleep(step.seconds)
                    step = control.step(protocol, Woke(self._clock()))
        except StopIteration as done:
            events: C = done.value
            return events

    def _attempt(
        self,
        control: Control,
        io: IOThreads,
        step: Attempt,
        held: Held,
        decode: Callable[[httpx.Response, Body, Window], C],
        turn: Callable[[Callable[[], C]], C],
    ) -> Outcome:
        """One request, bounded by the wall clock: the network part runs on an I/O thread that this
        one stops waiting for after the attempt's timeout (httpx's timeouts are per read: a server
        that drips its headers or body defeats them); that thread also gives up as soon as a byte
        arrives late. An error status is raised at once; a 200's body is joined, decoded and
        converted on this window's ``turn``, in the decoding thread (``Decoder.run``)."""
        window = step.window
        started = self._clock()
        exchange = held.exchange()
        status = None
        try:
            request = self._build(self._http, control.run, window, step.timeout, exchange.trace)
            receive = functools.partial(
                self._receive, request, window, exchange, started + step.timeout, control
            )
            response, body = within(io, step.timeout, receive, window, control, exchange)
            status = response.status_code
            if status != 200:  # interpret raises the status's error: known now, not on the decoding turn
                interpret(response, body.finish(), window, self._settings.token)
            events = turn(functools.partial(decode, response, body, window))
        except (httpx.TransportError, ShortPenError) as exc:
            held.drop(exchange)
            now = self._clock()
            return failure(
                exc, window, status=status, started=exchange.started, elapsed=now - started, at=now
            )
        now = self._clock()
        return Outcome(events=events, status=status, elapsed=now - started, at=now)

    def _receive(
        self, request: httpx.Request, window: Window, exchange: Exchange, deadline: float, control: Control
    ) -> _Received:
        """Send ``request`` and read the body (at most ``max_response_bytes`` of it, decoded), giving
        up when a byte arrives after ``deadline``, the attempt was given up on or the call stopped.
        The body is left in its chunks: joined where it is decoded."""
        if exchange.abandoned:  # given up on while it waited for an I/O thread
            raise Cancelled
        response = self._http.send(request, stream=True, follow_redirects=False)
        try:
            body = exchange.begin(response, limit=self._settings.max_response_bytes, window=window)
            if not response.is_stream_consumed:
                for chunk in response.iter_raw():
                    if not body.feed(chunk):
                        break
                    if exchange.abandoned or control.stopped.is_set():
                        raise Cancelled
                    if self._clock() > deadline:
                        raise httpx.ReadTimeout(
                            "the response was still arriving at the deadline", request=request
                        )
            return response, body
        finally:
            response.close()


def _settle(futures: list[concurrent.futures.Future[C]]) -> None:
    """Wait until the first of ``futures`` (the oldest window) is done, or any has failed: then
    raise that failure at once, whatever is still in flight before it (the earliest in date order
    when several are known)."""
    waiting = set(futures)
    while not futures[0].done():
        done, waiting = concurrent.futures.wait(waiting, return_when=concurrent.futures.FIRST_COMPLETED)
        for future in futures:
            if future in done and future.exception() is not None:
                future.result()
