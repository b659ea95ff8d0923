"""Guards around the cassettes: no secret is ever written, and the readable format is lossless."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import vcr  # type: ignore[import-untyped]  # vcrpy ships no type hints

from shortpen_api_client import ShortPen
from shortpen_api_client.testing import FakeShortPen

from ._cassettes import (
    CASSETTE_DIR,
    PLACEHOLDER,
    RECORDING_TOKEN,
    ReadableYAML,
    json_body,
    register,
    secret_problems,
    vcr_config,
)
from .conftest import ROOT
from .test_recorded import WRONG_TOKEN
from .test_recorded_live import INVALID_TOKEN

RECORDED = {
    "test_quarter_export",
    "test_split_after_a_persisting_504",
    "test_retry_after_a_429_honours_retry_after",
    "test_401_is_raised_and_never_retried",
    "test_400_for_a_workspace_outside_the_account_is_raised_and_never_retried",
    "test_url_id_filter_is_sent_with_every_window",
    "test_staging_environment_url",
    "test_async_client",
}


def cassettes() -> list[Path]:
    return sorted(CASSETTE_DIR.rglob("*.yaml"))


def forbidden_tokens() -> list[str]:
    """Tokens that were used while recording (and a real one, when SHORTPEN_TOKEN is set)."""
    tokens = [RECORDING_TOKEN, WRONG_TOKEN, INVALID_TOKEN, FakeShortPen().token]
    live = os.environ.get("SHORTPEN_TOKEN", "").strip()
    return [*tokens, live] if live else tokens


def test_every_recorded_behaviour_has_its_cassette() -> None:
    assert RECORDED - {path.stem for path in cassettes()} == set()


@pytest.mark.parametrize("path", cassettes(), ids=lambda path: str(path.relative_to(CASSETTE_DIR)))
def test_no_cassette_holds_a_secret(path: Path) -> None:
    """No bearer value but the placeholder, no cookie, no token that was used while recording."""
    assert secret_problems(path.read_text(encoding="utf-8"), forbidden_tokens()) == []


def vcr_in(folder: Path) -> Any:
    """A ``vcr.VCR`` set up the way pytest-recording sets it up for the recorded tests."""
    recorder = vcr.VCR(cassette_library_dir=str(folder), path_transformer=vcr.VCR.ensure_suffix(".yaml"))
    register(recorder)
    return recorder


def test_recording_never_writes_the_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Record with a canary token (from SHORTPEN_TOKEN, as `make record-live` does) through the real
    filters, against a server that even echoes it and sets it as a cookie: the canary is not written."""
    canary = f"sp_canary_{secrets.token_hex(16)}"
    monkeypatch.setenv("SHORTPEN_TOKEN", canary)
    monkeypatch.delenv("SHORTPEN_BASE_URL", raising=False)
    fake = FakeShortPen(seed=1, events_per_day=2, token=canary)

    def careless_server(request: httpx.Request) -> httpx.Response:
        if request.url.path != "/echo":
            return fake.handle(request)
        return httpx.Response(
            200,
            headers={"set-cookie": f"session={canary}", "date": "Wed, 26 Nov 2025 10:00:00 GMT"},
            json={"you_sent": request.headers["authorization"], "and": request.headers["cookie"]},
        )

    recorder = vcr_in(tmp_path)
    with recorder.use_cassette("canary", **vcr_config("all")):
        with (
            httpx.Client(transport=httpx.MockTransport(careless_server)) as http,
            ShortPen(http_client=http, sleep=lambda s: None) as sp,
        ):
            recorded = [e.to_dict() for e in sp.clicks("2025-01-01", "2025-01-02")]
            http.post(
                "https://api.shortpen.com/echo",
                headers={"Authorization": f"Bearer {canary}", "Cookie": f"session={canary}"},
            )
    text = (tmp_path / "canary.yaml").read_text(encoding="utf-8")
    assert canary not in text
    assert f"authorization: [{PLACEHOLDER}]" in text
    assert secret_problems(text, [canary]) == []
    for dropped in ("cookie: [", "date: [", "accept-encoding: [", "host: [", "connection: ["):
        assert dropped not in text
    assert "python-httpx/<version>" in text  # the version number is not locked

    # The filtered cassette still replays, with any token: the token is not part of the match.
    with recorder.use_cassette("canary", **vcr_config("none")):
        with httpx.Client() as http, ShortPen("another-token-1234", http_client=http) as sp:
            assert [e.to_dict() for e in sp.clicks("2025-01-01", "2025-01-02")] == recorded


def cassette_text(header: str = "content-type: [application/json]", body: str = "{}") -> str:
    return f"""version: 1
interactions:
- request:
    method: POST
    uri: https://api.shortpen.com/v1/analytics
    headers:
      {header}
    body:
      json: |-
        {body}
  response:
    status: {{code: 200, message: OK}}
    headers: {{}}
    body: {{string: ''}}
"""


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        (cassette_text(f"authorization: [{PLACEHOLDER}]"), []),
        (
            cassette_text("authorization: [Bearer sk-live-123]"),
            ["bearer value 'sk-live-123'", "request authorization is not the placeholder"],
        ),
        (cassette_text("cookie: [session=abc]"), ["request header cookie"]),
        (cassette_text(body=f'{{"token": "{RECORDING_TOKEN}"}}'), ["holds forbidden string #0"]),
        (cassette_text(body='{"note": "Bearer abc.def"}'), ["bearer value 'abc.def'"]),
        (cassette_text('www-authenticate: [Bearer realm="api"]'), []),
    ],
)
def test_the_guard_finds_leaks(text: str, problems: list[str]) -> None:
    assert secret_problems(text, [RECORDING_TOKEN]) == problems


# -- the format ------------------------------------------------------------------------------------


def cassette_dict(request_body: str | None, response_body: str) -> dict[str, Any]:
    return {
        "version": 1,
        "interactions": [
            {
                "request": {
                    "method": "POST",
                    "uri": "https://x.example/",
                    "body": request_body,
                    "headers": {},
                },
                "response": {
                    "status": {"code": 200, "message": "OK"},
                    "headers": {},
                    "body": {"string": response_body},
                },
            }
        ],
    }


def test_json_bodies_are_pretty_printed_and_replayed_byte_for_byte() -> None:
    request = '{"start":"2025-01-01","end":"2025-01-07","url_id":501}'
    response = (
        '{"success":true,"data":[{"id":1,"referrer":"https://é.example/"},{"id":2.5,"n":null}],"meta":{}}'
    )
    text = ReadableYAML.serialize(cassette_dict(request, response))
    assert '{"start": "2025-01-01", "end": "2025-01-07", "url_id": 501}' in text
    lines = [line.strip() for line in text.splitlines()]
    assert '{"id": 1, "referrer": "https://é.example/"},' in lines  # one event, one line
    loaded = ReadableYAML.deserialize(text)["interactions"][0]
    assert loaded["request"]["body"] == request
    assert loaded["response"]["body"]["string"] == response


@pytest.mark.parametrize(
    "body",
    [
        '{"spaced": true, "kept": "as sent"}',  # not compact: pretty-printing it would not be lossless
        '{"escaped":"\\u00e9"}',  # compacting would unescape it
        "<html>\r\n<body>504</body>\r\n</html>\r\n",
        "",
        "42",
    ],
)
def test_other_bodies_are_stored_verbatim(body: str) -> None:
    text = ReadableYAML.serialize(cassette_dict(None, body))
    assert "json:" not in text
    loaded = ReadableYAML.deserialize(text)["interactions"][0]
    assert loaded["response"]["body"]["string"] == body
    assert loaded["request"]["body"] is None


def test_a_plain_vcrpy_cassette_still_loads() -> None:
    plain = vcr.serializers.yamlserializer.serialize(cassette_dict('{"a":1}', "ok"))
    loaded = ReadableYAML.deserialize(plain)["interactions"][0]
    assert (loaded["request"]["body"], loaded["response"]["body"]["string"]) == ('{"a":1}', "ok")


class Body:
    def __init__(self, body: bytes | str | None) -> None:
        self.body = body


@pytest.mark.parametrize(
    ("a", "b", "match"),
    [
        (b'{"start":"2025-01-01","end":"2025-01-07"}', '{"end": "2025-01-07", "start": "2025-01-01"}', True),
        (b'{"start":"2025-01-01","end":"2025-01-07"}', b'{"start":"2025-01-01","end":"2025-01-08"}', False),
        (b'{"url_id":1}', b'{"url_id":true}', False),
        (b'{"a":1}', b'{"a":1,"b":null}', False),
        (b"not json", b"not json", True),
        (None, b"", True),
    ],
)
def test_json_body_matcher(a: bytes | str | None, b: bytes | str | None, match: bool) -> None:
    if match:
        json_body(Body(a), Body(b))
    else:
        with pytest.raises(AssertionError, match="body"):
            json_body(Body(a), Body(b))


# -- make record-live ------------------------------------------------------------------------------


def test_record_live_refuses_to_run_without_a_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import record  # a script, not a package: imported from its folder
    finally:
        sys.path.remove(str(ROOT / "scripts"))

    def no_pytest(*args: str, env: dict[str, str]) -> int:
        raise AssertionError("pytest must not run")

    monkeypatch.setattr(record, "pytest", no_pytest)
    monkeypatch.setenv("SHORTPEN_TOKEN", " ")
    assert record.main(["--live"]) == 2
    err = capsys.readouterr().err
    assert "refusing to run: SHORTPEN_TOKEN is not set" in err
    assert "make record-live" in err
