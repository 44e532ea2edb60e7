"""Sweep throughput (issue 13): an EMA-crossover ``fast x slow`` grid of 1,000 combinations over
100,000 simulated 1-minute bars, end to end through the job system (submit -> parent job ->
chunks on N real ``jobs.worker`` processes -> gather -> finished), with 1 and 2 workers;
then backtesting.py's ``optimize()`` on the same bars and signals.

Prints seconds, combinations/s and bar-evaluations/s per worker count (target: < 60 s with 2
workers). backtesting.py runs ~1 s or more per combination on 100k bars, so by default its
``optimize()`` runs on an evenly spread sub-grid of the same grid (``--reference-combos``) and
the full-grid time is extrapolated from its combinations/s; ``--reference-full`` runs it on
the whole grid. Run: ``python -m benchmarks.bench_sweep [--workers 1,2]``.
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

import numpy as np
import pandas as pd

from engine.api.sweeps import submit
from engine.backtest.data_spec import DataSpec, load_series
from engine.indicators.registry import compute_indicator
from engine.platform.redis_server import EmbeddedRedis
from engine.platform.services import build_services
from engine.platform.settings import Settings
from engine.storage.db import make_engine
from engine.storage.sweep_store import SweepStore
from jobs.queue import RQJobQueue

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TQDM_DISABLE", "1")  # no backtesting.py progress bars in the output
FAST = list(range(2, 42))  # 40 values
SLOW = list(range(20, 195, 7))  # 25 values (20..188) -> 1,000 combinations
TARGET_S = 60.0


def body(bars: int) -> dict[str, Any]:
    """The sweep request: simulated BTCUSDT 1m bars from 2024-01-01, the full grid."""
    start = 1_704_067_200_000
    return {
        "strategy": "ema_crossover",
        "symbol": "BTCUSDT",
        "timeframe": "1m",
        "source": "sim",
        "start": start,
        "end": start + bars * 60_000,
        "space": {"fast": {"values": FAST}, "slow": {"values": SLOW}},
    }


def run_sweep(base: Path, workers: int, bars: int) -> dict[str, float]:
    """Seconds from submit to ``finished`` with ``workers`` worker processes."""
    server = EmbeddedRedis(base / f"redis-{workers}")
    url = server.start()
    settings = Settings(
        data_dir=base, redis_url=url, database_url=f"sqlite:///{base}/sweep-{workers}.db"
    )
    services = build_services(settings, url, make_engine(settings), jobs=RQJobQueue)
    env = {
        **os.environ,
        "REDIS_URL": url,
        "DATABASE_URL": settings.database_url,
        "TRADESIM_DATA_DIR": str(base),
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "jobs.worker"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    try:
        time.sleep(2.0)  # workers up (not part of the sweep's time)
        store = SweepStore(services.db)
        t0 = time.perf_counter()
        answer = submit(services, body(bars))
        sweep_id = answer["sweep_id"]
        while (state := store.status(sweep_id)) in ("queued", "running"):
            time.sleep(0.1)
        seconds = time.perf_counter() - t0
        if state != "finished":
            raise SystemExit(f"sweep ended {state}: {store.get(sweep_id)}")
        counts = store.counts(sweep_id)
        rows = store.results(sweep_id, status="ok")
        inside = sum(r["seconds"] or 0.0 for r in rows)
        return {
            "seconds": seconds,
            "ok": counts.ok,
            "failed": counts.failed,
            "per_combination_s": inside / max(1, len(rows)),
        }
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
        server.stop()


def _ema(values: Any, n: int) -> np.ndarray:
    """The engine's EMA (the same series our strategy reads)."""
    return compute_indicator("ema", {"close": np.asarray(values, dtype=float)}, n)["value"]


def _strategy() -> Any:
    """backtesting.py's EMA crossover (long on the fast crossing above, flat below)."""
    global EmaCross
    from backtesting import Strategy
    from backtesting.lib import crossover

    class EmaCross(Strategy):  # module-level name: optimize() pickles it to its processes
        fast = 10
        slow = 20

        def init(self) -> None:
            self.f = self.I(_ema, self.data.Close, self.fast)
            self.s = self.I(_ema, self.data.Close, self.slow)

        def next(self) -> None:
            if crossover(self.f, self.s) and not self.position:
                self.buy()
            elif crossover(self.s, self.f) and self.position:
                self.position.close()

    EmaCross.__qualname__ = "EmaCross"
    return EmaCross


EmaCross: Any = None


def reference(bars: int, combos: int | None) -> dict[str, float]:
    """backtesting.py ``optimize()`` over the same bars and EMA signals (the full grid, or an
    evenly spread sub-grid of about ``combos`` combinations)."""
    import warnings

    from backtesting import Backtest

    warnings.filterwarnings("ignore", message="Some trades remain open")
    spec = DataSpec(
        source="sim",
        symbol="BTCUSDT",
        timeframe="1m",
        start_ms=1_704_067_200_000,
        end_ms=1_704_067_200_000 + bars * 60_000,
    )
    series = load_series(spec)
    df = pd.DataFrame(
        {
            "Open": series.open,
            "High": series.high,
            "Low": series.low,
            "Close": series.close,
            "Volume": series.volume,
        },
        index=pd.to_datetime(series.timestamp, unit="ms"),
    )

    fast, slow = FAST, SLOW
    if combos is not None:
        k = max(1, round((len(FAST) * len(SLOW) / combos) ** 0.5))
        fast, slow = FAST[::k], SLOW[::k]
    n = len(fast) * len(slow)
    test = Backtest(df, _strategy(), cash=10_000_000, trade_on_close=True)
    t0 = time.perf_counter()
    test.optimize(fast=fast, slow=slow, maximize="Return [%]")
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "combinations": n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bars", type=int, default=100_000)
    parser.add_argument("--workers", default="1,2", help="worker counts to time, e.g. 1,2")
    parser.add_argument("--reference-combos", type=int, default=16)
    parser.add_argument("--reference-full", action="store_true")
    parser.add_argument("--no-reference", action="store_true")
    args = parser.parse_args()
    total = len(FAST) * len(SLOW)
    print(f"grid: fast {FAST[0]}..{FAST[-1]} x slow {SLOW[0]}..{SLOW[-1]} = {total:,} combinations")
    print(f"bars: {args.bars:,} simulated 1m bars (timings on a shared machine are noisy)")
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        for workers in (int(w) for w in args.workers.split(",")):
            got = run_sweep(Path(tmp), workers, args.bars)
            rate = total / got["seconds"]
            verdict = ""
            if workers == 2:
                verdict = "  OK" if got["seconds"] < TARGET_S else f"  (target < {TARGET_S:.0f} s)"
            print(
                f"ours, {workers} worker(s): {got['seconds']:7.1f} s  {rate:6.1f} combinations/s  "
                f"{rate * args.bars / 1e6:5.2f} M bar-evaluations/s  "
                f"({got['per_combination_s'] * 1000:.0f} ms per combination inside a chunk; "
                f"ok {got['ok']}, failed {got['failed']}){verdict}"
            )
    if args.no_reference:
        return
    ref = reference(args.bars, None if args.reference_full else args.reference_combos)
    rate = ref["combinations"] / ref["seconds"]
    scope = "full grid" if args.reference_full else f"{ref['combinations']}-combination sub-grid"
    print(
        f"backtesting.py optimize() ({scope}): {ref['seconds']:.1f} s  {rate:.2f} combinations/s"
        f"  -> {total / rate:.0f} s for the {total:,}-combination grid"
    )


if __name__ == "__main__":
    main()
