"""Argument validation and configuration resolution. Pure: runs before any request is sent."""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
import os
import re
from collections.abc import Mapping
from typing import Final

import httpcore
import httpx

from ._throttle import MIN_MAX_RATE
from .errors import InvalidArgumentError

ENVIRONMENTS = ("api", "staging-api")
TOKEN_ENV = "SHORTPEN_TOKEN"  # noqa: S105  (the variable's name, not a secret)
BASE_URL_ENV = "SHORTPEN_BASE_URL"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

FIRST_DATE = dt.date(1900, 1, 1)
LAST_DATE = dt.date(2999, 12, 31)
"""The dates a call accepts: every click ShortPen can hold, with room on both sides for the date
arithmetic of windows, lookbacks and the day after the range (``date.max`` has no day after it)."""
MAX_SECONDS = 10_000_000
"""The longest ``timeout`` / ``total_timeout`` (about 116 days): finite, and within what the
threading and socket layers accept."""


def parse_date(value: object, name: str) -> dt.date:
    """A ``datetime.date`` or a strict ``"YYYY-MM-DD"`` string naming a real day."""
    if isinstance(value, dt.datetime):
        raise InvalidArgumentError(
            f"{name} must be a date, not a datetime ({value!r}): give {value.date().isoformat()!r}",
            argument=name,
            value=value,
        )
    if isinstance(value, dt.date):
        return _in_range(value, name)
    if isinstance(value, str):
        if _DATE.fullmatch(value):
            try:
                return _in_range(dt.date.fromisoformat(value), name)
            except ValueError as exc:
                if isinstance(exc, InvalidArgumentError):
                    raise
        raise InvalidArgumentError(
            f"{name} must be a real date as YYYY-MM-DD, got {value!r}", argument=name, value=value
        )
    raise InvalidArgumentError(
        f"{name} must be a datetime.date or a 'YYYY-MM-DD' string, got {value!r}", argument=name, value=value
    )


def _in_range(value: dt.date, name: str) -> dt.date:
    if not FIRST_DATE <= value <= LAST_DATE:
        raise InvalidArgumentError(
            f"{name} must be between {FIRST_DATE} and {LAST_DATE}, got {value.isoformat()}",
            argument=name,
            value=value,
        )
    return value


def parse_range(start: object, end: object) -> tuple[dt.date, dt.date]:
    first, last = parse_date(start, "start"), parse_date(end, "end")
    if first > last:
        raise InvalidArgumentError(f"start ({first}) is after end ({last})", argument="start", value=start)
    return first, last


def check_id(value: object, name: str) -> int | None:
    """An optional positive integer id (``True`` is not an id)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(
            f"{name} must be a positive integer, got {value!r}", argument=name, value=value
        )
    if value < 1:
        raise InvalidArgumentError(
            f"{name} must be a positive integer, got {value}", argument=name, value=value
        )
    return value


def check_int(value: object, name: str, *, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidArgumentError(
            f"{name} must be an integer >= {minimum}, got {value!r}", argument=name, value=value
        )
    if maximum is not None and value > maximum:
        raise InvalidArgumentError(
            f"{name} must be an integer <= {maximum:_}, got {value:_}", argument=name, value=value
        )
    return value


def check_seconds(value: object, name: str, *, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= MAX_SECONDS:
        raise InvalidArgumentError(
            f"{name} must be a positive number of seconds, at most {MAX_SECONDS:_}, got {value!r}",
            argument=name,
            value=value,
        )
    return float(value)


def check_rate(value: object, name: str) -> float | None:
    """An optional finite number of requests a second, at least ``MIN_MAX_RATE`` (0.01: one request
    every 100 s; a slower pace would only make the waits absurd, see ``_throttle.MIN_MAX_RATE``)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise InvalidArgumentError(
            f"{name} must be a positive number of requests a second, got {value!r}",
            argument=name,
            value=value,
        )
    if value < MIN_MAX_RATE:
        raise InvalidArgumentError(
            f"{name} must be at least {MIN_MAX_RATE:g} (one request every {1 / MIN_MAX_RATE:g} s), got {value!r}",
            argument=name,
            value=value,
        )
    return float(value)


def resolve_token(token: str | None, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    value = token if token is not None else env.get(TOKEN_ENV)
    # value=None in every error below: the token is never carried by an exception.
    if not value:
        raise InvalidArgumentError(
            f"token is missing: pass one, or set the {TOKEN_ENV} environment variable", argument="token"
        )
    if not isinstance(value, str):
        raise InvalidArgumentError(f"token must be a string, got {type(value).__name__}", argument="token")
    for position, char in enumerate(value):
        if not "\x21" <= char <= "\x7e":  # visible ASCII only (RFC 6750's b64token is a subset)
            raise InvalidArgumentError(
                f"token contains {_odd(char)} at position {position}; a token is visible "
                "ASCII characters only (the token is not shown here)",
                argument="token",
            )
    return value


def _odd(char: str) -> str:
    """What is wrong with a character of the token, without showing it."""
    if char == " ":
        return "a space"
    if char.isascii():
        return "a control character"
    return "a non-ASCII character"


LOCALHOST = "localhost"
LOCALHOST_ADDRESS = "127.0.0.1"
"""Where ``http://localhost`` is connected: the client never asks DNS about ``localhost``."""


def is_loopback(host: str) -> bool:
    """Whether plain http:// may carry the token to ``host``: a literal loopback address
    (127.0.0.0/8, ::1) or ``localhost`` itself, which the client connects to without DNS. Names
    that DNS resolves (``foo.localhost``, ``localhost.``) are not: a resolver would choose where the
    clear-text token goes."""
    if host.lower() == LOCALHOST:
        return True
    try:
        return ipaddress.ip_address(host.removeprefix("[").removesuffix("]")).is_loopback
    except ValueError:
        return False


def connect_address(base_url: str) -> tuple[str, dict[str, str]]:
    """The base URL to connect to, and the ``Host`` header to send with it.

    ``http://localhost[:port]`` is connected at 127.0.0.1 with ``Host: localhost[:port]`` (no DNS
    lookup, as browsers treat ``localhost``); any other base URL as it is, with httpx's own Host.
    """
    url = httpx.URL(base_url)
    if url.scheme == "http" and url.host.lower() == LOCALHOST:
        return str(url.copy_with(host=LOCALHOST_ADDRESS)).rstrip("/"), {"Host": url.netloc.decode("ascii")}
    return base_url, {}


def resolve_base_url(base_url: str | None, environment: str, environ: Mapping[str, str] | None = None) -> str:
    """``base_url``, else ``SHORTPEN_BASE_URL``, else ``https://{environment}.shortpen.com``.

    Only ``https://`` is accepted, except plain ``http://`` to a loopback host (a local fake).
    The URL may not carry credentials (they would show wherever the URL is logged).
    """
    if environment not in ENVIRONMENTS:
        raise InvalidArgumentError(
            f"environment must be one of {', '.join(ENVIRONMENTS)}; got {environment!r}",
            argument="environment",
            value=environment,
        )
    env = os.environ if environ is None else environ
    # What the errors name: the argument, or the variable the URL was read from.
    name = "base_url" if base_url is not None else BASE_URL_ENV
    raw = base_url if base_url is not None else env.get(BASE_URL_ENV) or f"https://{environment}.shortpen.com"
    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, TypeError) as exc:
        raise InvalidArgumentError(
            f"{name} is not a valid URL: {raw!r} ({exc})", argument=name, value=raw
        ) from None
    if url.scheme not in {"http", "https"} or not url.host:
        raise InvalidArgumentError(
            f"{name} must be an https:// URL with a host, got {raw!r}", argument=name, value=raw
        )
    if url.scheme == "http" and not is_loopback(url.host):
        raise InvalidArgumentError(
            f"{name} is plain http:// to {url.host}: refusing to send the token over it; use https:// "
            "(http:// is only allowed to a loopback address, 127.0.0.0/8 or ::1, or to localhost)",
            argument=name,
            value=raw,
        )
    if url.userinfo:  # value=None: the URL holds a credential
        raise InvalidArgumentError(
            f"{name} must not contain credentials: give the token on its own", argument=name
        )
    if url.query or url.fragment:
        raise InvalidArgumentError(
            f"{name} must not have a query or fragment, got {raw!r}", argument=name, value=raw
        )
    return str(url).rstrip("/")


_PROXY_POOLS: Final = (
    httpcore.HTTPProxy,
    httpcore.SOCKSProxy,
    httpcore.AsyncHTTPProxy,
    httpcore.AsyncSOCKSProxy,
)


def check_not_proxied(http_client: httpx.Client | httpx.AsyncClient, url: str) -> None:
    """Refuse the user's own ``http_client`` when it would send a plain ``http://`` ``url`` through a
    proxy (which would read the token in clear): a proxy from ``HTTP_PROXY``/``ALL_PROXY`` (with
    ``trust_env``), from ``proxy=``, or any transport mounted for the URL; or a default transport
    that is itself a proxy. ``https://`` URLs are not checked: a proxy only tunnels their TLS.
    """
    if not url.startswith("http://"):
        return
    # httpx has no public way to ask which transport a URL will use: ``_transport_for_url`` is what
    # ``Client.send`` itself calls (httpx 0.28), and an httpx transport's ``_pool`` is its httpcore
    # pool, a proxy when it was made with ``proxy=``. The one place this package reads them.
    transport = http_client._transport_for_url(httpx.URL(url))
    mounted = transport is not http_client._transport
    if mounted or isinstance(getattr(transport, "_pool", None), _PROXY_POOLS):
        how = "a transport mounted for it" if mounted else "its transport, which is a proxy"
        raise InvalidArgumentError(
            f"http_client would send plain {httpx.URL(url).copy_with(path='/')} through {how} "
            "(a proxy from HTTP_PROXY/ALL_PROXY, proxy= or mounts=), which would see the token in "
            "clear: use trust_env=False, add the host to NO_PROXY, or no proxy for it"
        )
