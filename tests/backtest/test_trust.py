"""Trust: the engine's trades equal backtesting.py's and a plain-Python loop's on real data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from backtesting import Backtest, Strategy
from backtesting.lib import crossover

from engine.backtest.run import run_backtest
from engine.data.csv_io import load_csv
from engine.indicators.registry import compute_indicator
from engine.strategy.fills import SimConfig
from engine.strategy.instance import StrategySource
from tests.conftest import LUA_FIXTURES


@pytest.fixture(scope="module")
def goog(shared_data):
    return load_csv(shared_data / "GOOG.csv")


def _emas(series, fast=10, slow=20):
    cols = {"close": series.close}
    return (
        compute_indicator("ema", cols, fast)["value"],
        compute_indicator("ema", cols, slow)["value"],
    )


def _reference_trades(series):
    """Plain-Python loop: same cross rule, quantity 1, fills at the close, no fees."""
    fast, slow = _emas(series)
    trades, entry = [], None
    for i in range(1, len(series)):
        pf, ps, f, s = fast[i - 1], slow[i - 1], fast[i], slow[i]
        if np.isnan(pf) or np.isnan(ps):
            continue
        if entry is None and pf < ps and f > s:
            entry = i
        elif entry is not None and pf > ps and f < s:
            trades.append((entry, i, series.close[entry], series.close[i]))
            entry = None
    return trades, entry


def _engine_result(series):
    source = StrategySource.from_file(LUA_FIXTURES / "ema_cross_trust.lua")
    return run_backtest(source, series, config=SimConfig(initial_capital=100_000))


def test_engine_matches_plain_python_loop(goog):
    result = _engine_result(goog)
    closed = [t for t in result.trades if t.exit_reason != "end_of_data"]
    reference, open_entry = _reference_trades(goog)
    assert len(closed) == len(reference) > 10
    for trade, (entry, exit_, entry_price, exit_price) in zip(closed, reference, strict=True):
        assert trade.entry_time == goog.timestamp[entry]
        assert trade.exit_time == goog.timestamp[exit_]
        assert trade.entry_price == entry_price
        assert trade.exit_price == exit_price
        assert trade.pnl == pytest.approx(exit_price - entry_price, abs=1e-9)
    # a position still open after the last bar closes there, marked end_of_data
    tail = [t for t in result.trades if t.exit_reason == "end_of_data"]
    assert len(tail) == (1 if open_entry is not None else 0)


def test_engine_matches_backtesting_py(goog):
    fast, slow = _emas(goog)
    df = pd.DataFrame(
        {
            "Open": goog.open,
            "High": goog.high,
            "Low": goog.low,
            "Close": goog.close,
            "Volume": goog.volume,
        },
        index=pd.to_datetime(goog.timestamp, unit="ms"),
    )

    class EmaCross(Strategy):
        def init(self):
            self.fast = self.I(lambda: fast)
            self.slow = self.I(lambda: slow)

        def next(self):
            if crossover(self.fast, self.slow) and not self.position:
                self.buy(size=1)
            elif crossover(self.slow, self.fast) and self.position:
                self.position.close()

    bt = Backtest(df, EmaCross, cash=100_000, commission=0, trade_on_close=True)
    stats = bt.run()
    ref = stats._trades
    result = _engine_result(goog)
    closed = [t for t in result.trades if t.exit_reason != "end_of_data"]
    assert len(closed) == len(ref) > 10
    ms = lambda ts: int(pd.Timestamp(ts).value // 1_000_000)  # noqa: E731
    for trade, (_, row) in zip(closed, ref.iterrows(), strict=True):
        assert trade.entry_time == ms(row["EntryTime"])
        assert trade.exit_time == ms(row["ExitTime"])
        assert trade.entry_price == pytest.approx(row["EntryPrice"], abs=1e-9)
        assert trade.exit_price == pytest.approx(row["ExitPrice"], abs=1e-9)
    assert sum(t.pnl for t in closed) == pytest.approx(ref["PnL"].sum(), abs=1e-6)
