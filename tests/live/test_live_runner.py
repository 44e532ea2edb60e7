"""Live runners: incremental indicators give the backtest's trades; errors stay contained."""

from __future__ import annotations

import shutil

import pytest
import redis

from engine.backtest.run import run_backtest
from engine.data.simulated import generate_history
from engine.live.client import EngineClient
from engine.live.engine import TradingEngine, code_hash
from engine.live.keys import Keys
from engine.live.runner import LiveRunner, RunnerConfig, RunnerStatus
from engine.storage.db import make_engine
from engine.storage.runner_store import RunnerStore
from engine.strategy.fills import SimConfig
from engine.strategy.instance import StrategySource
from tests.conftest import EXAMPLES, LUA_FIXTURES, ROOT


@pytest.mark.parametrize(
    "name",
    ["ema_crossover", "rsi_mean_reversion", "range_breakout", "bollinger_bounce", "macd_cross"],
)
def test_live_runner_with_incremental_indicators_matches_backtest(name):
    series = generate_history("ETHUSDT", "15m", 2500, seed=11)
    source = StrategySource.from_file(EXAMPLES / f"{name}.lua")
    config = RunnerConfig(
        runner_id="r", symbol="ETHUSDT", timeframe="15m", strategy_path=f"examples/{name}.lua"
    )
    runner = LiveRunner(config, source)
    live_trades = []
    for i in range(len(series)):
        outcome = runner.on_bar(series.bar(i))
        live_trades += outcome.trades
    backtest = run_backtest(source, series, config=SimConfig(decision_log_size=100))
    closed = [t for t in backtest.trades if t.exit_reason != "end_of_data"]
    assert len(live_trades) == len(closed) > 2
    for live, ref in zip(live_trades, closed, strict=True):
        assert (live.entry_bar, live.exit_bar, live.side, live.exit_reason) == (
            ref.entry_bar,
            ref.exit_bar,
            ref.side,
            ref.exit_reason,
        )
        assert live.pnl == pytest.approx(ref.pnl, rel=1e-9, abs=1e-9)


@pytest.fixture
def engine(settings):
    strategies = settings.data_dir / "strategies"
    shutil.copytree(ROOT / "lua-strategies", strategies)
    (strategies / "user").mkdir(exist_ok=True)
    shutil.copy(LUA_FIXTURES / "hostile" / "infinite_loop.lua", strategies / "user" / "loop.lua")
    from dataclasses import replace

    settings = replace(settings, strategy_dir=strategies, runner_hosts=0)  # runners in-process
    client = redis.Redis.from_url(settings.redis_url)
    return TradingEngine(settings, client, RunnerStore(make_engine(settings)))


def test_a_failing_strategy_stops_only_its_runner(engine):
    engine.create({"runner_id": "good", "symbol": "BTCUSDT", "strategy_name": "ema_crossover"})
    engine.create({"runner_id": "bad", "symbol": "BTCUSDT", "strategy_name": "loop"})
    slot = engine.feeds[("BTCUSDT", "1m")]
    for _ in range(5):
        engine._broadcast(slot, slot.feed.next_bar())
    engine.flush()
    assert engine.local_runners["bad"].status is RunnerStatus.ERROR
    assert engine.local_runners["good"].status is RunnerStatus.RUNNING
    assert engine.local_runners["good"].instance.snapshot()["bars"] == 5
    client = EngineClient(engine.redis, Keys(engine.settings.key_prefix))
    bad = client.snapshot("bad")
    assert bad["status"] == "error"
    assert bad["error"]["line"] == 3 and "instruction budget" in bad["error"]["message"]
    errors = client.events(count=100, event_type="Error")
    assert [e["runner_id"] for e in errors] == ["bad"]
    assert engine.store.get("bad").desired_status == "stopped"


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        ({"symbol": "BTCUSDT", "strategy_name": "ema_crossover"}, "validation", "runner_id"),
        ({"runner_id": "x", "symbol": "BTCUSDT"}, "validation", "strategy_name"),
        (
            {"runner_id": "x y", "symbol": "BTCUSDT", "strategy_name": "ema_crossover"},
            "validation",
            "letters, digits",
        ),
        (
            {"runner_id": "x", "symbol": "BTCUSDT", "strategy_name": "nope"},
            "validation",
            "strategy 'nope' not found; available:",
        ),
        (
            {"runner_id": "x", "symbol": "BTCUSDT", "strategy_path": "../../../etc/passwd"},
            "validation",
            "invalid strategy path",
        ),
        (
            {
                "runner_id": "x",
                "symbol": "BTCUSDT",
                "strategy_name": "ema_crossover",
                "timeframe": "2m",
            },
            "validation",
            "invalid timeframe",
        ),
        (
            {
                "runner_id": "x",
                "symbol": "BTCUSDT",
                "strategy_name": "ema_crossover",
                "params": {"fast": 500},
            },
            "validation",
            "above the maximum",
        ),
        (
            {
                "runner_id": "x",
                "symbol": "BTCUSDT",
                "strategy_name": "ema_crossover",
                "window_size": 1,
            },
            "validation",
            "window_size",
        ),
    ],
)
def test_create_validation_messages(engine, args, code, needle):
    reply = engine.handle({"command": "create", "args": args})
    assert reply["ok"] is False
    assert reply["error"]["code"] == code and needle in reply["error"]["message"]
    assert engine.runners == {} and engine.local_runners == {}


def test_duplicate_and_unknown_runner(engine):
    args = {"runner_id": "a", "symbol": "ETHUSDT", "strategy_name": "macd_cross"}
    assert engine.handle({"command": "create", "args": args})["ok"]
    assert engine.handle({"command": "create", "args": args})["error"]["code"] == "conflict"
    reply = engine.handle({"command": "pause", "args": {"runner_id": "zzz"}})
    assert reply["error"]["code"] == "not_found"


def test_restart_restores_errors_positions_and_lifetime_counters(engine):
    user = engine.settings.strategy_dir / "user"
    shutil.copy(EXAMPLES / "macd_cross.lua", user / "mine.lua")
    engine.create({"runner_id": "good", "symbol": "ETHUSDT", "strategy_name": "mine"})
    engine.create({"runner_id": "bad", "symbol": "ETHUSDT", "strategy_name": "loop"})
    slot = engine.feeds[("ETHUSDT", "1m")]
    good = engine.local_runners["good"]
    while good.trades_total < 3 or good.open_position is None:
        engine._broadcast(slot, slot.feed.next_bar())
    last_bar = slot.recent[-1]
    engine.shutdown()
    before = good.snapshot()
    (user / "mine.lua").write_text("this is not lua anymore")  # edited, then deleted: the
    (user / "mine.lua").unlink()  # runner keeps the code it was created with
    (user / "loop.lua").unlink()
    again = TradingEngine(
        engine.settings, engine.redis, engine.store, feed_factory=engine.feed_factory
    )
    again.restore()
    bad = again.local_runners["bad"]  # an errored runner comes back stopped, its error still shown
    assert bad.status is RunnerStatus.STOPPED and "instruction budget" in bad.error.message
    assert bad.snapshot()["status"] == "stopped"
    stored = engine.store.closed_positions("good", limit=1000)
    assert len(stored) == before["stats"]["trades"]
    assert engine.store.get("good").strategy_hash == code_hash(
        (EXAMPLES / "macd_cross.lua").read_text()
    )
    new_slot = again.feeds[("ETHUSDT", "1m")]
    assert new_slot.recent[-1].ohlcv() == last_bar.ohlcv()  # continues after its last bar
    assert new_slot.feed.next_bar().timestamp == last_bar.timestamp + 60_000
    restored = again.local_runners["good"].snapshot()
    assert restored["stats"]["trades"] == before["stats"]["trades"] >= 3
    assert restored["stats"]["wins"] == before["stats"]["wins"]
    assert restored["stats"]["realized_pnl"] == pytest.approx(before["stats"]["realized_pnl"])
    position, was = restored["position"], before["position"]
    assert (position["side"], position["entry_price"], position["quantity"]) == (
        was["side"],
        was["entry_price"],
        was["quantity"],
    )
    assert position["bars_held"] == was["bars_held"]
    assert restored["state"] == "InPosition" and restored["context"] == before["context"]
    assert restored["stats"]["trades"] == len(stored)
    assert restored["stats"]["wins"] == sum(t["pnl"] > 0 for t in stored)
    assert restored["stats"]["realized_pnl"] == pytest.approx(sum(t["pnl"] for t in stored))


def test_stop_closes_the_position_manually_and_pause_keeps_it(engine):
    for rid in ("paused", "stopped"):
        engine.create({"runner_id": rid, "symbol": "BTCUSDT", "strategy_name": "macd_cross"})
    slot = engine.feeds[("BTCUSDT", "1m")]
    runners = [engine.local_runners["paused"], engine.local_runners["stopped"]]
    while any(r.open_position is None for r in runners):
        engine._broadcast(slot, slot.feed.next_bar())
        for r in runners:  # hold each runner's first position
            if r.open_position is not None and r.status is RunnerStatus.RUNNING:
                engine.set_status(r.runner_id, RunnerStatus.PAUSED)
    engine.set_status("stopped", RunnerStatus.STOPPED)
    last = slot.recent[-1]
    for _ in range(5):  # later bars move nothing on a stopped runner
        engine._broadcast(slot, slot.feed.next_bar())
    stopped = engine.local_runners["stopped"].snapshot()
    assert stopped["position"] is None and stopped["stats"]["unrealized_pnl"] == 0.0
    (trade,) = engine.store.closed_positions("stopped")
    assert trade["exit_reason"] == "manual" and trade["exit_price"] == last.close
    assert stopped["stats"]["trades"] == 1
    assert stopped["stats"]["realized_pnl"] == pytest.approx(trade["pnl"])
    paused = engine.local_runners["paused"].snapshot()
    assert paused["position"] is not None and paused["status"] == "paused"
    assert engine.store.closed_positions("paused") == []
