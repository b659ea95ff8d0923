"""The synthetic account: its workspaces and links, how many clicks each has per local day, and what
a click's known fields mean (links, clients, countries, referrers, local timestamps).

Everything here is a pure function of the seed. Counts (per workspace and day, and per link) are
computed without generating a click, so a request's size is known before any work. Which fields an
event has, in which order and of which type, is not decided here but by the spec (``_events``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections.abc import Mapping, Sequence
from typing import Final, TypeVar

import attrs

T = TypeVar("T")

ORGANIZATION_ID: Final = 3
"""The organization every event belongs to (the spec's example value)."""

FIRST_DAY: Final = dt.date(2000, 1, 1)
LAST_DAY: Final = dt.date(2099, 12, 31)
"""Clicks exist on the days from FIRST_DAY to LAST_DAY, and up to today only (the fake clamps a range
to the account's current date); other days are empty (cheaply)."""

SCAN_LIMIT: Final = 500_000
"""The most clicks of a workspace one request may cover (before a ``url_id`` filter): above it the
fake answers the gateway's 504 at once, whatever ``max_events_per_response`` says. It bounds the work
of any request (about 2 s at most: some 250,000 events, 60 MB of JSON, a second on a loaded 2-core box,
generated and serialized), so no range can hang the fake."""

MAX_EVENTS_PER_DAY: Final = SCAN_LIMIT
"""Per (workspace, day) (``heavy_days``): a day above the scan limit could never be served."""

ID_SEQUENCE_SPAN: Final = 10_000_000
"""Ids: (day ordinal * MAX_WORKSPACES + workspace index) * ID_SEQUENCE_SPAN + sequence."""
MAX_WORKSPACES: Final = 8
_MAX_LINKS: Final = 8  # link_counts draws 8 bits per link from one 64-bit hash


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


# At most MAX_WORKSPACES workspaces (the id scheme), of at most 8 links each (link_counts). The
# account is the same for every seed, so services can hard-code ids in their tests; the first
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
# ISO 3166-1 alpha-2. Optional fields are absent (or null) by the shape's rule, not by these tables.
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
)
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
)


def cumulative(weights: Sequence[int]) -> list[int]:
    return list(itertools.accumulate(weights))


def _split(table: Sequence[tuple[T, int]]) -> tuple[list[T], list[int]]:
    return [value for value, _ in table], cumulative([weight for _, weight in table])


CLIENT_VALUES, CLIENT_CUM = _split(_CLIENTS)
COUNTRY_VALUES, COUNTRY_CUM = _split(_COUNTRIES)
REFERRER_VALUES, REFERRER_CUM = _split(_REFERRERS)

LINK_INDEX: Final = {
    link.url_id: (index, rank)
    for index, workspace in enumerate(WORKSPACES)
    for rank, link in enumerate(workspace.links)
}
"""url_id -> (workspace index, the link's rank in its workspace)."""
# The id and link schemes' bounds, checked once at import.
assert all(len(w.links) <= _MAX_LINKS for w in WORKSPACES)  # noqa: S101
assert len(WORKSPACES) <= MAX_WORKSPACES  # noqa: S101


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


def link_counts(*, seed: int, workspace_index: int, day: dt.date, count: int) -> tuple[int, ...]:
    """How a day's ``count`` clicks split among the workspace's links, exactly, without generating them.

    The first links get more (weights 13, 7, 5, 4, ...), each varied per day between 0.5x and 1.5x;
    the counts add up to ``count`` (largest remainders get the leftover clicks).
    """
    links = WORKSPACES[workspace_index].links
    if count <= 0:
        return (0,) * len(links)
    bits = mix(seed, "links", workspace_index, day.toordinal())
    weights = [
        (12 // (rank + 1) + 1) * (0.5 + ((bits >> (8 * rank)) & 0xFF) / 255) for rank in range(len(links))
    ]
    total = sum(weights)
    shares = [count * weight / total for weight in weights]
    counts = [int(share) for share in shares]
    leftover = count - sum(counts)
    for rank in sorted(range(len(links)), key=lambda r: counts[r] - shares[r])[:leftover]:
        counts[rank] += 1
    return tuple(counts)


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


def timestamps(day: dt.date, tz: dt.tzinfo, seconds: Sequence[int]) -> list[str]:
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
