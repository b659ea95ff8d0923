"""Contains all the data models used in inputs/outputs"""

from .analytics_event import AnalyticsEvent
from .analytics_request import AnalyticsRequest
from .analytics_response import AnalyticsResponse
from .error_response import ErrorResponse

__all__ = (
    "AnalyticsEvent",
    "AnalyticsRequest",
    "AnalyticsResponse",
    "ErrorResponse",
)
