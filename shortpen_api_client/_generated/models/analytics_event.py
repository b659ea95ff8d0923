from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="AnalyticsEvent")


@_attrs_define
class AnalyticsEvent:
    """
    Attributes:
        id (int):  Example: 7301.
        workspace_id (int):  Example: 24.
        organization_id (int):  Example: 3.
        url_id (int):  Example: 501.
        domain (str):  Example: go.shortpen.com.
        created_at (datetime.datetime):
        url_slug (str | None):  Example: summer-2025.
        device_type (str | None):  Example: mobile.
        platform (str | None):  Example: iOS.
        browser (str | None):  Example: Safari.
        country (str | None):  Example: US.
        referrer (str | None):  Example: https://news.example.com.
    """

    id: int
    workspace_id: int
    organization_id: int
    url_id: int
    domain: str
    created_at: datetime.datetime
    url_slug: str | None = None
    device_type: str | None = None
    platform: str | None = None
    browser: str | None = None
    country: str | None = None
    referrer: str | None = None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        workspace_id = self.workspace_id

        organization_id = self.organization_id

        url_id = self.url_id

        domain = self.domain

        created_at = self.created_at.isoformat()

        url_slug = self.url_slug

        device_type = self.device_type

        platform = self.platform

        browser = self.browser

        country = self.country

        referrer = self.referrer

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "workspace_id": workspace_id,
                "organization_id": organization_id,
                "url_id": url_id,
                "domain": domain,
                "created_at": created_at,
            }
        )
        if url_slug is not None:
            field_dict["url_slug"] = url_slug
        if device_type is not None:
            field_dict["device_type"] = device_type
        if platform is not None:
            field_dict["platform"] = platform
        if browser is not None:
            field_dict["browser"] = browser
        if country is not None:
            field_dict["country"] = country
        if referrer is not None:
            field_dict["referrer"] = referrer

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        id = d.pop("id")

        workspace_id = d.pop("workspace_id")

        organization_id = d.pop("organization_id")

        url_id = d.pop("url_id")

        domain = d.pop("domain")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        url_slug = d.pop("url_slug", None)

        device_type = d.pop("device_type", None)

        platform = d.pop("platform", None)

        browser = d.pop("browser", None)

        country = d.pop("country", None)

        referrer = d.pop("referrer", None)

        analytics_event = cls(
            id=id,
            workspace_id=workspace_id,
            organization_id=organization_id,
            url_id=url_id,
            domain=domain,
            created_at=created_at,
            url_slug=url_slug,
            device_type=device_type,
            platform=platform,
            browser=browser,
            country=country,
            referrer=referrer,
        )

        analytics_event.additional_properties = d
        return analytics_event

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
