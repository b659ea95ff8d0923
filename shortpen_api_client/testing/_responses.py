"""The bodies the fake answers with: the spec's envelopes, and the HTML pages of gateways in front of it.

A response may also carry :class:`Effects` (in ``response.extensions``): what the way in (the
transport or the server) does on the wire besides sending it: wait first, drip it, cut it off.
"""

from __future__ import annotations

from typing import Final

import attrs
import httpx

from . import _json

JSON: Final = "application/json"
HTML: Final = "text/html"

EFFECTS_KEY: Final = "shortpen_api_client.testing.effects"

OK_PREFIX: Final = b'{"success":true,"status_code":200,"message":"","data":['
OK_SUFFIX: Final = b"]}"


@attrs.frozen(kw_only=True)
class Effects:
    """How a response goes on the wire. The handler decides; the ways in carry it out."""

    delay: float = 0.0
    """Seconds to wait before the status line."""
    drip_chunks: int = 0
    """Send the body in this many pieces ..."""
    drip_interval: float = 0.0
    """... waiting this many seconds before each piece after the first."""
    truncated: bool = False
    """The body is shorter than its Content-Length: send it, then close the connection."""


NO_EFFECTS: Final = Effects()


def effects_of(response: httpx.Response) -> Effects:
    effects = response.extensions.get(EFFECTS_KEY, NO_EFFECTS)
    assert isinstance(effects, Effects)  # noqa: S101 - only this package sets the key
    return effects


def ok_body(fragments: list[bytes]) -> bytes:
    """The ``AnalyticsResponse`` envelope around serialized events (fragments without brackets)."""
    return b"".join((OK_PREFIX, b",".join(f for f in fragments if f), OK_SUFFIX))


def json_response(
    status: int, content: bytes, *, headers: dict[str, str] | None = None, effects: Effects = NO_EFFECTS
) -> httpx.Response:
    extensions = {EFFECTS_KEY: effects} if effects != NO_EFFECTS else None
    return httpx.Response(
        status, headers={"content-type": JSON, **(headers or {})}, content=content, extensions=extensions
    )


def envelope(status_code: int, message: str) -> bytes:
    """The ``ErrorResponse`` envelope (``data`` is null)."""
    return _json.dumps({"success": False, "status_code": status_code, "message": message, "data": None})


def error_response(status: int, message: str, *, headers: dict[str, str] | None = None) -> httpx.Response:
    return json_response(status, envelope(status, message), headers=headers)


def html_response(status: int, page: bytes, *, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, headers={"content-type": HTML, **(headers or {})}, content=page)


def gateway_page(status: int) -> bytes:
    """The page nginx serves for a gateway error, e.g. ``504 Gateway Time-out``."""
    reason = "Gateway Time-out" if status == 504 else httpx.codes.get_reason_phrase(status)
    title = f"{status} {reason}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    ).encode()


MAINTENANCE_PAGE: Final = (
    b'<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>ShortPen</title></head>\n'
    b"<body><h1>We'll be right back</h1><p>ShortPen is undergoing scheduled maintenance.</p></body>\n"
    b"</html>\n"
)
