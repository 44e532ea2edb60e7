"""The shipped strategies run on real data, seed-style strategies run unchanged, and the live
per-bar path gives exactly the backtest's trades."""

from __future__ import annotations

import numpy as np
import pytest

from engine.backtest.run import VectorizedSeries, run_backtest
from engine.data.csv_io import load_csv
from engine.data.simulated import generate_history
from engine.strategy.fills import SimConfig
from engine.strategy.instance import StrategyInstance, StrategySource
from engine.strategy.validator import validate_strategy
from tests.conftest import EXAMPLES, LUA_FIXTURES, ROOT

STRATEGIES = [*sorted(EXAMPLES.glob("*.lua")), ROOT / "lua-strategies/templates/empty.lua"]
DATASETS = ("GOOG", "EURUSD", "ALTBTC-1m")


@pytest.mark.parametrize("path", STRATEGIES, ids=lambda p: p.stem)
def test_shipped_strategies_validate_clean(path):
    problems = [d for d in validate_strategy(path.read_text(), path.name) if d.severity != "info"]
    assert problems == []


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.lua")), ids=lambda p: p.stem)
def test_examples_trade_on_real_data(path, shared_data):
    counts = []
    for name in DATASETS:
        result = run_backtest(StrategySource.from_file(path), load_csv(shared_data / f"{name}.csv"))
        equity = result.runs[0].equity
        assert np.isfinite(equity).all()
        realized = sum(t.pnl for t in result.trades)
        assert equity[-1] == pytest.approx(10_000 + realized)
        counts.append(len(result.trades))
    assert min(counts) > 0, counts


def test_seed_style_strategy_runs_unchanged(shared_data):
    series = load_csv(shared_data / "EURUSD.csv")
    result = run_backtest(
        StrategySource.from_file(LUA_FIXTURES / "seed_style.lua"),
        series,
        config=SimConfig(window_size=20),
    )
    trades = result.trades
    assert len(trades) > 5
    assert {t.exit_reason for t in trades} >= {"stop_loss"}
    # trailing stops only move up, so a stopped-out long exits at or above its first stop
    window_low = [min(series.low[max(0, t.entry_bar - 20) : t.entry_bar]) for t in trades]
    assert all(
        t.exit_price >= low - 1e-12 or t.exit_reason != "stop_loss"
        for t, low in zip(trades, window_low, strict=True)
    )


@pytest.mark.parametrize("fill", ["close", "next_open"])
@pytest.mark.parametrize("name", ["rsi_mean_reversion", "range_breakout", "macd_cross"])
def test_live_step_path_gives_the_backtest_trades(name, fill):
    series = generate_history("SOLUSDT", "5m", 3000, seed=7)
    source = StrategySource.from_file(EXAMPLES / f"{name}.lua")
    config = SimConfig(fill_mode=fill, commission_rate=0.001)
    backtest = run_backtest(source, series, config=config)
    live = StrategyInstance(
        source,
        symbol=series.symbol,
        timeframe=series.timeframe,
        config=config,
        provider=VectorizedSeries(series),
    )
    for i in range(len(series)):
        live.step(i + 1, series.bar(i))
    live.close_open("end_of_data", float(series.close[-1]))
    trades, _ = live.results()
    assert trades == backtest.trades
    assert len(trades) > 3


def test_snapshot_shows_state_position_context_and_decisions():
    series = generate_history("BTCUSDT", "1h", 400, seed=2)
    source = StrategySource.from_file(EXAMPLES / "ema_crossover.lua")
    inst = StrategyInstance(
        source,
        symbol=series.symbol,
        timeframe=series.timeframe,
        config=SimConfig(decision_log_size=5),
        provider=VectorizedSeries(series),
    )
    for i in range(len(series)):
        inst.step(i + 1, series.bar(i))
        snap = inst.snapshot()
        if snap["position"] is not None:
            break
    assert snap["state"] == "InPosition" and snap["bars"] == i + 1
    assert snap["position"]["side"] == "long" and snap["position"]["entry_bar"] == i + 1
    assert set(snap["context"]) == {"prev_fast", "prev_slow"}
    decisions = snap["decisions"]
    assert len(decisions) == 5 and decisions[0]["bar"] == i + 1
    assert decisions[0]["function"] == "detect_opportunity" and decisions[0]["to"] == "InPosition"
    assert [d["bar"] for d in decisions] == list(range(i + 1, i - 4, -1))


def test_upstream_guide_strategy_formats_integer_volume(shared_data):
    """GOOG volumes are integral: ``string.format("%d", market_data.volume)`` works, as upstream."""
    series = load_csv(shared_data / "GOOG.csv")
    result = run_backtest(
        StrategySource.from_file(LUA_FIXTURES / "upstream_guide.lua"),
        series,
        config=SimConfig(window_size=20),
    )
    entries = [t for t in result.runs[0].transitions if t.to_state == "InPosition"]
    assert len(entries) > 5
    index = {int(ms): i for i, ms in enumerate(series.timestamp)}
    for entry in entries:
        # "spike <%d volume> <volume .. > at <commitment bar time>", volume of the detection bar
        _, formatted, concatenated, _, ms_text = entry.reason.split()
        detected = index[int(ms_text)] - 1
        # an integer prints without ".0" whether formatted with %d or concatenated
        assert formatted == concatenated == str(int(series.volume[detected]))
    assert {t.exit_reason for t in result.trades} >= {"signal"}
