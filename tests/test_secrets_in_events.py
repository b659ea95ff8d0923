"""A server that puts the token inside the events it sends: every public method's error hides it.

The errors that quote a server's text were already scrubbed by the engine. These quote *event
values* (an ``id`` that is not an integer, a ``created_at`` that is not a date-time), found while
decoding, checking, converting to Arrow or writing a file. Whatever the step, the exception that
reaches the caller, its whole chain (``__cause__``/``__context__``) and its formatted traceback show
no 8-character fragment of any form of the token.
"""

from __future__ import annotations

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
    raised = []
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
                    raised.append(text)
    assert all("[redacted]" in text or "event" in text for text in raised)  # the errors still say what


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
