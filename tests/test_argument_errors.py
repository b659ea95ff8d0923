"""``InvalidArgumentError`` carries the argument at fault and its value, and its message starts with
that argument's name and says the rest in plain words: what lets the ``shortpen`` command name its
own option instead (issue 11: ``pass format= (one of ...)`` reached the command line)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from shortpen_api_client import ShortPen
from shortpen_api_client._config import resolve_base_url, resolve_token
from shortpen_api_client._export import open_writer
from shortpen_api_client.errors import InvalidArgumentError

TOKEN = "spk_test_argument_errors_1f2e3d"
PYTHON_SYNTAX = re.compile(r"\b[a-z_]+=")  # format=, token=..., workspace_id=None


def raised(call: Callable[[], object]) -> InvalidArgumentError:
    with pytest.raises(InvalidArgumentError) as info:
        call()
    return info.value


CASES: list[tuple[str, Callable[[Path], object], str, object]] = [
    ("window_days", lambda _: ShortPen(TOKEN, window_days=0), "window_days must be", 0),
    ("max_concurrency", lambda _: ShortPen(TOKEN, max_concurrency=-2), "max_concurrency must be", -2),
    ("max_retries", lambda _: ShortPen(TOKEN, max_retries=-1), "max_retries must be", -1),
    ("timeout", lambda _: ShortPen(TOKEN, timeout=0), "timeout must be", 0),
    ("environment", lambda _: ShortPen(TOKEN, environment="prod"), "environment must be", "prod"),
    (
        "base_url",
        lambda _: ShortPen(TOKEN, base_url="http://api.shortpen.com"),
        "base_url is plain http://",
        "http://api.shortpen.com",
    ),
    ("start", lambda _: ShortPen(TOKEN).clicks("2025-02-30", "2025-03-01"), "start must be", "2025-02-30"),
    ("end", lambda _: ShortPen(TOKEN).clicks("2025-03-01", "2025/03/02"), "end must be", "2025/03/02"),
    (
        "start",
        lambda _: ShortPen(TOKEN).clicks("2025-03-02", "2025-03-01"),
        "start (2025-03-02) is after",
        "2025-03-02",
    ),
    ("url_id", lambda _: ShortPen(TOKEN).clicks("2025-03-01", "2025-03-01", url_id=-4), "url_id must be", -4),
    (
        "workspace_id",
        lambda _: ShortPen(TOKEN).clicks("2025-03-01", "2025-03-01", workspace_id=0),
        "workspace_id",
        0,
    ),
    ("format", lambda tmp: open_writer(tmp / "m.csv", "parquet"), "format parquet contradicts", "parquet"),
    ("format", lambda tmp: open_writer(tmp / "m.csv", "xml"), "format must be one of", "xml"),
    ("format", lambda tmp: open_writer(tmp / "m.data"), "format is needed", None),
    (
        "output",
        lambda tmp: open_writer(f"{tmp}/d.csv/"),
        "output ",
        "{tmp}/d.csv/",
    ),  # {tmp}: the test's folder
    (
        "lookback_days",
        lambda tmp: ShortPen(TOKEN).sync("2025-01-01", "2025-01-02", output_dir=tmp, lookback_days=-1),
        "lookback_days must be",
        -1,
    ),
]


@pytest.mark.parametrize(("argument", "call", "start", "value"), CASES)
def test_an_error_names_its_argument_first_and_carries_the_value(
    tmp_path: Path, argument: str, call: Callable[[Path], object], start: str, value: object
) -> None:
    error = raised(lambda: call(tmp_path))
    assert error.argument == argument
    assert error.value == (value.format(tmp=tmp_path) if isinstance(value, str) else value)
    message = str(error)
    assert message.startswith(start), message
    assert message.startswith(argument + " ")  # the subject a front end replaces with its own name
    assert not PYTHON_SYNTAX.search(message), message  # plain words after it: no name=value


def test_a_base_url_from_the_environment_is_named_as_the_variable() -> None:
    error = raised(lambda: resolve_base_url(None, "api", {"SHORTPEN_BASE_URL": "ftp://example.com"}))
    assert error.argument == "SHORTPEN_BASE_URL"
    assert str(error).startswith("SHORTPEN_BASE_URL must be an https:// URL")


@pytest.mark.parametrize(
    ("token", "start"),
    [
        (None, "token is missing: pass one, or set the SHORTPEN_TOKEN"),
        (TOKEN + " x", "token contains a space"),
    ],
)
def test_a_token_error_never_carries_the_token(token: str | None, start: str) -> None:
    error = raised(lambda: resolve_token(token, {}))
    assert (error.argument, error.value) == ("token", None)
    assert str(error).startswith(start)
    assert TOKEN not in repr(error.__dict__) + str(error)


def test_credentials_in_the_base_url_are_not_carried_either() -> None:
    error = raised(lambda: resolve_base_url("https://user:hunter2@api.shortpen.com", "api", {}))
    assert (error.argument, error.value) == ("base_url", None)
    assert "hunter2" not in str(error)
