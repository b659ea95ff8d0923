"""Both drivers decode a window only when the consumer is at most one window behind it (``Decoder``,
``AsyncDecoder``): however many windows were fetched ahead, the decoded events of at most two exist
at once, whatever the consumer's pace. The JSONL and CSV exports, which encode text straight from
the body, encode two windows at once, at most two past the one being written."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import pytest

from shortpen_api_client import AsyncShortPen, ShortPen, _async_client, _client, _export
from shortpen_api_client.testing import FakeShortPen

START, END = "2025-01-01", "2025-01-10"  # ten one-day windows, all fetched at once (max_concurrency=10)


def watch(monkeypatch: pytest.MonkeyPatch, module: Any, log: list[tuple[str, int]]) -> None:
    real = module._decode_window
    lock = threading.Lock()

    def decode(*args: Any) -> Any:
        window = args[-1]
        with lock:
            log.append(("decode", window.start.day))
        return real(*args)

    monkeypatch.setattr(module, "_decode_window", decode)


def check_turns(log: list[tuple[str, int]]) -> None:
    decoded = [day for what, day in log if what == "decode"]
    assert sorted(decoded) == list(range(1, 11))
    for position, (what, day) in enumerate(log):
        if what == "decode" and day >= 3:  # the consumer had taken the window two before it
            assert ("got", day - 2) in log[:position], log


def test_the_thread_driver_decodes_one_window_ahead_of_the_consumer(monkeypatch: pytest.MonkeyPatch) -> None:
    log: list[tuple[str, int]] = []
    watch(monkeypatch, _client, log)
    fake = FakeShortPen(seed=3, events_per_day=20)
    http = httpx.Client(transport=fake.transport())
    with ShortPen(fake.token, http_client=http, window_days=1, max_concurrency=10) as client:
        for day, batch in enumerate(client.clicks_batches(START, END), start=1):
            assert batch.num_rows > 0
            log.append(("got", day))
            time.sleep(0.01)  # a slow consumer: the fetches are all done long before it
    check_turns(log)


def test_the_async_driver_decodes_one_window_ahead_of_the_consumer(monkeypatch: pytest.MonkeyPatch) -> None:
    log: list[tuple[str, int]] = []
    watch(monkeypatch, _async_client, log)
    fake = FakeShortPen(seed=3, events_per_day=20)

    async def consume() -> None:
        http = httpx.AsyncClient(transport=fake.transport())
        async with AsyncShortPen(fake.token, http_client=http, window_days=1, max_concurrency=10) as client:
            day = 0
            async for batch in client.clicks_batches(START, END):
                day += 1
                assert batch.num_rows > 0
                log.append(("got", day))
                await asyncio.sleep(0.01)

    asyncio.run(consume())
    check_turns(log)


@pytest.mark.parametrize(("suffix", "at_once"), [("jsonl", 2), ("csv", 2), ("parquet", 1)])
@pytest.mark.parametrize("asynchronous", [False, True])
def test_text_exports_decode_two_windows_at_once_parquet_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, suffix: str, at_once: int, asynchronous: bool
) -> None:
    """JSONL and CSV from the body are mostly pyarrow's reader (the GIL released) and make text: two
    windows are encoded at once, in two threads, never more than two past the one being written;
    Parquet's tables stay one window ahead, one at a time."""
    module = _async_client if asynchronous else _client
    real = module._decode_window
    lock = threading.Lock()
    active = [0, 0]  # now, most
    log: list[tuple[str, int]] = []

    def decode(*args: Any) -> Any:
        with lock:
            log.append(("decode", args[-1].start.day))
            active[0] += 1
            active[1] = max(active)
        time.sleep(0.03)  # slow decoding: the fetches are all done long before it
        try:
            return real(*args)
        finally:
            with lock:
                active[0] -= 1

    written = _export.EventWriter.write_encoded

    def write(self: Any, encoded: Any) -> None:
        written(self, encoded)
        with lock:
            log.append(("got", sum(1 for what, _ in log if what == "got") + 1))

    monkeypatch.setattr(module, "_decode_window", decode)
    monkeypatch.setattr(_export.EventWriter, "write_encoded", write)
    fake = FakeShortPen(seed=3, events_per_day=20)
    output = tmp_path / f"out.{suffix}"
    if asynchronous:

        async def run() -> None:
            http = httpx.AsyncClient(transport=fake.transport())
            async with AsyncShortPen(
                fake.token, http_client=http, window_days=1, max_concurrency=10
            ) as client:
                await client.export(START, END, output)

        asyncio.run(run())
    else:
        http = httpx.Client(transport=fake.transport())
        with ShortPen(fake.token, http_client=http, window_days=1, max_concurrency=10) as client:
            client.export(START, END, output)
    assert active[1] == at_once
    for position, (what, day) in enumerate(log):
        if what == "decode" and day > at_once + 1:  # the file had the window at_once + 1 before it
            assert ("got", day - at_once - 1) in log[: position + 1], log
