"""Reading one response body under a limit. Sans-I/O: a driver feeds ``Body`` the raw chunks as they
arrive (``feed``) and stops when it says so; ``Body`` decodes gzip/deflate in bounded steps and counts
the decoded bytes, so that no response is read past ``max_response_bytes``: not an endless chunked
body, not a gzip bomb (a few MB that inflate to gigabytes), not a huge ``Content-Length``.

The decoding is ours, not httpx's, for one reason: httpx inflates each chunk read from the socket
whole (a 64 KiB chunk of a gzip bomb is 64 MiB), where ``zlib``'s ``max_length`` lets us stop one
byte past the limit. The client asks for what it decodes (``ACCEPT_ENCODING``).
"""

from __future__ import annotations

import mmap
import zlib
from collections.abc import Mapping
from typing import Final

from .errors import DateRange, InvalidResponseError, ResponseTooLargeError

#: The default ``max_response_bytes``: 512 MiB of decoded JSON. The API has no pagination, so one
#: response is one window's clicks, about 350 bytes each: 512 MiB is some 1.5 million clicks, a week
#: (the default window) of over 200,000 clicks a day, which comfortably holds a busy account's week;
#: a window past it is split, so only a single day of more than 1.5 million clicks cannot be fetched
#: (raise the limit for that). It is a bound for memory, not for throughput: the response is held
#: whole until decoded, so ``max_concurrency`` windows in flight hold at most
#: ``max_concurrency x max_response_bytes`` (4 GiB at the defaults), and a hostile or broken server
#: can make us read no more than that. As h11 bounds an incomplete event (``DEFAULT_MAX_INCOMPLETE_
#: EVENT_SIZE``), this bounds a complete one: far above what a healthy answer needs, far below what
#: takes a machine down.
DEFAULT_MAX_RESPONSE_BYTES: Final = 512 * 2**20

#: An error status's body is read for its message only: its first 64 KiB are plenty (the documented
#: ``ErrorResponse`` is a few hundred bytes; a gateway's HTML page a few KiB), and the rest is never
#: read, so a 503 with an endless body stays a 503 (retried), not a window too large.
ERROR_BODY_BYTES: Final = 64 * 1024

#: The encodings ``Body`` decodes, sent as ``Accept-Encoding`` so a server never picks another.
ACCEPT_ENCODING: Final = "gzip, deflate"

_PIECE: Final = 1 << 20  # bytes inflated at a time: a bomb's chunk never becomes one huge piece
_WBITS: Final = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}


class Body:
    """One response's body, decoded and counted as it arrives.

    ``feed(raw)`` takes the next raw chunk and says whether to keep reading; ``finish()`` returns the
    decoded body. A 200 past ``limit`` decoded bytes (or announcing more in ``Content-Length``) raises
    ``ResponseTooLargeError`` at once; any other status is cut at ``ERROR_BODY_BYTES`` (``feed``
    returns False: stop reading). ``received`` counts the decoded bytes held so far.
    """

    def __init__(
        self, status: int, headers: Mapping[str, str], *, limit: int, window: DateRange | None = None
    ) -> None:
        self.received = 0
        self._limit = limit
        self._window = window
        self._ok = status == 200
        self._cap = limit if self._ok else min(limit, ERROR_BODY_BYTES)
        self._full = False
        declared = _content_length(headers.get("content-length"))
        if self._ok and declared is not None and declared > limit:
            raise ResponseTooLargeError(limit, declared=declared, window=window)
        self._encoding = _encoding(headers.get("content-encoding"), strict=self._ok, window=window)
        self._store = _Store(declared if self._encoding is None and declared is not None else 0)
        self._inflate = None if self._encoding is None else zlib.decompressobj(_WBITS[self._encoding])
        self._raw_deflate = False
        self._finished = False

    def feed(self, raw: bytes) -> bool:
        """Take the next raw chunk; False when the driver should stop reading (an error body is cut)."""
        if self._inflate is None:
            self._take(raw)
        else:
            self._decode(raw)
        return not self._full

    def feed_decoded(self, content: bytes) -> None:
        """A body that httpx has already read and decoded (an ``httpx.MockTransport`` response, or a
        recorded one): only counted, and cut or refused like any other."""
        self._take(content)

    def finish(self) -> bytes:
        """The decoded body (the part kept, for a cut error body), joined: once, since ``Body`` then
        lets go of it (whoever holds the ``Body`` until the window is delivered does not hold it)."""
        if self._finished:
            raise RuntimeError("Body.finish() was already called")
        self._finished = True
        if self._inflate is not None and not self._full:
            self._decode(b"", flush=True)
            self._inflate = None
        return self._store.take()

    def _decode(self, raw: bytes, *, flush: bool = False) -> None:
        assert self._inflate is not None  # noqa: S101  (only called with a decoder)
        data = raw
        try:
            while not self._full:
                # at most one byte past the cap (that tells it is over), a MiB at a time
                room = min(self._cap - self.received + 1, _PIECE)
                piece = self._inflate.decompress(data, room)
                self._take(piece)
                data = self._inflate.unconsumed_tail
                if not data and len(piece) < room:  # all input used and no output left behind
                    break
            if flush and not self._full:
                self._take(self._inflate.flush())
        except zlib.error as exc:
            if self._encoding == "deflate" and not self.received and self._retry_raw_deflate():
                self._decode(raw, flush=flush)
                return
            if self._ok:
                raise InvalidResponseError(
                    f"a response body that is not valid {self._encoding} ({exc})", window=self._window
                ) from None
            self._full = True  # an error body we cannot decode: keep what we have

    def _retry_raw_deflate(self) -> bool:
        """``deflate`` is meant to be zlib-wrapped, but some servers send raw deflate (httpx's
        decoder tries both, and so do we): once, before any output."""
        if self._raw_deflate:
            return False
        self._raw_deflate = True
        self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
        return True

    def _take(self, piece: bytes) -> None:
        if not piece:
            return
        self.received += len(piece)
        if self.received <= self._cap:
            self._store.append(piece)
            return
        if self._ok:
            self._store.discard()  # let go of it now
            raise ResponseTooLargeError(self._limit, window=self._window)
        self._store.append(piece[: len(piece) - (self.received - self._cap)])
        self.received = self._cap
        self._full = True


def _content_length(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _encoding(value: str | None, *, strict: bool, window: DateRange | None) -> str | None:
    """The one content coding to undo (None: identity). A 200 in a coding we did not ask for is an
    ``InvalidResponseError``; an error body in one is kept as it came (only its status matters)."""
    codings = [c.strip().lower() for c in (value or "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if not codings:
        return None
    if len(codings) == 1 and codings[0] in _WBITS:
        return codings[0]
    if strict:
        raise InvalidResponseError(
            f"a response in Content-Encoding {value!r}, which this client did not ask for", window=window
        )
    return None


#: Bodies larger than this are kept in an anonymous memory map while they arrive (see ``_Store``).
MAPPED_FROM: Final = 1 * 2**20


class _Store:
    """Where a body's decoded bytes wait until it is decoded: a list of chunks while small; past
    ``MAPPED_FROM``, an anonymous memory map grown by doubling (sized from ``Content-Length`` when
    that is known), into which each chunk is copied as it arrives.

    Memory, not speed: the chunks a socket read returns are malloc'ed by whichever I/O thread read
    them, and several windows' worth of them, held for their turn, left each thread's malloc arena
    full of holes that it never returned (most of a long export's extra peak RSS). Copied into a
    map, each chunk is freed at once, and the map is returned to the system whole when it is taken.
    """

    def __init__(self, expected: int) -> None:
        self._chunks: list[bytes] = []
        self._size = 0
        self._map: mmap.mmap | None = None
        if expected > MAPPED_FROM:
            self._map = _anonymous_map(expected)

    def append(self, piece: bytes) -> None:
        end = self._size + len(piece)
        if self._map is None and end > MAPPED_FROM:
            self._map = _anonymous_map(2 * end)
            with memoryview(self._map) as view:
                at = 0
                for chunk in self._chunks:
                    view[at : at + len(chunk)] = chunk
                    at += len(chunk)
            self._chunks.clear()
        if self._map is None:
            self._chunks.append(piece)
        else:
            if end > len(self._map):
                self._grow(max(end, 2 * len(self._map)))
            self._map[self._size : end] = piece
        self._size = end

    def _grow(self, capacity: int) -> None:
        assert self._map is not None  # noqa: S101  (only called once mapped)
        if _PRIVATE is not None:
            try:
                self._map.resize(capacity)  # mremap of a private map: no copy (Linux)
                return
            except (OSError, SystemError, ValueError):  # no mremap here (macOS): copy
                pass
        old = self._map
        self._map = _anonymous_map(capacity)
        with memoryview(self._map) as new, memoryview(old) as kept:
            new[: self._size] = kept[: self._size]
        old.close()

    def discard(self) -> None:
        """Let go of what is stored, without making it ``bytes`` first."""
        if self._map is not None:
            self._map.close()
            self._map = None
        self._chunks = []
        self._size = 0

    def take(self) -> bytes:
        """The bytes stored, as one ``bytes``; the store is empty again (its map closed)."""
        if self._map is not None:
            with memoryview(self._map) as view:
                data = bytes(view[: self._size])
            self._map.close()
            self._map = None
        elif len(self._chunks) == 1:
            data = self._chunks[0]
        else:
            data = b"".join(self._chunks)
        self._chunks = []
        self._size = 0
        return data


# A private anonymous map: memory of this process alone, returned to the system when closed. (A
# shared one, mmap's default, is backed by a shared-memory object that mremap does not grow: writing
# past its first size is a SIGBUS.) Windows has no flags and no resize: a new map and a copy.
_PRIVATE: Final = getattr(mmap, "MAP_PRIVATE", None)


def _anonymous_map(size: int) -> mmap.mmap:
    if _PRIVATE is None:
        return mmap.mmap(-1, size)
    return mmap.mmap(-1, size, flags=_PRIVATE)
