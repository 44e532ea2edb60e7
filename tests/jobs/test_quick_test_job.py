"""The editor's quick test as an RQ job on a real worker process: results equal an in-process
backtest; a strategy stuck in C calls is killed by the job's time limit and the worker goes on;
the hostile corpus is refused with clear errors."""

from __future__ import annotations

import time

import pytest
import redis
from rq import Queue
from rq.job import Job

from engine.backtest.quick_test import QUICK_BARS, QUICK_BUDGET, QUICK_TIMEFRAME, quick_test
from engine.backtest.run import run_backtest
from engine.data.simulated import generate_history
from engine.strategy.fills import SimConfig
from engine.strategy.instance import StrategySource
from jobs.quick_test import QUEUE, quick_test_job
from tests.conftest import EXAMPLES, LUA_FIXTURES


def wait_done(job: Job, timeout: float = 60.0) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh()
        if job.is_finished or job.is_failed:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job.id} still {job.get_status()}")


def test_quick_test_job_on_a_worker_and_its_time_limit(redis_url, worker):
    queue = Queue(QUEUE, connection=redis.Redis.from_url(redis_url))
    code = (EXAMPLES / "ema_crossover.lua").read_text()
    good = wait_done(queue.enqueue(quick_test_job, code, "ema_crossover", "ETHUSDT"))
    assert good.is_finished, good.latest_result()
    result = good.return_value()
    series = generate_history("ETHUSDT", QUICK_TIMEFRAME, QUICK_BARS)
    reference = run_backtest(
        StrategySource.from_code(code, "ema_crossover.lua"),
        series,
        config=SimConfig(instruction_budget=QUICK_BUDGET),
    )
    assert result["ok"] and result["bars"] == QUICK_BARS
    assert len(result["trades"]) == len(reference.trades) > 0
    assert result["metrics"]["net_pnl"] == pytest.approx(reference.metrics["net_pnl"])

    stuck = (LUA_FIXTURES / "slow_top_level.lua").read_text()  # ~45 s of legal C calls
    started = time.monotonic()
    killed = wait_done(queue.enqueue(quick_test_job, stuck, "slow", "BTCUSDT", timeout_s=2))
    assert killed.is_failed and time.monotonic() - started < 20
    # the worker lives on and takes the next job
    again = wait_done(queue.enqueue(quick_test_job, code, "ema_crossover", "ETHUSDT"))
    assert again.is_finished and again.return_value()["ok"]
    assert worker.poll() is None


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("rep_empty_maxinteger", "string.rep"),
        ("table_move_huge", "table.move"),
        ("pattern_lazy_backtracking", "string.find"),
        ("pattern_star_backtracking", "string.find"),
        ("pattern_balance_long", "string.find"),
        ("toplevel_rep_empty", "string.rep"),
        ("toplevel_pattern", "string.find"),
    ],
)
def test_hostile_code_gets_a_clear_quick_test_error(name, needle):
    code = (LUA_FIXTURES / "hostile" / f"{name}.lua").read_text()
    result = quick_test(code, name)
    assert result["ok"] is False and needle in result["message"] and result["line"] in (2, 3)
