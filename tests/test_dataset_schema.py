"""A sync folder written under another spec (issue 16.7): the event schema is recorded, and a resume
continues on added fields (a column of the files written from then on) and refuses a removed,
renamed or retyped one, naming both specs and what to do.

The other spec is a copy of the vendored one, edited; ``FakeShortPen(spec=...)`` serves its events
and ``SyncJob(schema=...)`` writes them with its columns, as a client generated from it would (the
spec-change suite, ``tests/test_spec_change.py``, does the same with really regenerated copies).
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import hashlib
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from shortpen_api_client import SPEC_SHA256, SPEC_VERSION, DatasetSchemaError, InvalidArgumentError, ShortPen
from shortpen_api_client import __version__ as VERSION
from shortpen_api_client._arrow import EXTRA, OFFSET
from shortpen_api_client._config import resolve_base_url
from shortpen_api_client._dataset import MANIFEST_NAME, Dataset, ManifestError
from shortpen_api_client._dataset_schema import CURRENT, DatasetSchema, compare
from shortpen_api_client._jobs import SyncJob
from shortpen_api_client._lock import FolderLock
from shortpen_api_client._manifest import JOURNAL_NAME
from shortpen_api_client._schema import EVENT, Field, derive
from shortpen_api_client._spec import SPEC
from shortpen_api_client.testing import FakeShortPen

from .conftest import ROOT

Spec = dict[str, Any]
BASE_URL = "https://api.shortpen.com"
SOURCE = {"api": BASE_URL, "workspace_id": None, "url_id": None}  # what ShortPen(...).sync records
NEXT = "9.9.9"
OPTIONAL = next(f.name for f in EVENT if not f.required and f.json_type == "string")
INTEGER = next(f.name for f in EVENT if f.json_type == "integer")


def edited(change: Callable[[dict[str, Any]], None], version: str = NEXT) -> Spec:
    """The vendored spec with ``change`` applied to the event's properties, and another version."""
    spec: Spec = copy.deepcopy(dict(SPEC))
    spec["info"]["version"] = version
    event = spec["components"]["schemas"]["AnalyticsEvent"]
    change(event)
    return spec


def schema_of(spec: Spec) -> DatasetSchema:
    text = json.dumps(spec, sort_keys=True).encode()
    return DatasetSchema(spec["info"]["version"], hashlib.sha256(text).hexdigest(), derive(spec).event)


def add(name: str, node: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def change(event: dict[str, Any]) -> None:
        event["properties"][name] = node

    return change


def rename(old: str, new: str) -> Callable[[dict[str, Any]], None]:
    def change(event: dict[str, Any]) -> None:
        event["properties"] = {new if k == old else k: v for k, v in event["properties"].items()}
        event["required"] = [new if k == old else k for k in event.get("required", [])]

    return change


def remove(name: str) -> Callable[[dict[str, Any]], None]:
    def change(event: dict[str, Any]) -> None:
        del event["properties"][name]
        event["required"] = [k for k in event.get("required", []) if k != name]

    return change


def retype(name: str, node: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def change(event: dict[str, Any]) -> None:
        event["properties"][name] = node

    return change


def write_with(folder: Path, spec: Spec, start: str, end: str, fmt: str = "parquet", **fake: Any) -> None:
    """A sync by a client generated from ``spec``: its fake's events, its columns, its records."""
    server = FakeShortPen(spec=spec, seed=5, events_per_day=8, **fake)
    job = SyncJob(
        start,
        end,
        output_dir=folder,
        lookback_days=0,
        format=fmt,
        window_days=7,
        source=SOURCE,
        schema=schema_of(spec),
    )
    with job:
        job.prepare()
        for window in job.windows:
            job.write(window, server.events(window.start, window.end))


def sync_now(folder: Path, start: str, end: str, fmt: str = "parquet") -> FakeShortPen:
    """A sync by this client, through its public API."""
    server = FakeShortPen(seed=6, events_per_day=8)
    with ShortPen(
        server.token, base_url=BASE_URL, http_client=httpx.Client(transport=server.transport())
    ) as sp:
        sp.sync(start, end, output_dir=folder, format=fmt, lookback_days=0)
    return server


def manifest(folder: Path) -> dict[str, Any]:
    value: dict[str, Any] = json.loads((folder / MANIFEST_NAME).read_text())
    return value


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def columns(folder: Path, day: str, fmt: str) -> list[str]:
    """The event's columns in a day's file (without the derived ``created_at_offset`` and ``_extra``,
    which every file has)."""
    path = folder / f"date={day}" / f"part-0.{fmt}"
    if fmt == "parquet":
        names = list(pq.read_schema(path).names)
    else:
        with path.open(newline="") as file:
            names = next(csv.reader(file))
    assert names[-1] == EXTRA
    return [name for name in names if name not in (OFFSET, EXTRA)]


# -- what a folder records --------------------------------------------------------------------------


def test_a_sync_records_the_schema_its_files_have(tmp_path: Path) -> None:
    sync_now(tmp_path, "2025-01-01", "2025-01-02")
    recorded = manifest(tmp_path)["schema"]
    assert recorded["spec_version"] == SPEC_VERSION
    assert recorded["spec_sha256"] == SPEC_SHA256
    assert [f["name"] for f in recorded["fields"]] == columns(tmp_path, "2025-01-01", "parquet")
    assert DatasetSchema.from_json(recorded) == CURRENT
    assert recorded["fields"][0] == {
        "name": "id",
        "type": "integer",
        "format": None,
        "required": True,
        "nullable": False,
    }


def test_the_journal_of_a_killed_sync_carries_the_schema_it_wrote_with(tmp_path: Path) -> None:
    later = edited(add("campaign", {"type": "string"}))
    dataset = Dataset(tmp_path, schema=schema_of(later))
    dataset.write_day(
        dt.date(2025, 1, 1), [], fetched_at=dt.datetime.now(dt.UTC), client_version="9", spec_sha256="x"
    )  # no close: killed before the manifest is written
    assert not (tmp_path / MANIFEST_NAME).exists()
    header = json.loads((tmp_path / JOURNAL_NAME).read_text().splitlines()[0])
    assert header["schema"] == schema_of(later).to_json()
    with pytest.raises(DatasetSchemaError, match="`campaign` removed"):  # this client lacks the column
        Dataset(tmp_path)


# -- additive changes continue ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_an_added_field_is_a_column_of_the_files_written_from_then_on(
    tmp_path: Path, fmt: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Written by a client whose spec lacked a field, resumed by this one (through the public API)."""
    earlier = edited(remove(OPTIONAL), version="0.9.0")
    write_with(tmp_path, earlier, "2025-01-01", "2025-01-03", fmt)
    old_files = snapshot(tmp_path)
    caplog.set_level(logging.WARNING, "shortpen_api_client")
    sync_now(tmp_path, "2025-01-01", "2025-01-05", fmt)  # lookback 0: the first three days are complete
    assert OPTIONAL not in columns(tmp_path, "2025-01-03", fmt)
    assert columns(tmp_path, "2025-01-04", fmt) == [f.name for f in EVENT]
    for name, content in old_files.items():
        if name.startswith("date="):
            assert snapshot(tmp_path)[name] == content  # the older files are left as they were
    assert DatasetSchema.from_json(manifest(tmp_path)["schema"]) == CURRENT
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert f"`{OPTIONAL}` added (string, optional)" in warning
    assert "written under spec 0.9.0" in warning
    assert f"continued under spec {SPEC_VERSION} (sha256 {SPEC_SHA256[:12]})" in warning
    caplog.clear()
    sync_now(tmp_path, "2025-01-01", "2025-01-05", fmt)  # the new schema is recorded: no second warning
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]


def test_a_folder_with_an_added_column_reads_as_one_table_by_name(tmp_path: Path) -> None:
    """What the README shows: readers that unify the files' schemas by name read both kinds of file,
    the older rows with nulls in the new column."""
    earlier = edited(remove(OPTIONAL), version="0.9.0")
    write_with(tmp_path, earlier, "2025-01-01", "2025-01-02")
    server = sync_now(tmp_path, "2025-01-01", "2025-01-04")
    files = pads.dataset(tmp_path, format="parquet", partitioning="hive")
    unified = pa.unify_schemas([files.schema, *(part.physical_schema for part in files.get_fragments())])
    table = pads.dataset(tmp_path, format="parquet", partitioning="hive", schema=unified).to_table()
    rows = table.to_pylist()
    assert {str(r["date"]) for r in rows if r[OPTIONAL] is not None} == {"2025-01-03", "2025-01-04"}
    sent = [e[OPTIONAL] for e in server.events("2025-01-03", "2025-01-04") if e.get(OPTIONAL) is not None]
    assert sent
    assert sorted(r[OPTIONAL] for r in rows if r[OPTIONAL] is not None) == sorted(sent)
    before = FakeShortPen(spec=earlier, seed=5, events_per_day=8).events("2025-01-01", "2025-01-02")
    assert sorted(r["id"] for r in rows) == sorted(
        e["id"] for e in before + server.events("2025-01-03", "2025-01-04")
    )


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda e: e["required"].remove("domain"), id="required-no-longer"),
        pytest.param(lambda e: e["properties"][OPTIONAL].update(type=["string", "null"]), id="nullable-now"),
        pytest.param(
            lambda e: e.update(properties=dict(reversed(list(e["properties"].items())))), id="another-order"
        ),
        pytest.param(lambda e: e["properties"][INTEGER].update(format="int64"), id="int64-format"),
    ],
)
def test_changes_that_keep_every_column_and_type_continue(
    tmp_path: Path, change: Callable[[dict[str, Any]], None], caplog: pytest.LogCaptureFixture
) -> None:
    sync_now(tmp_path, "2025-01-01", "2025-01-02")
    later = edited(change)
    caplog.set_level(logging.WARNING, "shortpen_api_client")
    write_with(tmp_path, later, "2025-01-01", "2025-01-03")
    assert manifest(tmp_path)["schema"] == schema_of(later).to_json()
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert manifest(tmp_path)["days"]["2025-01-03"]["spec_sha256"] == schema_of(later).spec_sha256


def test_only_another_spec_text_continues_without_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sync_now(tmp_path, "2025-01-01", "2025-01-02")
    bumped = edited(lambda event: None)
    caplog.set_level(logging.INFO, "shortpen_api_client")
    write_with(tmp_path, bumped, "2025-01-01", "2025-01-03")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("same fields" in r.getMessage() for r in caplog.records)
    assert manifest(tmp_path)["schema"]["spec_version"] == NEXT


# -- breaking changes are refused --------------------------------------------------------------------

BREAKING = [
    pytest.param(
        rename("country", "country_code"), "`country` renamed (probably) to `country_code`", id="rename"
    ),
    pytest.param(retype("id", {"type": "string"}), "`id` type integer -> string", id="integer-to-string"),
    pytest.param(
        retype(OPTIONAL, {"type": "string", "format": "date-time"}),
        f"`{OPTIONAL}` type string -> string, date-time",
        id="string-to-date-time",
    ),
    pytest.param(remove("domain"), "`domain` removed (was string, required)", id="removed"),
]


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
@pytest.mark.parametrize(("change", "named"), BREAKING)
def test_a_breaking_change_is_refused_before_anything_is_written(
    tmp_path: Path, fmt: str, change: Callable[[dict[str, Any]], None], named: str
) -> None:
    sync_now(tmp_path, "2025-01-01", "2025-01-03", fmt)
    before = snapshot(tmp_path)
    later = edited(change)
    with pytest.raises(DatasetSchemaError) as refused:
        write_with(tmp_path, later, "2025-01-01", "2025-01-05", fmt)
    message = str(refused.value)
    assert isinstance(refused.value, InvalidArgumentError)  # the CLI's exit 2
    assert named in message
    assert f"written under spec {SPEC_VERSION} (sha256 {SPEC_SHA256[:12]})" in message
    assert f"has spec {NEXT} (sha256 {schema_of(later).spec_sha256[:12]})" in message
    assert "Sync into a new folder" in message
    assert "move this one aside" in message
    assert f"keep syncing this folder with shortpen-api-client {VERSION}" in message
    assert snapshot(tmp_path) == before  # no day, no record, no journal
    with FolderLock(tmp_path).lock():  # and the folder's lock was released (DatasetLockedError if not)
        pass


def test_a_downgrade_that_loses_a_column_is_refused_too(tmp_path: Path) -> None:
    later = edited(add("campaign", {"type": "string"}))
    write_with(tmp_path, later, "2025-01-01", "2025-01-02")
    with pytest.raises(DatasetSchemaError, match="`campaign` removed") as refused:
        sync_now(tmp_path, "2025-01-01", "2025-01-03")
    assert f"written under spec {NEXT}" in str(refused.value)


def test_the_cli_exits_2_naming_both_specs(tmp_path: Path) -> None:
    server = FakeShortPen(seed=1, events_per_day=3)
    folder = tmp_path / "dataset"
    retyped = edited(retype("country", {"type": "integer"}))
    with server.serve() as url:
        source = {"api": resolve_base_url(url, "api"), "workspace_id": None, "url_id": None}
        job = SyncJob(
            "2025-01-01",
            "2025-01-02",
            output_dir=folder,
            lookback_days=0,
            format="parquet",
            window_days=7,
            source=source,
            schema=schema_of(retyped),
        )
        with job:
            for window in job.windows:
                job.write(window, [])
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHORTPEN_")}
        env.update(PYTHONPATH=str(ROOT), SHORTPEN_TOKEN=server.token, SHORTPEN_BASE_URL=url)
        command = ["sync", "--output", str(folder), "--start", "2025-01-01"]
        result = subprocess.run(
            [sys.executable, "-m", "shortpen_api_client.cli", *command],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        requests = server.requests
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("shortpen: error: ")
    assert f"written under spec {NEXT}" in line
    assert f"has spec {SPEC_VERSION} (sha256 {SPEC_SHA256[:12]})" in line
    assert "`country` type integer -> string" in line
    assert "--output" in line
    assert requests == []


# -- manifests that recorded no schema (0.1.0) -------------------------------------------------------


def as_0_1_0(folder: Path, spec_sha256: str = SPEC_SHA256) -> None:
    """The manifest in 0.1.0's shape: version 1, no checksums, no schema."""
    value = manifest(folder)
    value["manifest_version"] = 1
    del value["schema"]
    for entry in value["days"].values():
        del entry["sha256"]
        entry["client_version"] = "0.1.0"
        entry["spec_sha256"] = spec_sha256
    (folder / MANIFEST_NAME).write_text(json.dumps(value))


def test_a_0_1_0_folder_of_this_spec_continues_and_gets_the_schema_recorded(tmp_path: Path) -> None:
    sync_now(tmp_path, "2025-01-01", "2025-01-02")
    as_0_1_0(tmp_path)
    assert Dataset(tmp_path).schema_changes == []
    assert "schema" not in manifest(tmp_path)  # opening to read writes nothing
    sync_now(tmp_path, "2025-01-01", "2025-01-02")
    assert DatasetSchema.from_json(manifest(tmp_path)["schema"]) == CURRENT


def test_a_0_1_0_folder_of_another_spec_is_refused_it_cannot_be_checked(tmp_path: Path) -> None:
    sync_now(tmp_path, "2025-01-01", "2025-01-02")
    as_0_1_0(tmp_path, spec_sha256="ab" * 32)
    before = snapshot(tmp_path)
    with pytest.raises(DatasetSchemaError) as refused:
        sync_now(tmp_path, "2025-01-01", "2025-01-03")
    message = str(refused.value)
    assert "written by shortpen-api-client 0.1.0 under spec sha256 abababababab" in message
    assert "did not record its columns" in message
    assert "cannot be checked" in message
    assert f"has spec {SPEC_VERSION} (sha256 {SPEC_SHA256[:12]})" in message
    assert "keep syncing this folder with shortpen-api-client 0.1.0" in message
    assert snapshot(tmp_path) == before


def test_a_folder_of_the_real_0_1_0_resumes(tmp_path: Path) -> None:
    """A folder written by the released 0.1.0 itself (``git archive v0.1.0``), resumed by this client."""
    release = tmp_path / "release"
    release.mkdir()
    try:
        archive = subprocess.run(
            ["git", "archive", "v0.1.0", "shortpen_api_client"], cwd=ROOT, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("needs git and the v0.1.0 tag (a clone with its tags)")
    subprocess.run(["tar", "-x", "-C", str(release)], input=archive, check=True)
    folder = tmp_path / "dataset"
    script = (
        "import httpx, shortpen_api_client as s\n"
        "from shortpen_api_client.testing import FakeShortPen\n"
        "assert s.__version__ == '0.1.0', s.__file__\n"
        "fake = FakeShortPen(seed=1, events_per_day=5)\n"
        "with s.ShortPen(fake.token, http_client=httpx.Client(transport=fake.transport())) as sp:\n"
        f"    sp.sync('2025-01-01', '2025-01-03', output_dir={str(folder)!r})\n"
    )
    env = {**os.environ, "PYTHONPATH": str(release)}
    subprocess.run([sys.executable, "-c", script], env=env, cwd=release, check=True, timeout=120)
    assert manifest(folder)["manifest_version"] == 1
    assert "schema" not in manifest(folder)
    sync_now(folder, "2025-01-01", "2025-01-04")
    assert DatasetSchema.from_json(manifest(folder)["schema"]) == CURRENT
    assert columns(folder, "2025-01-01", "parquet") == columns(folder, "2025-01-04", "parquet")


# -- the recorded schema is checked like the rest of the manifest ------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        [],
        {"spec_version": "1", "spec_sha256": "0" * 64},
        {"spec_version": "1", "spec_sha256": "short", "fields": []},
        {"spec_version": 1, "spec_sha256": "0" * 64, "fields": []},
        {"spec_version": "1", "spec_sha256": "0" * 64, "fields": [{"name": "id"}]},
        {"spec_version": "1", "spec_sha256": "0" * 64, "fields": ["id"]},
        {
            "spec_version": "1",
            "spec_sha256": "0" * 64,
            "fields": [{"name": "id", "type": "object", "format": None, "required": True, "nullable": False}],
        },
        {
            "spec_version": "1",
            "spec_sha256": "0" * 64,
            "fields": [{"name": "id", "type": "integer", "format": None, "required": 1, "nullable": False}],
        },
        {
            "spec_version": "1",
            "spec_sha256": "0" * 64,
            "fields": [{"name": "id", "type": "integer", "format": None, "required": True, "nullable": False}]
            * 2,
        },
    ],
)
def test_a_malformed_recorded_schema_is_a_corrupt_manifest(tmp_path: Path, bad: Any) -> None:
    sync_now(tmp_path, "2025-01-01", "2025-01-01")
    value = manifest(tmp_path)
    value["schema"] = bad
    (tmp_path / MANIFEST_NAME).write_text(json.dumps(value))
    with pytest.raises(ManifestError, match="corrupt"):
        Dataset(tmp_path)


# -- the comparison on its own ------------------------------------------------------------------------


def field(name: str, json_type: str = "string", fmt: str | None = None, *, required: bool = False) -> Field:
    return Field(name=name, json_type=json_type, format=fmt, required=required, nullable=False)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ([field("a")], [field("a")], []),
        ([field("a")], [field("a"), field("b")], [("`b` added (string, optional)", False)]),
        ([field("a")], [field("b"), field("a")], [("`b` added (string, optional)", False)]),
        ([field("a"), field("b")], [field("a")], [("`b` removed (was string, optional)", True)]),
        ([field("a"), field("b")], [field("a"), field("c")], [("`b` renamed (probably) to `c`", True)]),
        (
            [field("a"), field("b")],
            [field("a"), field("c", "integer")],
            [("`b` removed (was string, optional)", True), ("`c` added (integer, optional)", False)],
        ),
        ([field("a", "integer")], [field("a", "number")], [("`a` type integer -> number", True)]),
        ([field("a", "string", "date")], [field("a")], [("`a` type string, date -> string", True)]),
        (
            [field("a", "integer", "int32")],
            [field("a", "integer", "int64")],
            [("`a` type integer, int32 -> integer, int64", False)],
        ),
        ([field("a")], [field("a", required=True)], [("`a` now required", False)]),
        ([field("a", required=True)], [field("a")], [("`a` no longer required", False)]),
        (
            [field("a")],
            [Field(name="a", json_type="string", format=None, required=False, nullable=True)],
            [("`a` may now be null", False)],
        ),
        ([field("a"), field("b")], [field("b"), field("a")], [("fields in another order: `b`, `a`", False)]),
    ],
)
def test_compare(old: list[Field], new: list[Field], expected: list[tuple[str, bool]]) -> None:
    assert [(c.text, c.breaking) for c in compare(old, new)] == expected
