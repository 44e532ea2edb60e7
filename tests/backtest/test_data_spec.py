"""DataSpec / load_series: exact simulated ranges, CSV cut and resampled like the CLI,
presets, unknown sources; BacktestConfig round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.backtest.data_spec import DataSpec, load_series, preset_range
from engine.backtest.request import BacktestConfig, parse_request
from engine.data.bars import resample
from engine.data.csv_io import load_csv
from engine.data.simulated import generate_history
from engine.data.timeframes import DAY_MS, Timeframe
from engine.errors import ConfigError
from engine.strategy.store import StrategyStore
from tests.conftest import ROOT, SHARED_DATA

HOUR = 3_600_000
JAN_2024 = 1_704_067_200_000


def test_sim_range_is_generate_history_from_that_start() -> None:
    spec = DataSpec(
        source="sim",
        symbol="ETHUSDT",
        timeframe="1h",
        start_ms=JAN_2024,
        end_ms=JAN_2024 + 100 * HOUR,
    )
    series = load_series(spec)
    assert series == generate_history("ETHUSDT", "1h", 100, seed=1, start_ms=JAN_2024)
    assert series.timestamp[0] == JAN_2024 and series.timestamp[-1] == JAN_2024 + 99 * HOUR
    assert load_series(spec) == series  # bit for bit on every call
    other = load_series(DataSpec(**{**spec.to_dict(), "seed": 2}))
    assert not np.array_equal(other.close, series.close)


def test_csv_range_is_cut_half_open_and_resampled() -> None:
    path = SHARED_DATA / "ALTBTC-1m.csv"
    full = load_csv(path)
    start, end = int(full.timestamp[100]), int(full.timestamp[2000])
    spec = DataSpec(
        source=f"csv:{path}", symbol="ALTBTC-1m", timeframe="1m", start_ms=start, end_ms=end
    )
    cut = load_series(spec)
    assert cut == full.slice(100, 2000)
    hourly = load_series(DataSpec(**{**spec.to_dict(), "timeframe": "1h"}))
    expected = resample(full, Timeframe("1h"))
    keep = (expected.timestamp >= start) & (expected.timestamp < end)
    assert np.array_equal(hourly.timestamp, expected.timestamp[keep])
    assert np.array_equal(hourly.close, expected.close[keep])


def test_csv_by_name_in_a_folder_and_errors(tmp_path: Path) -> None:
    (tmp_path / "GOOG.csv").write_bytes((SHARED_DATA / "GOOG.csv").read_bytes())
    spec = DataSpec(source="csv:GOOG", symbol="GOOG", timeframe="1d", start_ms=0, end_ms=2**42)
    assert len(load_series(spec, csv_folders=[tmp_path])) == 2148
    with pytest.raises(ConfigError, match="no such CSV"):
        load_series(spec)
    with pytest.raises(ConfigError, match="has 1d bars"):
        load_series(DataSpec(**{**spec.to_dict(), "timeframe": "1h"}), csv_folders=[tmp_path])
    with pytest.raises(ConfigError, match="0 bar"):
        load_series(DataSpec(**{**spec.to_dict(), "end_ms": 1000}), csv_folders=[tmp_path])
    with pytest.raises(ConfigError, match="no stored"):
        load_series(DataSpec(**{**spec.to_dict(), "source": "binance"}))
    with pytest.raises(ConfigError, match="more than"):
        load_series(
            DataSpec(
                source="sim", symbol="BTCUSDT", timeframe="1m", start_ms=0, end_ms=10 * 365 * DAY_MS
            )
        )


def test_presets_end_on_the_grid() -> None:
    assert preset_range("7d", JAN_2024 + 90 * 60_000 + 5, "1h") == (
        JAN_2024 + HOUR - 7 * DAY_MS,
        JAN_2024 + HOUR,
    )
    with pytest.raises(ConfigError, match="expected one of"):
        preset_range("2d", JAN_2024, "1h")


def test_csv_preset_ends_at_the_last_bar_and_config_round_trips() -> None:
    store = StrategyStore(ROOT / "lua-strategies")
    body = {
        "strategy": "ema_crossover",
        "source": f"csv:{SHARED_DATA / 'GOOG.csv'}",
        "preset": "90d",
        "params": {"fast": 5},
    }
    config = parse_request(body, strategies=store)
    last = int(load_csv(SHARED_DATA / "GOOG.csv").timestamp[-1])
    assert config.data.timeframe == "1d" and config.data.symbol == "GOOG"
    assert (
        config.data.end_ms == last + DAY_MS and config.data.start_ms == last + DAY_MS - 90 * DAY_MS
    )
    assert config.params == {"fast": 5, "slow": 20, "stop_pct": 0}
    assert len(config.strategy_hash) == 64
    assert BacktestConfig.from_dict(config.to_dict()) == config
    again = parse_request(config.to_request(), strategies=store)
    assert again == config
