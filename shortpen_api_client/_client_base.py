"""What ``ShortPen`` and ``AsyncShortPen`` share: their settings and defaults (``_BaseClient``), the
HTTP client they own or are given, the guard that keeps the token out of what leaves a public
method (``kept_secret``), and the pieces both drivers use for a window in flight and its decoding.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import datetime as dt
import functools
import os
import random
import ssl
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs
import httpx

from ._arrow import Columns, arrow_schema, import_pyarrow
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
from ._drive import Held
from ._edges import Events
from ._engine import (
    USER_AGENT,
    Chunk,
    Event,
    Progress,
    Run,
    Settings,
    interpret,
    request_kwargs,
)
from ._generated.client import AuthenticatedClient
from ._jobs import SyncJob
from ._redact import LOG_SCRUBBER, scrub, scrub_exception, text_of
from ._retry import RetryPolicy
from ._throttle import Throttle
from ._windows import Window, plan_windows
from .errors import DateRange, InvalidArgumentError, ShortPenError

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
            verify=shared_ssl_context(trust_env=_trust_env(self._settings)),
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


def shared_ssl_context(*, trust_env: bool) -> ssl.SSLContext:
    """httpx's default TLS context (certifi's CAs; ``SSL_CERT_FILE`` or ``SSL_CERT_DIR`` when the
    environment is trusted), made once per setting and shared by the clients this package creates,
    as httpx advises for many clients: making one loads the CA bundle, about 20 ms, a tenth of a
    short call. A setting is the variables' values and the CA file's (or folder's) size and
    modification time, so a bundle replaced in place (a CA revoked) is loaded again by the next
    client. A context is safe to share between threads and clients."""
    env = os.environ if trust_env else {}
    cafile, capath = env.get("SSL_CERT_FILE") or None, env.get("SSL_CERT_DIR") or None
    path = cafile or capath  # certifi's bundle changes only with the package: a new process
    return _ssl_context(trust_env, cafile, capath, _stamp(path) if path else None)


def _stamp(path: str) -> tuple[int, int] | None:
    try:
        status = Path(path).stat()
    except OSError:
        return None  # httpx says what is wrong with it when the context is made
    return status.st_mtime_ns, status.st_size


@functools.lru_cache(maxsize=8)
def _ssl_context(
    trust_env: bool, cafile: str | None, capath: str | None, stamp: tuple[int, int] | None
) -> ssl.SSLContext:
    return httpx.create_ssl_context(trust_env=trust_env)  # reads the same two variables


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


def _checked(events: Events) -> Events:
    return events


def _record_batches(columns: Columns) -> Iterator[pyarrow.RecordBatch]:
    return (batch for batch in columns.table.to_batches() if batch.num_rows)


def _table(batches: list[pyarrow.RecordBatch]) -> pyarrow.Table:
    pa = import_pyarrow()
    return pa.Table.from_batches(batches, schema=arrow_schema())


def _decode_window(
    convert: Callable[[list[Event]], C],
    from_body: Callable[[bytes, DateRange], C | None] | None,
    secret: str,
    response: httpx.Response,
    body: Body,
    window: Window,
) -> C:
    """A response's events, converted; or the ``ShortPenError`` it stands for (``interpret``)."""
    content = body.finish()
    if from_body is not None and response.status_code == 200:
        converted = from_body(content, window.as_tuple())
        if converted is not None:
            return converted
    return convert(interpret(response, content, window, secret))


_Received = tuple[httpx.Response, Body]
