"""Faults the fake can inject, and the plan that decides, deterministically, which request gets which.

See :class:`Fault` for the kinds of fault and :class:`FaultPlan` for how they are chosen.

Waits are real: the server thread sleeps; the transport sleeps (``time.sleep``) for ``httpx.Client``
and awaits ``asyncio.sleep`` for ``httpx.AsyncClient``, so an event loop keeps running. Both ways in
honour the client's read timeout the same way: a wait longer than it raises ``httpx.ReadTimeout``
after the timeout (the transport emulates this from the request's ``timeout`` extension).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import enum
import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Final

import attrs
import httpx

from ._responses import (
    EFFECTS_KEY,
    MAINTENANCE_PAGE,
    Effects,
    envelope,
    error_response,
    gateway_page,
    html_response,
    json_response,
)


class FaultKind(enum.Enum):
    RATE_LIMIT = "rate_limit"
    SERVER_ERROR = "server_error"
    SUCCESS_FALSE = "success_false"
    HTML_200 = "html_200"
    TRUNCATED_JSON = "truncated_json"
    DROP_CONNECTION = "drop_connection"
    TRUNCATED_BODY = "truncated_body"
    LATENCY = "latency"
    SLOW_DRIP = "slow_drip"


RetryAfter = int | dt.datetime | dt.timedelta | None

_SERVER_ERROR_MESSAGES: Final = {500: "Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


class DroppedConnection(httpx.RemoteProtocolError):
    """Raised by the handler for :meth:`Fault.drop_connection`; the server closes the socket on it."""


def _check_fraction(fraction: float) -> None:
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"fraction must be in [0, 1), got {fraction!r}")


@attrs.frozen(kw_only=True, repr=False)
class Fault:
    """One injected fault. Build it with a class method, not directly.

    Constructors (class methods of :class:`Fault`)::

        Fault.rate_limit(retry_after=1)             429 + Retry-After (int seconds, datetime or timedelta
                                                    as an HTTP-date, None: no header), JSON envelope
        Fault.server_error(500, html=False, retry_after=None)
                                                    5xx: the JSON error envelope, or nginx's HTML page
        Fault.success_false(status_code=500, message=...)
                                                    200 whose envelope says ``success: false``
        Fault.html_200()                            200 with an HTML page (a maintenance page)
        Fault.truncated_json(fraction=0.5)          200 (the real response) whose JSON is cut off; the HTTP
                                                    response itself is complete (Content-Length matches)
        Fault.drop_connection()                     no response: served, the socket is closed; transport:
                                                    httpx.RemoteProtocolError
        Fault.truncated_body(fraction=0.5)          the real response with a Content-Length larger than
                                                    what is sent, then the connection closes: served and
                                                    transport alike, httpx.RemoteProtocolError reading it
        Fault.latency(seconds)                      the real response, after ``seconds``
        Fault.slow_drip(interval=0.05, chunks=8)    the real response, its body in ``chunks`` pieces with
                                                    ``interval`` seconds before each piece after the first
    """

    kind: FaultKind
    status: int = 200
    html: bool = False
    retry_after: RetryAfter = None
    message: str = ""
    fraction: float = 0.5
    seconds: float = 0.0
    chunks: int = 0

    @classmethod
    def rate_limit(cls, retry_after: RetryAfter = 1) -> Fault:
        """429 with the JSON error envelope and ``Retry-After``.

        ``int``: delay-seconds. ``datetime``: that instant as an HTTP-date (naive means UTC).
        ``timedelta``: an HTTP-date that far from the moment of the response (rounded up to a
        second). ``None``: no header.
        """
        if isinstance(retry_after, int) and retry_after < 0:
            raise ValueError("retry_after must not be negative")
        return cls(kind=FaultKind.RATE_LIMIT, status=429, retry_after=retry_after)

    @classmethod
    def server_error(cls, status: int = 500, *, html: bool = False, retry_after: RetryAfter = None) -> Fault:
        """A 5xx: the JSON error envelope, or (``html=True``) the HTML page of a gateway."""
        if not 500 <= status <= 599:
            raise ValueError(f"status must be a 5xx, got {status}")
        return cls(kind=FaultKind.SERVER_ERROR, status=status, html=html, retry_after=retry_after)

    @classmethod
    def success_false(
        cls, *, status_code: int = 500, message: str = "There was an error while processing your request."
    ) -> Fault:
        """HTTP 200 whose body is the error envelope: ``success: false`` with ``status_code``."""
        return cls(kind=FaultKind.SUCCESS_FALSE, status=status_code, message=message)

    @classmethod
    def html_200(cls) -> Fault:
        """HTTP 200 with ``text/html``: a maintenance page where JSON was expected."""
        return cls(kind=FaultKind.HTML_200)

    @classmethod
    def truncated_json(cls, *, fraction: float = 0.5) -> Fault:
        """The real response with its body cut to ``fraction`` of its length: complete HTTP, invalid JSON."""
        _check_fraction(fraction)
        return cls(kind=FaultKind.TRUNCATED_JSON, fraction=fraction)

    @classmethod
    def drop_connection(cls) -> Fault:
        """No response at all: the connection closes (transport: ``httpx.RemoteProtocolError``)."""
        return cls(kind=FaultKind.DROP_CONNECTION)

    @classmethod
    def truncated_body(cls, *, fraction: float = 0.5) -> Fault:
        """The real response's headers, ``fraction`` of its body, then the connection closes."""
        _check_fraction(fraction)
        return cls(kind=FaultKind.TRUNCATED_BODY, fraction=fraction)

    @classmethod
    def latency(cls, seconds: float) -> Fault:
        """The real response, ``seconds`` late."""
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        return cls(kind=FaultKind.LATENCY, seconds=seconds)

    @classmethod
    def slow_drip(cls, interval: float = 0.05, *, chunks: int = 8) -> Fault:
        """The real response, its body sent in ``chunks`` pieces, ``interval`` seconds apart.

        The whole body takes ``(chunks - 1) * interval`` seconds whatever its size; a body shorter than
        ``chunks`` bytes goes a byte at a time.
        """
        if interval < 0:
            raise ValueError("interval must not be negative")
        if chunks < 2:
            raise ValueError("chunks must be at least 2")
        return cls(kind=FaultKind.SLOW_DRIP, seconds=interval, chunks=chunks)

    def __repr__(self) -> str:
        """The constructor call that builds this fault."""
        kind = self.kind
        if kind is FaultKind.RATE_LIMIT:
            return f"Fault.rate_limit({self.retry_after!r})"
        if kind is FaultKind.SERVER_ERROR:
            html = ", html=True" if self.html else ""
            retry = f", retry_after={self.retry_after!r}" if self.retry_after is not None else ""
            return f"Fault.server_error({self.status}{html}{retry})"
        if kind is FaultKind.SUCCESS_FALSE:
            return f"Fault.success_false(status_code={self.status}, message={self.message!r})"
        if kind in (FaultKind.TRUNCATED_JSON, FaultKind.TRUNCATED_BODY):
            return f"Fault.{kind.value}(fraction={self.fraction!r})"
        if kind is FaultKind.LATENCY:
            return f"Fault.latency({self.seconds!r})"
        if kind is FaultKind.SLOW_DRIP:
            return f"Fault.slow_drip({self.seconds!r}, chunks={self.chunks})"
        return f"Fault.{kind.value}()"

    def _retry_after_header(self) -> dict[str, str]:
        value = self.retry_after
        if value is None:
            return {}
        if isinstance(value, int):
            return {"retry-after": str(value)}
        if isinstance(value, dt.timedelta):
            now = dt.datetime.now(dt.UTC).replace(microsecond=0)
            value = now + dt.timedelta(seconds=math.ceil(value.total_seconds()) + 1)
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return {"retry-after": email.utils.format_datetime(value.astimezone(dt.UTC), usegmt=True)}

    def respond(self, request: httpx.Request, real: Callable[[], httpx.Response]) -> httpx.Response:
        """The response to ``request`` under this fault; ``real()`` is the one without it."""
        kind = self.kind
        if kind is FaultKind.RATE_LIMIT:
            return error_response(429, "Too Many Attempts.", headers=self._retry_after_header())
        if kind is FaultKind.SERVER_ERROR:
            headers = self._retry_after_header()
            if self.html:
                return html_response(self.status, gateway_page(self.status), headers=headers)
            message = _SERVER_ERROR_MESSAGES.get(self.status, httpx.codes.get_reason_phrase(self.status))
            return error_response(self.status, message, headers=headers)
        if kind is FaultKind.SUCCESS_FALSE:
            return json_response(200, envelope(self.status, self.message))
        if kind is FaultKind.HTML_200:
            return html_response(200, MAINTENANCE_PAGE)
        if kind is FaultKind.DROP_CONNECTION:
            raise DroppedConnection("Server disconnected without sending a response.", request=request)
        response = real()
        body = response.content
        if kind is FaultKind.TRUNCATED_JSON:
            cut = max(0, min(len(body) - 1, int(len(body) * self.fraction)))
            cut_headers = httpx.Headers(response.headers)
            cut_headers["content-length"] = str(cut)
            return httpx.Response(response.status_code, headers=cut_headers, content=body[:cut])
        if kind is FaultKind.TRUNCATED_BODY:
            cut = max(0, min(len(body) - 1, int(len(body) * self.fraction)))
            effects = Effects(truncated=True)
        elif kind is FaultKind.LATENCY:
            cut, effects = len(body), Effects(delay=self.seconds)
        else:
            cut, effects = len(body), Effects(drip_chunks=self.chunks, drip_interval=self.seconds)
        # The Content-Length header stays the whole body's (httpx keeps a given one).
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            content=body[:cut],
            extensions={EFFECTS_KEY: effects},
        )


DEFAULT_KINDS: Final = (
    Fault.rate_limit(1),
    Fault.server_error(500),
    Fault.server_error(502, html=True),
    Fault.server_error(503),
    Fault.drop_connection(),
    Fault.truncated_body(),
    Fault.success_false(),
    Fault.html_200(),
    Fault.truncated_json(),
)
"""The faults a rate draws from by default: every transient one, none that only waits."""


def _scripted(value: Mapping[int, Fault]) -> Mapping[int, Fault]:
    for number in value:
        if not isinstance(number, int) or number < 1:
            raise ValueError(f"scripted keys are 1-based request numbers, got {number!r}")
    return MappingProxyType(dict(value))


def _kinds(value: Sequence[Fault]) -> tuple[Fault, ...]:
    return tuple(value)


@attrs.frozen
class FaultPlan:
    """Which request gets which fault.

    ``scripted``: request number (1-based, in order of arrival at the fake, every request counted)
    -> fault. Otherwise, with probability ``rate``, a fault drawn from ``kinds``: the draw is a hash
    of (``seed``, the canonical request -- method, path and JSON body with sorted keys -- and how many
    times that same request had arrived before). So a retry of a window gets a fresh draw, and which
    requests fail does not depend on the order concurrent windows arrive in.
    """

    scripted: Mapping[int, Fault] = attrs.field(factory=dict, converter=_scripted)
    rate: float = 0.0
    kinds: Sequence[Fault] = attrs.field(default=DEFAULT_KINDS, converter=_kinds)
    seed: int = 0

    def __attrs_post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"rate must be in [0, 1], got {self.rate!r}")
        if self.rate > 0 and not self.kinds:
            raise ValueError("kinds must not be empty when rate > 0")

    def fault_for(self, *, number: int, key: bytes, occurrence: int) -> Fault | None:
        """The fault for request ``number``, the ``occurrence``-th (1-based) arrival of request ``key``."""
        scripted = self.scripted.get(number)
        if scripted is not None or self.rate <= 0:
            return scripted
        digest = hashlib.blake2b(b"%d\x00%d\x00%s" % (self.seed, occurrence, key), digest_size=16).digest()
        if int.from_bytes(digest[:8], "big") / 2.0**64 >= self.rate:
            return None
        return self.kinds[int.from_bytes(digest[8:], "big") % len(self.kinds)]
