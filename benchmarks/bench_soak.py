"""Soak: N runners for M minutes in a real engine process; memory must not creep.

Creates ``--runners`` (default 200) runners on the simulated 1m feeds at ``--speed`` times the
wall clock (default 300: 5 bars/s per feed, 1,000 runner-bars/s; the load benchmark measures
throughput, this one memory), samples the RSS of the engine and its child
processes (runner hosts, if any) every ``--every`` seconds, and reports:

- the idle engine's RSS (before any runner), after creating the runners, after the warm-up
  (the first ``--warmup`` minutes, default 20 % of the run) and at the end;
- growth after warm-up: (end - warm) / warm and the same for the peak (target < 10 %);
- RSS after deleting every runner (target: near the baseline, i.e. at most a quarter of what
  the runners added is still held). The baseline is the idle engine after one priming round
  (the same runners created, run ``--prime`` seconds and deleted): what the first runners
  load once (modules, the Lua kernel, caches) stays, and is reported as well.

Run: ``python -m benchmarks.bench_soak 10`` (minutes; ``make bench`` runs the default 10).
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
from engine.platform.launcher import child_env
from engine.platform.redis_server import EmbeddedRedis
from engine.platform.settings import Settings

STRATEGIES = (
    "ema_crossover",
    "rsi_mean_reversion",
    "macd_cross",
    "bollinger_bounce",
    "range_breakout",
)
MIB = 2**20


def rss_mib(process: psutil.Process) -> float:
    """RSS of a process and all its children, in MiB."""
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total / MIB


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("minutes", nargs="?", type=float, default=10.0, help="soak duration")
    parser.add_argument("--runners", type=int, default=200)
    parser.add_argument("--speed", type=float, default=300.0, help="TRADESIM_SIM_SPEED")
    parser.add_argument("--warmup", type=float, default=None, help="minutes (default 20 %%)")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--prime", type=float, default=20.0, help="priming round (seconds)")
    args = parser.parse_args()
    warmup_s = 60 * (args.warmup if args.warmup is not None else args.minutes * 0.2)
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp) / "redis") as server:
        settings = Settings(
            data_dir=Path(tmp),
            redis_url=server.url,
            database_url=f"sqlite:///{tmp}/soak.db",
            sim_speed=args.speed,
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "engine.live.main"],
            env=child_env(settings, server.url),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            return soak(proc, server.url, args, warmup_s)
        finally:
            proc.terminate()
            proc.wait(timeout=60)


def create_all(client: EngineClient, ids: list[str]) -> None:
    """Create the runners: symbols and example strategies round-robin, all on 1m feeds."""
    for i, rid in enumerate(ids):
        client.command(
            "create",
            runner_id=rid,
            symbol=SYMBOLS[i % len(SYMBOLS)].symbol,
            strategy_name=STRATEGIES[i % len(STRATEGIES)],
            timeframe="1m",
        )


def soak(proc: subprocess.Popen[bytes], url: str, args: argparse.Namespace, warmup_s: float) -> int:
    """Create, run, sample, delete, sample; prints the numbers; 0 when both targets hold."""
    client = EngineClient(redis.Redis.from_url(url), Keys(), timeout_s=50)
    while not client.is_online():
        time.sleep(0.1)
    engine = psutil.Process(proc.pid)
    time.sleep(2)
    cold = rss_mib(engine)
    ids = [f"s{i:03d}" for i in range(args.runners)]
    create_all(client, ids)
    time.sleep(args.prime)
    client.command("delete_many", runner_ids=ids)
    time.sleep(5)
    idle = rss_mib(engine)
    create_all(client, ids)
    created = rss_mib(engine)
    bars_per_s = args.speed / 60 * args.runners
    print(
        f"machine: {os.cpu_count()} cores; {args.runners} runners, {args.speed:g}x wall clock "
        f"(~{bars_per_s:,.0f} runner-bars/s) for {args.minutes:g} min, warm-up "
        f"{warmup_s / 60:g} min"
    )
    print(
        f"RSS idle {cold:.1f} MiB cold, {idle:.1f} MiB after a priming round (baseline); "
        f"with runners {created:.1f} MiB"
    )
    started = time.monotonic()
    warm: float | None = None
    samples: list[float] = []
    while (elapsed := time.monotonic() - started) < args.minutes * 60:
        time.sleep(args.every)
        value = rss_mib(engine)
        if warm is None and elapsed >= warmup_s:
            warm = value
        if warm is not None:
            samples.append(value)
        print(f"  t={elapsed / 60:5.1f} min  RSS {value:7.1f} MiB", flush=True)
    bars = sum(s["stats"]["bars_processed"] for s in client.snapshots())
    end = rss_mib(engine)
    warm = warm if warm is not None else end
    peak = max(samples or [end])
    growth, peak_growth = (end - warm) / warm * 100, (peak - warm) / warm * 100
    client.command("delete_many", runner_ids=ids)
    time.sleep(15)
    after = rss_mib(engine)
    added = max(peak, created) - idle
    kept = (after - idle) / added * 100 if added > 0 else 0.0
    print(f"processed {bars:,} runner-bars")
    print(
        f"after warm-up: {warm:.1f} MiB -> end {end:.1f} MiB ({growth:+.1f} %), "
        f"peak {peak:.1f} MiB ({peak_growth:+.1f} %)  target < 10 %"
    )
    print(
        f"after deleting the runners: {after:.1f} MiB (baseline {idle:.1f}); {kept:.0f} % of "
        "what the runners added is still held  target <= 25 %"
    )
    ok = peak_growth < 10 and kept <= 25
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
