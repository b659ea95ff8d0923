"""Validation of the ``AnalyticsRequest`` body, the way the API answers it: 400 naming the field."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Final

import attrs

from . import _json
from ._data import WORKSPACES

_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class BadRequest(Exception):
    """A 400; ``message`` starts with the field it is about, e.g. ``"end: must be ..."``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@attrs.frozen
class Query:
    """A valid request: one workspace (by index and id), an optional link, an inclusive date range."""

    workspace_index: int
    url_id: int | None
    start: dt.date
    end: dt.date

    @property
    def workspace_id(self) -> int:
        return WORKSPACES[self.workspace_index].workspace_id


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def _date(body: dict[str, Any], field: str) -> dt.date:
    if field not in body:
        raise BadRequest(f"{field}: is required")
    value = body[field]
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise BadRequest(f"{field}: must be a date in YYYY-MM-DD format, got {_short(value)}")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{field}: {value} is not a valid date") from None


def _optional_int(body: dict[str, Any], field: str) -> int | None:
    if field not in body:
        return None
    value = body[field]
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadRequest(f"{field}: must be an integer, got {_short(value)}")
    return value


def parse_json(content: bytes) -> Any:
    """The parsed body, or :class:`BadRequest` if it is not JSON."""
    if not content.strip():
        raise BadRequest("body: is required (a JSON object with start and end)")
    try:
        return _json.loads(content)
    except ValueError:
        raise BadRequest("body: is not valid JSON") from None


def parse_query(body: Any) -> Query:
    """Check a parsed body in the API's order: start, end, their order, workspace_id, url_id."""
    if not isinstance(body, dict):
        raise BadRequest("body: must be a JSON object")
    start = _date(body, "start")
    end = _date(body, "end")
    if end < start:
        raise BadRequest(f"end: must be on or after start ({start.isoformat()})")
    workspace_id = _optional_int(body, "workspace_id")
    if workspace_id is None:
        index = 0
    else:
        ids = [w.workspace_id for w in WORKSPACES]
        if workspace_id not in ids:
            raise BadRequest(f"workspace_id: unknown workspace {workspace_id} (not in this organization)")
        index = ids.index(workspace_id)
    url_id = _optional_int(body, "url_id")
    return Query(workspace_index=index, url_id=url_id, start=start, end=end)
