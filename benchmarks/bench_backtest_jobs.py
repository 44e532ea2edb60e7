"""Backtests through the job system: POST -> worker -> stored result -> GET results.

Starts a private Redis, a SQLite file and one real ``jobs.worker`` process, then times
(1) a year of simulated 1-minute bars, 1 run, and (2) 100 randomized runs of 7 days each over a
year of 1-minute bars, each from the submit call until the results have been read back.
Targets (issue 12): (1) < 5 s, (2) < 10 s. Run: ``python -m benchmarks.bench_backtest_jobs``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from engine.api.backtests import results, run, status
from engine.api.core import ApiRequest
from engine.api.dispatch import respond
from engine.platform.redis_server import EmbeddedRedis
from engine.platform.services import Services, build_services
from engine.platform.settings import Settings
from engine.storage.db import make_engine
from jobs.queue import RQJobQueue

ROOT = Path(__file__).resolve().parents[1]
YEAR = {"start": "2024-01-01T00:00:00Z", "end": "2024-12-31T00:00:00Z", "timeframe": "1m"}
CASES: dict[str, dict[str, Any]] = {
    "1y of 1m, 1 run": {"strategy": "ema_crossover", "symbol": "BTCUSDT", **YEAR},
    "100 x 7d runs over 1y of 1m": {
        "strategy": "ema_crossover",
        "symbol": "BTCUSDT",
        **YEAR,
        "runs": 100,
        "duration": "7d",
    },
}
TARGETS = {"1y of 1m, 1 run": 5.0, "100 x 7d runs over 1y of 1m": 10.0}


def timed(services: Services, body: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    """Seconds from submit to the result read back, and the result."""
    t0 = time.perf_counter()
    answer = respond(run, services, ApiRequest(body=body))
    backtest_id = answer.payload["data"]["backtest_id"]
    path = {"backtest_id": backtest_id}
    while True:
        state = respond(status, services, ApiRequest(path=path)).payload["data"]
        if state["status"] not in ("queued", "running"):
            break
        time.sleep(0.02)
    if state["status"] != "finished":
        raise SystemExit(f"backtest {state['status']}: {state['error']}")
    result = respond(results, services, ApiRequest(path=path)).payload["data"]
    return time.perf_counter() - t0, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        server = EmbeddedRedis(base / "redis")
        url = server.start()
        settings = Settings(data_dir=base, redis_url=url, database_url=f"sqlite:///{base}/b.db")
        services = build_services(settings, url, make_engine(settings), jobs=RQJobQueue)
        env = {
            **os.environ,
            "REDIS_URL": url,
            "DATABASE_URL": settings.database_url,
            "TRADESIM_DATA_DIR": str(base),
        }
        worker = subprocess.Popen(
            [sys.executable, "-m", "jobs.worker"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for name, body in CASES.items():
                best = float("inf")
                for _ in range(args.repeats):
                    seconds, result = timed(services, body)
                    best = min(best, seconds)
                trades = len(result["trades"])
                verdict = "ok" if best < TARGETS[name] else "SLOW"
                print(
                    f"{name:32s} {best:6.2f} s  (target < {TARGETS[name]:.0f} s, {verdict}; "
                    f"{result['bars']:,} bars, {result['num_runs']} run(s), {trades} trades, "
                    f"engine {result['timing']['total_s']:.2f} s)"
                )
        finally:
            worker.terminate()
            worker.wait(10)
            server.stop()


if __name__ == "__main__":
    main()
