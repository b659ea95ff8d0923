"""``Body`` on its own (sans-I/O, fed chunks): decoded bytes counted against the limit, gzip/deflate
inflated no further than one byte past it, error bodies cut, encodings we did not ask for refused,
and large bodies kept in an anonymous map while they arrive."""

from __future__ import annotations

import gzip
import os
import zlib

import pytest

from shortpen_api_client import _body
from shortpen_api_client._body import ERROR_BODY_BYTES, MAPPED_FROM, Body
from shortpen_api_client.errors import InvalidResponseError, ResponseTooLargeError

DATA = os.urandom(MAPPED_FROM) + b'{"id": 1, "domain": "go.shortpen.com"}' * 100_000 + b"\0" * MAPPED_FROM
ENCODED = {
    "identity": DATA,
    "gzip": gzip.compress(DATA),
    "deflate": zlib.compress(DATA),  # zlib-wrapped, as the RFC says
    "raw deflate": zlib.compress(DATA)[2:-4],  # as some servers send it
}


def feed(body: Body, data: bytes, step: int) -> bool:
    return all(body.feed(data[at : at + step]) for at in range(0, len(data), step))


@pytest.mark.parametrize("encoding", list(ENCODED))
@pytest.mark.parametrize("step", [997, 65536, 10**8])
@pytest.mark.parametrize("declared", [False, True])
def test_a_body_under_the_limit_comes_back_whole(encoding: str, step: int, declared: bool) -> None:
    data = ENCODED[encoding]
    headers = {"content-encoding": encoding.removeprefix("raw ")}
    if declared:
        headers["content-length"] = str(len(data))
    body = Body(200, headers, limit=len(DATA))
    assert feed(body, data, step)
    assert body.received == len(DATA)
    assert body.finish() == DATA


@pytest.mark.parametrize("encoding", list(ENCODED))
def test_past_the_limit_it_stops_one_byte_over(encoding: str) -> None:
    body = Body(200, {"content-encoding": encoding.removeprefix("raw ")}, limit=len(DATA) - 1, window=None)
    with pytest.raises(ResponseTooLargeError, match=f"max_response_bytes={len(DATA) - 1:,}") as info:
        feed(body, ENCODED[encoding], 65536)
    if encoding != "identity":  # inflating is bounded to the byte
        assert body.received == len(DATA)
    assert info.value.declared is None


def test_a_gzip_bomb_is_inflated_no_further_than_the_limit() -> None:
    bomb = gzip.compress(b"\0" * (64 << 20))  # 64 KiB of gzip, 64 MiB inflated
    body = Body(200, {"content-encoding": "gzip"}, limit=1000)
    with pytest.raises(ResponseTooLargeError):
        body.feed(bomb)
    assert body.received == 1001


def test_a_content_length_over_the_limit_is_refused_before_any_byte() -> None:
    with pytest.raises(ResponseTooLargeError, match="its Content-Length is 2,000") as info:
        Body(200, {"content-length": "2000"}, limit=1999)
    assert (info.value.limit, info.value.declared) == (1999, 2000)


def test_an_error_body_is_cut_not_refused() -> None:
    """Only its start is read, for the message: the status is what counts."""
    body = Body(503, {"content-length": str(10**9)}, limit=10**6)  # no refusal for an error status
    assert not feed(body, b"x" * (ERROR_BODY_BYTES + 10), 4096)  # stop reading
    assert body.finish() == b"x" * ERROR_BODY_BYTES


def test_an_encoding_we_did_not_ask_for_is_an_invalid_response() -> None:
    assert "br" not in _body.ACCEPT_ENCODING
    with pytest.raises(InvalidResponseError, match="Content-Encoding 'br'"):
        Body(200, {"content-encoding": "br"}, limit=100)
    with pytest.raises(InvalidResponseError, match="Content-Encoding 'gzip, gzip'"):
        Body(200, {"content-encoding": "gzip, gzip"}, limit=100)
    error = Body(502, {"content-encoding": "br"}, limit=100)  # an error body: kept as it came
    error.feed(b"\x1b\x00")
    assert error.finish() == b"\x1b\x00"


def test_a_corrupt_gzip_body_is_an_invalid_response() -> None:
    body = Body(200, {"content-encoding": "gzip"}, limit=100)
    with pytest.raises(InvalidResponseError, match="not valid gzip"):
        body.feed(b"\x1f\x8b\x08\x00garbage-garbage")


def test_a_body_already_read_by_httpx_is_counted_too() -> None:
    body = Body(200, {}, limit=10)
    with pytest.raises(ResponseTooLargeError):
        body.feed_decoded(b"x" * 11)


def mapped(body: Body) -> bool:
    return body._store._map is not None


def test_large_bodies_wait_in_an_anonymous_map_and_finish_lets_go_of_them() -> None:
    body = Body(200, {}, limit=len(DATA))
    feed(body, DATA, 65536)
    assert mapped(body)  # past MAPPED_FROM: in the map
    assert body._store._chunks == []
    assert body.finish() == DATA
    assert not mapped(body)  # closed: returned to the system
    with pytest.raises(RuntimeError, match="already"):
        body.finish()


def test_small_bodies_stay_in_their_chunks() -> None:
    body = Body(200, {}, limit=100)
    body.feed(b"abc")
    body.feed(b"def")
    assert not mapped(body)
    assert body.finish() == b"abcdef"
