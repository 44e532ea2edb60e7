"""Trading sessions: which bar open times a market is expected to have, and the gaps.

A gap is a run of expected bars that are missing. "Expected" depends on the market:

- ``24/7`` (crypto): every bar of the timeframe's grid;
- ``fx``: closed from Friday 21:00 to Sunday 22:00 UTC (bars opening in that window are not
  expected; the window covers the close at 17:00 New York time in summer and winter);
- ``weekdays`` (stocks): Monday to Friday; intraday bars only during the regular session
  09:30–16:00 America/New_York (DST-aware). Exchange holidays are not modelled: a holiday
  is reported as a gap (it is missing data from the calendar's point of view, never invented).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data.bars import Gap
from engine.data.symbols import SYMBOLS
from engine.data.timeframes import DAY_MS, HOUR_MS, MINUTE_MS, WEEK_MS, Timeframe
from engine.errors import ConfigError

CALENDARS = ("24/7", "fx", "weekdays")
MAX_GRID_BARS = 20_000_000

_MONDAY_MS = 4 * DAY_MS  # 1970-01-05 00:00 UTC was a Monday
_FX_CLOSE = 4 * DAY_MS + 21 * HOUR_MS  # Friday 21:00 UTC, offset into the week
_FX_OPEN = 6 * DAY_MS + 22 * HOUR_MS  # Sunday 22:00 UTC
_OPEN_NY_MIN, _CLOSE_NY_MIN = 9 * 60 + 30, 16 * 60
_BY_ALNUM = {spec.symbol: spec for spec in SYMBOLS}


@dataclass(frozen=True)
class GapReport:
    """Gaps of a series between ``start_ms`` and ``end_ms`` under ``calendar``."""

    calendar: str
    expected: int
    present: int
    gaps: list[Gap]

    @property
    def missing(self) -> int:
        """Expected bars that are not there."""
        return sum(g.missing_bars for g in self.gaps)


def calendar_for(symbol: str, timeframe: str, times: np.ndarray | None = None) -> str:
    """The calendar of a symbol: from its market when curated (BTCUSDT: 24/7, EURUSD: fx,
    AAPL: weekdays), else from the data: bars on Saturdays mean 24/7; bars on a Sunday evening
    or intraday bars through the night mean fx; otherwise weekdays."""
    spec = _BY_ALNUM.get("".join(ch for ch in symbol.upper() if ch.isalnum()))
    if spec is not None:
        return {"crypto": "24/7", "forex": "fx"}.get(spec.asset_class, "weekdays")
    if times is None or not len(times):
        return "24/7"
    offset = (np.asarray(times, np.int64) - _MONDAY_MS) % WEEK_MS
    if bool(np.any((offset >= 5 * DAY_MS) & (offset < 6 * DAY_MS))):
        return "24/7"
    if Timeframe(timeframe).ms >= DAY_MS:
        return "weekdays"
    time_of_day = offset % DAY_MS
    overnight = (time_of_day < 13 * HOUR_MS) | (time_of_day >= 21 * HOUR_MS)
    return "fx" if bool(np.any(overnight)) else "weekdays"


def expected_times(start_ms: int, end_ms: int, timeframe: str, calendar: str) -> np.ndarray:
    """Open times of the bars ``calendar`` expects with ``start_ms <= t <= end_ms`` (grid
    aligned to the epoch, as stored bars are)."""
    if calendar not in CALENDARS:
        raise ConfigError(f"unknown calendar {calendar!r}: use one of {', '.join(CALENDARS)}")
    step = Timeframe(timeframe).ms
    first = -(-start_ms // step) * step
    if end_ms < first:
        return np.empty(0, np.int64)
    count = (end_ms - first) // step + 1
    if count > MAX_GRID_BARS:
        raise ConfigError(
            f"the range holds {count:,} {timeframe} bars (more than {MAX_GRID_BARS:,}): "
            "pick a shorter range or a larger timeframe"
        )
    grid = first + np.arange(count, dtype=np.int64) * step
    if calendar == "24/7":
        return grid
    offset = (grid - _MONDAY_MS) % WEEK_MS
    if calendar == "fx":
        return grid[(offset < _FX_CLOSE) | (offset >= _FX_OPEN)]
    if step >= DAY_MS:
        return grid[offset < 5 * DAY_MS]
    local = pd.DatetimeIndex(grid.astype("datetime64[ms]"), tz="UTC").tz_convert("America/New_York")
    minute = local.hour * 60 + local.minute
    # a bar is expected when it opens inside the session (an hourly bar opening 09:00 covers
    # 09:30 too): its end lies after the open and its start before the close
    bar_min = step // MINUTE_MS
    keep = (local.dayofweek < 5) & (minute + bar_min > _OPEN_NY_MIN) & (minute < _CLOSE_NY_MIN)
    return grid[np.asarray(keep)]


def find_gaps(
    times: np.ndarray,
    timeframe: str,
    calendar: str,
    *,
    start_ms: int | None = None,
    end_ms: int | None = None,
) -> GapReport:
    """Runs of expected bars missing from ``times`` (sorted open times) between ``start_ms``
    and ``end_ms`` (default: the first and last bar). Runs are split where the market is
    closed: a weekend between two missing Fridays and Mondays makes two gaps."""
    times = np.asarray(times, np.int64)
    if not len(times) and (start_ms is None or end_ms is None):
        return GapReport(calendar, 0, 0, [])
    lo = int(times[0]) if start_ms is None else start_ms
    hi = int(times[-1]) if end_ms is None else end_ms
    grid = expected_times(lo, hi, timeframe, calendar)
    missing = np.setdiff1d(grid, times, assume_unique=True)
    present = len(grid) - len(missing)
    if not len(missing):
        return GapReport(calendar, len(grid), present, [])
    # consecutive missing slots of the expected grid form one gap
    position = np.searchsorted(grid, missing)
    breaks = np.flatnonzero(np.diff(position) > 1) + 1
    starts = np.r_[0, breaks]
    ends = np.r_[breaks, len(missing)] - 1
    gaps = [
        Gap(int(missing[a]), int(missing[b]), int(b - a + 1))
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True)
    ]
    return GapReport(calendar, len(grid), present, gaps)
