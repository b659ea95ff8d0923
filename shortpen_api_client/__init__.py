"""Typed Python client for ShortPen's click analytics API.

from shortpen_api_client import ShortPen

with ShortPen() as client:  # token from SHORTPEN_TOKEN
    for event in client.clicks("2025-01-01", "2025-03-31"):
        ...
"""

from ._async_client import AsyncShortPen
from ._client import ShortPen
from ._engine import Progress
from ._generated.models import AnalyticsEvent, AnalyticsRequest, AnalyticsResponse, ErrorResponse
from ._jobs import ExportReport, SyncReport
from ._retry import RetryPolicy
from ._spec import SPEC_SHA256, SPEC_VERSION
from ._version import __version__
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    DatasetLockedError,
    DatasetSchemaError,
    InvalidArgumentError,
    InvalidResponseError,
    NotFoundError,
    RateLimitError,
    RequestBudgetExceededError,
    ResponseTooLargeError,
    ServerError,
    ShortPenError,
    WindowTooLargeError,
)

__all__ = [
    "SPEC_SHA256",
    "SPEC_VERSION",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AnalyticsEvent",
    "AnalyticsRequest",
    "AnalyticsResponse",
    "AsyncShortPen",
    "AuthenticationError",
    "BadRequestError",
    "DatasetLockedError",
    "DatasetSchemaError",
    "ErrorResponse",
    "ExportReport",
    "InvalidArgumentError",
    "InvalidResponseError",
    "NotFoundError",
    "Progress",
    "RateLimitError",
    "RequestBudgetExceededError",
    "ResponseTooLargeError",
    "RetryPolicy",
    "ServerError",
    "ShortPen",
    "ShortPenError",
    "SyncReport",
    "WindowTooLargeError",
    "__version__",
]
__all__.sort()
