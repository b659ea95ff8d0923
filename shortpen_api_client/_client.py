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
import threading
import time
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, BinaryIO, Generic, Self, TypeVar, cast

import attrs
import httpx

from ._arrow import Columns, arrow_schema, events_columns, import_pyarrow
from ._arrow_body import body_to_table
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
from ._edges import Delivery, Events
from ._engine import (
    USER_AGENT,
    Attempt,
    Cancelled,
    Chunk,
    Event,
    Outcome,
    Progress,
    Run,
    Settings,
    failure,
    interpret,
    request_kwargs,
)
from ._generated.client import AuthenticatedClient
from ._generated.models import AnalyticsEvent
from ._jobs import DEFAULT_LOOKBACK_DAYS, ExportJob, ExportReport, SyncJob, SyncReport
from ._redact import LOG_SCRUBBER
from ._retry import RetryPolicy
from ._throttle import Throttle
from ._windows import Window, plan_windows
from .errors import APITimeoutError, InvalidArgumentError, ShortPenError

if TYPE_CHECKING:
    import pyarrow

#: Seven days a window: a week of clicks is small enough for one response on busy accounts, and a
#: month still becomes only 5 requests, fetched concurrently. Windows that are too big are split.
DEFAULT_WINDOW_DAYS = 7
DEFAULT_MAX_CONCURRENCY = 8
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 4

C = TypeVar("C", bound=Chunk)


@attrs.frozen(kw_only=True)
class Batch:
    """The events of one planned window, in order (internal: ``clicks()`` and ``export()`` consume it)."""

    window: Window
    events: list[Event]


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
            clock=self._clock,
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
                clock=self._clock,
                rng=self._rng,
                progress=self._progress,
                throttle=self._throttle,
            )
        except BaseException as exc:
            job.finish(exc)  # releases the folder's lock
            raise
        return job, run

    def _build(
        self, http: httpx.Client | httpx.AsyncClient, run: Run, window: Window, timeout: float
    ) -> httpx.Request:
        kwargs = request_kwargs(window, run.workspace_id, run.url_id)
        return http.build_request(
            kwargs["method"],
            self._url,
            json=kwargs["json"],
            headers={
                **kwargs["headers"],
                **self._settings.headers(),
                "User-Agent": self._user_agent,
                **self._host_header,
            },
            timeout=httpx.Timeout(timeout),
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
        with job.writer:
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
        with job:  # holds the folder's lock; compacts the journal at the end
            started = time.perf_counter()
            job.prepare()
            if run.windows:
                for window, events in self._delivered(run, _checked):
                    job.write(window, events)
            return job.report(run, time.perf_counter() - started)

    def _batches(self, run: Run) -> Iterator[Batch]:
        """The planned windows' events in date order, fetching up to ``max_concurrency`` at once."""
        for window, events in self._converted(run, _as_is):
            yield Batch(window=window, events=events)

    def _converted(
        self,
        run: Run,
        convert: Callable[[list[Event]], C],
        *,
        from_body: Callable[[bytes], C | None] | None = None,
    ) -> Iterator[tuple[Window, C]]:
        """Each planned window's events passed through ``convert``, in date order, fetching up to
        ``max_concurrency`` windows at once; each is decoded and converted when the consumer is about
        to need it (``_Decoder``). ``from_body``, if given, may convert a 200's body straight from
        its bytes (None: decode it as usual)."""
        windows = enumerate(run.windows)
        decoder = _Decoder()
        pending: collections.deque[tuple[Window, concurrent.futures.Future[C]]] = collections.deque()
        pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=min(self._settings.max_concurrency, len(run.windows)), thread_name_prefix="shortpen"
        )

        def fill() -> None:
            while len(pending) < run.concurrency and (planned := next(windows, None)) is not None:
                index, window = planned
                decode = functools.partial(_decode_window, convert, from_body, self._settings.token)
                turn = functools.partial(decoder.run, index)
                pending.append((window, pool.submit(self._fetch_window, run, window, decode, turn)))

        try:
            fill()
            index = 0
            while pending:
                decoder.advance(index)
                window, future = pending.popleft()
                events = future.result()
                fill()
                run.delivered(window, events)
                yield window, events
                index += 1
        finally:
            # Stop at once: sleeping windows wake and give up, queued ones never start, and requests
            # in flight end on their own (their results are dropped) instead of being waited for.
            run.stopped.set()
            decoder.cancel()
            pool.shutdown(wait=False, cancel_futures=True)
            decoder.close()

    def _fetch_window(
        self,
        run: Run,
        window: Window,
        decode: Callable[[httpx.Response, bytes, Window], C],
        turn: Callable[[Callable[[], C]], C],
    ) -> C:
        protocol = run.protocol(window)
        step = next(protocol)
        try:
            while True:
                if isinstance(step, Attempt):
                    step = protocol.send(self._attempt(run, step.window, decode, turn))
                else:
                    if self._sleep is None:
                        run.stopped.wait(step.seconds)  # a real wait that stopping interrupts
                    else:
                        self._sleep(step.seconds)
                    step = protocol.send(None)
        except StopIteration as done:
            events: C = done.value
            return events

    def _attempt(
        self,
        run: Run,
        window: Window,
        decode: Callable[[httpx.Response, bytes, Window], C],
        turn: Callable[[Callable[[], C]], C],
    ) -> Outcome:
        """One request, bounded by the wall clock: the network part runs in a thread of its own that
        this one stops waiting for after ``timeout`` (httpx's timeouts are per read: a server that
        drips its headers or body defeats them); that thread also gives up as soon as a byte arrives
        late. The body is then decoded and converted on this window's ``turn`` (``_Decoder.run``)."""
        started = run.clock()
        status = None
        try:
            timeout = run.attempt_timeout(window)
            request = self._build(self._http, run, window, timeout)
            response, content = _within(
                timeout,
                functools.partial(self._receive, request, run.clock, started + timeout),
                window,
                run.stopped,
            )
            status = response.status_code
            events = turn(functools.partial(decode, response, content, window))
        except (httpx.TransportError, ShortPenError) as exc:
            return failure(exc, window, status=status, elapsed=run.clock() - started)
        return Outcome(events=events, status=status, elapsed=run.clock() - started)

    def _receive(self, request: httpx.Request, clock: Callable[[], float], deadline: float) -> _Received:
        """Send ``request`` and read the whole body, giving up when a byte arrives after ``deadline``."""
        response = self._http.send(request, stream=True, follow_redirects=False)
        try:
            chunks = []
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                if clock() > deadline:
                    raise httpx.ReadTimeout(
                        "the response was still arriving at the deadline", request=request
                    )
        finally:
            response.close()
        return response, b"".join(chunks)


def _within(
    seconds: float, receive: Callable[[], _Received], window: Window, stopped: threading.Event
) -> _Received:
    """``receive()`` in a thread of its own, waited for at most ``seconds`` (then an
    ``APITimeoutError``) and only while the call goes on (``stopped``: ``Cancelled``). The thread ends
    by itself: it gives up at its next byte or read timeout."""
    box: list[_Received] = []
    failure: list[BaseException] = []
    done = threading.Event()

    def target() -> None:
        try:
            box.append(receive())
        except BaseException as exc:  # handed to the waiting thread, which raises it
            failure.append(exc)
        finally:
            done.set()

    threading.Thread(target=target, name="shortpen-io", daemon=True).start()
    give_up = time.monotonic() + seconds
    while not done.wait(min(0.1, max(0.0, give_up - time.monotonic()))):
        if stopped.is_set():
            raise Cancelled
        if time.monotonic() >= give_up:
            raise APITimeoutError(
                f"no complete response within timeout={seconds:g}s", phase="read", window=window.as_tuple()
            )
    if failure:
        raise failure[0]
    return box[0]


def _as_is(events: list[Event]) -> list[Event]:
    return events


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
    content: bytes,
    window: Window,
) -> C:
    """A response's events, converted; or the ``ShortPenError`` it stands for (``interpret``)."""
    if from_body is not None and response.status_code == 200:
        converted = from_body(content)
        if converted is not None:
            return converted
    return convert(interpret(response, content, window, secret))


_Received = tuple[httpx.Response, bytes]


class _Decoder:
    """Decodes the fetched windows in one thread of its own, each when the consumer has reached the
    window before it.

    Decoding is CPU work that the GIL runs one thread at a time anyway. Done just ahead of the
    consumer, the decoded events of at most two windows exist at once, however many were fetched
    ahead (their raw bytes are several times smaller); done in one thread, the memory each window
    frees is reused by the next, where eight threads would each keep an allocator arena of their own.
    """

    AHEAD = 1

    def __init__(self) -> None:
        self._ready = threading.Condition()
        self._consumer_at = 0
        self._cancelled = False
        self._thread = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="shortpen-decode"
        )

    def advance(self, index: int) -> None:
        """The consumer now waits for window ``index``."""
        with self._ready:
            self._consumer_at = index
            self._ready.notify_all()

    def run(self, index: int, decode: Callable[[], C]) -> C:
        """``decode()`` for window ``index``, in the decoding thread, on its turn (called by a worker)."""
        with self._ready:
            self._ready.wait_for(lambda: self._cancelled or index <= self._consumer_at + self.AHEAD)
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
        async with contextlib.aclosing(self._delivered(run)) as windows:
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
        async with contextlib.aclosing(self._delivered(run)) as windows:
            async for _, events in windows:
                columns = await asyncio.to_thread(events_columns, events)
                for batch in _record_batches(columns):
                    yield batch

    async def _delivered(self, run: Run) -> AsyncGenerator[tuple[Window, Events]]:
        """The driver's windows, in order, with the exactly-once rules at window edges applied."""
        deliver = Delivery()
        async with contextlib.aclosing(self._batches(run)) as batches:
            async for batch in batches:
                yield batch.window, deliver(batch.window.as_tuple(), batch.events)

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
        with job.writer:
            async with contextlib.aclosing(self._delivered(run)) as windows:
                async for _, events in windows:
                    await asyncio.to_thread(job.writer.write_batch, events)
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
        try:  # the folder's lock is held until job.finish, which compacts the journal
            started = time.perf_counter()
            await asyncio.to_thread(job.prepare)
            if run.windows:
                async with contextlib.aclosing(self._delivered(run)) as windows:
                    async for window, events in windows:
                        await asyncio.to_thread(job.write, window, events)
            report = job.report(run, time.perf_counter() - started)
        except BaseException as exc:
            await asyncio.to_thread(job.finish, exc)
            raise
        await asyncio.to_thread(job.finish)
        return report

    async def _batches(self, run: Run) -> AsyncGenerator[Batch]:
        windows = iter(run.windows)
        pending: collections.deque[tuple[Window, asyncio.Task[list[Event]]]] = collections.deque()

        def fill() -> None:
            while len(pending) < run.concurrency and (window := next(windows, None)) is not None:
                pending.append((window, asyncio.ensure_future(self._fetch_window(run, window))))

        try:
            fill()
            while pending:
                window, task = pending.popleft()
                events = await task
                fill()
                run.delivered(window, events)
                yield Batch(window=window, events=events)
        finally:
            run.stopped.set()
            for _, task in pending:
                task.cancel()
            await asyncio.gather(*(task for _, task in pending), return_exceptions=True)

    async def _fetch_window(self, run: Run, window: Window) -> list[Event]:
        protocol = run.protocol(window)
        step = next(protocol)
        try:
            while True:
                if isinstance(step, Attempt):
                    step = protocol.send(await self._attempt(run, step.window))
                else:
                    await self._sleep(step.seconds)
                    step = protocol.send(None)
        except StopIteration as done:
            events: list[Event] = done.value
            return events

    async def _attempt(self, run: Run, window: Window) -> Outcome:
        """One request, bounded end to end by the attempt's timeout (``asyncio.timeout``)."""
        started = run.clock()
        status = None
        try:
            timeout = run.attempt_timeout(window)
            request = self._build(self._http, run, window, timeout)
            try:
                async with asyncio.timeout(timeout):
                    response = await self._http.send(request, follow_redirects=False)
                    status = response.status_code
            except TimeoutError:
                raise APITimeoutError(
                    f"no complete response within timeout={timeout:g}s",
                    phase="read",
                    window=window.as_tuple(),
                ) from None
            events = interpret(response, response.content, window, self._settings.token)
        except (httpx.TransportError, ShortPenError) as exc:
            return failure(exc, window, status=status, elapsed=run.clock() - started)
        return Outcome(events=events, status=status, elapsed=run.clock() - started)
