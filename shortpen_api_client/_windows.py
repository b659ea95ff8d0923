"""Date windows: inclusive ranges of days that partition a requested range exactly.

Pure functions, no I/O. A window is what one request asks for: ``{"start": ..., "end": ...}``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import attrs

ONE_DAY = dt.timedelta(days=1)


@attrs.frozen(order=True)
class Window:
    """An inclusive range of days, ``start <= end``."""

    start: dt.date
    end: dt.date

    def __attrs_post_init__(self) -> None:
        if self.start > self.end:
            raise ValueError(f"window start {self.start} is after its end {self.end}")

    @property
    def days(self) -> int:
        """How many days the window covers (1 for a one-day window)."""
        return (self.end - self.start).days + 1

    def halves(self) -> tuple[Window, Window]:
        """Split in two adjacent windows (the first one gets the extra day of an odd length)."""
        if self.days < 2:
            raise ValueError(f"a one-day window ({self.start}) cannot be split")
        first_end = self.start + dt.timedelta(days=(self.days + 1) // 2 - 1)
        return Window(self.start, first_end), Window(first_end + ONE_DAY, self.end)

    def each_day(self) -> Iterator[dt.date]:
        day = self.start
        while day <= self.end:
            yield day
            day += ONE_DAY

    def as_tuple(self) -> tuple[dt.date, dt.date]:
        return (self.start, self.end)

    def __str__(self) -> str:
        if self.start == self.end:
            return self.start.isoformat()
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


def plan_windows(start: dt.date, end: dt.date, window_days: int) -> list[Window]:
    """Consecutive windows of ``window_days`` days (the last one may be shorter) covering
    ``[start, end]`` with no gap and no overlap."""
    if window_days < 1:
        raise ValueError(f"window_days must be at least 1, got {window_days}")
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    windows = []
    first = start
    while True:
        # Never first + window_days when that passes the range: it may pass date.max too.
        last = end if (end - first).days < window_days else first + dt.timedelta(days=window_days - 1)
        windows.append(Window(first, last))
        if last == end:
            return windows
        first = last + ONE_DAY
