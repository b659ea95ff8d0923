"""Scrubbing before cutting: a token quoted by a server, in any form, at any offset of a body of any
length, leaves no fragment in the message an error carries (``_redact``, through the decoder)."""

from __future__ import annotations

import base64
import html
import json
import string
import urllib.parse
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shortpen_api_client._client_base import kept_secret
from shortpen_api_client._decode import decode_events, status_error
from shortpen_api_client._redact import (
    EXCERPT_CHARS,
    FRAGMENT,
    HEAD_BYTES,
    REDACTED,
    excerpt,
    scrub,
    scrub_exception,
)
from shortpen_api_client.errors import InvalidResponseError, ShortPenError

from ._hostile import ECHOES, leaks, make_token

FILLER = "lorem ipsum dolor sit amet, consectetur adipiscing elit; " * 6  # 342 characters
LENGTHS = (8, 12, 20, 40, 72, 100)


def messages(token: str, text: str) -> list[str]:
    """What the decoder makes of ``text`` as a plain-text error, an HTML 200, and an error envelope."""
    plain = status_error(400, text.encode(), content_type="text/plain", secret=token)
    envelope = json.dumps({"success": False, "status_code": 401, "message": text}).encode()
    quoted = status_error(401, envelope, content_type="application/json", secret=token)
    try:
        decode_events(f"<html>{text}</html>".encode(), content_type="text/html", secret=token)
    except InvalidResponseError as exc:
        page = str(exc)
    return [str(plain), plain.message, str(quoted), quoted.message, page]


@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("echo", sorted(ECHOES))
def test_an_echo_at_every_offset_of_a_long_body_leaves_no_fragment(echo: str, length: int) -> None:
    token = make_token(length, seed=length)
    form = ECHOES[echo](token)
    for offset in range(len(FILLER) + 1):
        for message in messages(token, FILLER[:offset] + form + FILLER[offset:]):
            assert not leaks(message, token), (offset, message)


def test_the_finding_a_72_character_token_at_offset_24() -> None:
    """Cut to 80 characters first, the excerpt used to show the token's first 56 characters."""
    token = make_token(72)
    body = f"invalid credentials in: {token} (request id 7f3a)".encode()
    error = status_error(502, body, content_type="text/plain", secret=token)
    assert (
        error.message
        == f"{len(body)} bytes of text/plain, starting 'invalid credentials in: {REDACTED} (request id 7f3a)'"
    )
    assert token[:8] not in str(error)


@pytest.mark.parametrize(
    "quote",
    [
        lambda t: "token " + t[:-1],  # the finding: the token minus its last character was shown
        lambda t: f"quoting {t[:48]}...",  # the finding: 48 characters were shown
        lambda t: f"key ...{t[-20:]}",
        lambda t: f"key={t[30:38]};",  # 8 characters: the shortest run taken out
    ],
)
def test_a_cut_token_leaves_no_fragment(quote: Callable[[str], str]) -> None:
    token = make_token(72)
    for message in messages(token, quote(token)):
        assert not leaks(message, token), message
        assert REDACTED in message


def test_seven_characters_of_the_token_are_ordinary_text() -> None:
    """Runs shorter than FRAGMENT are left: they are common in any text (and show little)."""
    token = make_token(40)
    text = f"ids {token[3:10]} and {token[20:27]}"
    assert scrub(text, token) == text


VISIBLE_ASCII = "".join(chr(c) for c in range(0x21, 0x7F))

CUT_FORMS: dict[str, Callable[[str], str]] = {
    "plain": lambda s: s,
    "url-encoded": lambda s: urllib.parse.quote(s, safe=""),
    "url-encoded-twice": lambda s: urllib.parse.quote(urllib.parse.quote(s, safe=""), safe=""),
    "json-escaped": lambda s: "".join(f"\\u{ord(c):04x}" for c in s),
    "json-dumps": lambda s: json.dumps(s)[1:-1],
    "html": lambda s: "".join(f"&#{ord(c)};" if i % 2 else c for i, c in enumerate(s)),  # a mix
}


@settings(deadline=None)  # each example compiles the regexes of a new token: slow on a busy machine
@given(
    token=st.text(alphabet=VISIBLE_ASCII, min_size=FRAGMENT, max_size=120),
    data=st.data(),
    form=st.sampled_from(sorted(CUT_FORMS)),
    before=st.text(alphabet=string.ascii_lowercase + " \n<>", max_size=100),
    after=st.text(alphabet=string.ascii_lowercase + " \n<>", max_size=100),
)
def test_any_run_of_8_characters_of_any_token_is_scrubbed_in_any_form(
    token: str, data: st.DataObject, form: str, before: str, after: str
) -> None:
    start = data.draw(st.integers(0, len(token) - FRAGMENT), label="start")
    end = data.draw(st.integers(start + FRAGMENT, len(token)), label="end")
    cut = token[start:end]
    scrubbed = scrub(before + CUT_FORMS[form](cut) + after, token)
    assert not [fragment for fragment in leaks(scrubbed, token) if fragment not in before + after], scrubbed
    decoded = html.unescape(urllib.parse.unquote(urllib.parse.unquote(scrubbed.replace(REDACTED, "\0"))))
    assert not any(
        token[i : i + FRAGMENT] in decoded and token[i : i + FRAGMENT] not in before + after
        for i in range(len(token) - FRAGMENT + 1)
    ), scrubbed
    assert scrub(scrubbed, token) == scrubbed


@settings(deadline=None)  # each example compiles the regexes of a new token: slow on a busy machine
@given(
    token=st.text(alphabet=VISIBLE_ASCII, min_size=8, max_size=120),
    echo=st.sampled_from(sorted(ECHOES)),
    before=st.text(alphabet=string.ascii_lowercase + " \n<>", max_size=200),
    after=st.text(alphabet=string.ascii_lowercase + " \n<>", max_size=200),
)
def test_any_visible_ascii_token_in_any_form_is_scrubbed(
    token: str, echo: str, before: str, after: str
) -> None:
    text = before + ECHOES[echo](token) + after

    def leaked(output: str) -> list[str]:
        # a fragment the surrounding text itself holds (after="<<aaaaaa", token="0<<aaaaaa") is no leak
        return [fragment for fragment in leaks(output, token) if fragment not in before + after]

    scrubbed = scrub(text, token)
    assert not leaked(scrubbed), scrubbed
    assert not leaked(excerpt(text.encode(), token))
    assert scrub(scrubbed, token) == scrubbed  # idempotent: a second pass (the engine's) changes nothing


@pytest.mark.parametrize("length", [12, 72])
def test_a_token_cut_by_the_end_of_the_head_read_for_the_excerpt_leaves_no_fragment(length: int) -> None:
    """Only the first HEAD_BYTES of a body are decoded for the excerpt; a body that is blank up to
    there makes the excerpt reach that cut, where an echo may be split in two."""
    token = make_token(length)
    for form in (token, urllib.parse.quote(token, safe=""), base64.b64encode(token.encode()).decode()):
        for start in range(HEAD_BYTES - len(form), HEAD_BYTES + 1):
            body = (" " * start + form + " tail").encode()
            assert len(body) > HEAD_BYTES
            shown = excerpt(body, token)
            assert not leaks(shown, token), (start, shown)


def test_an_excerpt_is_one_short_line() -> None:
    assert excerpt(b"  <html>\n <h1>Bad\tGateway</h1>\r\n</html>  ") == "<html> <h1>Bad Gateway</h1> </html>"
    assert len(excerpt(b"x" * 10_000)) == EXCERPT_CHARS
    assert excerpt(b"\xff\xfe broken utf-8") == "\ufffd\ufffd broken utf-8"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abc.def-123 next", "Authorization: Bearer [redacted] next"),
        ('{"h": "bearer xyz"}', '{"h": "bearer [redacted]"}'),
        ("GET /?auth=Bearer%20abc%2Fdef HTTP/1.1", "GET /?auth=Bearer%20[redacted] HTTP/1.1"),
        ("q=Bearer+abc", "q=Bearer+[redacted]"),
        ('{"h": "Bearer\\u0020abc"}', '{"h": "Bearer\\u0020[redacted]"}'),
        ("Authorization: Bearer [redacted]", "Authorization: Bearer [redacted]"),
        ("bearer of news", "bearer [redacted] news"),  # prose too: over-redaction is the safe side
        ("no credentials here", "no credentials here"),
    ],
)
def test_any_bearer_credential_is_taken_out_without_knowing_it(text: str, expected: str) -> None:
    assert scrub(text) == expected


def test_text_without_the_token_is_left_alone() -> None:
    token = make_token(40)
    text = "HTTP 502: the upstream at 10.0.0.7:8443 did not answer in 30 s (trace id 7f3a9c1e)"
    assert scrub(text, token) == text
    assert excerpt(text.encode(), token) == text[:EXCERPT_CHARS]


# -- exceptions: the whole chain ---------------------------------------------------------------------------


class _Stubborn(Exception):
    """An exception that keeps its text outside ``args`` (scrubbing its args cannot help)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def __str__(self) -> str:
        return self.text


def _links(error: BaseException) -> tuple[BaseException | None, BaseException | None]:
    return error.__cause__, error.__context__


def _chain_text(error: BaseException | None) -> str:
    parts = []
    while error is not None:
        parts += [str(error), repr(error), str(getattr(error, "message", ""))]
        error = error.__cause__ or error.__context__
    return " ".join(parts)


def test_scrub_exception_cleans_every_link_of_the_chain_and_keeps_the_rest() -> None:
    token = make_token(40)
    try:
        try:
            raise ValueError(f"Invalid isoformat string: {token!r}")
        except ValueError as inner:
            raise InvalidResponseError(f"created_at {token[:20]}... is odd", window=None) from inner
    except InvalidResponseError as error:
        caught = error
    assert leaks(_chain_text(caught), token)  # (the premise)
    scrub_exception(caught, token)
    assert not leaks(_chain_text(caught), token)
    assert isinstance(caught.__cause__, ValueError)  # kept: its text could be cleaned
    assert "Invalid isoformat string" in str(caught.__cause__)
    assert REDACTED in str(caught)
    assert REDACTED in str(caught.__cause__)


def test_scrub_exception_cuts_a_link_whose_text_it_cannot_clean() -> None:
    token = make_token(40)
    error = InvalidResponseError("bad event", window=None)
    stubborn = _Stubborn(f"value {token}")
    stubborn.__cause__ = KeyError("after it")
    error.__cause__ = stubborn
    scrub_exception(error, token)
    assert _links(error) == (None, None)
    assert error.__suppress_context__
    assert not leaks(_chain_text(error), token)
    assert str(error) == "bad event"


def test_kept_secret_scrubs_whatever_error_leaves_it() -> None:
    """The guard around the public methods: an error raised after the engine (a writer, Arrow)."""
    token = make_token(40)

    def store() -> None:
        try:
            int(token)
        except ValueError as exc:
            raise ValueError(f"cannot store {token!r} as int64") from exc

    with pytest.raises(ValueError, match="cannot store") as info, kept_secret(token):
        store()
    assert not leaks(_chain_text(info.value), token)


def test_scrub_exception_reaches_notes_groups_both_links_and_non_text_arguments() -> None:
    token = make_token(40)
    cause = ValueError({"value": token})  # its text is not a string argument
    context = KeyError(f"key {token}")
    member = OSError(5, f"disk of {token}", f"/data/{token}")
    error = ExceptionGroup("several", [member, TypeError("fine")])
    error.add_note(f"while reading {token}")
    error.__cause__, error.__context__ = cause, context
    assert scrub_exception(error, token)
    assert not leaks(_chain_text(error) + str(context) + str(member) + str(error.__notes__), token)
    assert "[redacted]" in str(cause)
    assert "[redacted]" in str(context)
    assert "disk of [redacted]" in str(member)
    assert error.__cause__ is cause  # cleaned, so kept
    assert error.__context__ is context


def test_scrub_exception_says_when_the_error_itself_cannot_be_cleaned() -> None:
    token = make_token(40)
    assert not scrub_exception(_Stubborn(f"value {token}"), token)
    assert scrub_exception(ValueError(f"value {token}"), token)


def test_kept_secret_replaces_an_error_whose_own_text_it_cannot_clean() -> None:
    token = make_token(40)
    with pytest.raises(ShortPenError, match=r"_Stubborn: value \[redacted\]") as info, kept_secret(token):
        raise _Stubborn(f"value {token}")
    assert not leaks(_chain_text(info.value), token)
    assert info.value.__cause__ is None


def test_scrub_is_idempotent_even_for_a_token_inside_the_marker() -> None:
    """A short token's characters inside ``[redacted]`` are left alone on a second pass (the
    message of an error scrubbed by the engine and again at a public method's edge)."""
    for token in ("t", "red", make_token(12), make_token(72)):
        once = scrub(f"the token {token} was sent back", token)
        assert scrub(once, token) == once
        assert once.count(REDACTED) >= 1
