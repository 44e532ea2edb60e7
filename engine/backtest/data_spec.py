"""What bars a backtest runs on, and the one function that loads them.

A :class:`DataSpec` is frozen and fully resolved (absolute start/end in ms), so storing it with a
backtest reproduces the same bars later. Sources:

- ``sim``: the simulated market (:mod:`engine.data.simulated`) for exactly ``[start, end)``;
  deterministic for (symbol, timeframe, seed), so a re-run is identical bit for bit;
- ``csv:<path-or-name>``: a CSV file (an absolute path, or a name looked up in the given
  folders, ``.csv`` optional), resampled to the timeframe when larger, cut to ``[start, end)``.

Every other source raises :class:`ConfigError` ("not available"); :func:`load_series` is the
single seam where stored candles plug in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.data.bars import BarSeries, resample
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
    raise ConfigError(f"data source {source!r}: no such CSV file (looked in {where})")


def load_series(spec: DataSpec, *, csv_folders: Sequence[Path] = ()) -> BarSeries:
    """The bars of ``spec``; ConfigError for an unknown source or a range without data."""
    tf = parse_timeframe(spec.timeframe)
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
    raise ConfigError(f"data source {spec.source!r} is not available; use 'sim' or 'csv:<file>'")


def csv_info(source: str, symbol: str, folders: Sequence[Path]) -> tuple[int, int, str]:
    """First bar time, end of the last bar (its time + one bar, or + 1 ms when the interval is
    irregular) and the timeframe ("" if irregular) of a CSV source."""
    from engine.data.csv_io import load_csv

    series = load_csv(csv_path(source, folders), symbol=symbol)
    if len(series) == 0:
        raise ConfigError(f"data source {source!r} has no bars")
    step = parse_timeframe(series.timeframe).ms if series.timeframe else 1
    return int(series.timestamp[0]), int(series.timestamp[-1]) + step, series.timeframe


def check_available(spec: DataSpec, *, csv_folders: Sequence[Path] = ()) -> int:
    """The number of bars ``spec`` has (ConfigError when too few or too many), without
    generating simulated ones; the check made before a backtest is queued."""
    if spec.source == "sim":
        bars = (spec.end_ms - spec.start_ms) // parse_timeframe(spec.timeframe).ms
        _check_size(bars, spec)
        return bars
    return len(load_series(spec, csv_folders=csv_folders))


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
