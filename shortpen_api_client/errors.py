"""The exceptions this package raises.

Every failure of a call is an exception, never ``None`` and never an empty window::

    ValueError
     └── InvalidArgumentError            bad argument or configuration, raised before any request
          ├── DatasetLockedError         another sync holds the dataset folder's lock
          └── DatasetSchemaError         the dataset folder was written under an incompatible spec
    ShortPenError                        base of everything the API (or talking to it) can cause
     ├── APIStatusError                  the server answered with an error status
     │    ├── BadRequestError            400 (never retried)
     │    ├── AuthenticationError        401 (never retried)
     │    ├── NotFoundError              404 (never retried)
     │    ├── RateLimitError             429 (retried, honouring Retry-After; never split)
     │    └── ServerError                5xx (500/502/503 retried; 504 retried, then split)
     ├── APIConnectionError              no usable response: refused, reset, dropped, truncated
     │    └── APITimeoutError            an attempt, or the whole call, ran out of time (``phase``)
     ├── InvalidResponseError            a 200 that is not the documented envelope (HTML, bad JSON,
     │                                   ``success: false``): retried like a transient fault
     ├── ResponseTooLargeError           a response past ``max_response_bytes``: the window is split
     ├── WindowTooLargeError             a one-day window the server still cannot answer
     └── RequestBudgetExceededError      a range spawned more requests than ``max_requests``

Each error raised while fetching carries ``window``: the inclusive ``(start, end)`` dates requested.
Messages never contain the token.
"""

from __future__ import annotations

import datetime as dt

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "DatasetLockedError",
    "DatasetSchemaError",
    "InvalidArgumentError",
    "InvalidResponseError",
    "NotFoundError",
    "RateLimitError",
    "RequestBudgetExceededError",
    "ResponseTooLargeError",
    "ServerError",
    "ShortPenError",
    "WindowTooLargeError",
]

DateRange = tuple[dt.date, dt.date]
"""The inclusive (start, end) dates of the window a request asked for."""


def _prefix(window: DateRange | None) -> str:
    if window is None:
        return ""
    start, end = window
    return f"{start.isoformat()}: " if start == end else f"{start.isoformat()}..{end.isoformat()}: "


class InvalidArgumentError(ValueError):
    """A bad argument or configuration; raised before any request is sent.

    ``argument`` names what is at fault as the Python API spells it (``"window_days"``, ``"output"``;
    ``"SHORTPEN_BASE_URL"`` for a value read from the environment), or is None when no single argument
    is; ``value`` is the value it was given (never the token: None for the token's errors). A message
    that names its argument starts with it (``window_days must be an integer >= 1, got 0``) and says
    the rest in plain words, without ``name=value`` syntax, so that a front end can put its own name
    for the argument in its place, as the ``shortpen`` command puts ``--window-days``.
    """

    argument: str | None
    value: object

    def __init__(self, message: str, *, argument: str | None = None, value: object = None) -> None:
        super().__init__(message)
        self.argument = argument
        self.value = value


class DatasetLockedError(InvalidArgumentError):
    """Another sync (in this process or another) is writing to the same dataset folder.

    Raised at once, before any request: one writer per folder. The CLI exits 2, as for bad input.
    """


class DatasetSchemaError(InvalidArgumentError):
    """The dataset folder's files were written under a spec whose event fields differ from this
    client's in a way its files cannot hold together (a field removed, renamed or retyped), or under
    another spec that did not record its fields.

    Raised when the sync opens the folder, before any request; the message names both specs and
    what to do (sync into another folder). The CLI exits 2, as for bad input.
    """


class ShortPenError(Exception):
    """Base class of every error caused by the API or by talking to it."""

    window: DateRange | None

    def __init__(self, message: str, *, window: DateRange | None = None) -> None:
        super().__init__(_prefix(window) + message)
        self.window = window


class APIStatusError(ShortPenError):
    """The server answered with an error status. ``message`` is the server's own message, if any."""

    status_code: int
    message: str
    retry_after: float | None

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        window: DateRange | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"HTTP {status_code}: {message}", window=window)
        self.status_code = status_code
        self.message = message
        self.retry_after = retry_after


class BadRequestError(APIStatusError):
    """400: the server rejected the request body."""


class AuthenticationError(APIStatusError):
    """401: the token is missing or invalid."""


class NotFoundError(APIStatusError):
    """404: the endpoint does not exist at this base URL."""


class RateLimitError(APIStatusError):
    """429: too many requests; ``retry_after`` holds the server's Retry-After, in seconds."""


class ServerError(APIStatusError):
    """5xx: the server (or a gateway in front of it) failed."""


class APIConnectionError(ShortPenError):
    """No usable response: connection refused, reset or dropped, or a truncated body."""


class APITimeoutError(APIConnectionError):
    """An attempt took longer than ``timeout``, or the call longer than ``total_timeout``.

    ``phase`` says where it stopped: ``"connect"`` or ``"pool"`` (no connection in time),
    ``"write"`` (the request could not be sent in time), ``"headers"`` (connected and sent, but no
    response had started: retried, never split, since nothing says the window is too large),
    ``"read"`` (the response had started but did not finish in time: retried, then the window is
    split), or ``"total"`` (the whole call's deadline passed: not retried).
    """

    phase: str

    def __init__(self, message: str, *, phase: str, window: DateRange | None = None) -> None:
        super().__init__(message, window=window)
        self.phase = phase


class InvalidResponseError(ShortPenError):
    """A 200 whose body is not the documented ``AnalyticsResponse`` envelope."""

    status_code: int

    def __init__(self, message: str, *, status_code: int = 200, window: DateRange | None = None) -> None:
        super().__init__(message, window=window)
        self.status_code = status_code


class ResponseTooLargeError(ShortPenError):
    """A response larger than ``max_response_bytes`` (counted after gzip/deflate decoding), or one
    whose ``Content-Length`` says so: reading stopped there. Treated like a 413: the window is split,
    and a one-day window raises ``WindowTooLargeError`` with this error as its cause."""

    limit: int
    declared: int | None
    """The ``Content-Length`` it announced, when that is what gave it away (nothing was read)."""
    detail: str

    def __init__(self, limit: int, *, declared: int | None = None, window: DateRange | None = None) -> None:
        self.detail = "reading stopped there" if declared is None else f"its Content-Length is {declared:,}"
        super().__init__(
            f"the response is larger than max_response_bytes={limit:,} ({self.detail})", window=window
        )
        self.limit = limit
        self.declared = declared


class WindowTooLargeError(ShortPenError):
    """A one-day window that the server still cannot answer; ``day`` names it, ``__cause__`` is why.
    ``limit`` is ``max_response_bytes`` when that is what the day's response exceeded (else None)."""

    day: dt.date
    limit: int | None

    def __init__(self, day: dt.date, cause: ShortPenError) -> None:
        reason = str(cause).removeprefix(_prefix(cause.window))
        if isinstance(cause, ResponseTooLargeError):
            message = (
                f"even this single day's response is larger than max_response_bytes={cause.limit:,} "
                f"bytes ({cause.detail}); raise max_response_bytes to fetch it"
            )
        else:
            message = (
                f"the server cannot answer even this single day ({reason}); "
                "it holds more clicks than one response can carry"
            )
        super().__init__(message, window=(day, day))
        self.day = day
        self.limit = cause.limit if isinstance(cause, ResponseTooLargeError) else None
        self.__cause__ = cause


class RequestBudgetExceededError(ShortPenError):
    """The range spawned more requests than the ``max_requests`` budget allows."""
