"""``FakeShortPen``: the API as its spec and page describe it, in one pure request handler."""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import hashlib
import hmac
import threading
import time
import zoneinfo
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, Final

import attrs
import httpx

from .. import _schema
from . import _json, _server
from ._data import FIRST_DAY, LAST_DAY, MAX_EVENTS_PER_DAY, ORGANIZATION_ID, SCAN_LIMIT, WORKSPACES
from ._events import SHAPES
from ._faults import Fault, FaultPlan
from ._limits import RateLimit, TokenBucket
from ._request import BadRequest, RequestRules, parse_json
from ._responses import HTML, error_response, gateway_page, html_response, json_response
from ._store import Clicks
from ._transport import FakeTransport

_NOT_JSON: Final = object()


@attrs.frozen(kw_only=True)
class RecordedRequest:
    """One request as the fake received it (before any fault), the token redacted."""

    number: int
    """1-based, in order of arrival; the key of :attr:`FaultPlan.scripted`."""
    method: str
    path: str
    body: Any
    """The parsed JSON body, or None when it is empty or not JSON (see ``content``)."""
    content: bytes = attrs.field(repr=False)
    at: float
    """The fake's ``clock()`` at arrival (``time.monotonic()`` unless the fake was given a clock)."""
    headers: Mapping[str, str]
    """Lower-case names; ``authorization`` keeps its scheme only: ``"Bearer [redacted]"``."""
    fault: Fault | None
    """The fault the plan chose for this request, if any; ``Fault.rate_limit(n)`` when the fake's
    ``rate_limit`` turned it away."""


def _redacted_headers(headers: httpx.Headers) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in headers.items():
        if name == "authorization":
            scheme, sep, _ = value.partition(" ")
            value = f"{scheme} [redacted]" if sep else "[redacted]"
        out[name] = value
    return out


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _zone(timezone: str | dt.tzinfo) -> dt.tzinfo:
    if isinstance(timezone, dt.tzinfo):
        return timezone
    try:
        return zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"timezone: unknown zone {timezone!r}") from exc


class FakeShortPen:
    """A spec-faithful fake of ShortPen's ``POST /v1/analytics``, with deterministic data and faults.

    The account (for every seed): organization 3; workspaces 24 (the default, links 501-508), 31
    (links 601-605) and 47 (links 701-704). Clicks exist from 2000-01-01 up to today, about
    ``events_per_day`` per workspace and local day; ``heavy_days`` sets the exact count of chosen days
    of the first workspace. Everything is a function of ``seed``: same seed, same bytes.

    The events follow the spec: every property of ``AnalyticsEvent`` in the spec's order, of its type
    (fields the fake knows keep their meaning: ids, links, clients, countries, referrers, local
    ``created_at``; any other gets a generic value of its type). ``shape`` says how they look:

    - ``"spec"`` (the default): only what the spec allows. Each optional field is absent from about a
      tenth of the events (and null on another tenth if the spec makes it nullable); ascending by
      ``created_at`` then ``id``, whole seconds.
    - ``"realistic"``: data shaped like a real server's, beyond its spec: optional fields absent on a
      tenth and null on another tenth (nullable or not), two fields the spec does not know on every
      event (``beta_flags``: a list of text; ``utm``: an object or null), milliseconds on a fifth of
      the timestamps (``2025-01-01T10:00:00.123+01:00``), ties (the same ``created_at`` as the event
      before, 3%) and small inversions (neighbours swapped, 2%: not ascending). Pass a timezone with
      DST (``timezone="Europe/Berlin"``) for 23- and 25-hour days.

    Requests are checked against the spec's request schema (required fields, types and formats; fields
    it does not list are ignored), then by the rules its descriptions state: ``end`` on or after
    ``start``, ``workspace_id`` one of the organization's; a 400's message starts with the field.

    The fake's own choices where the real API's behaviour is unknown: days after the current date in
    the account's timezone (``now``, default the system clock) have no clicks, today has all of its
    clicks; a ``url_id`` that is not a link of the workspace answers 200 with no events. A request
    that covers more than ``SCAN_LIMIT`` (500,000) clicks of the workspace answers the gateway's
    504 at once, without generating anything, whatever ``max_events_per_response`` says.

    ``spec`` (an OpenAPI document as data, default: the vendored spec this package was generated
    from) is where the event and request schemas are derived from; give another one to see what a
    spec change does to the wire (the generated models do not follow it).

    ``rate_limit=RateLimit(per_second=2, burst=2)`` answers 429 with ``Retry-After`` to requests over
    that rate (a token bucket, see :class:`RateLimit`), before any fault of the plan; time is the
    fake's ``clock`` (``time.monotonic`` unless given: a test can pass the fake clock it also gives
    the client, so that nothing waits for real).

    Two ways in, one handler (:meth:`handle`): :meth:`transport` for an ``httpx.Client`` or
    ``httpx.AsyncClient``, and :meth:`serve` on a real loopback socket.

    :attr:`requests` records every request (tests rely on it); ``max_recorded_requests=N`` keeps only
    the last ``N`` (0: none), for a fake that runs for long (``shortpen fake-server``);
    :attr:`request_count` counts them all either way. The counts behind the fault plan's draws stay
    exact (a digest of each distinct request, not its body), so the draws are the same.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        token: str = "test-token",  # noqa: S107 - a fake's throwaway token, the documented default
        timezone: str | dt.tzinfo = "UTC",
        events_per_day: int = 200,
        heavy_days: Mapping[dt.date, int] | None = None,
        max_events_per_response: int | None = None,
        faults: FaultPlan | None = None,
        shape: str = "spec",
        now: Callable[[], dt.datetime] = _utc_now,
        spec: Mapping[str, Any] | None = None,
        rate_limit: RateLimit | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_recorded_requests: int | None = None,
    ) -> None:
        if max_recorded_requests is not None and (
            isinstance(max_recorded_requests, bool)
            or not isinstance(max_recorded_requests, int)
            or max_recorded_requests < 0
        ):
            raise ValueError(
                f"max_recorded_requests must be None or an integer >= 0, got {max_recorded_requests!r}"
            )
        if not 0 <= events_per_day <= MAX_EVENTS_PER_DAY // 2:
            raise ValueError(f"events_per_day must be in [0, {MAX_EVENTS_PER_DAY // 2}]")
        heavy = dict(heavy_days or {})
        for day, count in heavy.items():
            if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
                raise TypeError(f"heavy_days keys must be datetime.date, got {day!r}")
            if not FIRST_DAY <= day <= LAST_DAY:
                raise ValueError(f"heavy_days: {day} is outside {FIRST_DAY}..{LAST_DAY}")
            if not 0 <= count <= MAX_EVENTS_PER_DAY:
                raise ValueError(f"heavy_days: {count} events on {day} is not in [0, {MAX_EVENTS_PER_DAY}]")
        if max_events_per_response is not None and max_events_per_response < 0:
            raise ValueError("max_events_per_response must not be negative")
        if shape not in SHAPES:
            raise ValueError(f"shape: {shape!r} is not one of {', '.join(map(repr, SHAPES))}")
        derived = _schema.derive(spec) if spec is not None else None
        self._path = derived.path if derived else _schema.PATH
        self._method = derived.method if derived else _schema.METHOD
        self._rules = RequestRules(derived.request if derived else _schema.REQUEST)
        self._shape_name = shape
        self._now = now
        self._seed = seed
        self._tz = _zone(timezone)
        self._events_per_day = events_per_day
        self._heavy_days: Mapping[dt.date, int] = MappingProxyType(heavy)
        self.token = token
        """The bearer token the fake accepts (settable)."""
        self.max_events_per_response = max_events_per_response
        """Above this many events in a response: 504 with an HTML body, like a gateway (settable)."""
        self.faults = faults
        """The fault plan (settable; request numbers keep counting)."""
        self._clock = clock
        self._rate_limit = rate_limit
        self._bucket = None if rate_limit is None else TokenBucket(rate_limit, clock())
        self._lock = threading.Lock()
        self._requests: collections.deque[RecordedRequest] = collections.deque(maxlen=max_recorded_requests)
        self._received = 0
        self._occurrences: dict[bytes, int] = {}
        """Arrivals of each distinct request so far, keyed by a 16-byte digest of it (a body may be
        up to a MiB: the key must not keep it); the fault plan's draws need the exact counts."""
        self._clicks = Clicks(
            seed=seed,
            tz=self._tz,
            events_per_day=events_per_day,
            heavy_days=self._heavy_days,
            fields=derived.event if derived else _schema.EVENT,
            shape=SHAPES[shape],
            today=self.today,
        )

    def __repr__(self) -> str:
        return (
            f"FakeShortPen(seed={self._seed}, timezone={str(self._tz)!r}, "
            f"events_per_day={self._events_per_day}, shape={self._shape_name!r}, "
            f"requests={self._received})"
        )

    # -- the account -------------------------------------------------------------------------------

    @property
    def seed(self) -> int:
        return self._seed

    @property
    def rate_limit(self) -> RateLimit | None:
        return self._rate_limit

    @property
    def timezone(self) -> dt.tzinfo:
        """The account's timezone: dates are local days in it, ``created_at`` carries its offset."""
        return self._tz

    @property
    def events_per_day(self) -> int:
        return self._events_per_day

    @property
    def heavy_days(self) -> Mapping[dt.date, int]:
        return self._heavy_days

    @property
    def shape(self) -> str:
        """``"spec"`` or ``"realistic"`` (see the class docstring)."""
        return self._shape_name

    def today(self) -> dt.date:
        """The account's current date (``now()`` in its timezone): later days have no clicks."""
        now = self._now()
        return (now if now.tzinfo else now.replace(tzinfo=dt.UTC)).astimezone(self._tz).date()

    @property
    def organization_id(self) -> int:
        return ORGANIZATION_ID

    @property
    def workspace_ids(self) -> list[int]:
        """The organization's workspaces; the first is the default when a request omits one."""
        return [w.workspace_id for w in WORKSPACES]

    def url_ids(self, workspace_id: int) -> list[int]:
        """The links of a workspace."""
        for workspace in WORKSPACES:
            if workspace.workspace_id == workspace_id:
                return [link.url_id for link in workspace.links]
        raise ValueError(f"workspace_id: unknown workspace {workspace_id}")

    @property
    def requests(self) -> list[RecordedRequest]:
        """What the fake has received, in order of arrival (a snapshot): every request, or the last
        ``max_recorded_requests`` of them when the fake was given that bound."""
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        """How many requests the fake has received (all of them, recorded or not)."""
        with self._lock:
            return self._received

    def events(
        self,
        start: dt.date | str,
        end: dt.date | str,
        *,
        workspace_id: int | None = None,
        url_id: int | None = None,
        **fields: Any,
    ) -> list[dict[str, Any]]:
        """Ground truth: exactly the ``data`` of one successful request for this range, in its order.

        The request body is built from the spec's request fields: these arguments by name, ``None``
        left out (``fields``: any other field of the request schema, e.g. one a newer spec adds).
        Ignores ``max_events_per_response``, the scan limit and faults, and is not recorded as a
        request. Raises ``ValueError`` with the API's 400 message for what the API would refuse.
        """
        body = self._rules.body(
            {"start": start, "end": end, "workspace_id": workspace_id, "url_id": url_id, **fields}
        )
        try:
            query = self._rules.parse(body)
        except BadRequest as exc:
            raise ValueError(exc.message) from None
        data: list[dict[str, Any]] = _json.loads(self._clicks.ok_body(query))["data"]
        return data

    # -- the ways in -------------------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        """An in-process transport for ``httpx.Client(transport=...)`` and ``httpx.AsyncClient``."""
        return FakeTransport(self.handle)

    @contextlib.contextmanager
    def serve(self, *, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Serve the fake on a real socket in a background thread; yields ``"http://127.0.0.1:PORT"``.

        ``port=0`` picks a free port. On exit, waits are interrupted, open connections closed and the
        port released. If the fake itself failed while serving, exiting raises ``RuntimeError``.
        """
        with _server.serve(self.handle, host=host, port=port) as base_url:
            yield base_url

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request. Pure apart from the request log and the fault plan's counters.

        Raises ``httpx.RemoteProtocolError`` for a dropped connection. Other socket-level faults
        come back as a response with effects (``response.extensions``) that :meth:`transport` and
        :meth:`serve` carry out; this method itself never waits.
        """
        try:
            content = request.content
        except httpx.RequestNotRead:
            content = request.read()
        path = request.url.path
        parsed: Any
        not_json: BadRequest | None
        try:
            parsed = parse_json(content)
        except BadRequest as exc:
            parsed, not_json = _NOT_JSON, exc
        else:
            not_json = None
        key = f"{request.method} {path}\n".encode() + (
            content if not_json is not None else _json.canonical(parsed)
        )
        seen = hashlib.blake2b(key, digest_size=16).digest()
        with self._lock:
            at = self._clock()
            number = self._received = self._received + 1
            occurrence = self._occurrences[seen] = self._occurrences.get(seen, 0) + 1
            retry_after = None if self._bucket is None else self._bucket.take(at)
            plan = self.faults
            if retry_after is not None:
                fault: Fault | None = Fault.rate_limit(retry_after=retry_after)
            else:
                fault = plan.fault_for(number=number, key=key, occurrence=occurrence) if plan else None
            self._requests.append(
                RecordedRequest(
                    number=number,
                    method=request.method,
                    path=path,
                    body=None if not_json is not None else parsed,
                    content=content,
                    at=at,
                    headers=_redacted_headers(request.headers),
                    fault=fault,
                )
            )

        def real() -> httpx.Response:
            return self._respond(request, parsed, not_json)

        return real() if fault is None else fault.respond(request, real)

    # -- the API -----------------------------------------------------------------------------------

    def _authorized(self, request: httpx.Request) -> httpx.Response | None:
        header = request.headers.get("authorization")
        challenge = {"www-authenticate": "Bearer"}
        if not header:
            return error_response(401, "Unauthenticated.", headers=challenge)
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            credentials.strip().encode(), self.token.encode()
        ):
            return error_response(401, "Invalid token.", headers=challenge)
        return None

    def _respond(self, request: httpx.Request, parsed: Any, not_json: BadRequest | None) -> httpx.Response:
        path = request.url.path
        if path != self._path:
            return error_response(404, f"Not found: {request.method} {path[:100]}")
        if request.method != self._method:
            return error_response(
                405,
                f"Method not allowed: {request.method[:20]} {self._path} (allowed: {self._method})",
                headers={"allow": self._method},
            )
        unauthorized = self._authorized(request)
        if unauthorized is not None:
            return unauthorized
        try:
            if not_json is not None:
                raise not_json
            query = self._rules.parse(parsed)
        except BadRequest as exc:
            return error_response(400, exc.message)
        scanned, answered = self._clicks.sizes(query)
        limit = self.max_events_per_response
        if scanned > SCAN_LIMIT or (limit is not None and answered > limit):
            return html_response(504, gateway_page(504), headers={"content-type": HTML})
        return json_response(200, self._clicks.ok_body(query))
