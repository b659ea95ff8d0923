"""A server that puts the token inside the events it sends: every public method's error hides it.

The errors that quote a server's text were already scrubbed by the engine. These quote *event
values* (an ``id`` that is not an integer, a ``created_at`` that is not a date-time), found while
decoding, checking, converting to Arrow or writing a file. Whatever the step, the exception that
reaches the caller, its whole chain (``__cause__``/``__context__``) and its formatted traceback show
no 8-character fragment of any form of the token.
"""

from __future__ import annotations

import asyncio
import json
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shortpen_api_client import AsyncShortPen, ShortPen, ShortPenError
from shortpen_api_client.testing import FakeShortPen

from ._hostile import ECHOES, Hostile, leaks, make_token

DAY = "2025-01-01"
TOKEN = make_token(48, seed=7)
GOOD = FakeShortPen(seed=1, token="t").events(DAY, DAY)[:3]

Mutation = Callable[[str], Any]


def events_with(field: str, value: Callable[[str], Any]) -> Mutation:
    """The good events, the second with ``field`` set to ``value(echo)``."""
    return lambda echo: [GOOD[0], {**GOOD[1], field: value(echo)}, GOOD[2]]


SAYS = {  # what each error still says, token or not
    "id": "'id' = '[redacted]'",
    "created_at": "created_at '[redacted]'",
    "created_at-suffix": "created_at '2025-01-01T10:00:00[redacted]'",
    "url_id": "'url_id' = '[redacted]'",
    "nested": "'url_id' = {'see': '[redacted]'}",
    "event": "item #1 of data is str",
    "data": "data is str",
}
MUTATIONS: dict[str, Mutation] = {
    "id": events_with("id", lambda echo: echo),
    "created_at": events_with("created_at", lambda echo: echo),
    "created_at-suffix": events_with("created_at", lambda echo: f"2025-01-01T10:00:00{echo}"),
    "url_id": events_with("url_id", lambda echo: echo),
    "nested": events_with("url_id", lambda echo: {"see": echo}),
    "event": lambda echo: [GOOD[0], echo],
    "data": lambda echo: echo,
}


def body(mutation: str, echo: str) -> str:
    data = MUTATIONS[mutation](ECHOES[echo](TOKEN))
    return json.dumps({"success": True, "status_code": 200, "message": "", "data": data})


def shown(error: BaseException) -> str:
    """All an operator could see of ``error``: its text, repr, message and the formatted chain."""
    parts = [str(error), repr(error), str(getattr(error, "message", ""))]
    parts += traceback.format_exception(error)
    seen: BaseException | None = error
    while seen is not None:
        parts += [str(seen), repr(seen)]
        seen = seen.__cause__ or seen.__context__
    return "\n".join(parts)


def calls(sp: ShortPen, folder: Path) -> dict[str, Callable[[], object]]:
    return {
        "clicks": lambda: list(sp.clicks(DAY, DAY)),
        "clicks_table": lambda: sp.clicks_table(DAY, DAY),
        "export-jsonl": lambda: sp.export(DAY, DAY, folder / "out.jsonl"),
        "export-csv": lambda: sp.export(DAY, DAY, folder / "out.csv"),
        "export-parquet": lambda: sp.export(DAY, DAY, folder / "out.parquet"),
        "sync-parquet": lambda: sp.sync(DAY, DAY, output_dir=folder / "ds-parquet"),
        "sync-jsonl": lambda: sp.sync(DAY, DAY, output_dir=folder / "ds-jsonl", format="jsonl"),
    }


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_a_token_inside_events_leaves_no_fragment_in_any_error(mutation: str, tmp_path: Path) -> None:
    with Hostile(200, content_type="application/json") as server:
        with ShortPen(TOKEN, base_url=server.url, max_retries=0) as sp:
            for echo in ("plain", "url-encoded", "base64-bearer"):
                server.body = body(mutation, echo)
                (tmp_path / echo).mkdir()
                for name, call in calls(sp, tmp_path / echo).items():
                    with pytest.raises(ShortPenError) as info:
                        call()
                    text = shown(info.value)
                    assert not leaks(text, TOKEN), (name, echo, text)
                    if echo == "plain":  # (the encoded forms are not the value the error quotes)
                        assert SAYS[mutation] in str(info.value), (name, str(info.value))


@pytest.mark.anyio
@pytest.mark.parametrize("mutation", ["id", "created_at-suffix", "nested", "event"])
async def test_a_token_inside_events_leaves_no_fragment_in_async_errors(
    mutation: str, tmp_path: Path
) -> None:
    with Hostile(200, body(mutation, "plain"), "application/json") as server:
        async with AsyncShortPen(TOKEN, base_url=server.url, max_retries=0) as sp:
            ops: dict[str, Callable[[], Any]] = {
                "clicks": lambda: _drain(sp),
                "export-parquet": lambda: sp.export(DAY, DAY, tmp_path / "out.parquet"),
                "export-csv": lambda: sp.export(DAY, DAY, tmp_path / "out.csv"),
                "sync": lambda: sp.sync(DAY, DAY, output_dir=tmp_path / "ds"),
            }
            for name, op in ops.items():
                with pytest.raises(ShortPenError) as info:
                    await op()
                assert not leaks(shown(info.value), TOKEN), (name, shown(info.value))


async def _drain(sp: AsyncShortPen) -> list[object]:
    return [event async for event in sp.clicks(DAY, DAY)]


# -- an error raised after the engine, by the window rules or the dataset's writer -------------------------


class _Quoting:
    """A stand-in for the window rules (``_edges.Delivery``) that fails quoting an event's value, as
    a check made after the engine would: what the public methods' own guard has to scrub."""

    def __call__(self, window: object, chunk: object) -> object:
        try:
            int(TOKEN)
        except ValueError as exc:
            raise ValueError(f"cannot take {TOKEN!r} as an id") from exc
        return chunk


def test_an_error_raised_after_the_engine_is_scrubbed_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("shortpen_api_client._client.Delivery", _Quoting)
    fake = FakeShortPen(seed=1, token=TOKEN, events_per_day=5)
    with fake.serve() as url, ShortPen(TOKEN, base_url=url, max_retries=0) as sp:
        for name, call in calls(sp, tmp_path).items():
            with pytest.raises(ValueError, match="cannot take") as info:
                call()
            assert not leaks(shown(info.value), TOKEN), (name, shown(info.value))


def test_a_failing_dataset_write_is_scrubbed_in_both_clients(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def write(self: object, window: object, events: object) -> None:
        raise OSError(5, f"cannot write the day of {TOKEN}")

    monkeypatch.setattr("shortpen_api_client._jobs.SyncJob.write", write)
    fake = FakeShortPen(seed=1, token=TOKEN, events_per_day=5)
    with fake.serve() as url:
        with ShortPen(TOKEN, base_url=url) as sp, pytest.raises(OSError, match="cannot write") as info:
            sp.sync(DAY, DAY, output_dir=tmp_path / "sync")
        assert not leaks(shown(info.value), TOKEN), shown(info.value)

        async def run() -> None:
            async with AsyncShortPen(TOKEN, base_url=url) as client:
                await client.sync(DAY, DAY, output_dir=tmp_path / "async")

        with pytest.raises(OSError, match="cannot write") as ainfo:
            asyncio.run(run())
        assert not leaks(shown(ainfo.value), TOKEN), shown(ainfo.value)
