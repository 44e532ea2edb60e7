"""Bars, series validation, the rolling window, resampling and gap detection."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from engine.data.bars import Bar, BarSeries, BarWindow, Gap, detect_gaps, resample
from engine.data.csv_io import load_csv
from engine.data.simulated import generate_history
from engine.data.timeframes import Timeframe
from engine.errors import ConfigError, DataError
from tests.conftest import Row, reference_rows

MIN = 60_000
HOUR = 60 * MIN
DAY = 24 * HOUR


def make(**changes: list[float]) -> BarSeries:
    """Three valid 1m bars, with some columns replaced."""
    columns: dict[str, list[float]] = {
        "timestamp": [0, MIN, 2 * MIN],
        "open": [10, 11, 12],
        "high": [12, 13, 14],
        "low": [9, 10, 11],
        "close": [11, 12, 13],
        "volume": [1, 2, 3],
    }
    columns.update(changes)
    return BarSeries.from_arrays(symbol="T", timeframe="1m", **columns)  # type: ignore[arg-type]


def test_series_basics() -> None:
    series = make(volume=[1, 0, 3])
    assert len(series) == 3
    assert series.bid.tolist() == series.close.tolist() == series.ask.tolist()
    last = series.bar(-1)
    assert last == Bar(
        symbol="T",
        timeframe="1m",
        timestamp=2 * MIN,
        open=12.0,
        high=14.0,
        low=11.0,
        close=13.0,
        volume=3.0,
        bid=13.0,
        ask=13.0,
    )
    assert last.mid_price == 13.0
    part = series.slice(1, None)
    assert part.timestamp.tolist() == [MIN, 2 * MIN] and part.symbol == "T"
    frame = series.to_frame()
    assert list(frame.columns) == [
        "timestamp",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "bid",
        "ask",
    ]
    assert frame["close"].tolist() == [11, 12, 13]
    assert BarSeries.from_bars([series.bar(i) for i in range(3)]) == series
    assert series != make(close=[11, 12, 12.5])


def test_from_arrays_copies_and_freezes() -> None:
    close = np.array([11.0, 12.0, 13.0])
    series = make(close=close, bid=[10.9, 11.9, 12.9], ask=[11.1, 12.1, 13.1])  # type: ignore[arg-type]
    close[0] = 99.0
    assert series.close[0] == 11.0
    with pytest.raises(ValueError, match="read-only"):
        series.close[0] = 1.0
    assert series.bar(0).mid_price == pytest.approx(11.0)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"timestamp": [0, MIN, MIN]}, "bar 2 .*timestamp"),
        ({"high": [12, 10.5, 9]}, "bar 1 .*high is 10.5, below max"),
        ({"low": [9, 10, 13.5]}, "bar 2 .*low is 13.5, above min"),
        ({"close": [11, float("nan"), 13]}, "bar 1 .*close is nan"),
        ({"open": [10, 11, -12]}, "bar 2 .*open is -12.0, must be a number > 0"),
        ({"volume": [1, -2, 3]}, "bar 1 .*volume is -2.0"),
        ({"bid": [1, 0, 1]}, "bar 1 .*bid is 0.0"),
        ({"ask": [1, 1, float("inf")]}, "bar 2 .*ask is inf"),
        ({"high": [12, 13, 9], "volume": [1, -2, 3]}, "bar 1 .*volume"),
        ({"close": [11, 12]}, "different lengths"),
    ],
)
def test_from_arrays_names_first_bad_bar(changes: dict[str, list[float]], expected: str) -> None:
    with pytest.raises(DataError, match=expected):
        make(**changes)


def test_from_bars_rejects_mixed_symbols_and_accepts_empty() -> None:
    bars = [make().bar(0), generate_history("AAPL", "1m", 1).bar(0)]
    with pytest.raises(DataError, match="bar 1 is AAPL 1m, but bar 0 is T 1m"):
        BarSeries.from_bars(bars)
    assert len(BarSeries.from_bars([])) == 0


class NaiveWindow:
    """Reference: a plain list."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.bars: list[Bar] = []

    def append(self, bar: Bar) -> None:
        self.bars = [*self.bars, bar][-self.size :]


@pytest.mark.parametrize("size", [1, 2, 7, 100])
def test_window_matches_naive_reference(size: int) -> None:
    rng = random.Random(size)
    series = generate_history("ETHUSDT", "1m", 700, seed=size)
    window, naive = BarWindow(size), NaiveWindow(size)
    assert window.last() is None and window.highest_high() is None
    assert window.avg_volume() is None and len(window.to_series()) == 0
    for i in range(len(series)):
        bar = series.bar(i)
        if rng.random() < 0.3:  # ties, to exercise evicting the current maximum
            bar = Bar(**{**_fields(bar), "high": round(bar.high, -1) + 10, "low": 1.0})
        window.append(bar)
        naive.append(bar)
        assert len(window) == len(naive.bars)
        assert window.last() is naive.bars[-1]
        if rng.random() < 0.5:
            assert window.highest_high() == max(b.high for b in naive.bars)
            assert window.lowest_low() == min(b.low for b in naive.bars)
            volumes = [b.volume for b in naive.bars]
            assert window.avg_volume() == pytest.approx(sum(volumes) / len(volumes), rel=1e-12)
        if i % 97 == 0 or i == len(series) - 1:
            assert list(window) == naive.bars
            assert window.to_series() == BarSeries.from_bars(naive.bars)


def _fields(bar: Bar) -> dict[str, object]:
    return {name: getattr(bar, name) for name in Bar.__slots__}


def test_window_rejects_bad_bars_and_sizes() -> None:
    series = make()
    window = BarWindow(3)
    window.append(series.bar(1))
    with pytest.raises(DataError, match="time order"):
        window.append(series.bar(0))
    with pytest.raises(DataError, match="one symbol"):
        window.append(generate_history("AAPL", "1m", 1, start_ms=10 * MIN).bar(0))
    with pytest.raises(ConfigError):
        BarWindow(0)


def reference_resample(rows: list[Row], step: int) -> list[Row]:
    """Plain-Python groupby by epoch-aligned bin."""
    groups: dict[int, list[Row]] = {}
    for row in rows:
        groups.setdefault(row[0] // step * step, []).append(row)
    return [
        (
            key,
            group[0][1],
            max(r[2] for r in group),
            min(r[3] for r in group),
            group[-1][4],
            sum(r[5] for r in group),
        )
        for key, group in sorted(groups.items())
    ]


@pytest.mark.parametrize("target", [Timeframe.M5, Timeframe.M15, Timeframe.H1, Timeframe.D1])
def test_resample_matches_groupby_reference(shared_data: Path, target: Timeframe) -> None:
    path = shared_data / "ALTBTC-1m.csv"
    rows = reference_rows(path)
    result = resample(load_csv(path), target)
    expected = reference_resample(rows, target.ms)
    assert result.timeframe == target.value
    assert result.timestamp.tolist() == [r[0] for r in expected]
    for k, name in enumerate(("open", "high", "low", "close"), start=1):
        assert getattr(result, name).tolist() == [r[k] for r in expected], name
    assert result.volume.tolist() == pytest.approx([r[5] for r in expected], rel=1e-12)
    source_times = np.array([r[0] for r in rows])
    members = np.searchsorted(source_times, result.timestamp + target.ms) - np.searchsorted(
        source_times, result.timestamp
    )
    assert members.min() >= 1  # no phantom bars
    if target is Timeframe.M5:  # ALTBTC has whole 5-minute holes: they stay holes
        assert len(detect_gaps(result)) > 0


@pytest.mark.parametrize("target", [Timeframe.H4, Timeframe.H8, Timeframe.D1])
def test_resample_bins_align_to_utc_epoch(target: Timeframe) -> None:
    start = int(datetime(2024, 3, 5, 3, 17, tzinfo=UTC).timestamp() * 1000)
    series = generate_history("SOLUSDT", "1m", 3 * 1440, start_ms=start)
    result = resample(series, target)
    assert result.timestamp[0] == start // target.ms * target.ms
    assert np.all(result.timestamp % target.ms == 0)
    assert result.open[0] == series.open[0] and result.close[-1] == series.close[-1]
    assert result.bid[-1] == series.bid[-1] and result.ask[-1] == series.ask[-1]
    assert result.volume.sum() == pytest.approx(series.volume.sum())


def test_resample_rejects_smaller_or_unknown_timeframe() -> None:
    hourly = generate_history("AAPL", "1h", 10)
    with pytest.raises(ConfigError, match="smaller 15m"):
        resample(hourly, Timeframe.M15)
    assert resample(hourly, Timeframe.H1) is hourly
    irregular = BarSeries.from_arrays(
        symbol="X", timeframe="", timestamp=[0], open=[1], high=[1], low=[1], close=[1], volume=[1]
    )
    with pytest.raises(ConfigError, match="irregular"):
        resample(irregular, Timeframe.D1)
    assert len(resample(hourly.slice(0, 0), Timeframe.D1)) == 0


def reference_gaps(times: list[int], step: int) -> list[Gap]:
    gaps = []
    for before, after in pairwise(times):
        if after - before > step:
            gaps.append(Gap(before + step, after - step, (after - before) // step - 1))
    return gaps


def test_detect_gaps_finds_exactly_the_missing_minutes(shared_data: Path) -> None:
    path = shared_data / "ALTBTC-1m.csv"
    times = [row[0] for row in reference_rows(path)]
    gaps = detect_gaps(load_csv(path))
    assert len(gaps) == 538
    assert gaps == reference_gaps(times, MIN)
    present = set(times)
    for gap in gaps:
        assert all(t not in present for t in range(gap.start_ms, gap.end_ms + 1, MIN))
        assert gap.start_ms - MIN in present and gap.end_ms + MIN in present


def _runs(slots: list[datetime], step: timedelta) -> list[Gap]:
    gaps: list[Gap] = []
    for slot in slots:
        ms = int(slot.timestamp() * 1000)
        last = gaps[-1] if gaps else None
        if last is not None and ms - last.end_ms == step // timedelta(milliseconds=1):
            gaps[-1] = Gap(last.start_ms, ms, last.missing_bars + 1)
        else:
            gaps.append(Gap(ms, ms, 1))
    return gaps


def test_detect_gaps_ignoring_weekends_keeps_only_holidays(shared_data: Path) -> None:
    for name, step in (("GOOG", timedelta(days=1)), ("EURUSD", timedelta(hours=1))):
        path = shared_data / f"{name}.csv"
        times = [datetime.fromtimestamp(r[0] / 1000, UTC) for r in reference_rows(path)]
        missing = []
        for before, after in pairwise(times):
            slot = before + step
            while slot < after:
                in_weekend = (
                    (slot.weekday() == 4 and slot.hour >= 21)
                    or slot.weekday() == 5
                    or (slot.weekday() == 6 and slot.hour < 22)
                )
                if not in_weekend:
                    missing.append(slot)
                slot += step
        expected = _runs(missing, step)
        series = load_csv(path)
        assert detect_gaps(series, ignore_weekends=True) == expected
        assert len(detect_gaps(series)) > len(expected)
    christmas = int(datetime(2017, 12, 24, 22, tzinfo=UTC).timestamp() * 1000)
    assert Gap(christmas, christmas + 23 * HOUR, 24) in expected  # EURUSD: closed on the 25th


def test_detect_gaps_needs_a_timeframe(shared_data: Path) -> None:
    with pytest.raises(ConfigError, match="unknown"):
        detect_gaps(load_csv(shared_data / "BTCUSD.csv"))
    assert detect_gaps(generate_history("BTCUSDT", "5m", 100)) == []
