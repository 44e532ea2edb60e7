"""BacktestStore on real SQLite (and PostgreSQL when configured): status moves, summaries,
filters, terminal rows that never change again, results that survive a new engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.errors import ConfigError
from engine.platform.settings import Settings
from engine.storage.backtest_store import BacktestStore
from engine.storage.db import make_engine


def settings_for(url: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, redis_url=None, database_url=url)


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 't.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = make_engine(settings_for(url, tmp_path))
    yield engine
    engine.dispose()


def config(symbol: str = "BTCUSDT", name: str = "EMA Crossover") -> dict[str, Any]:
    return {
        "strategy_name": name,
        "strategy_hash": "ab" * 32,
        "strategy_code": "-- code",
        "data": {
            "source": "sim",
            "symbol": symbol,
            "timeframe": "1h",
            "start_ms": 0,
            "end_ms": 3_600_000,
        },
        "note": "first try",
    }


RESULT = {
    "metrics": {
        "total_return_pct": 3.5,
        "sharpe": 1.2,
        "profit_factor": "∞",
        "num_trades": 4,
        "sortino": 2.0,
    },
    "start_time": "2024-01-01T00:00:00Z",
    "end_time": "2024-01-02T00:00:00Z",
    "num_runs": 1,
    "bars": 24,
    "trades": [{"pnl": 1.0}],
}


def test_lifecycle_and_summary(db: sa.Engine) -> None:
    store = BacktestStore(db)
    created = store.create("b1", config())
    assert (created.status, created.progress, created.note) == ("queued", 0.0, "first try")
    store.set_job("b1", "bt-b1")
    assert store.count_active() == 1
    assert store.mark_running("b1") and not store.mark_running("b1")
    store.set_progress("b1", 0.5)
    running = store.get("b1")
    assert running is not None and running.status == "running" and running.progress == 0.5
    assert running.started_at is not None and running.started_at.tzinfo is not None
    assert store.result("b1") is None
    assert store.finish("b1", RESULT)
    done = store.get("b1")
    assert done is not None and done.status == "finished" and done.progress == 1.0
    assert done.summary == {
        "total_return_pct": 3.5,
        "sharpe": 1.2,
        "profit_factor": "∞",
        "num_trades": 4,
        "start_time": "2024-01-01T00:00:00Z",
        "end_time": "2024-01-02T00:00:00Z",
        "num_runs": 1,
        "bars": 24,
    }
    assert store.result("b1") == RESULT
    assert store.count_active() == 0
    # terminal: a late failure or cancel changes nothing
    assert not store.fail("b1", "late") and not store.cancel("b1")
    assert store.get("b1").status == "finished"  # type: ignore[union-attr]
    assert "strategy_code" not in done.to_dict()["config"]


def test_fail_cancel_filters_and_delete(db: sa.Engine) -> None:
    store = BacktestStore(db)
    store.create("a", config("BTCUSDT"))
    store.create("b", config("ETHUSDT", name="RSI"))
    store.create("c", config("ETHUSDT"))
    assert store.fail("a", "worker died")
    assert store.cancel("b")
    assert store.get("a").error == "worker died"  # type: ignore[union-attr]
    assert [r.backtest_id for r in store.list()] == ["c", "b", "a"]
    assert [r.backtest_id for r in store.list(symbol="ethusdt")] == ["c", "b"]
    assert [r.backtest_id for r in store.list(strategy="rsi")] == ["b"]
    assert [r.backtest_id for r in store.list(status="failed")] == ["a"]
    assert [r.backtest_id for r in store.list(limit=1)] == ["c"]
    with pytest.raises(ConfigError, match="expected one of"):
        store.list(status="done")
    assert store.delete("a") and not store.delete("a")
    assert store.get("a") is None


def test_results_survive_a_new_engine(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'keep.db'}"
    first = make_engine(settings_for(url, tmp_path))
    BacktestStore(first).create("k", config())
    BacktestStore(first).finish("k", RESULT)
    first.dispose()
    again = make_engine(settings_for(url, tmp_path))
    assert BacktestStore(again).result("k") == RESULT
    again.dispose()
