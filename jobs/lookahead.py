"""RQ job: the no-lookahead check of a stored backtest. Replays its bars one by one through
the live path (``LiveRunner``: incremental indicators, ``K.step``) with the backtest's code,
params and fills, and compares the trades with the stored vectorized result
(``engine.optimize.lookahead.compare_trades``); the answer goes to ``lookahead_checks``."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from engine.backtest.data_spec import load_series
from engine.backtest.request import BacktestConfig
from engine.backtest.run import trades_to_json
from engine.errors import TradeSimError
from engine.live.runner import LiveRunner, RunnerConfig
from engine.optimize.lookahead import compare_trades
from engine.platform.settings import Settings
from engine.storage.backtest_store import BacktestStore
from engine.storage.db import make_engine
from engine.storage.lookahead_store import LookaheadStore
from engine.strategy.instance import StrategySource
from engine.strategy.trades import Trade


def replay(config: BacktestConfig, settings: Settings) -> list[dict[str, Any]]:
    """The trades of ``config``'s bars fed one at a time to a live runner (JSON form)."""
    series = load_series(config.data, csv_folders=settings.csv_folders)
    source = StrategySource.from_code(config.strategy_code, config.strategy_file)
    sim = replace(config.sim_config(), decision_log_size=0)
    runner = LiveRunner(
        RunnerConfig(
            runner_id="lookahead-check",
            symbol=series.symbol,
            timeframe=config.data.timeframe,
            strategy_path=config.strategy_file,
            params=dict(config.params),
            window_size=sim.window_size,
        ),
        source,
        sim=sim,
    )
    trades: list[Trade] = []
    for i in range(len(series)):
        outcome = runner.on_bar(series.bar(i))
        if outcome is None:
            break
        if outcome.error is not None:
            raise outcome.error
        trades += outcome.trades
    return trades_to_json(trades)


def lookahead_job(check_id: str) -> dict[str, Any]:
    """Run check ``check_id``; strategy/data errors mark it failed with the message."""
    settings = Settings.from_env()
    db = make_engine(settings, migrate=False)
    checks = LookaheadStore(db)
    try:
        check = checks.get(check_id)
        if check is None:
            return {"check_id": check_id, "status": "missing"}
        checks.update(check_id, status="running")
        backtests = BacktestStore(db)
        record = backtests.get(check["backtest_id"])
        result = backtests.result(check["backtest_id"])
        if record is None or result is None:
            checks.update(check_id, status="failed", error="the backtest or its result is gone")
            return {"check_id": check_id, "status": "failed"}
        try:
            replayed = replay(BacktestConfig.from_dict(record.config), settings)
        except TradeSimError as exc:
            checks.update(check_id, status="failed", error=str(exc))
            return {"check_id": check_id, "status": "failed"}
        vectorized = [t for t in result["trades"] if t.get("run_id", 0) == 0]
        checks.finish(check_id, compare_trades(vectorized, replayed))
        return {"check_id": check_id, "status": "finished"}
    finally:
        db.dispose()
