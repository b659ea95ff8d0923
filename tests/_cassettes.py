"""How the recorded tests use VCR (pytest-recording): matching, filters and the cassette format.

``tests/conftest.py`` wires this into pytest-recording (``vcr_config``, ``vcr_cassette_dir`` and the
``pytest_recording_configure`` hook); ``tests/cassettes/README.md`` explains it for reviewers.

- Matching: method, scheme, host, port, path, query and the body **as JSON** (``json_body``). Every
  window is a POST to the same URL, so only the body tells them apart.
- Filters (applied before anything is written, and to every request before it is matched): request
  headers are cut down to an allowlist, ``Authorization`` becomes :data:`PLACEHOLDER` and version
  numbers in ``User-Agent`` become ``<version>``; response headers are cut down to an allowlist
  (``date``, ``server``, cookies, request ids ... are dropped); known tokens are scrubbed from bodies.
- Format: YAML, with JSON bodies stored pretty-printed under ``json:`` (one event a line) so cassette
  diffs can be reviewed. That is lossless: a body is pretty-printed only when its compact form is
  byte for byte what was on the wire, and it is replayed compact again (``Content-Length`` stays
  right). Any other body is stored verbatim under ``string:``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

import yaml

CASSETTE_DIR: Final = Path(__file__).resolve().parent / "cassettes"
LIVE_CASSETTE_DIR: Final = CASSETTE_DIR / "live"

PLACEHOLDER: Final = "Bearer <REDACTED>"
"""What every recorded ``Authorization`` header says instead of the token."""
SCRUBBED: Final = "<REDACTED>"
"""What a known token is replaced with if it ever shows up in a body."""

RECORDING_TOKEN: Final = "sp_recording_token_d2f1c7a9e04b"
"""The token the fake accepts while ``make record`` records (never written: the guards check)."""

MATCH_ON: Final = ("method", "scheme", "host", "port", "path", "query", "json_body")

REQUEST_HEADERS: Final = frozenset({"authorization", "content-type", "user-agent"})
RESPONSE_HEADERS: Final = frozenset(
    {"content-type", "content-length", "retry-after", "www-authenticate", "allow", "location"}
)
"""Response headers worth locking: what the client reads, and what explains a status. All others
(``date``, ``server``, ``set-cookie``, request ids, rate-limit counters) are volatile or private."""

_VERSION = re.compile(r"/[^\s/()]+")
_HEADER: Final = (
    "# A VCR cassette: see tests/cassettes/README.md. JSON bodies are pretty-printed here and are\n"
    "# replayed compact, byte for byte as they were recorded.\n"
)


# -- matching --------------------------------------------------------------------------------------


def _canonical_body(body: bytes | str | None) -> str:
    """One spelling per JSON value (sorted keys, no whitespace; ``1`` and ``true`` stay different);
    a body that is not JSON is compared as it is."""
    if body is None or body in (b"", ""):
        return ""
    text = body.decode("utf-8", "surrogateescape") if isinstance(body, bytes) else body
    try:
        value = json.loads(text)
    except ValueError:
        return f"(not JSON) {text}"
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def json_body(r1: Any, r2: Any) -> None:
    """VCR matcher: the two requests' bodies are the same JSON value."""
    a, b = _canonical_body(r1.body), _canonical_body(r2.body)
    if a != b:
        raise AssertionError(f"body {a} != {b}")


# -- filters ---------------------------------------------------------------------------------------


def _secrets() -> list[str]:
    """Tokens that must never be written, longest first: the recording token and SHORTPEN_TOKEN."""
    found = {RECORDING_TOKEN, os.environ.get("SHORTPEN_TOKEN", "").strip()}
    return sorted((s for s in found if len(s) >= 8), key=len, reverse=True)


def _scrub(body: Any) -> Any:
    if isinstance(body, bytes | str):
        for secret in _secrets():
            body = (
                body.replace(secret.encode(), SCRUBBED.encode())
                if isinstance(body, bytes)
                else body.replace(secret, SCRUBBED)
            )
    return body


def before_record_request(request: Any) -> Any:
    """Keep only the allowlisted request headers, with the token and version numbers replaced."""
    kept: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        if key == "authorization":
            kept[key] = PLACEHOLDER
        elif key == "user-agent":
            kept[key] = _VERSION.sub("/<version>", value)
        elif key in REQUEST_HEADERS:
            kept[key] = value
    request.headers = kept
    if isinstance(request.body, bytes | str):  # httpx bodies are bytes (other clients may stream)
        request.body = _scrub(request.body)
    return request


def before_record_response(response: dict[str, Any]) -> dict[str, Any]:
    """Keep only the allowlisted response headers; scrub known tokens from the body."""
    response["headers"] = {
        name.lower(): values
        for name, values in response["headers"].items()
        if name.lower() in RESPONSE_HEADERS
    }
    body = response.get("body")
    if isinstance(body, dict) and "string" in body:
        scrubbed = _scrub(body["string"])
        if scrubbed != body["string"] and "content-length" in response["headers"]:
            size = len(scrubbed.encode() if isinstance(scrubbed, str) else scrubbed)
            response["headers"]["content-length"] = [str(size)]
        body["string"] = scrubbed
    return response


def vcr_config(record_mode: str) -> dict[str, Any]:
    """The keyword arguments of every ``use_cassette`` (pytest-recording's ``vcr_config``)."""
    return {
        "record_mode": record_mode,
        "match_on": MATCH_ON,
        # vcrpy's own header filter first (belt and braces), then ours (an allowlist).
        "filter_headers": [
            ("authorization", PLACEHOLDER),
            ("proxy-authorization", None),
            ("cookie", None),
        ],
        "before_record_request": before_record_request,
        "before_record_response": before_record_response,
        "decode_compressed_response": True,  # a gzip body from a live server is stored readable
        "allow_playback_repeats": False,  # a retry must be recorded to be replayed
    }


def register(vcr: Any) -> None:
    """Register the matcher and the serializer on a ``vcr.VCR`` (pytest-recording's hook calls it)."""
    vcr.register_matcher("json_body", json_body)
    vcr.register_serializer("yaml", ReadableYAML)


# -- the cassette format ---------------------------------------------------------------------------


def _compact(value: Any) -> str:
    """JSON as httpx sends it and as the fake answers: no whitespace, UTF-8 as is."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _pretty(value: Any, indent: str = "") -> str:
    """Indented JSON where a container holds containers; a flat object (an event) on one line."""
    nested = isinstance(value, dict | list) and any(
        isinstance(v, dict | list) and v for v in (value.values() if isinstance(value, dict) else value)
    )
    if not nested:
        return json.dumps(value, ensure_ascii=False)
    inner = indent + "  "
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {_pretty(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    return "[\n" + ",\n".join(inner + _pretty(v, inner) for v in value) + "\n" + indent + "]"


def readable_json(text: str) -> str | None:
    """The pretty form of a compact JSON body, or None unless compacting it gives ``text`` back."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, dict | list) or _compact(value) != text:
        return None
    pretty = _pretty(value)
    return pretty if _compact(json.loads(pretty)) == text else None


class _Literal(str):
    """A string YAML writes as a literal block (``|``)."""

    __slots__ = ()


class _Dumper(yaml.SafeDumper):
    pass


def _represent_literal(dumper: yaml.SafeDumper, value: _Literal) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style="|")


_Dumper.add_representer(_Literal, _represent_literal)


def _pack(body: Any) -> dict[str, Any] | None:
    if body is None:
        return None
    if isinstance(body, str):
        pretty = readable_json(body)
        if pretty is not None:
            return {"json": _Literal(pretty)}
    return {"string": body}


def _unpack(body: Any) -> Any:
    if not isinstance(body, dict):  # None, or a plain vcrpy cassette's request body
        return body
    if "json" in body:
        return _compact(json.loads(body["json"]))
    return body["string"]


class ReadableYAML:
    """A vcrpy serializer: vcrpy's cassette dict in YAML, JSON bodies pretty-printed (lossless)."""

    @staticmethod
    def serialize(cassette: dict[str, Any]) -> str:
        interactions = []
        for interaction in cassette["interactions"]:
            request, response = interaction["request"], interaction["response"]
            interactions.append(
                {
                    "request": {
                        "method": request["method"],
                        "uri": request["uri"],
                        "headers": request["headers"],
                        "body": _pack(request["body"]),
                    },
                    "response": {
                        "status": response["status"],
                        "headers": response["headers"],
                        "body": _pack(response["body"]["string"]),
                    },
                }
            )
        data: dict[str, Any] = {"version": cassette["version"], "interactions": interactions}
        if "metadata" in cassette:
            data["metadata"] = cassette["metadata"]
        text = _HEADER + yaml.dump(
            data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100_000, default_flow_style=None
        )
        reloaded = ReadableYAML.deserialize(text)["interactions"]
        for original, loaded in zip(cassette["interactions"], reloaded, strict=True):
            if (original["request"]["body"], original["response"]["body"]["string"]) != (
                loaded["request"]["body"],
                loaded["response"]["body"]["string"],
            ):  # never: readable_json checks each body; this checks the YAML round trip too
                raise ValueError(
                    f"cassette bodies would not replay as recorded: {original['request']['uri']}"
                )
        return text

    @staticmethod
    def deserialize(text: str) -> dict[str, Any]:
        data: dict[str, Any] = yaml.safe_load(text)
        for interaction in data["interactions"]:
            request, response = interaction["request"], interaction["response"]
            request["body"] = _unpack(request["body"])
            response["body"] = {"string": _unpack(response["body"])}
        return data


def load_interactions(path: Path) -> list[dict[str, Any]]:
    """A cassette's interactions, bodies unpacked (for tests that read a cassette)."""
    interactions: list[dict[str, Any]] = ReadableYAML.deserialize(path.read_text(encoding="utf-8"))[
        "interactions"
    ]
    return interactions


# -- the guard -------------------------------------------------------------------------------------

_BEARER = re.compile(r"(?i)\bbearer[ \t]+(?!<REDACTED>)(?![\w-]+=)([^\s\]'\",]+)")
_PRIVATE_HEADERS: Final = frozenset({"cookie", "set-cookie", "proxy-authorization"})


def secret_problems(text: str, forbidden: Iterable[str] = ()) -> list[str]:
    """What in a cassette's text could be a secret: a bearer value other than the placeholder (in a
    header or anywhere else), a cookie, or one of the ``forbidden`` strings (tokens). Empty if none."""
    problems = [f"bearer value {m.group(1)!r}" for m in _BEARER.finditer(text)]
    problems += [
        f"holds forbidden string #{i}" for i, secret in enumerate(forbidden) if secret and secret in text
    ]
    for interaction in ReadableYAML.deserialize(text).get("interactions") or []:
        for side in ("request", "response"):
            headers = {name.lower(): values for name, values in interaction[side]["headers"].items()}
            problems += [f"{side} header {name}" for name in sorted(_PRIVATE_HEADERS & headers.keys())]
            auth = headers.get("authorization")
            if auth is not None and auth != [PLACEHOLDER]:
                problems.append(f"{side} authorization is not the placeholder")
    return problems
