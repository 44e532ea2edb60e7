"""No-lookahead check: the live-path replay of a backtest's bars gives its trades (so the
check says "identical"), and a changed trade is reported as the first difference."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.backtest.execute import execute
from engine.backtest.request import parse_request
from engine.optimize.lookahead import compare_trades
from engine.platform.settings import Settings
from engine.strategy.store import StrategyStore
from jobs.lookahead import replay
from tests.conftest import ROOT


@pytest.mark.parametrize("name", ["ema_crossover", "rsi_mean_reversion", "bollinger_bounce"])
def test_replay_through_the_live_path_is_identical(name: str, tmp_path: Path) -> None:
    config = parse_request(
        {
            "strategy": name,
            "symbol": "ETHUSDT",
            "timeframe": "15m",
            "preset": "30d",
            "commission": 0.001,
            "slippage_bps": 2,
        },
        strategies=StrategyStore(ROOT / "lua-strategies"),
        now_ms=1_720_000_000_000,
    )
    result = execute(config, "x")
    settings = Settings(
        data_dir=tmp_path, redis_url=None, database_url=f"sqlite:///{tmp_path}/t.db"
    )
    replayed = replay(config, settings)
    verdict = compare_trades(result["trades"], replayed)
    assert verdict["identical"], verdict
    assert verdict["trades"] > 2


def test_a_different_trade_is_the_first_difference() -> None:
    trades = [
        {
            "side": "long",
            "entry_time": "a",
            "exit_time": "b",
            "entry_price": 10.0,
            "exit_price": 11.0,
            "quantity": 1.0,
            "exit_reason": "signal",
        },
        {
            "side": "long",
            "entry_time": "c",
            "exit_time": "d",
            "entry_price": 12.0,
            "exit_price": 11.5,
            "quantity": 1.0,
            "exit_reason": "signal",
        },
    ]
    changed = [dict(trades[0]), {**trades[1], "exit_price": 11.6}]
    verdict = compare_trades(trades, changed)
    assert not verdict["identical"]
    assert verdict["first_difference"]["trade"] == 1
    assert verdict["first_difference"]["field"] == "exit_price"
    fewer = compare_trades(trades, trades[:1])
    assert fewer["first_difference"]["field"] == "count" and fewer["first_difference"]["trade"] == 1
    eod = [*trades, {**trades[0], "exit_reason": "end_of_data"}]
    assert compare_trades(eod, trades)["identical"]
