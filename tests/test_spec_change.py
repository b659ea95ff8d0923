"""The spec-change suite (issue 16.4): a spec edit reaches every output after ``make regen``, no other edit.

For each change of the issue's table, one temporary copy of the repository (its git-listed files) gets
the edited ``openapi.yaml`` and runs its own ``scripts/regen.py`` once, with this environment's
interpreter and tools and ``PYTHONPATH`` pointing at the copy; then ``tests/spec_change_probe.py``
runs inside the copy and reports what the copy's package does (schema, models, CSV, Parquet, JSONL,
the fake, the CLI). Each change generates once (module-scoped fixtures); the probe makes no network
call beyond in-process transports.

| spec change                              | what must follow                                                |
|------------------------------------------|-----------------------------------------------------------------|
| optional string + date-time event fields | in ``_schema.EVENT``, the model (None when absent), a CSV column |
|                                          | and a typed Parquet column, with the fake's values              |
| rename ``country`` -> ``country_code``   | the column moves; the fake sends ``country_code``               |
| ``country`` required                     | every path treats an event without it alike (InvalidResponse)  |
| ``id`` integer -> string                 | Parquet ``id`` is a string column                               |
| an object, enum, uuid or union property  | fails at regen with a SchemaError naming it, nothing written    |
| nullable scalars (``[T, "null"]``,       | ``T | None`` in the model (absent and null: None, as from_dict),|
| ``nullable: true``)                      | a Parquet null, an empty CSV cell; the fake sends null sometimes|
| new required request field, ``url_id``   | the fake enforces the new request (400 naming the field)        |
| removed                                  |                                                                 |
| only ``info.version``                    | ``SPEC_VERSION`` follows; the version tests pass unedited       |

And a sync folder written before the change is resumed by the copy (issue 16.7): after an added
field (or a new version, or a field made required) it continues, the new columns in the new files
only; after a rename or a type change it is refused (``DatasetSchemaError``) before any request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from shortpen_api_client import SPEC_SHA256, SPEC_VERSION, ShortPen
from shortpen_api_client.testing import FakeShortPen

from ._spec_copy import GENERATED_FILES, Copy, Spec, digest, generated_ok, regenerated

pytestmark = pytest.mark.spec_change

START, END = "2025-03-01", "2025-03-03"


def event_schema(spec: Spec) -> dict[str, Any]:
    node: dict[str, Any] = spec["components"]["schemas"]["AnalyticsEvent"]
    return node


def request_schema(spec: Spec) -> dict[str, Any]:
    node: dict[str, Any] = spec["components"]["schemas"]["AnalyticsRequest"]
    return node


def instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)


def by_id(rows: list[dict[str, Any]], key: str = "id") -> dict[str, dict[str, Any]]:
    return {str(r[key]): r for r in rows}


def sent(truth: list[dict[str, Any]], name: str) -> list[Any]:
    """The non-null values the fake sent for ``name``: a comparison over none would prove nothing."""
    values = [e[name] for e in truth if e.get(name) is not None]
    assert values, f"the fake never sends {name}: nothing to compare"
    return values


def report_lines(copy: Copy) -> list[str]:
    return [line.strip() for line in copy.regen.stdout.splitlines() if line.strip().startswith("- ")]


def changelog_block(copy: Copy) -> str:
    text = (copy.root / "CHANGELOG.md").read_text()
    begin = text.index("<!-- spec-change report")
    return text[begin : text.index("<!-- /spec-change report -->", begin)]


def test_the_copy_imports_its_own_package(added: Copy) -> None:
    generated_ok(added)
    assert added.probe("info")["file"] == str(added.root / "shortpen_api_client" / "__init__.py")


# -- (a) optional fields added to AnalyticsEvent: a string and a date-time --

NEW_TEXT, NEW_TIME = "utm_campaign", "converted_at"


@pytest.fixture(scope="module")
def added(tmp_path_factory: pytest.TempPathFactory) -> Copy:
    def change(spec: Spec) -> None:  # after created_at: created_at need not be the last column
        event_schema(spec)["properties"][NEW_TEXT] = {"type": "string", "example": "spring-sale"}
        event_schema(spec)["properties"][NEW_TIME] = {"type": "string", "format": "date-time"}

    return regenerated(tmp_path_factory, "added", change)


@pytest.fixture(scope="module")
def added_export(added: Copy) -> Any:
    generated_ok(added)
    return added.probe("export", start=START, end=END, events_per_day=20, seed=7)


def test_added_report_is_printed_and_kept_in_the_changelog(added: Copy) -> None:
    generated_ok(added)
    expected = [
        f"- response field `{NEW_TEXT}` added (string, optional)",
        f"- response field `{NEW_TIME}` added (string, date-time, optional)",
    ]
    assert report_lines(added) == expected
    assert "BREAKING" not in added.regen.stdout
    assert changelog_block(added).splitlines()[-2:] == expected
    assert added.run("scripts/regen.py", "--check").returncode == 0  # regen's output is what it checks


def test_added_fields_are_in_the_derived_schema(added: Copy) -> None:
    generated_ok(added)
    event = added.probe("info")["event"]
    assert [f["name"] for f in event][-3:] == ["created_at", NEW_TEXT, NEW_TIME]
    new = {f["name"]: (f["kind"], f["required"]) for f in event}
    assert new[NEW_TEXT] == ("str", False)
    assert new[NEW_TIME] == ("datetime", False)


def test_the_fake_sends_the_added_fields_sometimes(added_export: Any) -> None:
    truth = added_export["truth"]
    for name in (NEW_TEXT, NEW_TIME):
        assert len(sent(truth, name)) < len(truth), f"the fake always sends optional {name}"
    assert all(isinstance(v, str) for v in sent(truth, NEW_TEXT))
    assert all(instant(v).tzinfo for v in sent(truth, NEW_TIME))


def test_added_fields_reach_the_models(added_export: Any) -> None:
    for name in (NEW_TEXT, NEW_TIME):
        sent(added_export["truth"], name)
    truth, models = by_id(added_export["truth"]), by_id(added_export["models"])
    assert models.keys() == truth.keys()
    for key, event in truth.items():
        model = models[key]
        assert model[NEW_TEXT] == event.get(NEW_TEXT)  # None when absent or null
        stamp = event.get(NEW_TIME)
        assert model[NEW_TIME] == (None if stamp is None else instant(stamp).isoformat())
        assert model["__type__"][NEW_TIME] == ("NoneType" if stamp is None else "datetime")
    assert added_export["fast_path"] is True  # built without the generic from_dict


def test_added_fields_are_csv_columns_with_the_fakes_values(added_export: Any) -> None:
    assert added_export["csv_header"][-3:] == ["created_at", NEW_TEXT, NEW_TIME]
    assert added_export["csv_derived"] == ["_extra"]  # unknown fields, after the spec's
    for name in (NEW_TEXT, NEW_TIME):
        sent(added_export["truth"], name)
    truth, rows = by_id(added_export["truth"]), by_id(added_export["csv_rows"])
    assert rows.keys() == truth.keys()
    for key, event in truth.items():
        assert rows[key][NEW_TEXT] == (event.get(NEW_TEXT) or "")
        stamp, cell = event.get(NEW_TIME), rows[key][NEW_TIME]
        assert (cell == "") if stamp is None else (instant(cell) == instant(stamp))


def test_added_fields_are_typed_parquet_columns_with_the_fakes_values(added_export: Any) -> None:
    schema = added_export["parquet_schema"]
    assert schema[NEW_TEXT] == "string"
    assert schema[NEW_TIME] == "timestamp[us, tz=UTC]"
    for name in (NEW_TEXT, NEW_TIME):
        sent(added_export["truth"], name)
    truth, rows = by_id(added_export["truth"]), by_id(added_export["parquet_rows"])
    assert rows.keys() == truth.keys()
    for key, event in truth.items():
        assert rows[key][NEW_TEXT] == event.get(NEW_TEXT)
        stamp = event.get(NEW_TIME)
        assert rows[key][NEW_TIME] == (None if stamp is None else instant(stamp).isoformat())


def test_added_fields_are_in_jsonl_as_sent(added_export: Any) -> None:
    assert added_export["jsonl"] == added_export["truth"]


# -- (b) rename country -> country_code --


@pytest.fixture(scope="module")
def renamed(tmp_path_factory: pytest.TempPathFactory) -> Copy:
    def change(spec: Spec) -> None:
        event = event_schema(spec)
        event["properties"] = {
            ("country_code" if k == "country" else k): v for k, v in event["properties"].items()
        }

    return regenerated(tmp_path_factory, "renamed", change)


def test_rename_is_reported_as_breaking(renamed: Copy) -> None:
    generated_ok(renamed)
    assert report_lines(renamed) == [
        "- BREAKING: response field `country` renamed (probably) to `country_code` (string)"
    ]
    assert "BREAKING: response field `country` renamed" in changelog_block(renamed)


def test_rename_moves_the_column_and_the_fake_sends_the_new_name(renamed: Copy) -> None:
    generated_ok(renamed)
    names = [f["name"] for f in renamed.probe("info")["event"]]
    assert "country" not in names
    out = renamed.probe("export", start=START, end=END, events_per_day=20, seed=7)
    truth = out["truth"]
    assert not any("country" in e for e in truth)
    sent(truth, "country_code")
    assert out["csv_header"] == names
    assert "country" not in out["parquet_schema"]
    assert out["parquet_schema"]["country_code"] == "string"
    csv_rows, parquet_rows = by_id(out["csv_rows"]), by_id(out["parquet_rows"])
    for key, event in by_id(truth).items():
        assert csv_rows[key]["country_code"] == (event.get("country_code") or "")
        assert parquet_rows[key]["country_code"] == event.get("country_code")


# -- (c) country becomes required --


@pytest.fixture(scope="module")
def required_country(tmp_path_factory: pytest.TempPathFactory) -> Copy:
    return regenerated(
        tmp_path_factory, "required", lambda spec: event_schema(spec)["required"].append("country")
    )


def test_required_is_reported_not_breaking_for_readers(required_country: Copy) -> None:
    generated_ok(required_country)
    assert report_lines(required_country) == ["- response field `country` is now required"]


def test_the_fake_always_sends_a_required_field(required_country: Copy) -> None:
    generated_ok(required_country)
    out = required_country.probe("export", start=START, end=END, events_per_day=20, seed=7)
    assert all(isinstance(e.get("country"), str) for e in out["truth"])
    assert out["parquet_schema"]["country"] == "string"


def test_every_path_refuses_an_event_without_a_required_field_alike(required_country: Copy) -> None:
    generated_ok(required_country)
    day = "2025-03-02"
    outcomes = required_country.probe("missing", field="country", day=day)
    assert {"clicks", "export jsonl", "export csv", "export parquet", "sync"} <= outcomes.keys()
    for path, outcome in outcomes.items():
        assert outcome["error"] == "InvalidResponseError", (path, outcome)
        assert outcome["window"] == [day, day], (path, outcome)
        assert "country" in outcome["message"], (path, outcome)
        if path.startswith("export"):
            assert outcome["left"] == [], (path, outcome)  # all or nothing
        assert not any(f"date={day}" in name for name in outcome["left"]), (path, outcome)


# -- (d) id integer -> string; an unsupported type --


@pytest.fixture(scope="module")
def id_string(tmp_path_factory: pytest.TempPathFactory) -> Copy:
    def change(spec: Spec) -> None:
        event_schema(spec)["properties"]["id"] = {"type": "string", "example": "evt_7301"}

    return regenerated(tmp_path_factory, "id-string", change)


def test_type_change_is_reported_as_breaking(id_string: Copy) -> None:
    generated_ok(id_string)
    assert report_lines(id_string) == ["- BREAKING: response field `id`: type integer -> string"]


def test_id_as_string_changes_the_arrow_type_and_the_export_works(id_string: Copy) -> None:
    generated_ok(id_string)
    out = id_string.probe("export", start=START, end=END, events_per_day=20, seed=7)
    truth_ids = [e["id"] for e in out["truth"]]
    assert truth_ids
    assert all(isinstance(i, str) for i in truth_ids)
    assert out["parquet_schema"]["id"] == "string"
    assert sorted(r["id"] for r in out["parquet_rows"]) == sorted(truth_ids)
    assert sorted(r["id"] for r in out["csv_rows"]) == sorted(truth_ids)
    assert {m["__type__"]["id"] for m in out["models"]} == {"str"}


REFUSED = {  # a property the generated model would type otherwise than the derived schema says
    "object": ("location", {"type": "object", "properties": {"lat": {"type": "number"}}}, "type 'object'"),
    "enum": ("device_type", {"type": "string", "enum": ["mobile", "desktop", "tablet"]}, "enum"),
    "uuid": ("visitor_id", {"type": "string", "format": "uuid"}, "format 'uuid'"),
    "union": ("score", {"type": ["integer", "string"]}, "type ['integer', 'string']"),
}


@pytest.fixture(scope="module", params=sorted(REFUSED))
def refused(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Copy, str]:
    name, node, said = REFUSED[request.param]

    def change(spec: Spec) -> None:
        event_schema(spec)["properties"][name] = node

    return regenerated(tmp_path_factory, request.param, change), f"AnalyticsEvent.{name}: {said} is not"


def test_an_unsupported_shape_fails_at_regen_and_writes_nothing(refused: tuple[Copy, str]) -> None:
    copy, said = refused
    for result in (copy.regen, copy.run("scripts/regen.py", "--check")):
        assert result.returncode != 0
        assert said in result.stderr, result.stderr
        assert "supported: integer, number, boolean or string" in result.stderr
        assert "Nothing was written" in result.stderr
        assert "Traceback" not in result.stderr
    assert digest(copy.root, *GENERATED_FILES) == copy.before


# -- nullable scalars (3.1 type lists and 3.0 nullable: true): T | None, absent and null alike None --

N_INT, N_NUMBER, N_DATE = "score", "rating", "checked_on"


@pytest.fixture(scope="module")
def nullable(tmp_path_factory: pytest.TempPathFactory) -> Copy:
    def change(spec: Spec) -> None:
        event = event_schema(spec)
        event["properties"][N_INT] = {"type": ["integer", "null"], "example": 3}
        event["properties"][N_NUMBER] = {"type": "number", "nullable": True}  # OpenAPI 3.0's spelling
        event["properties"][N_DATE] = {"type": ["string", "null"], "format": "date"}
        event["required"].append(N_DATE)  # always sent, sometimes null

    return regenerated(tmp_path_factory, "nullable", change)


@pytest.fixture(scope="module")
def nullable_export(nullable: Copy) -> Any:
    generated_ok(nullable)
    return nullable.probe("export", start=START, end=END, events_per_day=40, seed=7)


def test_nullable_fields_are_reported_derived_and_typed_t_or_none(nullable: Copy) -> None:
    generated_ok(nullable)
    assert report_lines(nullable) == [
        f"- response field `{N_INT}` added (integer, optional, nullable)",
        f"- response field `{N_NUMBER}` added (number, optional, nullable)",
        f"- response field `{N_DATE}` added (string, date, required, nullable)",
    ]
    assert nullable.run("scripts/regen.py", "--check").returncode == 0
    event = {f["name"]: f for f in nullable.probe("info")["event"]}
    assert [event[n]["nullable"] for n in (N_INT, N_NUMBER, N_DATE)] == [True, True, True]
    sample = nullable.probe("export", start=START, end=START, events_per_day=1, seed=7)["truth"][0]
    absent = {k: v for k, v in sample.items() if k != N_NUMBER}
    model = nullable.probe("model", event={**absent, N_INT: None, N_DATE: None})
    assert {n: model["attributes"][n] for n in (N_INT, N_NUMBER, N_DATE)} == {
        N_INT: {"type": "int | None", "required": False},
        N_NUMBER: {"type": "float | None", "required": False},
        N_DATE: {"type": "datetime.date | None", "required": True},
    }
    for built in (model["from_dict"], model["fast_path"]):  # null and absent: None, never Unset
        assert [built[n] for n in (N_INT, N_NUMBER, N_DATE)] == [None, None, None]
        assert [built["__type__"][n] for n in (N_INT, N_NUMBER, N_DATE)] == ["NoneType"] * 3
    assert N_INT not in model["to_dict"]  # an optional None is left out ...
    assert N_NUMBER not in model["to_dict"]
    assert model["to_dict"][N_DATE] is None  # ... a required one is written as null


def test_the_fake_sends_nullable_fields_null_sometimes(nullable_export: Any) -> None:
    truth = nullable_export["truth"]
    for name in (N_INT, N_NUMBER, N_DATE):
        nulls = sum(name in e and e[name] is None for e in truth)
        assert 0 < nulls < len(truth), name
        sent(truth, name)
    assert all(N_DATE in e for e in truth)  # required: present, null or a date
    assert any(N_INT not in e for e in truth)  # optional: sometimes absent too


def test_nullable_fields_reach_models_csv_and_parquet(nullable_export: Any) -> None:
    out = nullable_export
    truth = by_id(out["truth"])
    models, from_dict = by_id(out["models"]), by_id(out["from_dict_models"])
    csv_rows, parquet_rows = by_id(out["csv_rows"]), by_id(out["parquet_rows"])
    assert out["fast_path"] is True  # built without the generic from_dict ...
    assert models == from_dict  # ... and the same models as from_dict
    assert {n: out["parquet_schema"][n] for n in (N_INT, N_NUMBER, N_DATE)} == {
        N_INT: "int64",
        N_NUMBER: "double",
        N_DATE: "date32[day]",
    }
    for key, event in truth.items():
        for name in (N_INT, N_NUMBER, N_DATE):
            value = event.get(name)
            assert models[key][name] == value, (key, name)  # None when absent or null
            assert parquet_rows[key][name] == value, (key, name)  # a Parquet null
            assert csv_rows[key][name] == ("" if value is None else str(value)), (key, name)  # empty


# -- (e) a new required request field; url_id removed --


@pytest.fixture(scope="module")
def request_changed(tmp_path_factory: pytest.TempPathFactory) -> Copy:
    def change(spec: Spec) -> None:
        request = request_schema(spec)
        del request["properties"]["url_id"]
        request["properties"]["region"] = {"type": "string", "description": "Data region."}
        request["required"].append("region")

    return regenerated(tmp_path_factory, "request", change)


def test_request_changes_are_reported_as_breaking(request_changed: Copy) -> None:
    generated_ok(request_changed)
    assert report_lines(request_changed) == [
        "- BREAKING: request field `url_id` removed (was integer, optional)",
        "- BREAKING: request field `region` added (string, required)",
    ]


def test_the_fake_enforces_the_new_request(request_changed: Copy) -> None:
    generated_ok(request_changed)
    assert [f["name"] for f in request_changed.probe("info")["request"]] == [
        "workspace_id",
        "start",
        "end",
        "region",
    ]
    old_body = request_changed.probe("post", body={"start": START, "end": START})
    assert old_body["status"] == 400
    assert "region" in old_body["body"]["message"]
    wrong_type = request_changed.probe("post", body={"start": START, "end": START, "region": 5})
    assert wrong_type["status"] == 400
    assert "region" in wrong_type["body"]["message"]
    new_body = request_changed.probe("post", body={"start": START, "end": START, "region": "eu"})
    assert new_body["status"] == 200, new_body
    assert new_body["body"]["success"] is True


def test_the_fake_no_longer_validates_a_removed_request_field(request_changed: Copy) -> None:
    """The spec does not know url_id any more and does not forbid other properties (no
    ``additionalProperties: false``), so a validation that follows it no longer checks url_id."""
    generated_ok(request_changed)
    body = {"start": START, "end": START, "region": "eu", "url_id": "not-an-integer"}
    answer = request_changed.probe("post", body=body)
    assert answer["status"] == 200, answer


# -- (f) only info.version bumped --


def bumped(version: str) -> str:
    parts = version.split(".")
    return ".".join([*parts[:-1], str(int(parts[-1]) + 1)])


NEXT_VERSION = bumped(SPEC_VERSION)


@pytest.fixture(scope="module")
def version_bumped(tmp_path_factory: pytest.TempPathFactory) -> Copy:
    return regenerated(
        tmp_path_factory, "version", lambda spec: spec["info"].__setitem__("version", NEXT_VERSION)
    )


def test_version_bump_is_reported_and_followed(version_bumped: Copy) -> None:
    generated_ok(version_bumped)
    assert report_lines(version_bumped) == [f"- spec version {SPEC_VERSION} -> {NEXT_VERSION}"]
    info = version_bumped.probe("info")
    assert info["spec_version"] == NEXT_VERSION
    assert (
        info["spec_sha256"] == hashlib.sha256((version_bumped.root / "openapi.yaml").read_bytes()).hexdigest()
    )
    shown = version_bumped.probe("version", start=START)
    assert f"ShortPen API spec {NEXT_VERSION}, sha256 {info['spec_sha256'][:12]}" in shown["version_line"]
    assert shown["user_agent"].endswith(f"(spec {NEXT_VERSION})")


def test_version_bump_needs_no_test_edit(version_bumped: Copy) -> None:
    """The copy's own tests that look at versions pass unedited."""
    generated_ok(version_bumped)
    result = version_bumped.run(
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/test_spec.py",
        "tests/test_versions.py",
        "tests/test_client_behaviour.py::test_request_headers_body_and_url",
        "tests/test_cli.py::test_help_and_version",
        "tests/test_packaging.py::test_wheel_installs_and_imports_with_core_dependencies_only",
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


# -- (g) a sync folder written before the change, resumed by the copy --

AFTER = "2025-03-05"  # the resume's end: two days the folder does not have yet


def folder_before(tmp_path: Path, fmt: str = "parquet") -> Path:
    """START..END synced by this (unchanged) package into a new folder."""
    fake = FakeShortPen(seed=4, events_per_day=5)
    folder = tmp_path / "dataset"
    http = httpx.Client(transport=fake.transport())
    with ShortPen(fake.token, base_url="https://api.shortpen.com", http_client=http) as client:
        client.sync(START, END, output_dir=folder, format=fmt)
    return folder


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_a_folder_resumed_after_fields_are_added_gets_them_in_new_files_only(
    added: Copy, tmp_path: Path, fmt: str
) -> None:
    generated_ok(added)
    folder = folder_before(tmp_path, fmt)
    out = added.probe("resume", folder=str(folder), start=START, end=AFTER, format=fmt)
    assert out["error"] is None, out
    before = [f["name"] for f in added.probe("info")["event"] if f["name"] not in (NEW_TEXT, NEW_TIME)]
    assert out["columns"][END] == before
    assert out["columns"][AFTER] == [*before, NEW_TEXT, NEW_TIME]
    assert out["schema"]["spec_sha256"] == added.probe("info")["spec_sha256"]
    assert any(f"`{NEW_TEXT}` added (string, optional)" in w for w in out["warnings"]), out["warnings"]


def test_a_folder_resumed_after_a_version_bump_or_a_required_field_continues(
    version_bumped: Copy, required_country: Copy, tmp_path: Path
) -> None:
    for copy, warned in ((version_bumped, False), (required_country, True)):
        generated_ok(copy)
        folder = folder_before(tmp_path / copy.root.parent.name)
        out = copy.probe("resume", folder=str(folder), start=START, end=AFTER, format="parquet")
        assert out["error"] is None, out
        assert out["schema"]["spec_sha256"] == copy.probe("info")["spec_sha256"] != SPEC_SHA256
        assert bool(out["warnings"]) is warned, out["warnings"]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ("renamed", "`country` renamed (probably) to `country_code`"),
        ("id_string", "`id` type integer -> string"),
    ],
)
def test_a_folder_resumed_after_a_breaking_change_is_refused(
    change: str, named: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    copy: Copy = request.getfixturevalue(change)
    generated_ok(copy)
    folder = folder_before(tmp_path)
    files = digest(folder, ".")
    out = copy.probe("resume", folder=str(folder), start=START, end=AFTER, format="parquet")
    assert out["error"] == "DatasetSchemaError", out
    assert named in out["message"]
    assert f"written under spec {SPEC_VERSION} (sha256 {SPEC_SHA256[:12]})" in out["message"]
    assert out["requests"] == 0
    assert digest(folder, ".") == files
