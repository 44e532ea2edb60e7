"""Engine load: N runners on the simulated feed at a fast pace, in a real engine process.

Reports sustained runner-bars/s, p50/p99 bar -> snapshot latency (from the engine producing a
bar to the runner host's Redis flush that wrote a snapshot containing it; snapshots are also
throttled to >= 4 per second per runner), and the CPU and memory of the engine and of its
runner hosts (``--hosts``, default one per core; 0 = runners inside the engine process).
Run: ``python -m benchmarks.bench_engine_load --runners 200 --rate 100 --seconds 20``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import redis

from engine.data.symbols import SYMBOLS
from engine.live.client import EngineClient
from engine.live.keys import Keys
from engine.platform.redis_server import EmbeddedRedis
from engine.platform.settings import Settings

STRATEGIES = (
    "ema_crossover",
    "rsi_mean_reversion",
    "macd_cross",
    "bollinger_bounce",
    "range_breakout",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runners", type=int, default=200)
    parser.add_argument("--rate", type=float, default=50.0, help="bars per second per feed")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--hosts", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp) / "redis") as server:
        log_path = Path(tmp) / "engine.log"  # host restarts are reported from it
        log = log_path.open("w")
        settings = Settings(
            data_dir=Path(tmp),
            redis_url=server.url,
            database_url=f"sqlite:///{tmp}/bench.db",
            sim_speed=60.0 * args.rate,  # a 1m bar every 1/rate s
            runner_hosts=args.hosts,
        )
        from engine.platform.launcher import child_env

        env = child_env(settings, server.url)
        proc = subprocess.Popen(
            [sys.executable, "-m", "engine.live.main"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        client = EngineClient(redis.Redis.from_url(server.url), Keys(), timeout_s=30)
        while not client.is_online():
            time.sleep(0.1)
        t0 = time.perf_counter()
        for i in range(args.runners):
            spec = SYMBOLS[i % len(SYMBOLS)]
            client.command(
                "create",
                runner_id=f"r{i:03d}",
                symbol=spec.symbol,
                strategy_name=STRATEGIES[i % len(STRATEGIES)],
                timeframe="1m",  # TRADESIM_SIM_SPEED paces every 1m feed at --rate bars/s
            )
        print(
            f"machine: {os.cpu_count()} cores; created {args.runners} runners in "
            f"{time.perf_counter() - t0:.1f}s; feeds at {args.rate:g} bars/s"
        )
        engine = psutil.Process(proc.pid)
        time.sleep(3)  # settle
        start_bars = sum(s["stats"]["bars_processed"] for s in client.snapshots())
        family = [engine, *(c for c in engine.children() if "spawn_main" in " ".join(c.cmdline()))]
        cpu0, t_start = [p.cpu_times() for p in family], time.perf_counter()
        time.sleep(args.seconds)
        elapsed = time.perf_counter() - t_start
        try:
            cpu1 = [p.cpu_times() for p in family]
        except psutil.NoSuchProcess:
            time.sleep(3)  # the engine logs the restart once it has noticed
            restarts = [line for line in log_path.read_text().splitlines() if "host" in line]
            raise SystemExit(f"a runner host was restarted during the run: {restarts}") from None
        end_bars = sum(s["stats"]["bars_processed"] for s in client.snapshots())
        beat = client.heartbeat() or {}
        cpus = [
            (b.user + b.system - a.user - a.system) / elapsed * 100
            for a, b in zip(cpu0, cpu1, strict=True)
        ]
        rss = [p.memory_info().rss / 2**20 for p in family]
        rate = (end_bars - start_bars) / elapsed
        target = args.runners * args.rate
        print(
            f"sustained: {rate:,.0f} runner-bars/s (target {target:,.0f}); "
            f"engine says {beat.get('bars_per_s', 0):,.0f}/s"
        )
        print(
            f"bar->snapshot latency: p50 {beat['latency_ms']['p50']} ms, "
            f"p99 {beat['latency_ms']['p99']} ms"
        )
        print(
            f"engine CPU {cpus[0]:.0f}% of one core, RSS {rss[0]:.0f} MiB; "
            f"{len(family) - 1} runner host(s): CPU "
            + ", ".join(f"{c:.0f}%" for c in cpus[1:])
            + f"; RSS {sum(rss[1:]):.0f} MiB"
        )
        host_cpu = sum(cpus[1:]) if len(cpus) > 1 else cpus[0]
        print(
            f"CPU per runner-bar: hosts {host_cpu / 100 / max(rate, 1) * 1e6:.0f} µs, "
            f"engine {cpus[0] / 100 / max(rate, 1) * 1e6:.0f} µs (steadier than rates on a busy "
            "machine)"
        )
        print(f"load average {os.getloadavg()[0]:.2f} (the machine is shared: numbers are noisy)")
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


if __name__ == "__main__":
    main()
