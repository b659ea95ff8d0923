from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.analytics_event import AnalyticsEvent


T = TypeVar("T", bound="AnalyticsResponse")


@_attrs_define
class AnalyticsResponse:
    """
    Attributes:
        success (bool):  Example: True.
        status_code (int):  Example: 200.
        data (list[AnalyticsEvent]):
        message (str | None):
    """

    success: bool
    status_code: int
    data: list[AnalyticsEvent]
    message: str | None = None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        success = self.success

        status_code = self.status_code

        data = []
        for data_item_data in self.data:
            data_item = data_item_data.to_dict()
            data.append(data_item)

        message = self.message

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "success": success,
                "status_code": status_code,
                "data": data,
            }
        )
        if message is not None:
            field_dict["message"] = message

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.analytics_event import AnalyticsEvent

        d = dict(src_dict)
        success = d.pop("success")

        status_code = d.pop("status_code")

        data = []
        _data = d.pop("data")
        for data_item_data in _data:
            data_item = AnalyticsEvent.from_dict(data_item_data)

            data.append(data_item)

        message = d.pop("message", None)

        analytics_response = cls(
            success=success,
            status_code=status_code,
            data=data,
            message=message,
        )

        analytics_response.additional_properties = d
        return analytics_response

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
