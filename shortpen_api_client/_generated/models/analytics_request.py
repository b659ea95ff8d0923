from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="AnalyticsRequest")


@_attrs_define
class AnalyticsRequest:
    """
    Attributes:
        start (datetime.date): Inclusive start date for the time range.
        end (datetime.date): Inclusive end date for the time range.
        workspace_id (int | None): Workspace scope. Defaults to the first workspace when omitted.
        url_id (int | None): Optional link ID filter to narrow analytics.
    """

    start: datetime.date
    end: datetime.date
    workspace_id: int | None = None
    url_id: int | None = None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        start = self.start.isoformat()

        end = self.end.isoformat()

        workspace_id = self.workspace_id

        url_id = self.url_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "start": start,
                "end": end,
            }
        )
        if workspace_id is not None:
            field_dict["workspace_id"] = workspace_id
        if url_id is not None:
            field_dict["url_id"] = url_id

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        start = datetime.date.fromisoformat(d.pop("start"))

        end = datetime.date.fromisoformat(d.pop("end"))

        workspace_id = d.pop("workspace_id", None)

        url_id = d.pop("url_id", None)

        analytics_request = cls(
            start=start,
            end=end,
            workspace_id=workspace_id,
            url_id=url_id,
        )

        analytics_request.additional_properties = d
        return analytics_request

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
