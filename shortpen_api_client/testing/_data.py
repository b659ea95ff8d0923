"""The synthetic account: its workspaces and links, and a deterministic click stream per local day.

Everything here is a pure function of the seed: the number of clicks of a (workspace, day), their
seconds, links, clients, countries and referrers. A day is generated in one go (a few microseconds
per click) and serialized once; callers cache the result.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import random
from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeVar

import attrs

from . import _json

T = TypeVar("T")

ORGANIZATION_ID: Final = 3
"""The organization every event belongs to (the spec's example value)."""

FIRST_DAY: Final = dt.date(2000, 1, 1)
LAST_DAY: Final = dt.date(2099, 12, 31)
"""Clicks exist on the days from FIRST_DAY to LAST_DAY; other days are empty (cheaply)."""

MAX_EVENTS_PER_DAY: Final = 9_999_999
"""Per (workspace, day); ids leave room for this many sequence numbers."""

_ID_SEQUENCE_SPAN: Final = 10_000_000
_MAX_WORKSPACES: Final = 8


@attrs.frozen
class Link:
    """A short link of a workspace: ``https://{domain}/{url_slug}``."""

    url_id: int
    url_slug: str
    domain: str


@attrs.frozen
class Workspace:
    workspace_id: int
    name: str
    links: tuple[Link, ...]


def _links(first_id: int, *specs: tuple[str, str]) -> tuple[Link, ...]:
    return tuple(Link(first_id + i, slug, domain) for i, (slug, domain) in enumerate(specs))


# At most _MAX_WORKSPACES workspaces (the id scheme). The account is the same for every seed, so services can hard-code ids in their tests; the first
# workspace and link are the spec's example ids (24 and 501), so its request examples answer 200.
WORKSPACES: Final = (
    Workspace(
        24,
        "Marketing",
        _links(
            501,
            ("summer-2025", "go.shortpen.com"),
            ("spring-sale", "go.shortpen.com"),
            ("launch-video", "go.acme.example"),
            ("webinar-signup", "go.acme.example"),
            ("pricing", "go.acme.example"),
            ("careers", "go.shortpen.com"),
            ("app-download", "l.acme.example"),
            ("black-friday", "go.acme.example"),
        ),
    ),
    Workspace(
        31,
        "Product",
        _links(
            601,
            ("release-notes", "docs.acme.example"),
            ("quickstart", "docs.acme.example"),
            ("status", "go.shortpen.com"),
            ("changelog-2025", "docs.acme.example"),
            ("beta-invite", "go.shortpen.com"),
        ),
    ),
    Workspace(
        47,
        "Support",
        _links(
            701,
            ("help-center", "help.acme.example"),
            ("contact", "help.acme.example"),
            ("refund-policy", "go.shortpen.com"),
            ("survey", "go.shortpen.com"),
        ),
    ),
)

# (device_type, platform, browser) with weights: a plausible traffic mix, mobile-heavy.
_CLIENTS: Final = (
    (("mobile", "iOS", "Safari"), 22),
    (("mobile", "iOS", "Chrome"), 5),
    (("mobile", "Android", "Chrome"), 24),
    (("mobile", "Android", "Samsung Internet"), 4),
    (("mobile", "Android", "Firefox"), 1),
    (("desktop", "Windows", "Chrome"), 15),
    (("desktop", "Windows", "Edge"), 6),
    (("desktop", "Windows", "Firefox"), 3),
    (("desktop", "macOS", "Safari"), 6),
    (("desktop", "macOS", "Chrome"), 7),
    (("desktop", "macOS", "Firefox"), 1),
    (("desktop", "Linux", "Chrome"), 2),
    (("desktop", "Linux", "Firefox"), 1),
    (("tablet", "iOS", "Safari"), 3),
    (("tablet", "Android", "Chrome"), 2),
)
# ISO 3166-1 alpha-2; None: the key is absent ("when available").
_COUNTRIES: Final = (
    ("US", 30),
    ("GB", 8),
    ("DE", 8),
    ("IN", 6),
    ("FR", 5),
    ("BR", 5),
    ("CA", 4),
    ("NL", 3),
    ("ES", 3),
    ("JP", 3),
    ("AU", 2),
    ("IT", 2),
    ("MX", 2),
    ("PL", 1),
    ("SE", 1),
    ("NG", 1),
    ("ZA", 1),
    (None, 8),
)
# None: a direct click, no referrer key.
_REFERRERS: Final = (
    ("https://www.google.com/", 18),
    ("https://t.co/", 8),
    ("https://www.facebook.com/", 7),
    ("https://www.linkedin.com/", 6),
    ("https://www.reddit.com/", 4),
    ("https://news.ycombinator.com/", 2),
    ("https://mail.google.com/", 5),
    ("https://outlook.live.com/", 3),
    ("https://news.example.com/", 4),
    ("https://blog.acme.example/", 6),
    ("android-app://com.slack/", 2),
    (None, 35),
)


def _cumulative(weights: Sequence[int]) -> list[int]:
    return list(itertools.accumulate(weights))


def _split(table: Sequence[tuple[T, int]]) -> tuple[list[T], list[int]]:
    return [value for value, _ in table], _cumulative([weight for _, weight in table])


_CLIENT_VALUES, _CLIENT_CUM = _split(_CLIENTS)
_COUNTRY_VALUES, _COUNTRY_CUM = _split(_COUNTRIES)
_REFERRER_VALUES, _REFERRER_CUM = _split(_REFERRERS)


def mix(*parts: object) -> int:
    """A stable 64-bit hash of ``parts`` (their ``repr``), the same on every run and platform."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def unit(*parts: object) -> float:
    """A stable draw in [0, 1) from ``parts``."""
    return mix(*parts) / 2.0**64


def day_count(
    *,
    seed: int,
    workspace_index: int,
    day: dt.date,
    events_per_day: int,
    heavy_days: Mapping[dt.date, int],
) -> int:
    """How many clicks a workspace had on a local day: around ``events_per_day``, without generating them.

    Weekdays are a little busier than weekends; each day varies between 0.6x and 1.4x of that.
    ``heavy_days`` sets the exact count of chosen days of the first workspace.
    """
    if workspace_index == 0 and day in heavy_days:
        return heavy_days[day]
    if not FIRST_DAY <= day <= LAST_DAY:
        return 0
    weekday_factor = 0.75 if day.weekday() >= 5 else 1.1
    u = unit(seed, "count", workspace_index, day.toordinal())
    return round(events_per_day * weekday_factor * (0.6 + 0.8 * u))


def day_bounds(day: dt.date, tz: dt.tzinfo) -> tuple[int, int]:
    """The POSIX timestamp of the first instant of ``day`` in ``tz``, and the day's length in seconds.

    The length is 82800 or 90000 on DST transition days. Local midnight that does not exist (a zone
    that springs forward at 00:00) resolves to the first instant after the gap (PEP 495, fold=0).
    """
    start = dt.datetime.combine(day, dt.time(), tzinfo=tz).timestamp()
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz).timestamp()
    return int(start), int(end - start)


_HOURS_MINUTES: Final = tuple(f"{h:02d}:{m:02d}:" for h in range(24) for m in range(60))
_SECONDS: Final = tuple(f"{s:02d}" for s in range(60))


def _timestamps(day: dt.date, tz: dt.tzinfo, seconds: Sequence[int]) -> list[str]:
    """ISO 8601 local times, with the zone's offset at each instant, for seconds since the day's start."""
    start, length = day_bounds(day, tz)
    first = dt.datetime.fromtimestamp(start, tz)
    last = dt.datetime.fromtimestamp(start + length - 1, tz)
    offset = first.utcoffset()
    if length == 86400 and offset == last.utcoffset() and first.time() == dt.time():
        # The common day: one offset all day, so format wall-clock time directly (5x faster).
        suffix = first.isoformat()[19:]  # "+02:00" ("+00:00" for UTC)
        prefix = f"{day.isoformat()}T"
        return [prefix + _HOURS_MINUTES[s // 60] + _SECONDS[s % 60] + suffix for s in seconds]
    return [dt.datetime.fromtimestamp(start + s, tz).isoformat() for s in seconds]


def generate_day(
    *, seed: int, workspace_index: int, day: dt.date, count: int, tz: dt.tzinfo
) -> list[dict[str, Any]]:
    """The clicks of one workspace on one local day, ascending by ``created_at`` then ``id``.

    When there are two or more, the first is at the day's first second (00:00:00 local) and the last
    at its last second (23:59:59 local), so windowing bugs at day boundaries show up.
    """
    if count <= 0:
        return []
    workspace = WORKSPACES[workspace_index]
    rng = random.Random(mix(seed, "events", workspace_index, day.toordinal()))  # noqa: S311 - synthetic data, not crypto
    draw = rng.random
    _, length = day_bounds(day, tz)
    # Triangular around midday: more clicks in the afternoon than at night.
    seconds = sorted(int(length * (draw() + draw()) * 0.5) for _ in range(count))
    if count >= 2:
        seconds[0] = 0
        seconds[-1] = length - 1
    created = _timestamps(day, tz, seconds)
    link_weights = _cumulative([12 // (rank + 1) + 1 for rank in range(len(workspace.links))])
    links = rng.choices(workspace.links, cum_weights=link_weights, k=count)
    clients = rng.choices(_CLIENT_VALUES, cum_weights=_CLIENT_CUM, k=count)
    countries = rng.choices(_COUNTRY_VALUES, cum_weights=_COUNTRY_CUM, k=count)
    referrers = rng.choices(_REFERRER_VALUES, cum_weights=_REFERRER_CUM, k=count)
    # Ids: day, then workspace, then sequence; unique across the account and ascending in time.
    base = (day.toordinal() * _MAX_WORKSPACES + workspace_index) * _ID_SEQUENCE_SPAN
    events: list[dict[str, Any]] = []
    for i in range(count):
        link = links[i]
        device_type, platform, browser = clients[i]
        event: dict[str, Any] = {
            "id": base + i + 1,
            "workspace_id": workspace.workspace_id,
            "organization_id": ORGANIZATION_ID,
            "url_id": link.url_id,
            "domain": link.domain,
            "url_slug": link.url_slug,
            "device_type": device_type,
            "platform": platform,
            "browser": browser,
        }
        country = countries[i]
        if country is not None:
            event["country"] = country
        referrer = referrers[i]
        if referrer is not None:
            event["referrer"] = referrer
        event["created_at"] = created[i]
        events.append(event)
    return events


@attrs.frozen
class Day:
    """One (workspace, day), serialized: the JSON array's inside, without brackets, whole and per link."""

    count: int
    fragment: bytes
    by_url: Mapping[int, tuple[int, bytes]]

    @property
    def size(self) -> int:
        return len(self.fragment) * 2 + 64

    def part(self, url_id: int | None) -> tuple[int, bytes]:
        """(count, fragment) of the whole day, or of one link (empty for a link with no clicks)."""
        if url_id is None:
            return self.count, self.fragment
        return self.by_url.get(url_id, (0, b""))


def serialize_day(events: list[dict[str, Any]]) -> Day:
    grouped: dict[int, list[dict[str, Any]]] = {}
    for event in events:
        grouped.setdefault(event["url_id"], []).append(event)
    by_url = {url_id: (len(group), _json.dumps(group)[1:-1]) for url_id, group in grouped.items()}
    return Day(count=len(events), fragment=_json.dumps(events)[1:-1], by_url=by_url)
