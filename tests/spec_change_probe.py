"""What a regenerated copy of the repository does, asked from inside it (the spec-change suite's probe).

``tests/test_spec_change.py`` edits ``openapi.yaml`` in a temporary copy of the repository, runs the
copy's ``scripts/regen.py``, then runs ``python -m tests.spec_change_probe COMMAND JSON-ARGS`` there
with ``PYTHONPATH`` pointing at the copy: this module imports the copy's package and prints one JSON
document on stdout. Nothing here names a spec field: the fields come from the test's arguments and
from the copy's ``_schema``.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import logging
import sys
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import attrs
import httpx

import shortpen_api_client
from shortpen_api_client import ShortPen, ShortPenError, _schema
from shortpen_api_client.testing import FakeShortPen

BASE_URL = "https://api.shortpen.com"


def _client(fake: FakeShortPen, transport: httpx.BaseTransport | None = None) -> ShortPen:
    return ShortPen(
        token=fake.token,
        base_url=BASE_URL,
        http_client=httpx.Client(transport=transport or fake.transport()),
        max_retries=0,
    )


def _json(value: Any) -> Any:
    """Dates and date-times as ISO text (date-times as UTC instants), everything else as is."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value


def _fields(fields: tuple[_schema.Field, ...]) -> list[dict[str, Any]]:
    return [
        {
            "name": f.name,
            "json_type": f.json_type,
            "format": f.format,
            "kind": f.kind,
            "required": f.required,
            "nullable": f.nullable,
        }
        for f in fields
    ]


def info() -> dict[str, Any]:
    """The copy's package: where it is imported from, its spec, the derived schemas."""
    return {
        "file": shortpen_api_client.__file__,
        "spec_version": shortpen_api_client.SPEC_VERSION,
        "spec_sha256": shortpen_api_client.SPEC_SHA256,
        "event": _fields(_schema.EVENT),
        "request": _fields(_schema.REQUEST),
    }


def version(start: str) -> dict[str, Any]:
    """``shortpen --version`` and the User-Agent a request carries."""
    from click.testing import CliRunner

    from shortpen_api_client._cli import cli

    fake = FakeShortPen(events_per_day=1)
    with _client(fake) as client:
        list(client.clicks(start, start))
    return {
        "version_line": CliRunner().invoke(cli, ["--version"]).output.strip(),
        "user_agent": fake.requests[0].headers["user-agent"],
    }


_DERIVED = ("created_at_offset", "_extra")
"""Columns every CSV/Parquet file has beside the spec's fields (``_arrow.OFFSET``, ``_arrow.EXTRA``)."""


def _model_dict(model: Any) -> dict[str, Any]:
    values = attrs.asdict(model, recurse=False)
    values.pop("additional_properties", None)
    return {"__type__": {k: type(v).__name__ for k, v in values.items()}, **_json(values)}


def export(start: str, end: str, events_per_day: int, seed: int) -> dict[str, Any]:
    """The fake's events for the range, and what ``clicks()`` and each export format make of them."""
    import pyarrow.parquet as pq

    from shortpen_api_client._generated.models import AnalyticsEvent

    fake = FakeShortPen(seed=seed, events_per_day=events_per_day)
    out: dict[str, Any] = {"truth": fake.events(start, end)}
    with _client(fake) as client, tempfile.TemporaryDirectory() as tmp:
        out["models"] = [_model_dict(m) for m in client.clicks(start, end)]
        out["from_dict_models"] = [_model_dict(AnalyticsEvent.from_dict(e)) for e in out["truth"]]
        for fmt in ("jsonl", "csv", "parquet"):
            client.export(start, end, Path(tmp) / f"out.{fmt}")
        with (Path(tmp) / "out.csv").open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            header = list(reader.fieldnames or ())
            out["csv_derived"] = [name for name in header if name in _DERIVED]  # created_at_offset, _extra
            out["csv_header"] = [name for name in header if name not in _DERIVED]
            out["csv_rows"] = list(reader)
        table = pq.read_table(Path(tmp) / "out.parquet")
        out["parquet_schema"] = {field.name: str(field.type) for field in table.schema}
        out["parquet_rows"] = _json(table.to_pylist())
        out["jsonl"] = [json.loads(line) for line in (Path(tmp) / "out.jsonl").read_text().splitlines()]

        # the model fast path: clicks() must not need the generic from_dict for the spec's own fields
        def refuse(cls: type, src_dict: Any) -> Any:
            raise AssertionError("from_dict called")

        original = AnalyticsEvent.__dict__["from_dict"]
        AnalyticsEvent.from_dict = classmethod(refuse)  # type: ignore[method-assign, assignment]
        try:
            out["fast_path"] = len(list(client.clicks(start, end))) == len(out["models"])
        except (AssertionError, ShortPenError) as exc:
            out["fast_path"] = f"{type(exc).__name__}: {exc}"
        finally:
            AnalyticsEvent.from_dict = original  # type: ignore[method-assign]
    return out


def model(event: dict[str, Any]) -> dict[str, Any]:
    """The generated ``AnalyticsEvent``: each attribute's annotation (as generated) and whether it is
    required, and what ``from_dict``, the fast path and ``to_dict`` make of ``event``."""
    from shortpen_api_client._decode import iter_models
    from shortpen_api_client._generated.models import AnalyticsEvent

    built = AnalyticsEvent.from_dict(event)
    return {
        "attributes": {
            a.name: {"type": a.type, "required": a.default is attrs.NOTHING}
            for a in attrs.fields(AnalyticsEvent)
            if a.init
        },
        "from_dict": _model_dict(built),
        "fast_path": _model_dict(next(iter_models([event]))),
        "to_dict": built.to_dict(),
    }


def _outcome(run: Callable[[], object], folder: Path) -> dict[str, Any]:
    try:
        run()
    except Exception as exc:
        window = getattr(exc, "window", None)
        return {
            "error": type(exc).__name__,
            "window": _json(list(window)) if window else None,
            "message": str(exc),
            "left": sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()),
        }
    return {
        "error": None,
        "left": sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()),
    }


def _columnar(name: str, day: str) -> Callable[[Path, ShortPen], object]:
    return lambda folder, client: list(getattr(client, name)(day, day))


def missing(field: str, day: str) -> dict[str, Any]:
    """Every path fed one day whose first event lacks ``field`` (the rest is the fake's data)."""
    fake = FakeShortPen(seed=3, events_per_day=5)

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        events = fake.events(body["start"], body["end"])
        if events:
            events[0].pop(field, None)
        return httpx.Response(200, json={"success": True, "status_code": 200, "message": "", "data": events})

    transport = httpx.MockTransport(handler)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        paths: dict[str, Callable[[Path, ShortPen], object]] = {
            "clicks": lambda folder, c: list(c.clicks(day, day)),
            "export jsonl": lambda folder, c: c.export(day, day, folder / "out.jsonl"),
            "export csv": lambda folder, c: c.export(day, day, folder / "out.csv"),
            "export parquet": lambda folder, c: c.export(day, day, folder / "out.parquet"),
            "sync": lambda folder, c: c.sync(day, day, output_dir=folder / "dataset"),
        }
        for name in ("clicks_table", "clicks_batches"):  # the columnar API, where this version has it
            if hasattr(ShortPen, name):
                paths[name] = _columnar(name, day)
        for name, run in paths.items():
            folder = Path(tmp) / name.replace(" ", "-")
            folder.mkdir()
            with _client(fake, transport) as client:
                results[name] = _outcome(partial(run, folder, client), folder)
    return results


def post(body: dict[str, Any]) -> dict[str, Any]:
    """One raw request to the copy's fake: its status and JSON answer."""
    fake = FakeShortPen(events_per_day=2)
    with httpx.Client(transport=fake.transport(), base_url=BASE_URL) as http:
        response = http.post("/v1/analytics", json=body, headers={"Authorization": f"Bearer {fake.token}"})
    try:
        answer = response.json()
    except ValueError:
        answer = response.text
    return {"status": response.status_code, "body": answer}


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def resume(folder: str, start: str, end: str, format: str) -> dict[str, Any]:
    """A sync by the copy into a dataset folder written before the change (lookback 0): its error, or
    each day file's columns and the schema the manifest records."""
    import pyarrow.parquet as pq

    warnings = _Warnings()
    logging.getLogger("shortpen_api_client").addHandler(warnings)
    dataset = Path(folder)
    fake = FakeShortPen(seed=8, events_per_day=5)
    try:
        with _client(fake) as client:
            client.sync(start, end, output_dir=dataset, format=format, lookback_days=0)
    except ShortPenError as exc:  # pragma: no cover - an API failure is a probe failure
        raise AssertionError(f"the fake failed: {exc}") from exc
    except ValueError as exc:
        return {"error": type(exc).__name__, "message": str(exc), "requests": len(fake.requests)}
    columns: dict[str, list[str]] = {}
    for path in sorted(dataset.glob(f"date=*/part-0.{format}")):
        if format == "parquet":
            names = list(pq.read_schema(path).names)
        else:
            with path.open(newline="", encoding="utf-8") as file:
                names = next(csv.reader(file))
        columns[path.parent.name[5:]] = [name for name in names if name not in _DERIVED]
    manifest = json.loads((dataset / "_manifest.json").read_text())
    return {"error": None, "columns": columns, "schema": manifest["schema"], "warnings": warnings.messages}


COMMANDS: dict[str, Callable[..., dict[str, Any]]] = {
    "info": info,
    "version": version,
    "export": export,
    "model": model,
    "missing": missing,
    "post": post,
    "resume": resume,
}

if __name__ == "__main__":
    command, arguments = sys.argv[1], json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    json.dump(COMMANDS[command](**arguments), sys.stdout, default=str)
