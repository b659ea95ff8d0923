"""``_decode.iter_models``: the fast way to the generated models is exactly ``AnalyticsEvent.from_dict``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shortpen_api_client import AnalyticsEvent
from shortpen_api_client._decode import iter_models

REQUIRED = ("id", "workspace_id", "organization_id", "url_id", "domain", "created_at")
OPTIONAL = ("url_slug", "device_type", "platform", "browser", "country", "referrer")
KNOWN = frozenset(REQUIRED + OPTIONAL)
ABSENT = object()

texts = st.text(max_size=8)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=4,
)
offsets = st.none() | st.integers(-14 * 60, 14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
created_ats = st.one_of(
    st.datetimes(timezones=offsets).map(lambda d: d.isoformat()),
    st.datetimes(timezones=offsets).map(
        lambda d: d.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    ),
    st.dates().map(dt.date.isoformat),
)


@st.composite
def events(draw: st.DrawFn, *, valid: bool = True) -> dict[str, Any]:
    """An event as a server might send it: optional keys absent or null, unknown keys, any key order
    (and, unless ``valid``, sometimes something ``from_dict`` refuses)."""
    fields: dict[str, Any] = {name: draw(json_values) for name in REQUIRED}
    fields["created_at"] = draw(created_ats)
    for name in OPTIONAL:
        value = draw(st.sampled_from([ABSENT, None]) | texts)
        if value is not ABSENT:
            fields[name] = value
    fields.update(draw(st.dictionaries(texts.filter(lambda k: k not in KNOWN), json_values, max_size=3)))
    if not valid:
        broken = draw(st.sampled_from(["missing", "created_at", "none"]))
        if broken == "missing":
            del fields[draw(st.sampled_from(REQUIRED))]
        else:
            fields["created_at"] = draw(texts) if broken == "created_at" else None
    keys = draw(st.permutations(list(fields)))
    return {key: fields[key] for key in keys}


def same(models: list[AnalyticsEvent], expected: list[AnalyticsEvent]) -> None:
    assert models == expected  # every field, additional_properties included
    assert all(type(m) is AnalyticsEvent for m in models)
    assert [list(m.additional_properties.items()) for m in models] == [
        list(e.additional_properties.items()) for e in expected
    ]  # unknown keys in the order received, as from_dict keeps them
    assert [m.to_dict() for m in models] == [e.to_dict() for e in expected]


@settings(max_examples=150, deadline=None)
@given(st.lists(events(), max_size=6))
def test_iter_models_equals_from_dict(batch: list[dict[str, Any]]) -> None:
    same(list(iter_models(batch)), [AnalyticsEvent.from_dict(event) for event in batch])


@settings(max_examples=100, deadline=None)
@given(st.lists(events().map(lambda e: {k: v for k, v in e.items() if k in KNOWN}), max_size=6))
def test_iter_models_equals_from_dict_without_unknown_keys(batch: list[dict[str, Any]]) -> None:
    same(list(iter_models(batch)), [AnalyticsEvent.from_dict(event) for event in batch])


def from_dict_error(batch: list[Any]) -> BaseException | None:
    try:
        [AnalyticsEvent.from_dict(event) for event in batch]
    except Exception as exc:
        return exc
    return None


@settings(max_examples=100, deadline=None)
@given(st.lists(events() | events(valid=False), min_size=1, max_size=4))
def test_events_from_dict_refuses_raise_what_from_dict_raises(batch: list[dict[str, Any]]) -> None:
    expected = from_dict_error(batch)
    if expected is None:
        same(list(iter_models(batch)), [AnalyticsEvent.from_dict(event) for event in batch])
        return
    with pytest.raises(type(expected)) as raised:
        list(iter_models(batch))
    assert str(raised.value) == str(expected)


@pytest.mark.parametrize("item", [None, 7, "text", ["id", 1]])
def test_an_item_that_is_not_an_object_raises_what_from_dict_raises(item: Any) -> None:
    expected = from_dict_error([item])
    assert expected is not None
    with pytest.raises(type(expected)):
        list(iter_models([item]))


def test_the_fakes_events_become_the_same_models() -> None:
    from shortpen_api_client.testing import FakeShortPen

    batch = FakeShortPen(seed=3).events("2025-03-01", "2025-03-09", workspace_id=31)
    assert any("country" not in event for event in batch)  # the fake drops optional keys sometimes
    same(list(iter_models(batch)), [AnalyticsEvent.from_dict(event) for event in batch])
