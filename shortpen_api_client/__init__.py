"""Typed Python client for ShortPen's click analytics API."""

from ._generated.models import AnalyticsEvent, AnalyticsRequest, AnalyticsResponse, ErrorResponse
from ._spec import SPEC_SHA256, SPEC_VERSION
from ._version import __version__

__all__ = [
    "SPEC_SHA256",
    "SPEC_VERSION",
    "AnalyticsEvent",
    "AnalyticsRequest",
    "AnalyticsResponse",
    "ErrorResponse",
    "__version__",
]
__all__.sort()
