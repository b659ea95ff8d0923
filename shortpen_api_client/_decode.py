"""Turning response bytes into events or into the right exception. Pure: no I/O.

A 200 must be the documented ``AnalyticsResponse`` envelope (``success: true`` and a ``data``
list); anything else (HTML from a proxy, truncated or invalid JSON, ``success: false``) is an
``InvalidResponseError``, never an empty window. Error statuses become the ``APIStatusError``
subclass for the status, carrying the server's ``message`` when the body is the ``ErrorResponse``
envelope.

``iter_models`` turns a window's decoded events into the generated ``AnalyticsEvent`` models, equal
to ``AnalyticsEvent.from_dict`` of each, about twice as fast.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final

import attrs

from ._generated.models import AnalyticsEvent
from ._redact import excerpt, scrub
from ._schema import BY_NAME, EVENT_NAMES
from .errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    DateRange,
    InvalidResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
)

try:  # orjson (the `speedups` extra) decodes these payloads several times faster than json
    import orjson

    _loads: Callable[[bytes], Any] = orjson.loads
    JSONDecodeError: type[ValueError] = orjson.JSONDecodeError
except ImportError:  # pragma: no cover - exercised in a subprocess (tests/test_without_orjson.py)
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


def _describe(content: bytes, content_type: str, secret: str | None) -> str:
    """A short, safe description of a body that is not what we expected (scrubbed, then cut)."""
    kind = content_type.split(";", 1)[0].strip() or "no content type"
    return (
        f"{len(content)} bytes of {kind}, starting {excerpt(content, secret)!r}"
        if content
        else f"an empty body ({kind})"
    )


def decode_events(
    content: bytes, *, content_type: str = "", window: DateRange | None = None, secret: str | None = None
) -> list[Event]:
    """The ``data`` list of a 200 ``AnalyticsResponse``; ``InvalidResponseError`` for anything else.
    Server text quoted in the error has ``secret`` (the token) and bearer credentials taken out."""
    try:
        document = loads(content)
    except (JSONDecodeError, UnicodeDecodeError):
        raise InvalidResponseError(
            f"a 200 response that is not valid JSON ({_describe(content, content_type, secret)})",
            window=window,
        ) from None
    if not isinstance(document, dict):
        raise InvalidResponseError(
            f"a 200 response whose JSON is a {type(document).__name__}, not the envelope", window=window
        )
    if document.get("success") is not True:
        message = scrub(str(document.get("message") or "no message"), secret)
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
    window: DateRange | None = None,
    secret: str | None = None,
) -> APIStatusError:
    """The exception for an error status, with the server's ``message`` when it sent the envelope
    (``secret``, the token, and bearer credentials taken out of whatever server text it quotes)."""
    message = None
    try:
        document = loads(content)
    except (JSONDecodeError, UnicodeDecodeError):
        document = None
    if isinstance(document, dict) and isinstance(document.get("message"), str) and document["message"]:
        message = scrub(document["message"], secret)
    if message is None:
        message = _describe(content, content_type, secret)
    cls = _STATUS_ERRORS.get(status_code, ServerError if status_code >= 500 else APIStatusError)
    return cls(status_code, message, window=window, retry_after=retry_after)


# -- events to models ---------------------------------------------------------------------------------


def _builder_source(init: Sequence[str]) -> str:
    """Source of ``build(event)``: ``AnalyticsEvent(...)`` with positional arguments in the model's
    ``__init__`` order (keywords cost half as much again), each read from the event by the derived
    schema: a required key by subscription, an optional one by ``get`` (absent and null are None),
    dates and date-times parsed as the generated ``from_dict`` parses them."""
    args = []
    for name in init:
        field = BY_NAME[name]
        value = f"event[{name!r}]" if field.required else f"get({name!r})"
        parse = {"datetime": "parse_datetime", "date": "parse_date"}.get(field.kind)
        if parse is not None:
            value = (
                f"{parse}({value})" if field.required else f"(None if (v := {value}) is None else {parse}(v))"
            )
        args.append(value)
    return "def build(event, get):\n    return cls(" + ", ".join(args) + ")\n"


def _compile_builder() -> Callable[[Event, Callable[[str], Any]], AnalyticsEvent]:
    init = [a.name for a in attrs.fields(AnalyticsEvent) if a.init]
    namespace: dict[str, Any] = {
        "cls": AnalyticsEvent,
        "parse_datetime": dt.datetime.fromisoformat,
        "parse_date": dt.date.fromisoformat,
    }
    exec(compile(_builder_source(init), "<shortpen_api_client._decode.build>", "exec"), namespace)  # noqa: S102  (our own source, from the derived schema, as attrs does for __init__)
    build: Callable[[Event, Callable[[str], Any]], AnalyticsEvent] = namespace["build"]
    return build


_build = _compile_builder()
_KNOWN: Final = frozenset(EVENT_NAMES)


def iter_models(events: Sequence[Event]) -> Iterator[AnalyticsEvent]:
    """``AnalyticsEvent.from_dict(event)`` for each event, built faster, one at a time.

    Lazily, on purpose: a model is a garbage-collected object, so a window of them built ahead of the
    consumer would be promoted to the oldest GC generation and rescanned by every full collection
    (this cost more than building them); built as the consumer asks, each dies young.

    Per window, not per event: whether any event has keys the spec does not define (only then are
    they gathered into ``additional_properties``, in the order received, as ``from_dict`` does). An
    event the fast path cannot take (a missing required key, a ``created_at`` that is not ISO 8601, an
    item that is not an object) goes through ``from_dict``, which raises exactly what it raises.
    """
    try:
        extras = not _KNOWN.issuperset(set().union(*events))
    except Exception:  # an item that is not a mapping of keys: the loop sends it to from_dict
        extras = True
    build = _build
    known = _KNOWN
    for event in events:
        try:
            model = build(event, event.get)
            if extras:
                model.additional_properties = {k: v for k, v in event.items() if k not in known}
        except (KeyError, TypeError, ValueError, AttributeError):
            model = AnalyticsEvent.from_dict(event)
        yield model


def checked_models(window: DateRange, models: Iterator[AnalyticsEvent]) -> Iterator[AnalyticsEvent]:
    """``models``, with an event the spec's model cannot hold (a required field missing, a
    ``created_at`` that is not a date-time) reported as the server's fault: ``InvalidResponseError``
    naming the window, not a bare ``KeyError``."""
    try:
        yield from models
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidResponseError(
            f"an event that does not fit the spec's AnalyticsEvent ({type(exc).__name__}: {exc})",
            window=window,
        ) from exc
