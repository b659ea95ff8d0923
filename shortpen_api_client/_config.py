"""Argument validation and configuration resolution. Pure: runs before any request is sent."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
from collections.abc import Mapping

import httpx

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
            f"{name} must be a date, not a datetime ({value!r}): pass {value.date().isoformat()!r}"
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
        raise InvalidArgumentError(f"{name} must be a real date as YYYY-MM-DD, got {value!r}")
    raise InvalidArgumentError(f"{name} must be a datetime.date or a 'YYYY-MM-DD' string, got {value!r}")


def _in_range(value: dt.date, name: str) -> dt.date:
    if not FIRST_DATE <= value <= LAST_DATE:
        raise InvalidArgumentError(
            f"{name} must be between {FIRST_DATE} and {LAST_DATE}, got {value.isoformat()}"
        )
    return value


def parse_range(start: object, end: object) -> tuple[dt.date, dt.date]:
    first, last = parse_date(start, "start"), parse_date(end, "end")
    if first > last:
        raise InvalidArgumentError(f"start ({first}) is after end ({last})")
    return first, last


def check_id(value: object, name: str) -> int | None:
    """An optional positive integer id (``True`` is not an id)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(f"{name} must be a positive integer, got {value!r}")
    if value < 1:
        raise InvalidArgumentError(f"{name} must be a positive integer, got {value}")
    return value


def check_int(value: object, name: str, *, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidArgumentError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise InvalidArgumentError(f"{name} must be an integer <= {maximum:_}, got {value:_}")
    return value


def check_seconds(value: object, name: str, *, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= MAX_SECONDS:
        raise InvalidArgumentError(
            f"{name} must be a positive number of seconds, at most {MAX_SECONDS:_}, got {value!r}"
        )
    return float(value)


def resolve_token(token: str | None, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    value = token if token is not None else env.get(TOKEN_ENV)
    if not value:
        raise InvalidArgumentError(
            f"no API token: pass token=... or set the {TOKEN_ENV} environment variable"
        )
    if not isinstance(value, str) or value != value.strip() or any(c in value for c in "\r\n"):
        raise InvalidArgumentError(
            "the API token must be a string without surrounding whitespace or newlines"
        )
    return value


def is_loopback(host: str) -> bool:
    if host.lower() in {"localhost", "localhost."} or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_base_url(base_url: str | None, environment: str, environ: Mapping[str, str] | None = None) -> str:
    """``base_url``, else ``SHORTPEN_BASE_URL``, else ``https://{environment}.shortpen.com``.

    Only ``https://`` is accepted, except plain ``http://`` to a loopback host (a local fake).
    The URL may not carry credentials (they would show wherever the URL is logged).
    """
    if environment not in ENVIRONMENTS:
        raise InvalidArgumentError(
            f"environment must be one of {', '.join(ENVIRONMENTS)}; got {environment!r}"
        )
    env = os.environ if environ is None else environ
    raw = base_url if base_url is not None else env.get(BASE_URL_ENV) or f"https://{environment}.shortpen.com"
    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, TypeError) as exc:
        raise InvalidArgumentError(f"base_url is not a valid URL: {raw!r} ({exc})") from None
    if url.scheme not in {"http", "https"} or not url.host:
        raise InvalidArgumentError(f"base_url must be an https:// URL with a host, got {raw!r}")
    if url.scheme == "http" and not is_loopback(url.host):
        raise InvalidArgumentError(
            f"refusing to send the token over plain http:// to {url.host}; use https:// "
            "(http:// is only allowed for loopback hosts such as 127.0.0.1)"
        )
    if url.userinfo:
        raise InvalidArgumentError("base_url must not contain credentials; pass token=... instead")
    if url.query or url.fragment:
        raise InvalidArgumentError(f"base_url must not have a query or fragment, got {raw!r}")
    return str(url).rstrip("/")
