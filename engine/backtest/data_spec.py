"""What bars a backtest runs on, and the one function that loads them.

A :class:`DataSpec` is frozen and fully resolved (absolute start/end in ms), so storing it with a
backtest reproduces the same bars later. Sources:

- ``sim``: the simulated market (:mod:`engine.data.simulated`) for exactly ``[start, end)``;
  deterministic for (symbol, timeframe, seed), so a re-run is identical bit for bit;
- any source held in the candle store (``csv:<name>`` imported on the Data page, an exchange
  id such as ``binanceus`` downloaded or collected there), read for ``[start, end)`` and
  resampled from a finer stored timeframe when the timeframe itself is not stored;
- ``csv:<path-or-name>`` not in the store: a CSV file (an absolute path, or a name looked up in
  the given folders, ``.csv`` optional), resampled to the timeframe when larger, cut to
  ``[start, end)``.

A source with neither stored bars nor a file raises :class:`ConfigError` saying where to get
the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.data.bars import BarSeries, resample
from engine.data.candle_store import CandleStore
from engine.data.timeframes import DAY_MS, parse_timeframe
from engine.errors import ConfigError

PRESETS_MS: dict[str, int] = {
    "24h": DAY_MS,
    "7d": 7 * DAY_MS,
    "30d": 30 * DAY_MS,
    "90d": 90 * DAY_MS,
    "1y": 365 * DAY_MS,
}
MAX_BARS = 3_000_000
"""Largest range one backtest may load (about 5.7 years of 1-minute bars)."""


@dataclass(frozen=True, kw_only=True)
class DataSpec:
    """Source, symbol, timeframe and the half-open range ``[start_ms, end_ms)`` of the bars."""

    source: str
    symbol: str
    timeframe: str
    start_ms: int
    end_ms: int
    seed: int = 1

    def __post_init__(self) -> None:
        parse_timeframe(self.timeframe)
        if self.end_ms <= self.start_ms:
            raise ConfigError(
                f"the range ends ({self.end_ms}) before it starts ({self.start_ms}); "
                "choose an end after the start"
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (stored with the backtest)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DataSpec:
        """Inverse of :meth:`to_dict`."""
        return cls(**data)


def preset_range(preset: str, end_ms: int, timeframe: str) -> tuple[int, int]:
    """``[end - preset, end)`` with ``end`` aligned down to the timeframe grid."""
    if preset not in PRESETS_MS:
        raise ConfigError(f"range preset {preset!r}: expected one of {', '.join(PRESETS_MS)}")
    step = parse_timeframe(timeframe).ms
    end = end_ms // step * step
    return end - PRESETS_MS[preset], end


def csv_path(source: str, folders: Sequence[Path]) -> Path:
    """The file named by a ``csv:<path-or-name>`` source; ConfigError when it is missing."""
    name = source.removeprefix("csv:").strip()
    if not name:
        raise ConfigError("data source 'csv:' needs a file, e.g. csv:GOOG or csv:/path/bars.csv")
    given = Path(name).expanduser()
    candidates = [given] if given.is_absolute() else []
    for folder in folders:
        candidates += [folder / name, folder / f"{name}.csv"]
    for path in candidates:
        if path.is_file():
            return path
    where = ", ".join(str(f) for f in folders) or "no folders"
    raise ConfigError(
        f"data source {source!r}: no such CSV file (looked in {where}) and no such imported "
        "series; import the file on the Data page or give its path"
    )


def stored_info(
    source: str, symbol: str, timeframe: str | None, candles: CandleStore | None
) -> tuple[int, int, str] | None:
    """First bar time, end of the last bar and the timeframe of the stored ``source`` series
    of ``symbol`` usable for ``timeframe`` (that timeframe, else the largest finer one that
    divides it; without a timeframe the finest stored); None when nothing usable is stored."""
    if candles is None or source == "sim":
        return None
    entries = candles.coverage(source=source, symbol=symbol)
    if timeframe is not None:
        wanted = parse_timeframe(timeframe).ms
        entries = [c for c in entries if wanted % parse_timeframe(c.timeframe).ms == 0]
    if not entries:
        return None
    if timeframe is None:
        best = min(entries, key=lambda c: parse_timeframe(c.timeframe).ms)
        step = parse_timeframe(best.timeframe).ms
        return best.first_ms, best.last_ms + step, best.timeframe
    best = max(entries, key=lambda c: parse_timeframe(c.timeframe).ms)
    step = parse_timeframe(timeframe).ms
    return best.first_ms // step * step, best.last_ms // step * step + step, timeframe


def _from_store(spec: DataSpec, candles: CandleStore) -> BarSeries | None:
    """The stored bars of ``spec`` (resampled when needed), or None when nothing is stored."""
    from engine.data.history import MarketData

    if stored_info(spec.source, spec.symbol, spec.timeframe, candles) is None:
        return None
    _, series = MarketData(candles).read(
        spec.symbol,
        spec.timeframe,
        source=spec.source,
        start_ms=spec.start_ms,
        end_ms=spec.end_ms - 1,
    )
    _check_size(len(series), spec)
    return series


def load_series(
    spec: DataSpec, *, csv_folders: Sequence[Path] = (), candles: CandleStore | None = None
) -> BarSeries:
    """The bars of ``spec``; ConfigError for an unknown source or a range without data.

    ``candles`` is the candle store stored sources are read from (without it only ``sim`` and
    CSV files are available)."""
    tf = parse_timeframe(spec.timeframe)
    if candles is not None and spec.source != "sim":
        stored = _from_store(spec, candles)
        if stored is not None:
            return stored
    if spec.source == "sim":
        from engine.data.simulated import generate_history

        bars = (spec.end_ms - spec.start_ms) // tf.ms
        _check_size(bars, spec)
        return generate_history(spec.symbol, tf, bars, seed=spec.seed, start_ms=spec.start_ms)
    if spec.source.startswith("csv:"):
        from engine.data.csv_io import load_csv

        path = csv_path(spec.source, csv_folders)
        series = load_csv(path, symbol=spec.symbol)
        if series.timeframe and series.timeframe != tf.value:
            if parse_timeframe(series.timeframe).ms > tf.ms:
                raise ConfigError(
                    f"{path.name} has {series.timeframe} bars; choose {series.timeframe} "
                    "or a larger timeframe"
                )
            series = resample(series, tf)
        lo, hi = np.searchsorted(series.timestamp, [spec.start_ms, spec.end_ms])
        cut = series.slice(int(lo), int(hi))
        _check_size(len(cut), spec)
        return cut
    raise ConfigError(no_data_message(spec.source, spec.symbol, spec.timeframe))


def no_data_message(source: str, symbol: str, timeframe: str | None) -> str:
    """What to say when ``source`` has no bars of ``symbol`` (and how to get them)."""
    what = f"{symbol} {timeframe}" if timeframe else symbol
    return (
        f"data source {source!r} has no stored {what} bars; import or download them on the "
        "Data page (or tradesim data import/download), or use 'sim' or 'csv:<file>'"
    )


def csv_info(source: str, symbol: str, folders: Sequence[Path]) -> tuple[int, int, str]:
    """First bar time, end of the last bar (its time + one bar, or + 1 ms when the interval is
    irregular) and the timeframe ("" if irregular) of a CSV source."""
    from engine.data.csv_io import load_csv

    series = load_csv(csv_path(source, folders), symbol=symbol)
    if len(series) == 0:
        raise ConfigError(f"data source {source!r} has no bars")
    step = parse_timeframe(series.timeframe).ms if series.timeframe else 1
    return int(series.timestamp[0]), int(series.timestamp[-1]) + step, series.timeframe


def check_available(
    spec: DataSpec, *, csv_folders: Sequence[Path] = (), candles: CandleStore | None = None
) -> int:
    """The number of bars ``spec`` has (ConfigError when too few or too many), without
    generating simulated ones; the check made before a backtest is queued."""
    if spec.source == "sim":
        bars = (spec.end_ms - spec.start_ms) // parse_timeframe(spec.timeframe).ms
        _check_size(bars, spec)
        return bars
    return len(load_series(spec, csv_folders=csv_folders, candles=candles))


def _check_size(bars: int, spec: DataSpec) -> None:
    if bars < 2:
        raise ConfigError(
            f"{spec.source} {spec.symbol} {spec.timeframe}: the range has {bars} bar(s); "
            "choose a longer range (at least 2 bars)"
        )
    if bars > MAX_BARS:
        raise ConfigError(
            f"the range has {bars:,} bars, more than {MAX_BARS:,}; "
            "choose a shorter range or a larger timeframe"
        )
