"""Live bar latency while backtests run: does user work in the workers slow the runners?

Starts ``tradesim up --workers 2`` in a temporary data dir (embedded Redis, SQLite) with the
simulated feeds sped up, creates ``--runners`` runners through the REST API, then reads the
engine's bar -> snapshot latency (p50/p99 over its most recent bars, from the heartbeat) in two
phases of ``--seconds`` each: (A) runners only; (B) the same while two backtests run all the
time (a year of 1-minute bars each, resubmitted as soon as one finishes). Phase B is repeated
with the workers at niceness 0 when ``--compare-nice`` is given (the default runs them at
``TRADESIM_WORKER_NICE=10``). Run: ``python -m benchmarks.bench_live_with_backtests``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.bench_api_load import free_port, wait_healthy
from engine.data.symbols import SYMBOLS

ROOT = Path(__file__).resolve().parents[1]
BACKTEST = {"strategy": "ema_crossover", "symbol": "BTCUSDT", "timeframe": "1m", "preset": "1y"}


def call(port: int, method: str, path: str, body: object = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())["data"]


def latency(port: int) -> dict[str, float]:
    beat = call(port, "GET", "/api/engine/health")
    return {"p50": beat["latency_ms"]["p50"], "p99": beat["latency_ms"]["p99"]}


def busy_phase(port: int, seconds: float) -> tuple[dict[str, float], int]:
    """Keep two backtests running for ``seconds``; returns the latency then and how many ran."""
    active: list[str] = []
    finished = 0
    stop_at = time.monotonic() + seconds
    while time.monotonic() < stop_at:
        for backtest_id in list(active):
            state = call(port, "GET", f"/api/backtest/{backtest_id}/status")["status"]
            if state not in ("queued", "running"):
                active.remove(backtest_id)
                finished += 1
        while len(active) < 2:
            active.append(call(port, "POST", "/api/backtest/run", BACKTEST)["backtest_id"])
        time.sleep(0.2)
    result = latency(port)
    for backtest_id in active:
        call(port, "DELETE", f"/api/backtest/{backtest_id}")
    return result, finished


def measure(args: argparse.Namespace, nice: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        strategies = Path(tmp) / "lua-strategies"
        shutil.copytree(ROOT / "lua-strategies", strategies, ignore=shutil.ignore_patterns("user"))
        port = free_port()
        env = {
            **os.environ,
            "TRADESIM_DATA_DIR": tmp,
            "TRADESIM_STRATEGY_DIR": str(strategies),
            "TRADESIM_SIM_SPEED": str(60.0 * args.rate),
            "TRADESIM_WORKER_NICE": str(nice),
        }
        for name in ("REDIS_URL", "DATABASE_URL", "TRADESIM_API_TOKEN"):
            env.pop(name, None)
        binary = Path(sys.executable).parent / "tradesim"
        process = subprocess.Popen(
            [str(binary), "up", "--workers", "2", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            wait_healthy(port, process)
            for i in range(args.runners):
                body = {
                    "runner_id": f"r{i}",
                    "symbol": SYMBOLS[i % len(SYMBOLS)].symbol,
                    "strategy_name": "ema_crossover",
                }
                call(port, "POST", "/api/runners", body)
            time.sleep(args.seconds)
            quiet = latency(port)
            busy, finished = busy_phase(port, args.seconds)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)
    print(
        f"workers at nice {nice}: runners only p50 {quiet['p50']} ms, p99 {quiet['p99']} ms; "
        f"with 2 backtests running p50 {busy['p50']} ms, p99 {busy['p99']} ms "
        f"({finished} year-long backtests finished in {args.seconds:g} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runners", type=int, default=50)
    parser.add_argument("--rate", type=float, default=10.0, help="bars per second per feed")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--compare-nice", action="store_true")
    args = parser.parse_args()
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
        f"{args.runners} runners, feeds at {args.rate:g} bars/s"
    )
    measure(args, 10)
    if args.compare_nice:
        measure(args, 0)


if __name__ == "__main__":
    main()
