"""Documented behaviours that mutation testing found unguarded (issue 12), each pinned by a test that
fails on the matching planted bug:

- the folder is fsynced after the rename (export, each sync partition, the manifest);
- "a 504 twice in a row" splits a window, a 504 with another failure in between does not;
- a sync rerun with holes fetches exactly the holes, not one window over the gap;
- events with equal ``created_at`` instants keep the server's order (a stable sort), in every output;
- ``workspace_id=None`` / ``url_id=None`` are left out of the request body, never sent as ``null``.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from shortpen_api_client import AsyncShortPen, ShortPen
from shortpen_api_client import _daywriter as daywriter
from shortpen_api_client._arrow import parquet_schema
from shortpen_api_client._arrow_body import body_to_table
from shortpen_api_client._durable import syncfs, syncfs_available
from shortpen_api_client.testing import FakeShortPen, Fault, FaultPlan

from .test_jobs import dataset_events, expected_by_day

TOKEN = "spk_test_guards_0000"
NO_SLEEP: Callable[[float], None] = lambda seconds: None  # noqa: E731  (tests never wait for backoff)


async def no_sleep(seconds: float) -> None:
    return None


def fake_client(fake: FakeShortPen, **options: Any) -> ShortPen:
    return ShortPen(
        fake.token, http_client=httpx.Client(transport=fake.transport()), sleep=NO_SLEEP, **options
    )


def windows_sent(fake: FakeShortPen) -> list[tuple[str, str]]:
    return [(r.body["start"], r.body["end"]) for r in fake.requests]


# -- 1. the folder is fsynced after the rename ----------------------------------------------------------

Inode = tuple[int, int]


class DurabilitySpy:
    """Records, in order and per thread, every ``os.replace`` (the renamed file's inode, the target, the
    inode of the target's folder) and every ``os.fsync`` (the inode behind the fd, and whether it is a
    directory). A sync writes a window's days in several threads: each day is checked in its own."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.events: list[tuple[Any, ...]] = []
        real_replace, real_fsync = os.replace, os.fsync

        def replace(src: Any, dst: Any, **kwargs: Any) -> None:
            moved = _inode(Path(src).stat())
            folder = _inode(Path(dst).parent.stat())
            real_replace(src, dst, **kwargs)
            self.events.append(("replace", Path(dst), moved, folder, threading.get_ident()))

        def fsync(fd: Any) -> None:
            real_fsync(fd)
            info = os.fstat(fd if isinstance(fd, int) else fd.fileno())
            self.events.append(("fsync", _inode(info), stat.S_ISDIR(info.st_mode), threading.get_ident()))

        monkeypatch.setattr(os, "replace", replace)
        monkeypatch.setattr(os, "fsync", fsync)

    def check_every_rename(self) -> list[Path]:
        """Assert that each renamed file was fsynced before its rename, and its folder fsynced after
        it (before that thread's next rename); return the renamed targets, in order."""
        targets = []
        assert any(e[0] == "replace" for e in self.events), "nothing was renamed into place"
        for thread in dict.fromkeys(e[-1] for e in self.events):
            events = [e[:-1] for e in self.events if e[-1] == thread]
            renames = [i for i, event in enumerate(events) if event[0] == "replace"]
            for n, at in enumerate(renames):
                _, target, moved, folder = events[at]
                before = events[renames[n - 1] + 1 if n else 0 : at]
                after = events[at + 1 : renames[n + 1] if n + 1 < len(renames) else len(events)]
                assert ("fsync", moved, False) in before, f"{target.name} was not fsynced before its rename"
                assert ("fsync", folder, True) in after, (
                    f"{target.parent} was not fsynced after {target.name}"
                )
        for event in self.events:
            if event[0] == "replace":
                targets.append(event[1])
        return targets


def _inode(info: os.stat_result) -> Inode:
    return (info.st_dev, info.st_ino)


@pytest.mark.skipif(os.name != "posix", reason="a directory can be fsynced on POSIX only")
def test_an_export_fsyncs_its_folder_after_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeShortPen(seed=1, events_per_day=5)
    spy = DurabilitySpy(monkeypatch)
    with fake_client(fake) as sp:
        sp.export("2025-01-01", "2025-01-03", tmp_path / "clicks.jsonl")
    assert spy.check_every_rename() == [tmp_path / "clicks.jsonl"]


@pytest.mark.skipif(os.name != "posix", reason="a directory can be fsynced on POSIX only")
def test_a_sync_fsyncs_each_partition_folder_and_the_dataset_folder_after_the_renames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where syncfs cannot be used (not Linux 5.8+), each day is made durable on its own."""
    monkeypatch.setattr(daywriter, "syncfs_available", lambda: False)
    fake = FakeShortPen(seed=1, events_per_day=5)
    spy = DurabilitySpy(monkeypatch)
    with fake_client(fake, window_days=2, max_concurrency=1) as sp:
        sp.sync("2025-01-01", "2025-01-03", output_dir=tmp_path)
    part = "part-0.parquet"
    renamed = spy.check_every_rename()
    # each day's file (a window's days are written concurrently), then the manifest, compacted once
    assert sorted(renamed[:-1]) == [tmp_path / f"date=2025-01-0{d}" / part for d in (1, 2, 3)]
    assert renamed[-1] == tmp_path / "_manifest.json"


class BatchDurabilitySpy(DurabilitySpy):
    """Also records each file created (``os.open`` with ``O_CREAT``), each ``syncfs`` (per device)
    and which fsyncs are the journal's."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__(monkeypatch)
        real_open = os.open
        self.journal_inodes: set[Inode] = set()

        def spy_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
            fd = real_open(path, flags, *args, **kwargs)
            if flags & os.O_CREAT:
                self.events.append(("create", Path(path), threading.get_ident()))
                if Path(path).name == "_journal.jsonl":
                    self.journal_inodes.add(_inode(os.fstat(fd)))
            return fd

        def spy_syncfs(directories: Any) -> None:
            directories = list(directories)
            syncfs(directories)
            for device in {Path(d).stat().st_dev for d in directories}:
                self.events.append(("syncfs", device, threading.get_ident()))

        monkeypatch.setattr(os, "open", spy_open)
        monkeypatch.setattr(daywriter, "syncfs", spy_syncfs)

    def check_batched_days(self, folder: Path) -> list[Path]:
        """Assert, for each day file renamed into place: a syncfs of its filesystem between its
        temporary file's creation and its rename (its data is durable before its name), and one
        after the rename and before the next journal fsync (which records it); return the targets."""
        events = [e[:-1] for e in self.events]
        device = folder.stat().st_dev
        targets = []
        for at, event in enumerate(events):
            if event[0] != "replace" or not event[1].parent.name.startswith("date="):
                continue
            target = event[1]
            created = max(
                i
                for i, e in enumerate(events[:at])
                if e[0] == "create"
                and e[1].parent == target.parent
                and e[1].name.startswith(f".{target.name}.")
            )
            assert ("syncfs", device) in events[created:at], f"{target} renamed before its data was durable"
            journal = next(
                i
                for i, e in enumerate(events[at:], start=at)
                if e[0] == "fsync" and e[1] in self.journal_inodes
            )
            assert ("syncfs", device) in events[at:journal], (
                f"{target} recorded before its rename was durable"
            )
            targets.append(target)
        return targets


@pytest.mark.skipif(not syncfs_available(), reason="syncfs: Linux 5.8+")
def test_a_sync_makes_each_batch_durable_before_renaming_and_before_recording(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeShortPen(seed=1, events_per_day=5)
    spy = BatchDurabilitySpy(monkeypatch)
    with fake_client(fake, window_days=2, max_concurrency=1) as sp:
        sp.sync("2025-01-01", "2025-01-05", output_dir=tmp_path)
    renamed = spy.check_batched_days(tmp_path)
    assert sorted(renamed) == [tmp_path / f"date=2025-01-0{d}" / "part-0.parquet" for d in range(1, 6)]


# -- 2. "twice in a row" means in a row -------------------------------------------------------------------

WEEK = ("2025-01-01", "2025-01-07")
NOT_TWICE_IN_A_ROW = FaultPlan(
    {1: Fault.server_error(504), 2: Fault.server_error(503), 3: Fault.server_error(504)}
)


def test_a_504_then_503_then_504_retries_the_same_week_and_does_not_split() -> None:
    fake = FakeShortPen(seed=6, events_per_day=5, faults=NOT_TWICE_IN_A_ROW)
    with fake_client(fake, window_days=7) as sp:
        got = [event.to_dict() for event in sp.clicks(*WEEK)]
    assert [r.body for r in fake.requests] == [{"start": WEEK[0], "end": WEEK[1]}] * 4
    assert [r.fault for r in fake.requests][:3] == list(NOT_TWICE_IN_A_ROW.scripted.values())
    assert [e["id"] for e in got] == [e["id"] for e in fake.events(*WEEK)]


@pytest.mark.anyio
async def test_a_504_then_503_then_504_does_not_split_in_the_async_client_either() -> None:
    fake = FakeShortPen(seed=6, events_per_day=5, faults=NOT_TWICE_IN_A_ROW)
    async with AsyncShortPen(
        fake.token, http_client=httpx.AsyncClient(transport=fake.transport()), sleep=no_sleep, window_days=7
    ) as asp:
        got = [event.to_dict() async for event in asp.clicks(*WEEK)]
    assert [r.body for r in fake.requests] == [{"start": WEEK[0], "end": WEEK[1]}] * 4
    assert [e["id"] for e in got] == [e["id"] for e in fake.events(*WEEK)]


# -- 3. a sync rerun with holes fetches only the holes ----------------------------------------------------


def test_a_rerun_fetches_only_the_missing_days_not_the_span_between_them(tmp_path: Path) -> None:
    fake = FakeShortPen(seed=12, events_per_day=8)
    with fake_client(fake) as sp:
        sp.sync("2025-01-01", "2025-01-10", output_dir=tmp_path)
    holes = ("2025-01-03", "2025-01-07")
    for day in holes:
        shutil.rmtree(tmp_path / f"date={day}")
    kept = {p: _inode(p.stat()) for p in tmp_path.glob("date=*/part-0.parquet")}
    assert len(kept) == 8
    first_run = len(fake.requests)

    with fake_client(fake) as sp:
        report = sp.sync("2025-01-01", "2025-01-10", output_dir=tmp_path, lookback_days=0)

    assert sorted(windows_sent(fake)[first_run:]) == [(day, day) for day in holes]
    assert (report.days_fetched, report.days_skipped) == (2, 8)
    assert {p: _inode(p.stat()) for p in kept} == kept  # the complete days were not rewritten
    assert dataset_events(tmp_path) == expected_by_day(fake, "2025-01-01", "2025-01-10")


# -- 4. ties in created_at keep the server's order --------------------------------------------------------


def _event(id: int, created_at: str) -> dict[str, Any]:
    return {
        "id": id,
        "workspace_id": 24,
        "organization_id": 3,
        "url_id": 501,
        "domain": "go.shortpen.com",
        "created_at": created_at,
    }


# Ids in no sorted order among each tie; equal instants also written with different offsets.
ASCENDING_WITH_TIES = [
    _event(7, "2025-01-01T00:00:00Z"),
    _event(3, "2025-01-01T01:00:00+01:00"),  # the same instant as id 7
    _event(9, "2025-01-01T00:00:00+00:00"),  # and again
    _event(1, "2025-01-01T05:00:00Z"),
    _event(8, "2025-01-01T05:00:00Z"),
    _event(2, "2025-01-01T05:00:00Z"),
    _event(6, "2025-01-01T12:00:00+02:00"),  # 10:00Z
    _event(4, "2025-01-01T10:00:00Z"),  # 10:00Z as well
]
UNSORTED_WITH_TIES = [  # the same instants, not in ascending order: the client sorts them
    _event(6, "2025-01-01T12:00:00+02:00"),
    _event(7, "2025-01-01T00:00:00Z"),
    _event(1, "2025-01-01T05:00:00Z"),
    _event(3, "2025-01-01T01:00:00+01:00"),
    _event(8, "2025-01-01T05:00:00Z"),
    _event(4, "2025-01-01T10:00:00Z"),
    _event(9, "2025-01-01T00:00:00+00:00"),
    _event(2, "2025-01-01T05:00:00Z"),
]
# Ascending by instant, each tie in the order the server sent it.
EXPECTED_IDS = [7, 3, 9, 1, 8, 2, 6, 4]
SERVER_DATA = {"ascending": ASCENDING_WITH_TIES, "unsorted": UNSORTED_WITH_TIES}


def _tie_server(data: list[dict[str, Any]]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content) == {"start": "2025-01-01", "end": "2025-01-01"}
        return httpx.Response(200, json={"success": True, "status_code": 200, "message": "", "data": data})

    return handler


def _tie_client(data: list[dict[str, Any]]) -> ShortPen:
    transport = httpx.MockTransport(_tie_server(data))
    return ShortPen(TOKEN, http_client=httpx.Client(transport=transport), sleep=NO_SLEEP)


@pytest.mark.parametrize("order", ["ascending", "unsorted"])
def test_ties_keep_the_servers_order_in_clicks(order: str) -> None:
    with _tie_client(SERVER_DATA[order]) as sp:
        got = list(sp.clicks("2025-01-01", "2025-01-01"))
    assert [event.id for event in got] == EXPECTED_IDS


@pytest.mark.anyio
@pytest.mark.parametrize("order", ["ascending", "unsorted"])
async def test_ties_keep_the_servers_order_in_async_clicks(order: str) -> None:
    transport = httpx.MockTransport(_tie_server(SERVER_DATA[order]))
    async with AsyncShortPen(
        TOKEN, http_client=httpx.AsyncClient(transport=transport), sleep=no_sleep
    ) as asp:
        got = [event async for event in asp.clicks("2025-01-01", "2025-01-01")]
    assert [event.id for event in got] == EXPECTED_IDS


@pytest.mark.parametrize("order", ["ascending", "unsorted"])
@pytest.mark.parametrize("format", ["jsonl", "csv", "parquet"])
def test_ties_keep_the_servers_order_in_every_export_format(tmp_path: Path, format: str, order: str) -> None:
    output = tmp_path / f"clicks.{format}"
    with _tie_client(SERVER_DATA[order]) as sp:
        sp.export("2025-01-01", "2025-01-01", output)
    if format == "jsonl":
        rows = [json.loads(line) for line in output.read_text().splitlines()]
        by_id = {e["id"]: e for e in SERVER_DATA[order]}
        assert rows == [by_id[i] for i in EXPECTED_IDS]  # created_at kept as sent, offsets too
        ids = [row["id"] for row in rows]
    elif format == "csv":
        with output.open(newline="") as file:
            ids = [int(row["id"]) for row in csv.DictReader(file)]
    else:
        ids = pq.read_table(output).column("id").to_pylist()
    assert ids == EXPECTED_IDS


def test_the_arrow_body_reader_keeps_the_servers_order_among_ties() -> None:
    """Parquet's fast path reads an ascending body straight into Arrow: ties stay as sent there too."""
    body = json.dumps({"success": True, "status_code": 200, "message": "", "data": ASCENDING_WITH_TIES})
    columns = body_to_table(body.encode(), parquet_schema())
    assert columns is not None  # the fast path took this body (else the test would not test it)
    assert columns.table.column("id").to_pylist() == EXPECTED_IDS


# -- 5. a None filter is left out of the body, not sent as null --------------------------------------------


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, {}),
        ({"workspace_id": None, "url_id": None}, {}),
        ({"workspace_id": 31, "url_id": None}, {"workspace_id": 31}),
        ({"workspace_id": None, "url_id": 601}, {"url_id": 601}),
    ],
    ids=["no-filters", "both-none", "url-none", "workspace-none"],
)
def test_a_none_filter_is_left_out_of_the_request_body(
    filters: dict[str, int | None], expected: dict[str, int]
) -> None:
    sent: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.content)
        return httpx.Response(200, json={"success": True, "status_code": 200, "message": "", "data": []})

    with ShortPen(TOKEN, http_client=httpx.Client(transport=httpx.MockTransport(handler))) as sp:
        assert list(sp.clicks("2025-01-01", "2025-01-01", **filters)) == []
    (content,) = sent
    assert json.loads(content) == {"start": "2025-01-01", "end": "2025-01-01", **expected}
    assert b"null" not in content


@pytest.mark.anyio
async def test_a_none_filter_is_left_out_of_the_async_request_body() -> None:
    sent: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.content)
        return httpx.Response(200, json={"success": True, "status_code": 200, "message": "", "data": []})

    transport = httpx.MockTransport(handler)
    async with AsyncShortPen(TOKEN, http_client=httpx.AsyncClient(transport=transport)) as asp:
        got = [e async for e in asp.clicks("2025-01-01", "2025-01-01", workspace_id=None, url_id=None)]
    assert got == []
    (content,) = sent
    assert json.loads(content) == {"start": "2025-01-01", "end": "2025-01-01"}
