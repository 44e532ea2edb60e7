"""The backtest RQ job on a real Redis queue and a real (in-process) RQ worker."""

from __future__ import annotations

import redis
from rq import Queue, SimpleWorker

from jobs.backtest import backtest_job
from tests.conftest import EXAMPLES


def test_backtest_job_runs_on_a_worker_with_progress(redis_url):
    connection = redis.Redis.from_url(redis_url)
    queue = Queue("backtests-test", connection=connection)
    job = queue.enqueue(
        backtest_job,
        str(EXAMPLES / "ema_crossover.lua"),
        symbol="SOLUSDT",
        timeframe="1h",
        bars=3000,
        config={"commission_rate": 0.001},
    )
    SimpleWorker([queue], connection=connection).work(burst=True)
    job.refresh()
    assert job.is_finished, job.latest_result()
    result = job.result
    assert result["symbol"] == "SOLUSDT" and result["bars"] == 3000
    assert result["config"]["commission_rate"] == 0.001
    assert job.meta["progress"] == 1.0
    assert result["metrics"]["num_trades"] == len(result["trades"]) > 0


def test_backtest_job_failure_is_reported(redis_url):
    connection = redis.Redis.from_url(redis_url)
    queue = Queue("backtests-test-fail", connection=connection)
    job = queue.enqueue(backtest_job, "/nonexistent/strategy.lua")
    SimpleWorker([queue], connection=connection).work(burst=True)
    job.refresh()
    assert job.is_failed and "file not found" in job.latest_result().exc_string
