"""``clicks()`` straight from the body (``_model_rows``): with pyarrow installed, each window's models are
built from the columns pyarrow's reader parsed, the window rules run on them; the models equal
``AnalyticsEvent.from_dict`` of the events the usual path delivers (unknown fields in
``additional_properties``), and what the reader cannot take exactly goes the usual way, counted in
``_decode.FALLBACKS["rows"]``."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shortpen_api_client import AnalyticsEvent, AsyncShortPen, ShortPen, _arrow_body, _model_rows
from shortpen_api_client._decode import FALLBACKS, decode_events, iter_models
from shortpen_api_client._edges import Events
from shortpen_api_client._engine import ascending
from shortpen_api_client._model_rows import Rows, body_to_rows, window_models
from shortpen_api_client._windows import Window
from shortpen_api_client.errors import InvalidResponseError
from shortpen_api_client.testing import FakeShortPen

from ._realistic import body, realistic
from .test_arrow import BERLIN_DST, DAY, _wide, unusual_events
from .test_columnar import RANGE, URL, expected_realistic, realistic_transport
from .test_export import event


def usual(content: bytes, window: Window) -> tuple[list[AnalyticsEvent], Events]:
    events = ascending(decode_events(content), window, content)
    return list(iter_models(events)), events


def test_realistic_bodies_give_the_models_of_from_dict_with_no_fallback() -> None:
    fake = FakeShortPen(seed=5, events_per_day=300, timezone="Europe/Berlin")
    content = body(realistic(fake.events(BERLIN_DST.start, BERLIN_DST.end, workspace_id=31)))
    before = dict(FALLBACKS)
    rows = body_to_rows(content, BERLIN_DST.as_tuple())
    assert dict(FALLBACKS) == before
    assert rows is not None
    models, events = usual(content, BERLIN_DST)
    assert list(rows.models()) == models == [AnalyticsEvent.from_dict(e) for e in events]
    assert len(models) > 1500
    assert models[0].additional_properties.keys() == {"utm_source", "session_ms"}
    assert (rows.trim, rows.unknown, rows.tail) == (events.trim, events.unknown, events.tail)
    assert {m.created_at.utcoffset() for m in rows.models()} == {
        models[0].created_at.utcoffset(),
        models[-1].created_at.utcoffset(),
    }


def test_the_window_rules_drop_what_the_usual_path_drops() -> None:
    events = [
        event(2, "2025-01-01T12:00:00+01:00"),
        event(1, "2025-01-01T00:00:00+01:00"),
        event(2, "2025-01-01T13:00:00+01:00"),  # the same id again: dropped
        event(3, "2025-01-02T00:00:00+01:00"),  # the first instant of the next day: dropped
        event(4, "2025-01-01T12:00:00+01:00"),  # a tie: after the first, as sent
    ]
    content = body(events)
    rows = body_to_rows(content, DAY.as_tuple())
    assert rows is not None
    models, checked = usual(content, DAY)
    assert [m.id for m in rows.models()] == [m.id for m in models] == [1, 2, 4]
    assert list(rows.models()) == models
    assert (rows.trim, rows.tail) == (checked.trim, checked.tail)
    with pytest.raises(InvalidResponseError, match="outside the window's days"):
        body_to_rows(body([event(1), event(2, "2025-01-02T03:00:00+01:00")]), DAY.as_tuple())


@pytest.mark.parametrize(
    "content",
    [
        body([event(1, extra="a"), event(2)]),  # an unknown field absent from one event
        body([event(1, extra="a"), event(2, extra=None)]),  # ... or null in one
        body([event(1, extra=1.5)]),  # a float (orjson's may differ in its last bit)
        body([event(1, extra=[1])]),
        body([event(1, extra={"a": 1})]),
        body([event(1, extra=2**70)]),
        body([None]),
        body([event(1, domain="x")]).replace(b'"x"', b'"\xff"'),
        body([{**event(1), "id": 1.0}]),
        body([event(1, "2025-01-01T09:30:00")]),
        body([event(1)], success=False),
    ],
)
def test_what_it_cannot_take_exactly_goes_the_usual_way_and_is_counted(content: bytes) -> None:
    before = FALLBACKS["rows"]
    assert body_to_rows(content, DAY.as_tuple()) is None
    assert FALLBACKS["rows"] == before + 1


@settings(max_examples=150, deadline=None)
@given(events=st.lists(unusual_events, max_size=5))
def test_when_it_takes_a_body_its_models_are_the_usual_ones(events: list[dict[str, Any]]) -> None:
    content = body(events)
    window = _wide(events)
    try:
        rows = body_to_rows(content, window.as_tuple())
    except InvalidResponseError:
        with pytest.raises(InvalidResponseError):
            usual(content, window)
        return
    if rows is None:
        return
    try:
        models, checked = usual(content, window)
    except (InvalidResponseError, ValueError) as exc:
        pytest.fail(f"the rows path took a body the usual way refuses: {exc}")
    assert list(rows.models()) == models
    assert [m.to_dict() for m in rows.models()] == [m.to_dict() for m in models]
    assert (rows.trim, rows.unknown, rows.tail) == (checked.trim, checked.unknown, checked.tail)


def test_halves_read_either_way_join_with_each_id_once() -> None:
    first = body(
        [event(1, "2025-01-01T10:00:00+01:00", extra="x"), event(2, "2025-01-01T11:00:00+01:00", extra="y")]
    )
    second = body(
        [event(2, "2025-01-01T11:00:00+01:00", extra="y"), event(3, "2025-01-01T12:00:00+01:00", extra="z")]
    )
    rows_1, rows_2 = body_to_rows(first, DAY.as_tuple()), body_to_rows(second, DAY.as_tuple())
    assert rows_1 is not None
    assert rows_2 is not None
    events_1, events_2 = usual(first, DAY)[1], usual(second, DAY)[1]
    want = [*usual(first, DAY)[0], usual(second, DAY)[0][1]]
    for joined in (rows_1 + rows_2, rows_1 + events_2, events_1 + rows_2, events_1 + events_2):
        assert list(window_models(joined)) == want
        assert joined.trim.repeated == 1
    assert isinstance(rows_1 + rows_2, Rows)


def test_clicks_builds_each_windows_models_from_the_body(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeShortPen(seed=11, events_per_day=150, timezone="Europe/Berlin")
    calls: list[Any] = []
    real = _model_rows.body_to_rows

    def watched(content: bytes, window: Any) -> Any:
        calls.append(window)
        return real(content, window)

    monkeypatch.setattr("shortpen_api_client._client.body_to_rows", watched)
    monkeypatch.setattr("shortpen_api_client._async_client.body_to_rows", watched)
    before = dict(FALLBACKS)
    want = [AnalyticsEvent.from_dict(e) for e in expected_realistic(fake, 3)]
    http = httpx.Client(transport=realistic_transport(fake), base_url=URL)
    with ShortPen(fake.token, http_client=http, window_days=3) as client:
        assert list(client.clicks(*RANGE)) == want

    async def run() -> list[AnalyticsEvent]:
        ahttp = httpx.AsyncClient(transport=_async_transport(fake), base_url=URL)
        async with AsyncShortPen(fake.token, http_client=ahttp, window_days=3) as aclient:
            return [m async for m in aclient.clicks(*RANGE)]

    assert asyncio.run(run()) == want
    assert len(calls) == 10  # 14 days in windows of 3, twice
    assert dict(FALLBACKS) == before


def _async_transport(fake: FakeShortPen) -> httpx.MockTransport:
    sync = realistic_transport(fake)

    async def handle(request: httpx.Request) -> httpx.Response:
        await request.aread()
        return sync.handle_request(request)

    return httpx.MockTransport(handle)


def test_without_pyarrow_clicks_decodes_as_usual(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> None:
        raise ImportError("no pyarrow here")

    monkeypatch.setattr(_arrow_body, "import_pyarrow", missing)
    content = body([event(2, "2025-01-01T12:00:00+01:00", extra="x"), event(1)])
    assert body_to_rows(content, DAY.as_tuple()) is None
    http = httpx.Client(
        transport=httpx.MockTransport(lambda r: httpx.Response(200, content=content)), base_url=URL
    )
    with ShortPen("spk_test_nopa_4b1d", http_client=http) as client:
        assert list(client.clicks("2025-01-01", "2025-01-01")) == usual(content, DAY)[0]


def test_unknown_fields_keep_the_order_they_came_in() -> None:
    """``additional_properties`` in the server's order, as ``from_dict`` builds it (``to_dict`` keeps it)."""
    content = body([{**event(1), "zeta": "y", "alpha": 2}, {**event(2), "zeta": "x", "alpha": 3}])
    rows = body_to_rows(content, DAY.as_tuple())
    assert rows is not None
    models, _ = usual(content, DAY)
    got = list(rows.models())
    assert [list(m.additional_properties) for m in got] == [list(m.additional_properties) for m in models]
    assert list(got[0].to_dict())[:2] == ["zeta", "alpha"]
