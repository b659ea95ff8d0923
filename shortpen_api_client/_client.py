"""``ShortPen`` and ``AsyncShortPen``: the click log of any date range, window by window.

Both clients share the settings, planning, retry, error and decoding code (``_engine``); only the
I/O loop differs: threads over one ``httpx.Client``, or tasks over one ``httpx.AsyncClient``.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import datetime as dt
import functools
import random
import time
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, BinaryIO, Generic, Self, TypeVar, cast

import attrs
import httpx

from ._arrow import Columns, arrow_schema, events_columns, import_pyarrow
from ._arrow_body import body_to_table
from ._body import ACCEPT_ENCODING, DEFAULT_MAX_RESPONSE_BYTES, Body
from ._config import (
    check_id,
    check_int,
    check_not_proxied,
    check_rate,
    check_seconds,
    connect_address,
    parse_range,
    resolve_base_url,
    resolve_token,
)
from ._decode import checked_models, iter_models
from ._drive import AsyncDecoder, Control, Decoder, Exchange, Held, IOThreads, within
from ._edges import Delivery, Events
from ._engine import (
    USER_AGENT,
    Attempt,
    Budget,
    Cancelled,
    Chunk,
    Event,
    Outcome,
    Progress,
    Run,
    Settings,
    Woke,
    attempt_timed_out,
    failure,
    interpret,
    request_kwargs,
)
from ._generated.client import AuthenticatedClient
from ._generated.models import AnalyticsEvent
from ._jobs import DEFAULT_LOOKBACK_DAYS, ExportJob, ExportReport, SyncJob, SyncReport
from ._redact import LOG_SCRUBBER, scrub, scrub_exception, text_of
from ._retry import RetryPolicy
from ._throttle import Throttle
from ._windows import Window, plan_windows
from .errors import InvalidArgumentError, ShortPenError

if TYPE_CHECKING:
    import pyarrow

#: Seven days a window: a week of clicks is small enough for one response on busy accounts, and a
#: month still becomes only 5 requests, fetched concurrently. Windows that are too big are split.
DEFAULT_WINDOW_DAYS = 7
DEFAULT_MAX_CONCURRENCY = 8
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 4
#: Responses received and not yet delivered to the consumer: no further window starts while they
#: hold (or, by the last window's size, will hold) more than this. 32 MiB keeps several windows of a
#: busy account's week in flight, enough to stay ahead of a consumer on a fast network; fewer larger
#: windows are fetched fewer at a time, so a long range adds no memory, however many wait their turn.
DEFAULT_MAX_BUFFERED_BYTES = 32 * 2**20

C = TypeVar("C", bound=Chunk)


H = TypeVar("H", httpx.Client, httpx.AsyncClient)


class _BaseClient(Generic[H]):
    """Validation, configuration and the HTTP client, shared by both clients."""

    _settings: Settings
    _http: H

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
        http_client: H | None,
        http_class: type[H],
        progress: Callable[[Progress], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        check_seconds(timeout, "timeout")
        check_seconds(total_timeout, "total_timeout", optional=True)
        if max_requests is not None:
            check_int(max_requests, "max_requests", minimum=1)
        if http_client is not None and not isinstance(http_client, http_class):
            raise InvalidArgumentError(
                f"http_client must be an {http_class.__module__}.{http_class.__name__}, "
                f"got {type(http_client).__name__}"
            )
        self._settings = Settings(
            base_url=resolve_base_url(_base_url_of(base_url, http_client), environment),
            token=resolve_token(token),
            timeout=float(timeout),
            total_timeout=None if total_timeout is None else float(total_timeout),
            window_days=check_int(window_days, "window_days", minimum=1),
            max_concurrency=check_int(max_concurrency, "max_concurrency", minimum=1),
            max_requests=max_requests,
            max_response_bytes=check_int(max_response_bytes, "max_response_bytes", minimum=1),
            max_buffered_bytes=check_int(max_buffered_bytes, "max_buffered_bytes", minimum=1),
            policy=RetryPolicy(max_retries=check_int(max_retries, "max_retries", minimum=0)),
            max_requests_per_second=check_rate(max_requests_per_second, "max_requests_per_second"),
        )
        self._throttle = Throttle(
            max_concurrency=self._settings.max_concurrency,
            max_rate=self._settings.max_requests_per_second,
        )
        path = request_kwargs(Window(dt.date.min, dt.date.min), None, None)["url"]
        # http://localhost is connected at 127.0.0.1 (never resolved through DNS), Host kept.
        self._connect_base, self._host_header = connect_address(self._settings.base_url)
        self._url = self._connect_base + path
        if http_client is not None:  # theirs keeps its proxies, but none may see a clear-text token
            check_not_proxied(http_client, self._url)
        self._progress = progress
        self._clock = clock
        self._rng = rng
        self._user_agent = _user_agent(http_client)
        self._owns_http = http_client is None
        self._http = http_client or http_class(
            timeout=self._settings.timeout,
            follow_redirects=False,
            limits=_owned_limits(self._settings),
            trust_env=_trust_env(self._settings),
        )
        self._generated: AuthenticatedClient | None = None
        # httpcore's DEBUG records show response headers: scrub the token out of them while we live.
        self._unhide: Callable[[], object] = weakref.finalize(self, LOG_SCRUBBER.hide(self._settings.token))

    @property
    def generated_client(self) -> AuthenticatedClient:
        """The generated layer's client for this base URL and token, to call
        ``shortpen_api_client.generated.get_analytics`` directly (``sync_detailed`` with
        ``ShortPen``, ``asyncio_detailed`` with ``AsyncShortPen``)."""
        if self._generated is None:
            self._generated = self._generated_client()
        return self._generated

    @property
    def base_url(self) -> str:
        return self._settings.base_url

    @property
    def window_days(self) -> int:
        return self._settings.window_days

    @property
    def max_concurrency(self) -> int:
        return self._settings.max_concurrency

    @property
    def max_response_bytes(self) -> int:
        return self._settings.max_response_bytes

    def __repr__(self) -> str:
        s = self._settings
        return (
            f"{type(self).__name__}(base_url={s.base_url!r}, window_days={s.window_days}, "
            f"max_concurrency={s.max_concurrency}, timeout={s.timeout:g}, max_retries={s.policy.max_retries})"
        )

    def _run(
        self,
        start: dt.date | str,
        end: dt.date | str,
        workspace_id: int | None,
        url_id: int | None,
        progress: Callable[[Progress], None] | None = None,
    ) -> Run:
        """Validate one call's arguments (before any request) and plan it."""
        first, last = parse_range(start, end)
        return Run(
            self._settings,
            plan_windows(first, last, self._settings.window_days),
            workspace_id=check_id(workspace_id, "workspace_id"),
            url_id=check_id(url_id, "url_id"),
            started=self._clock(),
            rng=self._rng,
            progress=progress or self._progress,
            throttle=self._throttle,
        )

    def _sync_job(
        self,
        start: dt.date | str,
        end: dt.date | str | None,
        output_dir: Path | str,
        lookback_days: int,
        format: str,
        workspace_id: int | None,
        url_id: int | None,
        verify: bool = False,
    ) -> tuple[SyncJob, Run]:
        """Validate a sync's arguments and plan the days it must fetch (before any request)."""
        workspace_id = check_id(workspace_id, "workspace_id")
        url_id = check_id(url_id, "url_id")
        source = {"api": self._settings.base_url, "workspace_id": workspace_id, "url_id": url_id}
        job = SyncJob(
            start,
            end,
            output_dir=output_dir,
            lookback_days=lookback_days,
            format=format,
            window_days=self._settings.window_days,
            source=source,
            verify=verify,
        )
        try:
            run = Run(
                self._settings,
                job.windows,
                workspace_id=workspace_id,
                url_id=url_id,
                started=self._clock(),
                rng=self._rng,
                progress=self._progress,
                throttle=self._throttle,
            )
        except BaseException as exc:
            job.finish(exc)  # releases the folder's lock
            raise
        return job, run

    def _build(
        self,
        http: httpx.Client | httpx.AsyncClient,
        run: Run,
        window: Window,
        timeout: float,
        trace: Callable[[str, dict[str, Any]], object],
    ) -> httpx.Request:
        """The request for ``window``; ``trace`` follows its phases (httpcore's trace extension)."""
        kwargs = request_kwargs(window, run.workspace_id, run.url_id)
        return http.build_request(
            kwargs["method"],
            self._url,
            json=kwargs["json"],
            headers={
                **kwargs["headers"],
                **self._settings.headers(),
                "User-Agent": self._user_agent,
                "Accept-Encoding": ACCEPT_ENCODING,
                **self._host_header,
            },
            timeout=httpx.Timeout(timeout),
            extensions={"trace": trace},
        )

    def _generated_client(self) -> AuthenticatedClient:
        s = self._settings
        return AuthenticatedClient(
            base_url=self._connect_base,
            token=s.token,
            headers={"User-Agent": USER_AGENT, **self._host_header},
            timeout=httpx.Timeout(s.timeout),
            follow_redirects=False,
            httpx_args={"trust_env": _trust_env(s)},  # the facade's proxy policy, not httpx's default
        )


def _base_url_of(base_url: str | None, http_client: httpx.Client | httpx.AsyncClient | None) -> str | None:
    """``base_url``, else the ``base_url`` of the user's own ``http_client`` (if it has one), else None
    (then ``SHORTPEN_BASE_URL`` or the environment's host). Both given and different: an error."""
    theirs = str(http_client.base_url).rstrip("/") if http_client is not None else ""
    if not theirs:
        return base_url
    if base_url is not None and base_url.rstrip("/") != theirs:
        raise InvalidArgumentError(
            f"base_url {base_url!r} differs from http_client.base_url {theirs!r}: pass one of them"
        )
    return theirs


def _user_agent(http_client: httpx.Client | httpx.AsyncClient | None) -> str:
    """Ours, after the user's own ``User-Agent`` when their ``http_client`` sets one (not httpx's)."""
    theirs = http_client.headers.get("user-agent", "") if http_client is not None else ""
    if not theirs or theirs.startswith("python-httpx/"):
        return USER_AGENT
    return f"{theirs} {USER_AGENT}"


def _trust_env(settings: Settings) -> bool:
    """Proxies from the environment (HTTP_PROXY, ...) only for https: a proxy in front of plain
    http:// (loopback only) would receive the token in clear text."""
    return settings.base_url.startswith("https://")


def _owned_limits(settings: Settings) -> httpx.Limits:
    return httpx.Limits(
        max_connections=settings.max_concurrency, max_keepalive_connections=settings.max_concurrency
    )


@contextlib.contextmanager
def kept_secret(token: str) -> Iterator[None]:
    """Any error leaving a public method has ``token`` scrubbed from it and its chain: the engine
    scrubbed what it raised, but a value the server sent may also be quoted later, by the window
    rules, Arrow or a file writer, or by a parser's own error chained under ours."""
    try:
        yield
    except Exception as error:
        if scrub_exception(error, token):
            raise
        # Its own text keeps the token out of reach: say what it was, scrubbed, and drop it.
        replacement = ShortPenError(scrub(f"{type(error).__name__}: {text_of(error)}", token))
        try:
            raise replacement from None
        finally:
            replacement.__context__ = None  # not even kept, unshown, as its context


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
        # Decoded in the worker threads; each model is built only when asked for (see iter_models).
        with kept_secret(self._settings.token):
            for window, events in self._delivered(run, _checked):
                yield from checked_models(window.as_tuple(), iter_models(events))

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
            for _, columns in self._delivered(run, events_columns, from_body=body_to_table):
                yield from _record_batches(columns)

    def _delivered(
        self,
        run: Run,
        convert: Callable[[Events], C],
        *,
        from_body: Callable[[bytes], C | None] | None = None,
    ) -> Iterator[tuple[Window, C]]:
        """The driver's windows, in order, with the exactly-once rules at window edges applied
        (``_edges.Delivery``): what every public method consumes."""
        deliver = Delivery()
        # The driver passes convert what interpret returned for the window: Events.
        chunks = self._converted(run, cast("Callable[[list[Event]], C]", convert), from_body=from_body)
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
            for _, encoded in self._delivered(run, writer.encode, from_body=writer.encode_body):
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
        from_body: Callable[[bytes], C | None] | None = None,
    ) -> Iterator[tuple[Window, C]]:
        """Each planned window's events passed through ``convert``, in date order, fetching up to
        ``max_concurrency`` windows at once (fewer while those hold ``max_buffered_bytes``); each is
        decoded and converted when the consumer is about to need it (``Decoder``). ``from_body``, if
        given, may convert a 200's body straight from its bytes (None: decode it as usual). A window
        that fails ends the call at once, even while earlier ones are still in flight."""
        windows = enumerate(run.windows)
        control = Control(run)
        budget = Budget(run.settings)
        decoder = Decoder()
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


F = TypeVar("F", bound=concurrent.futures.Future[Any] | asyncio.Future[Any])


@attrs.frozen
class _InFlight(Generic[F]):
    """A window being fetched: the bytes it holds, and the future (thread) or task (asyncio) of it."""

    window: Window
    held: Held
    task: F


def _held(pending: collections.deque[_InFlight[F]]) -> list[tuple[Window, int]]:
    """Each window in flight with the bytes it has received so far (for ``Budget``)."""
    return [(entry.window, entry.held.bytes()) for entry in pending]


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


def _checked(events: Events) -> Events:
    return events


def _record_batches(columns: Columns) -> Iterator[pyarrow.RecordBatch]:
    return (batch for batch in columns.table.to_batches() if batch.num_rows)


def _table(batches: list[pyarrow.RecordBatch]) -> pyarrow.Table:
    pa = import_pyarrow()
    return pa.Table.from_batches(batches, schema=arrow_schema())


def _decode_window(
    convert: Callable[[list[Event]], C],
    from_body: Callable[[bytes], C | None] | None,
    secret: str,
    response: httpx.Response,
    body: Body,
    window: Window,
) -> C:
    """A response's events, converted; or the ``ShortPenError`` it stands for (``interpret``)."""
    content = body.finish()
    if from_body is not None and response.status_code == 200:
        converted = from_body(content)
        if converted is not None:
            return converted
    return convert(interpret(response, content, window, secret))


_Received = tuple[httpx.Response, Body]


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
            async with contextlib.aclosing(self._delivered(run, _checked)) as windows:
                async for window, events in windows:
                    for event in checked_models(window.as_tuple(), iter_models(events)):
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
            batches = self._delivered(run, events_columns, from_body=body_to_table)
            async with contextlib.aclosing(batches) as windows:
                async for _, columns in windows:
                    for batch in _record_batches(columns):
                        yield batch

    async def _delivered(
        self,
        run: Run,
        convert: Callable[[Events], C],
        *,
        from_body: Callable[[bytes], C | None] | None = None,
    ) -> AsyncGenerator[tuple[Window, C]]:
        """The driver's windows, in order, with the exactly-once rules at window edges applied
        (``_edges.Delivery``): what every public method consumes."""
        deliver = Delivery()
        chunks = self._converted(run, cast("Callable[[list[Event]], C]", convert), from_body=from_body)
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
            encoded_windows = self._delivered(run, writer.encode, from_body=writer.encode_body)
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
        from_body: Callable[[bytes], C | None] | None = None,
    ) -> AsyncGenerator[tuple[Window, C]]:
        """``ShortPen._converted`` for the event loop: each planned window's events through
        ``convert`` (or a 200's body through ``from_body``), in date order, up to ``max_concurrency``
        windows fetched at once (fewer while those hold ``max_buffered_bytes``), each decoded in the
        decoding thread when the consumer is about to need it (``AsyncDecoder``). A window that
        fails ends the call at once, even while earlier ones are still in flight."""
        windows = enumerate(run.windows)
        control = Control(run)
        budget = Budget(run.settings)
        decoder = AsyncDecoder()
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
