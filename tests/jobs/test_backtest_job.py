"""The backtest job on a real Redis queue and an in-process RQ worker: the result lands in the
database (the RQ result is a pointer), progress in the job meta, failures as ``failed`` rows.
(The kill and cancel tests with a real forking worker are in tests/api/test_backtests_api.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from rq import Queue, SimpleWorker

from engine.backtest.execute import execute
from engine.backtest.request import parse_request
from engine.platform.settings import Settings
from engine.storage.backtest_store import BacktestStore
from engine.storage.db import make_engine
from engine.strategy.store import StrategyStore
from jobs.backtest import backtest_job
from tests.conftest import ROOT

RAISES = """-- @name Raises
function detect_opportunity(market_data, context, indicators, position)
  if market_data.close > 0 then error("boom at bar") end
  return nil
end
function filter_commitment(market_data, context, indicators, position) return nil end
function manage_position(market_data, context, indicators, position) return nil end
"""


@pytest.fixture
def store(tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> BacktestStore:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("TRADESIM_DATA_DIR", str(tmp_path))
    return BacktestStore(make_engine(Settings(data_dir=tmp_path, redis_url=None, database_url=url)))


def queue_one(store: BacktestStore, redis_url: str, body: dict, name: str) -> Queue:
    config = parse_request(body, strategies=StrategyStore(ROOT / "lua-strategies"))
    store.create(name, config.to_dict())
    queue = Queue(f"bt-{name}", connection=redis.Redis.from_url(redis_url))
    job = queue.enqueue(backtest_job, name, job_id=f"bt-{name}")
    store.set_job(name, job.id)
    return queue


def test_job_writes_the_result_to_the_database(store: BacktestStore, redis_url: str) -> None:
    body = {
        "strategy": "macd_cross",
        "symbol": "SOLUSDT",
        "timeframe": "1h",
        "start": "2024-01-01",
        "end": "2024-05-01",
        "commission": 0.001,
    }
    queue = queue_one(store, redis_url, body, "ok1")
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    job = queue.fetch_job("bt-ok1")
    assert job is not None and job.is_finished
    assert job.return_value() == {"backtest_id": "ok1", "status": "finished"}
    assert job.meta["progress"] == 1.0 and job.meta["stage"] == "finished"
    record = store.get("ok1")
    assert record is not None and record.status == "finished" and record.finished_at
    result = store.result("ok1")
    assert result is not None and result["backtest_id"] == "ok1"
    assert result["bars"] == 121 * 24 and len(result["trades"]) == result["metrics"]["num_trades"]
    # the same config run directly gives the same trades (the job adds nothing of its own)
    direct = execute(parse_request(body, strategies=StrategyStore(ROOT / "lua-strategies")), "ok1")
    assert direct["trades"] == result["trades"] and direct["metrics"] == result["metrics"]


def test_strategy_error_marks_the_backtest_failed(store: BacktestStore, redis_url: str) -> None:
    body = {"strategy_code": RAISES, "strategy": "raises.lua", "preset": "7d"}
    queue = queue_one(store, redis_url, body, "bad1")
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    record = store.get("bad1")
    assert record is not None and record.status == "failed"
    assert record.error is not None and "raises.lua:3" in record.error and "boom" in record.error
