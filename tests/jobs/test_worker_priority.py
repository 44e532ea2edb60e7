"""Workers run below the engine's priority: TRADESIM_WORKER_NICE (default 10) is applied to the
worker process and inherited by the work-horses it forks (a job reports its own niceness);
0 leaves it at normal priority."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil
import pytest
import redis
from rq import Queue


@pytest.mark.parametrize(("setting", "expected"), [(None, 10), ("3", 3), ("0", 0)])
def test_the_worker_runs_at_the_configured_niceness(redis_url, setting, expected) -> None:
    env = {**os.environ, "REDIS_URL": redis_url}
    env.pop("TRADESIM_WORKER_NICE", None)
    if setting is not None:
        env["TRADESIM_WORKER_NICE"] = setting
    base = psutil.Process().nice()
    process = subprocess.Popen(
        [sys.executable, "-m", "jobs.worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # a job in the forked work-horse reports its own niceness: os.nice(0) returns it
        job = Queue("backtests", connection=redis.Redis.from_url(redis_url)).enqueue(os.nice, 0)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and job.get_status(refresh=True) != "finished":
            time.sleep(0.1)
        assert job.return_value() == min(19, base + expected)
        assert psutil.Process(process.pid).nice() == min(19, base + expected)
    finally:
        process.terminate()
        process.wait(timeout=15)
