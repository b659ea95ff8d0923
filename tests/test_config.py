"""Argument validation and configuration: clear errors naming the bad value, before any request."""

from __future__ import annotations

import datetime as dt

import pytest

from shortpen_api_client._config import (
    check_id,
    is_loopback,
    parse_date,
    parse_range,
    resolve_base_url,
    resolve_token,
)
from shortpen_api_client.errors import InvalidArgumentError


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-01-31", dt.date(2025, 1, 31)),
        (dt.date(2024, 2, 29), dt.date(2024, 2, 29)),
        ("2024-02-29", dt.date(2024, 2, 29)),
    ],
)
def test_parse_date_accepts_dates_and_strict_strings(value: object, expected: dt.date) -> None:
    assert parse_date(value, "start") == expected


@pytest.mark.parametrize(
    "value",
    [
        "2025-02-30",
        "2025-13-01",
        "2025-1-5",
        "20250105",
        "2025-01-05T00:00",
        " 2025-01-05",
        "",
        "yesterday",
        20250105,
        None,
    ],
)
def test_parse_date_rejects_anything_else_naming_it(value: object) -> None:
    with pytest.raises(InvalidArgumentError, match="start") as info:
        parse_date(value, "start")
    assert repr(value) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_parse_date_rejects_a_datetime_with_a_hint() -> None:
    with pytest.raises(InvalidArgumentError, match="'2025-01-05'"):
        parse_date(dt.datetime(2025, 1, 5, 10), "end")


def test_range_end_before_start() -> None:
    with pytest.raises(InvalidArgumentError, match=r"start \(2025-01-08\) is after end \(2025-01-07\)"):
        parse_range("2025-01-08", "2025-01-07")


@pytest.mark.parametrize("value", [0, -1, True, 1.0, "24"])
def test_ids_must_be_positive_integers(value: object) -> None:
    with pytest.raises(InvalidArgumentError, match=f"workspace_id.*{value!r}"):
        check_id(value, "workspace_id")


def test_token_from_argument_then_environment() -> None:
    assert resolve_token("abc", {"SHORTPEN_TOKEN": "env"}) == "abc"
    assert resolve_token(None, {"SHORTPEN_TOKEN": "env"}) == "env"


@pytest.mark.parametrize("environ", [{}, {"SHORTPEN_TOKEN": ""}])
def test_missing_token_says_how_to_provide_one(environ: dict[str, str]) -> None:
    with pytest.raises(InvalidArgumentError, match=r"^token is missing: .*SHORTPEN_TOKEN"):
        resolve_token(None, environ)


def test_token_with_a_newline_is_refused_without_echoing_it() -> None:
    with pytest.raises(InvalidArgumentError) as info:
        resolve_token("secret-value\n", {})
    assert "secret-value" not in str(info.value)


def test_base_url_defaults_per_environment() -> None:
    assert resolve_base_url(None, "api", {}) == "https://api.shortpen.com"
    assert resolve_base_url(None, "staging-api", {}) == "https://staging-api.shortpen.com"
    assert (
        resolve_base_url(None, "api", {"SHORTPEN_BASE_URL": "https://proxy.example/"})
        == "https://proxy.example"
    )
    assert resolve_base_url("https://x.example/base/", "api", {"SHORTPEN_BASE_URL": "https://y.example"}) == (
        "https://x.example/base"
    )


def test_unknown_environment() -> None:
    with pytest.raises(InvalidArgumentError, match="'prod'"):
        resolve_base_url(None, "prod", {})


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080",
        "http://localhost:9000",
        "http://[::1]:8000",
        "http://127.5.5.5",
        "https://api.shortpen.com",
    ],
)
def test_https_or_loopback_http_is_accepted(url: str) -> None:
    assert resolve_base_url(url, "api", {}) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://api.shortpen.com",
        "http://localhost:@evil.example/",  # the host is evil.example, not localhost
        "http://127.0.0.1.evil.example",
        "http://10.0.0.1",
        # names that DNS resolves (whoever answers DNS would choose where the clear-text token goes)
        "http://foo.localhost",
        "http://api.localhost:8000",
        "http://localhost.",
        "http://LOCALHOST.:8000",
        "http://localhost.localdomain",
        "http://ip6-localhost",
    ],
)
def test_plain_http_to_a_remote_host_is_refused(url: str) -> None:
    with pytest.raises(InvalidArgumentError, match="use https://"):
        resolve_base_url(url, "api", {})


@pytest.mark.parametrize(
    "url", ["ftp://api.shortpen.com", "api.shortpen.com", "https://", "https://u:p@api.shortpen.com"]
)
def test_malformed_base_urls(url: str) -> None:
    with pytest.raises(InvalidArgumentError, match="base_url"):
        resolve_base_url(url, "api", {})


def test_is_loopback() -> None:
    assert is_loopback("127.0.0.1")
    assert is_loopback("127.255.0.9")
    assert is_loopback("::1")
    assert is_loopback("[::1]")
    assert is_loopback("LOCALHOST")
    assert not is_loopback("localhost.evil.example")
    assert not is_loopback("example.com")
    assert not is_loopback("localhost.")  # a DNS name (the root's "localhost"), not the literal
    assert not is_loopback("foo.localhost")
    assert not is_loopback("::2")
