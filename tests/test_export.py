"""The atomic event writers (``_export``): each format holds the server's events, or nothing at all."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from shortpen_api_client import SPEC_SHA256, __version__
from shortpen_api_client._arrow import column_names
from shortpen_api_client._export import open_writer
from shortpen_api_client._formats import CSV_COLUMNS, _encode_jsonl_stdlib, jsonl_encoder
from shortpen_api_client._schema import EVENT_NAMES as FIELDS
from shortpen_api_client.errors import InvalidArgumentError

from .conftest import SPEC_PATH

Event = dict[str, Any]
EVENT_SCHEMA: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_bytes())["components"]["schemas"][
    "AnalyticsEvent"
]


def event(id: int, created_at: str = "2025-01-01T09:30:00+01:00", **fields: Any) -> Event:
    base: Event = {
        "id": id,
        "workspace_id": 24,
        "organization_id": 3,
        "url_id": 501,
        "domain": "go.shortpen.com",
        "url_slug": "summer-2025",
        "device_type": "mobile",
        "platform": "iOS",
        "browser": "Safari",
        "country": "US",
        "referrer": "https://news.example.com",
        "created_at": created_at,
    }
    base.update(fields)
    return {key: value for key, value in base.items() if value is not ...}


BATCHES: list[list[Event]] = [
    [
        event(1),
        # unknown key first, optional keys missing, a null: all as the server might send them
        {"beta_flag": True, **event(2, country=..., referrer=..., url_slug=None)},
        event(3, "2025-01-01T23:59:59.123456+01:00", referrer="https://例え.jp/ü?q=ñ"),
    ],
    [],
    [event(4, "2025-01-02T00:00:00Z", extra={"nested": [1, 2]})],
]
ALL_EVENTS = [e for batch in BATCHES for e in batch]


def write(path: Path, batches: list[list[Event]], **kwargs: Any) -> tuple[int, int]:
    with open_writer(path, **kwargs) as writer:
        for batch in batches:
            writer.write_batch(batch)
    return writer.events, writer.bytes


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def expected_extra(e: Event) -> str | None:
    """``_extra``: the unknown keys with a value, sorted, as compact JSON (None when there are none)."""
    extra = {k: e[k] for k in sorted(e) if k not in FIELDS and e[k] is not None}
    return json.dumps(extra, ensure_ascii=False, separators=(",", ":")) if extra else None


def expected_csv_row(e: Event) -> dict[str, str]:
    row = {name: "" if e.get(name) is None else str(e[name]) for name in FIELDS}
    return {**row, "_extra": expected_extra(e) or ""}


def offset_minutes(created_at: str) -> int:
    offset = datetime.fromisoformat(created_at).utcoffset()
    assert offset is not None
    return offset // timedelta(minutes=1)


# -- the columns ------------------------------------------------------------------------------------------


def test_columns_are_the_specs_properties_in_spec_order() -> None:
    assert list(FIELDS) == list(EVENT_SCHEMA["properties"])


# -- each format ------------------------------------------------------------------------------------------


def test_jsonl_holds_exactly_what_the_server_sent(tmp_path: Path) -> None:
    out = tmp_path / "clicks.jsonl"
    events, size = write(out, BATCHES)
    lines = out.read_text(encoding="utf-8").splitlines()
    decoded = [json.loads(line) for line in lines]
    assert decoded == ALL_EVENTS
    assert [list(d) for d in decoded] == [list(e) for e in ALL_EVENTS]  # key order as received
    assert decoded[1]["beta_flag"] is True  # unknown keys kept
    assert "例え" in lines[2]  # non-ASCII as is, not \u escapes
    assert ", " not in lines[0]  # compact separators
    assert events == 4
    assert size == out.stat().st_size


def test_jsonl_is_the_same_with_and_without_orjson(monkeypatch: pytest.MonkeyPatch) -> None:
    with_orjson = jsonl_encoder()(ALL_EVENTS)
    monkeypatch.setitem(sys.modules, "orjson", None)  # makes `import orjson` fail
    assert jsonl_encoder()(ALL_EVENTS) == with_orjson


TRICKY_JSON: list[list[Event]] = [
    [event(1, referrer="https://x.example/},{"), event(2)],  # the batch boundary inside a string
    [event(1, extra=[{"a": 1}, {"b": 2}]), event(2)],  # ... or inside a nested list of objects
    [{}, {}, event(3, referrer='"},{"')],
    [event(1)],
]


@pytest.mark.parametrize("events", TRICKY_JSON)
def test_jsonl_lines_are_split_at_event_boundaries_only(
    events: list[Event], monkeypatch: pytest.MonkeyPatch
) -> None:
    encoded = jsonl_encoder()(events)
    assert [json.loads(line) for line in encoded.decode().splitlines()] == events
    monkeypatch.setitem(sys.modules, "orjson", None)
    assert jsonl_encoder()(events) == encoded


def test_jsonl_falls_back_to_stdlib_for_what_orjson_cannot_encode() -> None:
    huge = event(1, count=2**70)
    assert json.loads(jsonl_encoder()([huge])) == huge


def test_csv_has_the_spec_columns_and_empty_cells_for_missing(tmp_path: Path) -> None:
    out = tmp_path / "clicks.csv"
    events, size = write(out, BATCHES)
    header, rows = read_csv(out)
    assert header == [*FIELDS, "_extra"]  # unknown keys (beta_flag, extra) go to _extra, as JSON
    assert rows == [expected_csv_row(e) for e in ALL_EVENTS]
    assert json.loads(rows[1]["_extra"]) == {"beta_flag": True}
    assert rows[0]["_extra"] == ""
    assert rows[1]["country"] == rows[1]["url_slug"] == ""
    assert rows[2]["referrer"] == "https://例え.jp/ü?q=ñ"
    assert rows[0]["created_at"] == "2025-01-01T09:30:00+01:00"  # as sent
    assert (events, size) == (4, out.stat().st_size)


def test_parquet_has_typed_columns_and_exact_instants(tmp_path: Path) -> None:
    out = tmp_path / "clicks.parquet"
    events, size = write(out, BATCHES, row_group_rows=1)
    table = pq.read_table(out)
    assert table.column_names == [*FIELDS[:-1], "created_at", "created_at_offset", "_extra"]
    assert table.column_names == list(column_names())
    for name in FIELDS:
        expected = pa.int64() if EVENT_SCHEMA["properties"][name]["type"] == "integer" else pa.string()
        if name == "created_at":
            expected = pa.timestamp("us", tz="UTC")
        assert table.schema.field(name).type == expected, name
    assert table.schema.field("created_at_offset").type == pa.int16()
    assert table.schema.field("_extra").type == pa.string()
    rows = table.to_pylist()
    for row, sent in zip(rows, ALL_EVENTS, strict=True):
        assert row["created_at"] == datetime.fromisoformat(sent["created_at"])
        assert row["created_at_offset"] == offset_minutes(sent["created_at"])
        assert row["_extra"] == expected_extra(sent)
        assert {k: v for k, v in row.items() if k in FIELDS and k != "created_at"} == {
            name: sent.get(name) for name in FIELDS if name != "created_at"
        }
    assert [row["created_at_offset"] for row in rows] == [60, 60, 60, 0]
    assert json.loads(rows[3]["_extra"]) == {"extra": {"nested": [1, 2]}}
    assert rows[0]["created_at"] == datetime(2025, 1, 1, 8, 30, tzinfo=UTC)  # +01:00 applied
    # one row group per non-empty batch
    assert pq.ParquetFile(out).metadata.num_row_groups == len([b for b in BATCHES if b])
    metadata = table.schema.metadata
    assert metadata[b"shortpen_api_client.version"] == __version__.encode()
    assert metadata[b"shortpen_api_client.spec_sha256"] == SPEC_SHA256.encode()
    assert (events, size) == (4, out.stat().st_size)


def test_parquet_buffers_small_batches_into_one_row_group(tmp_path: Path) -> None:
    out = tmp_path / "clicks.parquet"
    batches = [[event(i * 10 + j) for j in range(3)] for i in range(5)]
    write(out, batches, row_group_rows=7)
    metadata = pq.ParquetFile(out).metadata
    assert [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)] == [9, 6]
    assert pq.read_table(out).column("id").to_pylist() == [e["id"] for b in batches for e in b]


@pytest.mark.parametrize(
    "created_at",
    [
        "2025-01-01T00:00:00+01:00",
        "2025-03-30T03:00:00.5+02:00",
        "2025-01-01T00:00:00Z",
        "2025-01-01T00:00:00.123456-05:30",
        "2025-01-01T00:00:00+0100",
        "2025-01-01 00:00:00+01:00",
        # not parsed by Arrow's cast: the fromisoformat fallback
        "2025-01-01T00:00:00.1234567+01:00",
        "2025-01-01T00:00:00+01:00:30",
    ],
)
def test_parquet_instant_equals_fromisoformat(tmp_path: Path, created_at: str) -> None:
    out = tmp_path / "one.parquet"
    write(out, [[event(1, created_at), event(2)]])
    instants = pq.read_table(out).column("created_at").to_pylist()
    assert instants == [datetime.fromisoformat(created_at), datetime.fromisoformat(event(2)["created_at"])]


@pytest.mark.parametrize(
    ("created_at", "message"),
    [("2025-01-01T00:00:00", "has no UTC offset"), ("yesterday", "is not a date-time")],
)
def test_parquet_rejects_a_created_at_without_an_instant(
    tmp_path: Path, created_at: str, message: str
) -> None:
    out = tmp_path / "bad.parquet"
    with pytest.raises(ValueError, match=f"event 7301: created_at '{created_at}' {message}"):
        write(out, [[event(1), event(7301, created_at)]])
    assert list(tmp_path.iterdir()) == []


def test_parquet_names_the_column_that_does_not_fit(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'url_id' as int64"):
        write(tmp_path / "bad.parquet", [[event(1, url_id="five hundred")]])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [("empty.jsonl", b""), ("empty.csv", (",".join(CSV_COLUMNS) + "\r\n").encode())],
)
def test_an_empty_range_is_an_empty_file(tmp_path: Path, name: str, expected: bytes) -> None:
    out = tmp_path / name
    assert write(out, []) == (0, len(expected))
    assert out.read_bytes() == expected


def test_an_empty_range_is_a_parquet_file_with_the_schema_and_no_rows(tmp_path: Path) -> None:
    out = tmp_path / "empty.parquet"
    write(out, [[], []])
    table = pq.read_table(out)
    assert table.num_rows == 0
    assert table.column_names == list(column_names())
    assert table.schema.field("created_at").type == pa.timestamp("us", tz="UTC")


# -- choosing the format, before anything is created -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt", "expected"),
    [
        ("a.jsonl", None, "jsonl"),
        ("a.CSV", None, "csv"),
        ("a.parquet", None, "parquet"),
        ("a.txt", "jsonl", "jsonl"),
        ("a.data", "Parquet", "parquet"),
        ("a.CSV", "csv", "csv"),
    ],
)
def test_format_from_suffix_unless_given(tmp_path: Path, name: str, fmt: str | None, expected: str) -> None:
    with open_writer(tmp_path / name, fmt) as writer:
        assert writer.format == expected
    assert [p.name for p in tmp_path.iterdir()] == [name]


@pytest.mark.parametrize(
    ("name", "fmt", "match"),
    [
        (
            "clicks.json",
            None,
            r"^format is needed: 'clicks.json'.*\.jsonl, \.csv or \.parquet.*jsonl, csv, parquet",
        ),
        ("clicks", None, r"'clicks'"),
        ("clicks.csv", "xlsx", r"^format must be one of jsonl, csv, parquet, got 'xlsx'"),
        (
            "clicks.csv",
            "parquet",
            r"^format parquet contradicts the suffix of 'clicks.csv': name the file 'clicks.parquet'",
        ),
        ("clicks.Parquet", "jsonl", r"^format jsonl contradicts the suffix of 'clicks.Parquet'"),
    ],
)
def test_an_unknown_format_is_refused_before_any_file_exists(
    tmp_path: Path, name: str, fmt: str | None, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        open_writer(tmp_path / name, fmt)
    assert list(tmp_path.iterdir()) == []


def test_a_missing_directory_or_a_directory_output_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        open_writer(tmp_path / "nope" / "clicks.csv")
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(ValueError, match="is a directory"):
        open_writer(tmp_path / "dir.csv")
    assert [p.name for p in tmp_path.iterdir()] == ["dir.csv"]


@pytest.mark.parametrize(
    ("name", "fmt", "match"),
    [
        ("dir.csv/", None, r"^output '.*dir\.csv/' names a directory \(it ends with a separator\)"),
        ("sub/", "csv", r"^output '.*sub/' names a directory .*give its name, such as '.*sub/clicks\.csv'"),
        (".", None, r"^output '.*\.' is a directory: an export writes one file"),
        ("..", None, r"^output '.*\.\.' is a directory"),
        ("existing", None, r"^output '.*existing' is a directory: .*such as '.*existing/clicks\.parquet'"),
    ],
)
def test_an_output_naming_a_directory_is_refused_before_any_file_exists(
    tmp_path: Path, name: str, fmt: str | None, match: str
) -> None:
    """``Path("dir.csv/")`` is ``dir.csv``: the slash, which says the user meant a folder, was dropped
    and a file written; ``.`` has no name, so the format could not be told from ``''``."""
    (tmp_path / "existing").mkdir()
    (tmp_path / "sub").mkdir()
    output = f"{tmp_path}/{name}"
    with pytest.raises(InvalidArgumentError, match=match) as info:
        open_writer(output, fmt)
    assert (info.value.argument, info.value.value) == ("output", output)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing", "sub"]
    assert list((tmp_path / "sub").iterdir()) == []


def test_an_empty_output_is_refused() -> None:
    with pytest.raises(InvalidArgumentError, match=r"^output is empty: give a file name"):
        open_writer("", "csv")


def test_parquet_without_pyarrow_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ImportError, match=r'pip install "shortpen-api-client\[parquet\]"'):
        open_writer(tmp_path / "clicks.parquet")
    assert list(tmp_path.iterdir()) == []


def test_importing_the_package_does_not_import_pyarrow() -> None:
    """pyarrow is heavy: only a Parquet export loads it (orjson, small, is used whenever installed)."""
    code = (
        "import sys, shortpen_api_client, shortpen_api_client._export, shortpen_api_client._dataset;"
        "print(sorted(m for m in ('pyarrow',) if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "[]"


# -- all or nothing -----------------------------------------------------------------------------------------


class Boom(Exception):
    pass


FORMAT_NAMES = ["clicks.jsonl", "clicks.csv", "clicks.parquet"]


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_a_failure_after_a_batch_leaves_no_file(tmp_path: Path, name: str) -> None:
    def export_then_fail() -> None:
        with open_writer(tmp_path / name) as writer:
            writer.write_batch(BATCHES[0])
            (temp,) = tmp_path.iterdir()
            assert temp.name.startswith(f".{name}.")  # hidden, beside the output, named after it
            raise Boom

    with pytest.raises(Boom):
        export_then_fail()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_an_existing_output_survives_a_failed_rewrite(tmp_path: Path, name: str) -> None:
    out = tmp_path / name
    write(out, BATCHES)
    before = out.read_bytes()

    def rewrite_then_fail() -> None:
        with open_writer(out) as writer:
            writer.write_batch([event(99)])
            raise Boom

    with pytest.raises(Boom):
        rewrite_then_fail()
    assert out.read_bytes() == before
    assert list(tmp_path.iterdir()) == [out]


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_a_batch_that_cannot_be_written_aborts_and_keeps_the_old_output(tmp_path: Path, name: str) -> None:
    out = tmp_path / name
    out.write_bytes(b"old")
    writer = open_writer(out)
    writer.write_batch([event(1)])
    with pytest.raises((TypeError, AttributeError)):
        writer.write_batch([object()])  # type: ignore[list-item]  # not an event dict, on purpose
    assert out.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [out]
    with pytest.raises(RuntimeError, match="aborted"):
        writer.commit()


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_a_failed_commit_leaves_no_file(tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / name
    out.write_bytes(b"old")

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space"), open_writer(out) as writer:
        writer.write_batch(BATCHES[0])
    assert out.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [out]


def test_abort_drops_the_file_and_the_writer_is_then_closed(tmp_path: Path) -> None:
    writer = open_writer(tmp_path / "clicks.parquet")
    writer.write_batch(BATCHES[0])
    writer.abort()
    writer.abort()  # twice is fine
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RuntimeError, match="aborted"):
        writer.write_batch(BATCHES[0])
    with pytest.raises(RuntimeError, match="aborted"):
        writer.commit()


def test_a_committed_writer_refuses_more_events(tmp_path: Path) -> None:
    with open_writer(tmp_path / "clicks.jsonl") as writer:
        writer.write_batch(BATCHES[0])
    assert writer.committed
    with pytest.raises(RuntimeError, match="committed"):
        writer.write_batch(BATCHES[0])


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_the_output_gets_the_usual_permissions(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        write(tmp_path / "clicks.csv", BATCHES)
    finally:
        os.umask(umask)
    assert (tmp_path / "clicks.csv").stat().st_mode & 0o777 == 0o644  # not mkstemp's 0o600


# -- round trips of arbitrary events --------------------------------------------------------------------------

texts = st.text(st.characters(codec="utf-8"), max_size=12)  # no lone surrogates: not UTF-8
offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
created_ats = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=offsets
).map(lambda d: d.isoformat())
ids = st.integers(0, 2**63 - 1)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=5,
)
extras = st.dictionaries(texts.filter(lambda k: k not in FIELDS), json_values, max_size=2)
server_events = st.builds(
    lambda required, optional, extra: {**extra, **required, **optional},
    st.fixed_dictionaries(
        {
            "id": ids,
            "workspace_id": ids,
            "organization_id": ids,
            "url_id": ids,
            "domain": texts,
            "created_at": created_ats,
        }
    ),
    st.fixed_dictionaries(
        {},
        optional={
            name: st.none() | texts
            for name in ("url_slug", "device_type", "platform", "browser", "country", "referrer")
        },
    ),
    extras,
)
event_batches = st.lists(st.lists(server_events, max_size=4), max_size=3)


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


@settings(max_examples=60, deadline=None)
@given(batches=event_batches)
def test_jsonl_and_csv_round_trip_any_events(scratch: Path, batches: list[list[Event]]) -> None:
    events = [e for batch in batches for e in batch]
    jsonl, csv_path = scratch / "rt.jsonl", scratch / "rt.csv"
    write(jsonl, batches)
    write(csv_path, batches)
    decoded = [json.loads(line) for line in io.StringIO(jsonl.read_text(encoding="utf-8"))]
    assert decoded == events
    assert jsonl.read_bytes() == _encode_jsonl_stdlib(events)  # orjson and stdlib agree, byte for byte
    assert [list(d) for d in decoded] == [list(e) for e in events]
    header, rows = read_csv(csv_path)
    assert header == list(CSV_COLUMNS)
    assert rows == [expected_csv_row(e) for e in events]


@settings(max_examples=30, deadline=None)
@given(batches=event_batches)
def test_parquet_round_trips_any_events(scratch: Path, batches: list[list[Event]]) -> None:
    events = [e for batch in batches for e in batch]
    out = scratch / "rt.parquet"
    write(out, batches, row_group_rows=1)
    rows = pq.read_table(out).to_pylist()
    assert [r["created_at"] for r in rows] == [datetime.fromisoformat(e["created_at"]) for e in events]
    assert [{k: v for k, v in r.items() if k in FIELDS and k != "created_at"} for r in rows] == [
        {name: e.get(name) for name in FIELDS if name != "created_at"} for e in events
    ]
    assert [r["created_at_offset"] for r in rows] == [offset_minutes(e["created_at"]) for e in events]
    assert [r["_extra"] for r in rows] == [expected_extra(e) for e in events]
    assert pq.ParquetFile(out).metadata.num_row_groups == len([b for b in batches if b])
    assert [p.name for p in scratch.iterdir() if p.name.startswith(".")] == []
