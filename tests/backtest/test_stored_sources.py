"""Backtests on the candle store: an imported CSV and an exchange series are read bar for bar
(resampled from a finer stored timeframe), the request resolves their range from the stored
coverage, and a source without bars says where to get them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from engine.backtest.data_spec import DataSpec, load_series, stored_info
from engine.backtest.execute import execute
from engine.backtest.request import parse_request
from engine.backtest.run import run_backtest
from engine.data.bars import resample
from engine.data.candle_store import CandleStore
from engine.data.csv_io import load_csv
from engine.data.history import MarketData
from engine.data.timeframes import Timeframe
from engine.errors import ConfigError
from engine.platform.settings import Settings
from engine.storage.db import make_engine
from engine.strategy.instance import StrategySource
from engine.strategy.store import StrategyStore
from tests.conftest import ROOT, SHARED_DATA


@pytest.fixture
def candles(tmp_path: Path) -> Iterator[CandleStore]:
    url = f"sqlite:///{tmp_path / 'tradesim.db'}"
    db = make_engine(Settings(data_dir=tmp_path, redis_url=None, database_url=url))
    yield CandleStore(db)
    db.dispose()


def test_imported_csv_is_read_back_bar_for_bar_and_resampled(candles: CandleStore) -> None:
    path = SHARED_DATA / "ALTBTC-1m.csv"
    MarketData(candles).import_csv(path, symbol="ALTBTC", source="csv:alt")
    full = load_csv(path, symbol="ALTBTC")
    start, end = int(full.timestamp[50]), int(full.timestamp[3000])
    spec = DataSpec(source="csv:alt", symbol="ALTBTC", timeframe="1m", start_ms=start, end_ms=end)
    cut = load_series(spec, candles=candles)
    reference = full.slice(50, 3000)
    assert np.array_equal(cut.timestamp, reference.timestamp)
    for column in ("open", "high", "low", "close", "volume"):
        assert np.array_equal(getattr(cut, column), getattr(reference, column)), column
    hour = Timeframe("1h").ms
    spec_1h = DataSpec(
        source="csv:alt",
        symbol="ALTBTC",
        timeframe="1h",
        start_ms=start // hour * hour + hour,
        end_ms=end // hour * hour,
    )
    hourly = load_series(spec_1h, candles=candles)
    expected = resample(full, Timeframe("1h"))
    keep = (expected.timestamp >= spec_1h.start_ms) & (expected.timestamp < spec_1h.end_ms)
    assert np.array_equal(hourly.timestamp, expected.timestamp[keep])
    assert np.array_equal(hourly.close, expected.close[keep])
    assert np.array_equal(hourly.volume, expected.volume[keep])


def test_request_on_a_stored_exchange_series_runs_like_a_direct_backtest(
    candles: CandleStore,
) -> None:
    bars = load_csv(SHARED_DATA / "ALTBTC-1m.csv", symbol="BTCUSDT").slice(0, 4000)
    candles.insert("binanceus", bars)
    info = stored_info("binanceus", "BTCUSDT", "5m", candles)
    assert info is not None and info[2] == "5m"
    strategies = StrategyStore(ROOT / "lua-strategies")
    body = {"strategy": "ema_crossover", "symbol": "BTCUSDT", "timeframe": "5m"}
    config = parse_request({**body, "source": "binanceus"}, strategies=strategies, candles=candles)
    assert (config.data.start_ms, config.data.end_ms) == info[:2]  # the whole stored range
    result = execute(config, "b1", candles=candles)
    direct = run_backtest(
        StrategySource.from_code(config.strategy_code, config.strategy_file),
        resample(bars, Timeframe("5m")),
        config=config.sim_config(),
        params=config.params,
    )
    reference = direct.to_dict()
    assert result["bars"] == reference["bars"] == len(resample(bars, Timeframe("5m")))
    assert result["trades"] and result["trades"] == reference["trades"]
    assert result["metrics"] == pytest.approx(reference["metrics"])


def test_a_source_without_bars_says_where_to_get_them(candles: CandleStore) -> None:
    strategies = StrategyStore(ROOT / "lua-strategies")
    body = {"strategy": "ema_crossover", "symbol": "BTCUSDT", "source": "kraken", "preset": "7d"}
    with pytest.raises(ConfigError, match=r"no stored BTCUSDT bars.*Data page"):
        parse_request(body, strategies=strategies, candles=candles)
    with pytest.raises(ConfigError, match="source"):
        parse_request({**body, "source": "bad source!"}, strategies=strategies, candles=candles)
