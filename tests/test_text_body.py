"""The JSONL and CSV exports straight from a response's bytes, the window rules run on the columns
pyarrow's reader parsed: JSONL (``_arrow_body.body_to_lines``) writes each event's text as the
server sent it, for a compact body (as servers send it) the very bytes of the usual path (decode,
check, encode); CSV (``_arrow_body.body_to_csv``) the rows the csv module writes, made by Arrow's
string kernels. For anything they cannot read exactly as that path would: None (the usual path then
runs), counted in ``_decode.FALLBACKS`` (``"lines"``; ``"arrow"`` for CSV, as the Parquet path)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shortpen_api_client import ShortPen, _arrow_body
from shortpen_api_client._arrow_body import BodyLines, body_to_csv, body_to_lines
from shortpen_api_client._decode import FALLBACKS, decode_events
from shortpen_api_client._engine import ascending
from shortpen_api_client._formats import TextPart, _CsvSink, jsonl_encoder
from shortpen_api_client._windows import Window
from shortpen_api_client.errors import InvalidResponseError
from shortpen_api_client.testing import FakeShortPen

from ._realistic import body, realistic
from .test_arrow import BERLIN_DST, DAY, _wide, unusual_events
from .test_columnar import RANGE, URL, realistic_transport
from .test_export import event

Outcome = tuple[bytes | str, tuple[int, ...], Any, frozenset[str], frozenset[int]]
FORMATS = ("jsonl", "csv")
READERS: dict[str, Callable[[bytes, Any], BodyLines | None]] = {"jsonl": body_to_lines, "csv": body_to_csv}
COUNTERS = {"jsonl": "lines", "csv": "arrow"}


def usual(content: bytes, window: Window, format: str = "jsonl") -> Outcome:
    """What the export writes for this body when it decodes and checks the events first."""
    events = ascending(decode_events(content), window, content)
    ids = tuple(e["id"] for e in events)
    data = (
        jsonl_encoder()(events)
        if format == "jsonl"
        else str(_CsvSink(io.BytesIO()).encode(events).data).encode()
    )
    return data, ids, events.trim, events.unknown, events.tail


def as_bytes(data: bytes | str) -> bytes:
    return data if isinstance(data, bytes) else data.encode()


def fast(content: bytes, window: Window, format: str = "jsonl") -> Outcome | None:
    lines = READERS[format](content, window.as_tuple())
    if lines is None:
        return None
    return lines.data, lines.ids, lines.trim, lines.unknown, lines.tail


@pytest.mark.parametrize("format", FORMATS)
def test_realistic_bodies_give_the_bytes_of_the_usual_path_with_no_fallback(format: str) -> None:
    """Absent and null optionals, unknown fields (text needing escapes and quotes, non-ASCII),
    sub-second stamps, ties, inversions, a DST day."""
    fake = FakeShortPen(seed=5, events_per_day=300, timezone="Europe/Berlin")
    content = body(realistic(fake.events(BERLIN_DST.start, BERLIN_DST.end, workspace_id=31)))
    assert b"\\\\" in content  # escapes and UTF-8, as sent
    assert "ü".encode() in content
    before = dict(FALLBACKS)
    got = fast(content, BERLIN_DST, format)
    assert dict(FALLBACKS) == before
    assert got is not None
    want = usual(content, BERLIN_DST, format)
    assert got == want
    assert len(got[1]) > 1500
    assert got[3] == {"utm_source", "session_ms"}


@pytest.mark.parametrize("format", FORMATS)
def test_the_window_rules_drop_what_the_usual_path_drops(format: str) -> None:
    events = [
        event(2, "2025-01-01T12:00:00+01:00"),
        event(1, "2025-01-01T00:00:00+01:00"),  # out of order: sorted
        event(2, "2025-01-01T13:00:00+01:00"),  # the same id again: dropped
        event(3, "2025-01-02T00:00:00+01:00"),  # the first instant of the next day: dropped
        event(4, "2025-01-01T12:00:00+01:00"),  # a tie with the first: after it, as sent
    ]
    content = body(events)
    got = fast(content, DAY, format)
    assert got is not None
    assert got == usual(content, DAY, format)
    _, ids, trim, _, tail = got
    assert ids == (1, 2, 4)
    assert (trim.repeated, trim.outside) == (1, 1)
    assert tail == {1, 2, 4}


@pytest.mark.parametrize("format", FORMATS)
def test_an_event_hours_into_the_next_day_is_refused_as_by_the_usual_path(format: str) -> None:
    content = body([event(1), event(2, "2025-01-02T03:00:00+01:00")])
    with pytest.raises(InvalidResponseError, match="outside the window's days"):
        usual(content, DAY, format)
    with pytest.raises(InvalidResponseError, match=r"^2025-01-01: event 2 .* local time 2025-01-02T03:00:00"):
        fast(content, DAY, format)


def _nested_unknown() -> bytes:
    return body([event(1, extra=[{"a": 1}, {"b": 2}])])


@pytest.mark.parametrize(
    "content",
    [
        body([None]),  # pyarrow 26's reader crashes on a line "null": never given one
        body([event(1), None]),
        body([None, event(1)]),
        body([event(1), [1]]),
        body([]),
        body([event(1, domain="a},{b")]),  # a boundary inside a string
        _nested_unknown(),  # ... and between objects nested in an unknown field
        body([event(1, extra=1.5)]),  # a float: may be NaN, which only pyarrow's reader takes
        body([event(1)]).replace(b"}]}", b',"x":NaN}]}'),
        body([event(1, extra=2**70)]),
        body([event(1, extra={"a": 1})]),  # an object, a list: they may hold one
        body([event(1, domain="x")]).replace(b'"x"', b'"\xff"'),  # not UTF-8
        b"\xef\xbb\xbf" + body([event(1)]),  # a byte order mark
        body([event(1)]).replace(b'"domain"', b'"domain":"a","domain"'),  # a key twice
        body([event(1), event(2)]).replace(b"},{", b"}, {"),  # not compact
        body([event(1), event(2)]).replace(b"},{", b"} {"),  # not JSON: pyarrow reads two rows of the line
        json.dumps({"success": True, "data": [event(1), event(2)]}, indent=2).encode(),
        body([event(1)]) + b" ",
        body([event(1)]) + body([event(2)]),
        body([event(1)])[:-2] + b'],"data":[]}',  # a second "data": the last one counts
        body([event(1)])[:-2] + b"]," + body([event(2)])[1:],
        body([event(1)], success=False),
        body([event(1)], success="true"),
        b'{"nested":{"data":[' + body([event(1)])[1:],
        body([{**event(1), "id": 1.0}]),
        body([{**event(1), "id": 2**64}]),
        body([{**event(1), "id": True}]),
        body([{k: v for k, v in event(1).items() if k != "domain"}]),
        body([event(1, "2025-01-01T09:30:00")]),  # no offset
        b"<html>502 Bad Gateway</html>",
        b"",
    ],
)
def test_what_it_cannot_read_exactly_goes_the_usual_way_and_is_counted(content: bytes) -> None:
    before = FALLBACKS["lines"]
    assert body_to_lines(content, DAY.as_tuple()) is None
    assert FALLBACKS["lines"] == before + 1


def test_a_second_data_list_is_what_the_usual_path_reads() -> None:
    content = body([event(1)])[:-2] + b'],"data":[' + body([event(2)]).split(b'"data":[')[1]
    assert [e["id"] for e in decode_events(content)] == [2]
    assert body_to_lines(content, DAY.as_tuple()) is None


@pytest.mark.parametrize("format", FORMATS)
@settings(max_examples=150, deadline=None)
@given(events=st.lists(unusual_events, max_size=5))
def test_when_it_reads_a_body_it_is_what_the_usual_path_writes(
    format: str, events: list[dict[str, Any]]
) -> None:
    """Any text (commas, quotes, line breaks, non-ASCII: the csv module's quoting), any JSON value
    in unknown fields, odd ids and stamps."""
    content = body(events)
    window = _wide(events)
    try:
        got = fast(content, window, format)
    except InvalidResponseError:
        with pytest.raises(InvalidResponseError):
            usual(content, window, format)
        return
    if got is None:
        return
    try:
        want = usual(content, window, format)
    except (InvalidResponseError, ValueError) as exc:
        pytest.fail(f"the lines path took a body the usual way refuses: {exc}")
    assert got == want


@pytest.mark.parametrize("format", FORMATS)
def test_the_export_reads_each_body_straight(
    format: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeShortPen(seed=11, events_per_day=150, timezone="Europe/Berlin")
    calls = []
    name = READERS[format].__name__
    real = READERS[format]

    def watched(content: bytes, window: Any) -> Any:
        calls.append(window)
        return real(content, window)

    before = dict(FALLBACKS)
    monkeypatch.setattr(f"shortpen_api_client._formats.{name}", watched)
    http = httpx.Client(transport=realistic_transport(fake), base_url=URL)
    with ShortPen(fake.token, http_client=http, window_days=3) as client:
        client.export(*RANGE, tmp_path / f"fast.{format}")
    assert len(calls) == 5  # 14 days in windows of 3
    assert dict(FALLBACKS) == before
    monkeypatch.setattr(f"shortpen_api_client._formats.{name}", lambda content, window: None)
    http = httpx.Client(transport=realistic_transport(fake), base_url=URL)
    with ShortPen(fake.token, http_client=http, window_days=3) as client:
        client.export(*RANGE, tmp_path / f"usual.{format}")
    assert (tmp_path / f"fast.{format}").read_bytes() == (tmp_path / f"usual.{format}").read_bytes()


@pytest.mark.parametrize("format", FORMATS)
def test_a_split_window_joins_a_half_read_straight_with_one_decoded(format: str, tmp_path: Path) -> None:
    """The first day's body falls back (an unknown float), the second's is read as lines; an id in
    both halves is written once."""

    def handler(request: httpx.Request) -> httpx.Response:
        asked = json.loads(request.content)
        if asked["start"] != asked["end"]:
            return httpx.Response(413, json={"success": False, "status_code": 413, "message": "too large"})
        if asked["start"] == "2025-01-01":
            data = [event(1, "2025-01-01T10:00:00+01:00", extra=0.5), event(2, "2025-01-01T11:00:00+01:00")]
        else:
            data = [event(2, "2025-01-02T09:00:00+01:00"), event(3, "2025-01-02T10:00:00+01:00")]
        return httpx.Response(200, content=body(data), headers={"content-type": "application/json"})

    before = FALLBACKS["lines"]
    http = httpx.Client(transport=httpx.MockTransport(handler), base_url=URL)
    with ShortPen("spk_test_split_4b1d", http_client=http, window_days=2) as client:
        report = client.export("2025-01-01", "2025-01-02", tmp_path / "out.jsonl")
    assert FALLBACKS["lines"] == before + 1
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(e["id"], e["created_at"][:10]) for e in lines] == [
        (1, "2025-01-01"),
        (2, "2025-01-01"),
        (3, "2025-01-02"),
    ]
    assert lines[0]["extra"] == 0.5
    assert report.events == 3


@pytest.mark.parametrize("format", FORMATS)
def test_without_pyarrow_the_usual_path_writes_it(
    format: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def missing() -> None:
        raise ImportError("no pyarrow here")

    monkeypatch.setattr(_arrow_body, "import_pyarrow", missing)
    content = body([event(2, "2025-01-01T12:00:00+01:00"), event(1)])
    assert body_to_lines(content, DAY.as_tuple()) is None
    http = httpx.Client(
        transport=httpx.MockTransport(lambda r: httpx.Response(200, content=content)), base_url=URL
    )
    with ShortPen("spk_test_nopa_4b1d", http_client=http) as client:
        client.export("2025-01-01", "2025-01-01", tmp_path / "out.jsonl")
    assert (tmp_path / "out.jsonl").read_bytes() == usual(content, DAY)[0]


@pytest.mark.parametrize("format", FORMATS)
def test_an_empty_day_is_an_empty_part(format: str) -> None:
    lines = READERS[format](
        body([event(1, "2025-01-02T00:00:00+01:00")]), DAY.as_tuple()
    )  # an edge spill only
    assert lines is not None
    assert (len(lines.data), lines.ids, lines.trim.outside) == (0, (), 1)


@pytest.mark.parametrize(
    "content",
    [
        body([None]),
        body([event(1, extra=1.5)]),  # an unknown float: the usual path writes it
        body([event(1, extra=[1])]),
        body([event(1, extra="tab\there")]),  # a control character to escape
        body([event(1, domain="x")]).replace(b'"x"', b'"\xff"'),  # not UTF-8
        body([{**event(1), "id": 1.0}]),
        body([event(1, domain=7)]),
        body([event(1)], success=False),
    ],
)
def test_csv_rows_decline_what_the_parquet_path_declines(content: bytes) -> None:
    before = FALLBACKS["arrow"]
    assert body_to_csv(content, DAY.as_tuple()) is None
    assert FALLBACKS["arrow"] == before + 1


def test_csv_rows_of_a_pretty_printed_body_are_the_usual_ones() -> None:
    content = json.dumps(
        {"success": True, "data": [event(2, referrer='a,"b"\r\nc'), event(1)]}, indent=2
    ).encode()
    got = fast(content, DAY, "csv")
    assert got is not None
    assert got == usual(content, DAY, "csv")
    assert isinstance(got[0], bytes)
    assert b'"a,""b""\r\nc"' in got[0]


def test_rows_read_from_a_body_drop_a_repeated_id_whole_even_with_a_line_break_in_a_cell() -> None:
    """``TextPart.without`` (an id in both halves of a split window) on CSV bytes made from a body."""
    content = body([event(1, referrer="x\ny"), event(2, referrer="a\r\nb"), event(3)])
    rows = body_to_csv(content, DAY.as_tuple())
    assert rows is not None
    part = TextPart(rows.data, rows.ids).without({2})
    want = usual(body([event(1, referrer="x\ny"), event(3)]), DAY, "csv")[0]
    assert (part.data, part.ids) == (want, (1, 3))
    lines = body_to_lines(content, DAY.as_tuple())
    assert lines is not None
    assert (
        TextPart(lines.data, lines.ids).without({2}).data
        == usual(body([event(1, referrer="x\ny"), event(3)]), DAY)[0]
    )


@pytest.mark.parametrize(
    "text", ["a\nb", "a\rb", "a\r\nb", "a,b", 'a"b', '"', " a ", "", "a\tb", "ü,ß", "\\", "x" * 300]
)
def test_csv_cells_are_quoted_as_the_csv_module_quotes_them(text: str) -> None:
    content = body([event(1, referrer=text, domain=text or "d"), event(2, country=None)])
    got = fast(content, DAY, "csv")
    assert got is not None
    assert got == usual(content, DAY, "csv")


def _nested(depth: int, opener: bytes = b"[") -> bytes:
    closer = b"]" if opener == b"[" else b"}"
    inner = b'{"a":' * depth if opener == b"{" else opener * depth
    return inner + b"1" + closer * depth


@pytest.mark.parametrize(
    "content",
    [
        body([event(1)]).replace(b"}]}", b',"x":' + _nested(30_000) + b"}]}"),  # 60 KB: SIGSEGV in the reader
        body([event(1)]).replace(b"}]}", b',"x":' + _nested(30_000, b"{") + b"}]}"),
        body([event(1)]).replace(b'"data":[', b'"data":[' + _nested(30_000) + b","),  # in the data list
        body([event(1)]).replace(b"}]}", b',"x":[1,' + b"[1," * 30_000 + b"1" + b"]" * 30_001 + b"}]}"),
        body([event(1)]).replace(b'"data":[', b'"meta":{"a":1},"data":['),  # a container beside data
        body([event(1)]).replace(b"}]}", b',"x": [1]}]}'),
    ],
)
@pytest.mark.parametrize("reader", ["table", *FORMATS])
def test_nested_containers_never_reach_the_reader(reader: str, content: bytes) -> None:
    """pyarrow's reader recurses once per level of nesting and overflows its stack past ~10,000
    levels (the process dies); orjson stops at 1,024 with an error. No fast path takes a nested
    value, so such a body goes the usual way without being read."""
    if reader == "table":
        assert _arrow_body.body_to_table(content) is None
    else:
        assert READERS[reader](content, DAY.as_tuple()) is None


def test_a_deeply_nested_body_is_an_invalid_response_in_every_path(tmp_path: Path) -> None:
    content = body([event(1)]).replace(b"}]}", b',"x":' + _nested(30_000) + b"}]}")
    http = httpx.Client(
        transport=httpx.MockTransport(lambda r: httpx.Response(200, content=content)), base_url=URL
    )
    with ShortPen("spk_test_deep_4b1d", http_client=http, max_retries=0) as client:
        with pytest.raises(InvalidResponseError, match="not valid JSON"):
            list(client.clicks("2025-01-01", "2025-01-01"))
        with pytest.raises(InvalidResponseError, match="not valid JSON"):
            client.clicks_table("2025-01-01", "2025-01-01")
        for suffix in ("jsonl", "csv", "parquet"):
            with pytest.raises(InvalidResponseError, match="not valid JSON"):
                client.export("2025-01-01", "2025-01-01", tmp_path / f"out.{suffix}")


def test_a_raw_cr_between_tokens_goes_the_usual_way() -> None:
    """JSON whitespace, but a line-based reader would split the line there."""
    content = body([event(1), event(2)]).replace(b',"domain"', b',\r"domain"')
    before = FALLBACKS["lines"]
    assert body_to_lines(content, DAY.as_tuple()) is None
    assert FALLBACKS["lines"] == before + 1
    assert b"\r" not in as_bytes(usual(content, DAY)[0])


def test_lines_are_the_servers_text_and_hold_the_usual_values() -> None:
    """Escapes another server writes (ensure_ascii, PHP's \\/) stay as sent: the same values as the
    usual path's compact re-encoding, not the same bytes."""
    content = (
        json.dumps(
            {"success": True, "data": [event(1, referrer="https://x.example/ü"), event(2)]},
            separators=(",", ":"),
        )
        .encode()
        .replace(b"/", b"\\/")
    )
    assert b"\\u00fc" in content
    lines = body_to_lines(content, DAY.as_tuple())
    assert lines is not None
    assert b"\\u00fc" in lines.data
    assert b"https:\\/\\/x.example" in lines.data
    want = as_bytes(usual(content, DAY)[0])
    assert [json.loads(line) for line in lines.data.splitlines()] == [
        json.loads(line) for line in want.splitlines()
    ]
