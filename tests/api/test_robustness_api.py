"""``POST /api/robustness/monte-carlo`` on a stored backtest (real SQLite, real backtest)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.api.core import ApiRequest
from engine.api.dispatch import respond
from engine.api.robustness import create
from engine.backtest.execute import execute
from engine.backtest.request import parse_request
from engine.optimize.montecarlo import monte_carlo
from engine.platform.services import Services, build_services
from engine.platform.settings import Settings
from engine.storage.backtest_store import BacktestStore
from engine.storage.db import make_engine
from engine.strategy.store import StrategyStore
from tests.conftest import ROOT


@pytest.fixture
def services(tmp_path: Path) -> Services:
    settings = Settings(
        data_dir=tmp_path, redis_url=None, database_url=f"sqlite:///{tmp_path}/t.db"
    )
    return build_services(settings, "redis://127.0.0.1:1/0", make_engine(settings))


def test_monte_carlo_of_a_stored_backtest(services: Services) -> None:
    config = parse_request(
        {"strategy": "ema_crossover", "symbol": "BTCUSDT", "timeframe": "1h", "preset": "90d"},
        strategies=StrategyStore(ROOT / "lua-strategies"),
    )
    store = BacktestStore(services.db)
    backtest_id = "a" * 32
    store.create(backtest_id, config.to_dict())
    call = lambda body: respond(create, services, ApiRequest(body=body))  # noqa: E731
    assert call({"backtest_id": backtest_id}).status == 409  # still queued
    result = execute(config, backtest_id)
    store.finish(backtest_id, result)
    answer = call(
        {"backtest_id": backtest_id, "simulations": 300, "seed": 5, "method": "bootstrap"}
    )
    assert answer.status == 200, answer.payload
    data = answer.payload["data"]
    expected = monte_carlo(
        [t["pnl"] for t in result["trades"]],
        capital=10_000.0,
        simulations=300,
        seed=5,
        method="bootstrap",
    )
    assert data["final_return_pct"] == expected.final_return_pct
    assert data["max_drawdown_pct"] == expected.max_drawdown_pct
    assert data["trades"] == len(result["trades"]) > 2
    assert (
        data["original"]["final_return_pct"]
        == pytest.approx(result["metrics"]["total_return_pct"], abs=1e-6)
        or result["trades"][-1]["end_of_data"]
    )
    assert call({"backtest_id": "b" * 32}).status == 404
    assert call({"backtest_id": backtest_id, "method": "x"}).status == 400
