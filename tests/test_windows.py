"""Window planning: consecutive inclusive windows that partition [start, end] exactly."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shortpen_api_client._windows import Window, plan_windows

dates = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 12, 31))


def covered_days(windows: list[Window]) -> list[dt.date]:
    return [day for window in windows for day in window.each_day()]


@given(start=dates, length=st.integers(0, 800), window_days=st.integers(1, 400))
def test_windows_partition_the_range_exactly(start: dt.date, length: int, window_days: int) -> None:
    end = start + dt.timedelta(days=length)
    windows = plan_windows(start, end, window_days)
    days = covered_days(windows)
    # no gap, no overlap, nothing outside: every day exactly once, in order
    assert days == [start + dt.timedelta(days=i) for i in range(length + 1)]
    assert windows[0].start == start
    assert windows[-1].end == end
    for before, after in itertools.pairwise(windows):
        assert after.start == before.end + dt.timedelta(days=1)
    assert all(w.days == window_days for w in windows[:-1])
    assert 1 <= windows[-1].days <= window_days
    assert len(windows) == -(-(length + 1) // window_days)


@given(start=dates, length=st.integers(1, 400))
def test_halves_partition_the_window(start: dt.date, length: int) -> None:
    window = Window(start, start + dt.timedelta(days=length))
    first, second = window.halves()
    assert covered_days([first, second]) == list(window.each_day())
    assert first.days - second.days in (0, 1)


def test_one_day_window_cannot_be_split() -> None:
    with pytest.raises(ValueError, match="2025-01-05"):
        Window(dt.date(2025, 1, 5), dt.date(2025, 1, 5)).halves()


def test_single_day_range_is_one_window() -> None:
    day = dt.date(2025, 2, 28)
    assert plan_windows(day, day, 7) == [Window(day, day)]


def test_quarter_in_weeks() -> None:
    windows = plan_windows(dt.date(2025, 1, 1), dt.date(2025, 3, 31), 7)
    assert len(windows) == 13
    assert windows[-1] == Window(dt.date(2025, 3, 26), dt.date(2025, 3, 31))
    assert str(windows[0]) == "2025-01-01..2025-01-07"


@pytest.mark.parametrize("window_days", [0, -3])
def test_window_days_must_be_positive(window_days: int) -> None:
    with pytest.raises(ValueError, match=str(window_days)):
        plan_windows(dt.date(2025, 1, 1), dt.date(2025, 1, 2), window_days)


def test_start_after_end_is_refused() -> None:
    with pytest.raises(ValueError, match="2025-01-02 is after end 2025-01-01"):
        plan_windows(dt.date(2025, 1, 2), dt.date(2025, 1, 1), 1)
