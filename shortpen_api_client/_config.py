"""Argument validation and configuration resolution. Pure: runs before any request is sent."""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
import os
import re
from collections.abc import Mapping

import httpx

from .errors import InvalidArgumentError

ENVIRONMENTS = ("api", "staging-api")
TOKEN_ENV = "SHORTPEN_TOKEN"  # noqa: S105  (the variable's name, not a secret)
BASE_URL_ENV = "SHORTPEN_BASE_URL"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date(value: object, name: str) -> dt.date:
    """A ``datetime.date`` or a strict ``"YYYY-MM-DD"`` string naming a real day."""
    if isinstance(value, dt.datetime):
        raise InvalidArgumentError(
            f"{name} must be a date, not a datetime ({value!r}): give {value.date().isoformat()!r}",
            argument=name,
            value=value,
        )
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        if _DATE.fullmatch(value):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        raise InvalidArgumentError(
            f"{name} must be a real date as YYYY-MM-DD, got {value!r}", argument=name, value=value
        )
    raise InvalidArgumentError(
        f"{name} must be a datetime.date or a 'YYYY-MM-DD' string, got {value!r}", argument=name, value=value
    )


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


def check_int(value: object, name: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidArgumentError(
            f"{name} must be an integer >= {minimum}, got {value!r}", argument=name, value=value
        )
    return value


def check_seconds(value: object, name: str, *, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise InvalidArgumentError(
            f"{name} must be a positive number of seconds, got {value!r}", argument=name, value=value
        )
    return float(value)


def check_rate(value: object, name: str) -> float | None:
    """An optional positive, finite number (of requests a second)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise InvalidArgumentError(
            f"{name} must be a positive number of requests a second, got {value!r}",
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
