"""The public surface is ``shortpen_api_client.__all__``: complete, sorted, importable."""

from __future__ import annotations

import types

import shortpen_api_client


def test_all_is_sorted() -> None:
    assert shortpen_api_client.__all__ == sorted(shortpen_api_client.__all__)


def test_all_names_exist() -> None:
    for name in shortpen_api_client.__all__:
        assert hasattr(shortpen_api_client, name), name


def is_submodule(name: str, value: object) -> bool:
    """``pkg.errors`` appears as an attribute once imported; that is not a re-export."""
    return isinstance(value, types.ModuleType) and value.__name__ == f"{shortpen_api_client.__name__}.{name}"


def test_all_is_complete() -> None:
    public = {
        name
        for name, value in vars(shortpen_api_client).items()
        if not name.startswith("_") and not is_submodule(name, value)
    }
    assert public | {"__version__"} == set(shortpen_api_client.__all__)


def test_generated_layer_is_reachable_through_a_public_name() -> None:
    from shortpen_api_client import generated
    from shortpen_api_client.generated import AuthenticatedClient, get_analytics, models

    assert callable(get_analytics.sync_detailed)
    assert callable(get_analytics.asyncio_detailed)
    assert AuthenticatedClient.__module__ == "shortpen_api_client._generated.client"
    assert models.AnalyticsEvent is shortpen_api_client.AnalyticsEvent  # the facade reuses, never copies
    assert sorted(generated.__all__) == generated.__all__
