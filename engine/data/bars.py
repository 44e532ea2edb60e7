"""Bars: a single bar, a column-oriented series, a rolling window, resampling and gap detection.

A ``BarSeries`` holds one numpy array per field. Series built here (``from_arrays``,
``from_bars``, ``slice``, ``resample``, ``BarWindow.to_series``) have read-only arrays, so a
series and its slices can be shared freely.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np
import numpy.typing as npt

from engine.data.timeframes import (
    DAY_MS,
    HOUR_MS,
    WEEK_MS,
    Timeframe,
    format_timestamp,
    parse_timeframe,
)
from engine.errors import ConfigError, DataError

if TYPE_CHECKING:
    import pandas as pd

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Column order of ``BarSeries.to_frame`` (and of the arrays of a series).
COLUMNS = ("timestamp", "open", "high", "low", "close", "volume", "bid", "ask")
_VALUES = COLUMNS[1:]
_PRICES = ("open", "high", "low", "close", "bid", "ask")

# The weekend that detect_gaps(ignore_weekends=True) skips: the FX market's closure from
# Friday 21:00 to Sunday 22:00 UTC, which also covers Saturday/Sunday daily bars of stocks.
_MONDAY_MS = 4 * DAY_MS  # 1970-01-05 00:00 UTC was a Monday
_WEEKEND_START = 4 * DAY_MS + 21 * HOUR_MS
_WEEKEND_END = 6 * DAY_MS + 22 * HOUR_MS


@dataclass(frozen=True, slots=True, kw_only=True)
class Bar:
    """One bar: ``timestamp`` is the open time in ms (UTC); bid/ask equal close without quotes."""

    symbol: str
    timeframe: str
    timestamp: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    bid: float
    ask: float

    @property
    def mid_price(self) -> float:
        """Midpoint of bid and ask."""
        return (self.bid + self.ask) / 2

    def ohlcv(self) -> dict[str, float]:
        """``{"time", "open", "high", "low", "close", "volume"}`` as published for charts."""
        return {
            "time": self.timestamp,
            "open": self.open,
            "high": self.high,
            "low": self.low,
            "close": self.close,
            "volume": self.volume,
        }


@dataclass(frozen=True, kw_only=True)
class BarSeries:
    """Bars of one symbol as columns. ``timeframe`` is a Timeframe value, or "" if irregular.

    Build one with ``from_arrays`` (validates) or ``from_bars``; the plain constructor only
    checks that the columns have equal lengths.
    """

    symbol: str
    timeframe: str
    timestamp: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    bid: FloatArray
    ask: FloatArray

    def __post_init__(self) -> None:
        lengths = {name: len(getattr(self, name)) for name in COLUMNS}
        if len(set(lengths.values())) > 1:
            raise DataError(f"columns of {self.symbol} have different lengths: {lengths}")

    def __len__(self) -> int:
        return len(self.timestamp)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BarSeries):
            return NotImplemented
        return (self.symbol, self.timeframe) == (other.symbol, other.timeframe) and all(
            np.array_equal(getattr(self, name), getattr(other, name)) for name in COLUMNS
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        span = ""
        if len(self):
            first, last = format_timestamp(self.timestamp[0]), format_timestamp(self.timestamp[-1])
            span = f", {first} .. {last}"
        tf = self.timeframe or "irregular"
        return f"BarSeries({self.symbol!r}, {tf}, {len(self)} bars{span})"

    def bar(self, i: int) -> Bar:
        """The bar at position ``i`` (negative counts from the end)."""
        return Bar(
            symbol=self.symbol,
            timeframe=self.timeframe,
            timestamp=int(self.timestamp[i]),
            open=float(self.open[i]),
            high=float(self.high[i]),
            low=float(self.low[i]),
            close=float(self.close[i]),
            volume=float(self.volume[i]),
            bid=float(self.bid[i]),
            ask=float(self.ask[i]),
        )

    def slice(self, start: int | None, stop: int | None) -> BarSeries:
        """Bars ``start:stop`` (Python slice semantics) as a series sharing this one's memory."""
        part = slice(start, stop)
        return _trusted(self.symbol, self.timeframe, {n: getattr(self, n)[part] for n in COLUMNS})

    def to_frame(self) -> pd.DataFrame:
        """A DataFrame with columns timestamp (int ms), open, high, low, close, volume, bid, ask."""
        import pandas as pd  # only for callers that want a frame; backtests never do

        return pd.DataFrame({name: getattr(self, name) for name in COLUMNS})

    @classmethod
    def from_arrays(
        cls,
        *,
        symbol: str,
        timeframe: str,
        timestamp: npt.ArrayLike,
        open: npt.ArrayLike,
        high: npt.ArrayLike,
        low: npt.ArrayLike,
        close: npt.ArrayLike,
        volume: npt.ArrayLike,
        bid: npt.ArrayLike | None = None,
        ask: npt.ArrayLike | None = None,
    ) -> BarSeries:
        """Copy and validate columns into a series; bid/ask default to close.

        Raises DataError naming the first bad bar: unequal lengths, timestamps not strictly
        increasing, non-finite or non-positive prices, negative volume, high below
        max(open, close) or low above min(open, close). Raises ConfigError for an unknown
        timeframe.
        """
        tf = parse_timeframe(timeframe).value if timeframe else ""
        columns: dict[str, np.ndarray] = {"timestamp": _column("timestamp", timestamp, np.int64)}
        given = {"open": open, "high": high, "low": low, "close": close, "volume": volume}
        for name, values in given.items():
            columns[name] = _column(name, values, np.float64)
        columns["bid"] = columns["close"] if bid is None else _column("bid", bid, np.float64)
        columns["ask"] = columns["close"] if ask is None else _column("ask", ask, np.float64)
        lengths = {name: len(values) for name, values in columns.items()}
        if len(set(lengths.values())) > 1:
            raise DataError(f"{symbol}: columns have different lengths: {lengths}")
        problem = find_invalid_bar(columns)
        if problem is not None:
            i, column, text = problem
            when = format_timestamp(int(columns["timestamp"][i]))
            raise DataError(f"{symbol}: bar {i} ({when}): {column} {text}")
        return cls(symbol=symbol, timeframe=tf, **columns)

    @classmethod
    def from_bars(cls, bars: Sequence[Bar]) -> BarSeries:
        """A validated series from bars of one symbol and timeframe (empty list: empty series)."""
        if not bars:
            return _trusted("", "", {n: np.empty(0, _dtype(n)) for n in COLUMNS})
        symbol, timeframe = bars[0].symbol, bars[0].timeframe
        for i, bar in enumerate(bars):
            if (bar.symbol, bar.timeframe) != (symbol, timeframe):
                raise DataError(
                    f"bar {i} is {bar.symbol} {bar.timeframe}, but bar 0 is {symbol} {timeframe}"
                )
        columns = {n: np.array([getattr(b, n) for b in bars], _dtype(n)) for n in COLUMNS}
        return cls.from_arrays(symbol=symbol, timeframe=timeframe, **columns)


def find_invalid_bar(columns: dict[str, np.ndarray]) -> tuple[int, str, str] | None:
    """Locate the first invalid bar in equal-length columns (all of ``COLUMNS``).

    Returns ``(index, column, problem)`` for the lowest bad index (ties: the first failing
    check in the order times, prices, volume, high, low), or None. ``problem`` reads after the
    column name, e.g. ``"is -1.0, must be a number > 0"``.
    """
    ts = columns["timestamp"]
    o, h, lo, c = (columns[n] for n in ("open", "high", "low", "close"))
    found: tuple[int, str, str] | None = None

    def check(mask: np.ndarray, offset: int, column: str, problem: str) -> None:
        nonlocal found
        if mask.any():
            i = int(mask.argmax()) + offset
            if found is None or i < found[0]:
                found = (i, column, problem)

    if len(ts) > 1:
        check(ts[1:] <= ts[:-1], 1, "timestamp", "is {v}, not after the previous bar's time")
    with np.errstate(invalid="ignore"):
        for name in _PRICES:
            values = columns[name]
            check(~(np.isfinite(values) & (values > 0)), 0, name, "is {v}, must be a number > 0")
        v = columns["volume"]
        check(~(np.isfinite(v) & (v >= 0)), 0, "volume", "is {v}, must be a number >= 0")
        check(h < np.maximum(o, c), 0, "high", "is {v}, below max(open, close)")
        check(lo > np.minimum(o, c), 0, "low", "is {v}, above min(open, close)")
    if found is None:
        return None
    i, column, problem = found
    value = columns[column][i]
    shown = format_timestamp(int(value)) if column == "timestamp" else repr(float(value))
    return i, column, problem.replace("{v}", shown)


def _dtype(name: str) -> type[np.generic]:
    return np.int64 if name == "timestamp" else np.float64


def _column(name: str, values: npt.ArrayLike, dtype: type[np.generic]) -> np.ndarray:
    """A read-only 1-D copy of ``values``."""
    array = np.array(values, dtype=dtype)
    if array.ndim != 1:
        raise DataError(f"column {name!r} must be one-dimensional, got shape {array.shape}")
    array.flags.writeable = False
    return array


def _trusted(symbol: str, timeframe: str, columns: dict[str, np.ndarray]) -> BarSeries:
    """A series from columns known to be valid; marks them read-only."""
    for values in columns.values():
        values.flags.writeable = False
    return BarSeries(symbol=symbol, timeframe=timeframe, **columns)


class BarWindow:
    """The last ``size`` bars in a ring buffer, with cheap highest high, lowest low and average
    volume. Bars must belong to one symbol and timeframe and arrive in time order."""

    __slots__ = ("_bars", "_count", "_high", "_low", "_next", "_size", "_ts", "_values", "_vsum")

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ConfigError(f"window size must be at least 1, got {size}")
        self._size = size
        self._bars: list[Bar | None] = [None] * size
        self._ts = np.zeros(size, np.int64)
        self._values = np.zeros((size, len(_VALUES)))  # columns in _VALUES order
        self._count = 0
        self._next = 0  # slot the next bar is written to
        self._high: float | None = None  # cached maximum; None = recompute on demand
        self._low: float | None = None
        self._vsum = 0.0  # running volume sum, recomputed exactly once per wrap

    @property
    def size(self) -> int:
        """Capacity of the window."""
        return self._size

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Bar]:
        """Bars oldest to newest."""
        bars = cast("list[Bar]", self._bars)
        if self._count < self._size:
            return iter(bars[: self._count])
        return iter(bars[self._next :] + bars[: self._next])

    def last(self) -> Bar | None:
        """The newest bar, or None when empty."""
        return self._bars[self._next - 1] if self._count else None

    def append(self, bar: Bar) -> None:
        """Add the newest bar, dropping the oldest when full. DataError if it is out of order
        or of another symbol/timeframe."""
        last = self._bars[self._next - 1] if self._count else None
        if last is not None and (
            bar.timestamp <= last.timestamp
            or bar.symbol != last.symbol
            or bar.timeframe != last.timeframe
        ):
            raise DataError(
                f"cannot append {bar.symbol} {bar.timeframe} bar at "
                f"{format_timestamp(bar.timestamp)} after {last.symbol} {last.timeframe} bar at "
                f"{format_timestamp(last.timestamp)}: the window needs one symbol and timeframe "
                "in time order"
            )
        i = self._next
        evicted = self._bars[i]  # not None only when the window is full
        self._bars[i] = bar
        self._ts[i] = bar.timestamp
        self._values[i] = (bar.open, bar.high, bar.low, bar.close, bar.volume, bar.bid, bar.ask)
        self._next = (i + 1) % self._size
        if evicted is None:
            self._count += 1
        if self._high is not None:
            if bar.high >= self._high:
                self._high = bar.high
            elif evicted is not None and evicted.high == self._high:
                self._high = None
        if self._low is not None:
            if bar.low <= self._low:
                self._low = bar.low
            elif evicted is not None and evicted.low == self._low:
                self._low = None
        if self._next == 0:
            self._vsum = float(self._values[:, 4].sum())
        else:
            self._vsum += bar.volume - (evicted.volume if evicted is not None else 0.0)

    def highest_high(self) -> float | None:
        """Highest high of the bars held, or None when empty."""
        if not self._count:
            return None
        if self._high is None:
            self._high = float(self._values[: self._count, 1].max())
        return self._high

    def lowest_low(self) -> float | None:
        """Lowest low of the bars held, or None when empty."""
        if not self._count:
            return None
        if self._low is None:
            self._low = float(self._values[: self._count, 2].min())
        return self._low

    def avg_volume(self) -> float | None:
        """Mean volume of the bars held, or None when empty."""
        return self._vsum / self._count if self._count else None

    def to_series(self) -> BarSeries:
        """The bars held, oldest first (an empty series with symbol "" when empty)."""
        order = np.arange(self._next - self._count, self._next) % self._size
        last = self.last()
        columns = {"timestamp": self._ts[order]}
        columns.update({name: self._values[order, j] for j, name in enumerate(_VALUES)})
        return _trusted(last.symbol if last else "", last.timeframe if last else "", columns)


def resample(series: BarSeries, timeframe: Timeframe) -> BarSeries:
    """Aggregate bars into a larger timeframe with bins aligned to the UTC epoch.

    open = first, high = max, low = min, close = last, volume = sum, bid/ask = last. A bin
    exists only if at least one source bar falls in it, so gaps never create bars. The same
    timeframe returns ``series`` itself. ConfigError if the series' timeframe is unknown or
    larger than the target.
    """
    target = parse_timeframe(timeframe)
    if not series.timeframe:
        raise ConfigError(f"cannot resample {series.symbol}: its bar interval is irregular/unknown")
    source = Timeframe(series.timeframe)
    if target.ms < source.ms:
        raise ConfigError(
            f"cannot resample {series.symbol} from {source.value} to the smaller {target.value}; "
            "pick a timeframe at least as large as the data's"
        )
    if target is source:
        return series
    bins = series.timestamp // target.ms * target.ms
    starts = np.flatnonzero(np.r_[True, bins[1:] != bins[:-1]])[: len(bins)]
    if not len(starts):
        return _trusted(series.symbol, target.value, {n: getattr(series, n)[:0] for n in COLUMNS})
    ends = np.r_[starts[1:], len(bins)] - 1
    columns = {
        "timestamp": bins[starts],
        "open": series.open[starts],
        "high": np.maximum.reduceat(series.high, starts),
        "low": np.minimum.reduceat(series.low, starts),
        "close": series.close[ends],
        "volume": np.add.reduceat(series.volume, starts),
        "bid": series.bid[ends],
        "ask": series.ask[ends],
    }
    return _trusted(series.symbol, target.value, columns)


@dataclass(frozen=True)
class Gap:
    """A run of missing bars: open times of the first and last missing bar, and their count."""

    start_ms: int
    end_ms: int
    missing_bars: int


def detect_gaps(series: BarSeries, *, ignore_weekends: bool = False) -> list[Gap]:
    """Runs of missing bars between consecutive bars of a series with a known timeframe.

    With ``ignore_weekends``, missing bars opening between Friday 21:00 and Sunday 22:00 UTC
    (the FX weekend; it contains the Saturday/Sunday bars of daily stock data) are not
    reported, so only holidays and real holes remain. ConfigError if the timeframe is unknown.
    """
    if not series.timeframe:
        raise ConfigError(f"cannot detect gaps in {series.symbol}: its bar interval is unknown")
    step = Timeframe(series.timeframe).ms
    ts = series.timestamp
    after = np.flatnonzero(np.diff(ts) > step)
    firsts = ts[after] + step
    counts = (ts[after + 1] - firsts - 1) // step + 1
    gaps: list[Gap] = []
    for first, count in zip(firsts.tolist(), counts.tolist(), strict=True):
        if not ignore_weekends:
            gaps.append(Gap(first, first + (count - 1) * step, count))
            continue
        slots = first + np.arange(count, dtype=np.int64) * step
        offset = (slots - _MONDAY_MS) % WEEK_MS
        kept = slots[(offset < _WEEKEND_START) | (offset >= _WEEKEND_END)]
        for run in np.split(kept, np.flatnonzero(np.diff(kept) > step) + 1):
            if len(run):
                gaps.append(Gap(int(run[0]), int(run[-1]), len(run)))
    return gaps
