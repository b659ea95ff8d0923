"""Turning response bytes into events or into the right exception. Pure: no I/O.

A 200 must be the documented ``AnalyticsResponse`` envelope (``success: true`` and a ``data``
list); anything else (HTML from a proxy, truncated or invalid JSON, ``success: false``) is an
``InvalidResponseError``, never an empty window. Error statuses become the ``APIStatusError``
subclass for the status, carrying the server's ``message`` when the body is the ``ErrorResponse``
envelope.

``iter_models`` turns a window's decoded events into the generated ``AnalyticsEvent`` models, equal
to ``AnalyticsEvent.from_dict`` of each, about twice as fast.

Numbers are never changed on the way: orjson reads an integer beyond 64 bits as a float, so
``LOSSY_INTEGERS`` tells the window checks (``_edges.checked``) to decode such a body again with
:func:`loads_exact` (the standard library, exact integers). A body nested deeper than the decoder's
limit (orjson: 1024 levels; the standard library: Python's recursion limit) is invalid JSON here,
never a ``RecursionError``; ``NaN`` and ``Infinity``, which only the standard library reads, are too.
"""

from __future__ import annotations

import collections
import datetime as dt
import itertools
import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final

import attrs

from ._generated.models import AnalyticsEvent
from ._redact import excerpt, scrub
from ._schema import BY_NAME, EVENT_NAMES, TIMESTAMP
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


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_STDLIB_DECODER: Final = json.JSONDecoder(parse_constant=_no_constant)


def loads_exact(content: bytes | str) -> Any:
    """Parse JSON with the standard library: integers of any size exactly; ``ValueError`` (never
    ``RecursionError``) for a document nested too deep."""
    try:
        return _STDLIB_DECODER.decode(content.decode() if isinstance(content, bytes) else content)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise json.JSONDecodeError("nested deeper than the decoder's limit", "", 0) from None
    except ValueError as exc:  # not UTF-8, NaN, Infinity
        raise json.JSONDecodeError(str(exc), "", 0) from None


try:  # orjson (the `speedups` extra) decodes these payloads several times faster than json
    import orjson

    _loads: Callable[[bytes], Any] = orjson.loads
    LOSSY_INTEGERS: Final = True
except ImportError:  # pragma: no cover - exercised in a subprocess (tests/test_without_orjson.py)
    _loads = loads_exact
    LOSSY_INTEGERS = False  # type: ignore[misc]  # one of two definitions, by what is installed

JSONDecodeError: Final = json.JSONDecodeError
"""What both decoders raise for text that is not JSON (orjson's error is a subclass)."""

FALLBACKS: Final[collections.Counter[str]] = collections.Counter()
"""How often a fast path handed a window (``"arrow"``: ``_arrow.body_to_table``) or an event
(``"model"``: the model builder) to the general path: a debug hook that tests read."""

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


def exact_events(content: bytes) -> list[Event]:
    """The ``data`` list of a body already read once, decoded again with exact integers."""
    data: list[Event] = loads_exact(content)["data"]
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
    dates and date-times parsed as the generated ``from_dict`` parses them; ``created_at`` is passed
    in as ``at`` (the window checks parsed it already, with the same parser), or parsed when None."""
    args = []
    for name in init:
        field = BY_NAME[name]
        value = f"event[{name!r}]" if field.required else f"get({name!r})"
        parse = {"datetime": "parse_datetime", "date": "parse_date"}.get(field.kind)
        if name == TIMESTAMP:
            value = f"(parse_datetime({value}) if at is None else at)"
        elif parse is not None:
            value = (
                f"{parse}({value})"
                if field.required and not field.nullable
                else f"(None if (v := {value}) is None else {parse}(v))"
            )
        args.append(value)
    return "def build(event, get, at):\n    return cls(" + ", ".join(args) + ")\n"


def _compile_builder() -> Callable[[Event, Callable[[str], Any], dt.datetime | None], AnalyticsEvent]:
    init = [a.name for a in attrs.fields(AnalyticsEvent) if a.init]
    namespace: dict[str, Any] = {
        "cls": AnalyticsEvent,
        "parse_datetime": dt.datetime.fromisoformat,
        "parse_date": dt.date.fromisoformat,
    }
    exec(compile(_builder_source(init), "<shortpen_api_client._decode.build>", "exec"), namespace)  # noqa: S102  (our own source, from the derived schema, as attrs does for __init__)
    build: Callable[[Event, Callable[[str], Any], dt.datetime | None], AnalyticsEvent] = namespace["build"]
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
    unknown = getattr(events, "unknown", None)  # known already when the window was checked (_edges)
    try:
        if unknown is None:
            unknown = frozenset(set().union(*events) - _KNOWN)
    except Exception:  # an item that is not a mapping of keys: the loop sends it to from_dict
        unknown = frozenset(("?",))
    instants = getattr(events, "instants", None) or itertools.repeat(None)
    build = _build
    is_unknown = unknown.__contains__
    for event, at in zip(events, instants):  # noqa: B905  (instants: one per event, or endless None)
        try:
            model = build(event, event.get, at)
            if unknown:  # the keys the spec does not define, in the order received (as from_dict)
                model.additional_properties = {k: event[k] for k in filter(is_unknown, event)}
        except (KeyError, TypeError, ValueError, AttributeError):
            FALLBACKS["model"] += 1
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
