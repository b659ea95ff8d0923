"""Turning response bytes into events or into the right exception. Pure: no I/O.

A 200 must be the documented ``AnalyticsResponse`` envelope (``success: true`` and a ``data``
list); anything else (HTML from a proxy, truncated or invalid JSON, ``success: false``) is an
``InvalidResponseError``, never an empty window. Error statuses become the ``APIStatusError``
subclass for the status, carrying the server's ``message`` when the body is the ``ErrorResponse``
envelope.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    InvalidResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
    Window,
)

try:  # orjson (the `speedups` extra) decodes these payloads several times faster than json
    import orjson

    _loads: Callable[[bytes], Any] = orjson.loads
    JSONDecodeError: type[ValueError] = orjson.JSONDecodeError
except ImportError:  # pragma: no cover - exercised by the packaging test's core-only install
    import json

    _loads = json.loads
    JSONDecodeError = ValueError

Event = dict[str, Any]

_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    404: NotFoundError,
    429: RateLimitError,
}


def loads(content: bytes) -> Any:
    """Parse JSON bytes (orjson when installed, else the standard library)."""
    return _loads(content)


def _describe(content: bytes, content_type: str) -> str:
    """A short, safe description of a body that is not what we expected."""
    kind = content_type.split(";", 1)[0].strip() or "no content type"
    head = content[:80].decode("utf-8", "replace").replace("\n", " ").strip()
    return f"{len(content)} bytes of {kind}, starting {head!r}" if content else f"an empty body ({kind})"


def decode_events(content: bytes, *, content_type: str = "", window: Window | None = None) -> list[Event]:
    """The ``data`` list of a 200 ``AnalyticsResponse``; ``InvalidResponseError`` for anything else."""
    try:
        document = loads(content)
    except (JSONDecodeError, UnicodeDecodeError):
        raise InvalidResponseError(
            f"a 200 response that is not valid JSON ({_describe(content, content_type)})", window=window
        ) from None
    if not isinstance(document, dict):
        raise InvalidResponseError(
            f"a 200 response whose JSON is a {type(document).__name__}, not the envelope", window=window
        )
    if document.get("success") is not True:
        message = document.get("message") or "no message"
        raise InvalidResponseError(
            f"a 200 response with success={document.get('success')!r}: {message}", window=window
        )
    data = document.get("data")
    if not isinstance(data, list):
        raise InvalidResponseError(
            f"a 200 response whose data is {type(data).__name__}, not a list of events", window=window
        )
    return data


def status_error(
    status_code: int,
    content: bytes,
    *,
    content_type: str = "",
    retry_after: float | None = None,
    window: Window | None = None,
) -> APIStatusError:
    """The exception for an error status, with the server's ``message`` when it sent the envelope."""
    message = None
    try:
        document = loads(content)
    except (JSONDecodeError, UnicodeDecodeError):
        document = None
    if isinstance(document, dict) and isinstance(document.get("message"), str) and document["message"]:
        message = document["message"]
    if message is None:
        message = _describe(content, content_type)
    cls = _STATUS_ERRORS.get(status_code, ServerError if status_code >= 500 else APIStatusError)
    return cls(status_code, message, window=window, retry_after=retry_after)
