"""Backtest speed: the EMA crossover example on 525,600 generated 1-minute bars.

Measures the engine end to end (CSV load -> indicators -> simulate -> metrics), the simulate
phase in bars/s, and backtesting.py on the same bars and the same signals for comparison.
Run: ``make bench`` (or ``python -m benchmarks.bench_backtest --bars 525600``).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from engine.backtest.run import run_backtest
from engine.data.csv_io import load_csv, write_csv
from engine.data.simulated import generate_history
from engine.indicators.registry import compute_indicator
from engine.strategy.instance import StrategySource

ROOT = Path(__file__).resolve().parents[1]


def bench_engine(csv_path: Path, repeats: int) -> dict[str, float]:
    source = StrategySource.from_file(ROOT / "lua-strategies/examples/ema_crossover.lua")
    best: dict[str, float] = {}
    for _ in range(repeats):
        t0 = time.perf_counter()
        series = load_csv(csv_path)
        load_s = time.perf_counter() - t0
        result = run_backtest(source, series)
        timing = dict(result.timing, load_s=load_s, total_s=time.perf_counter() - t0)
        timing["trades"] = len(result.trades)
        if not best or timing["total_s"] < best["total_s"]:
            best = timing
    return best


def bench_backtesting_py(csv_path: Path) -> tuple[float, int]:
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover

    series = load_csv(csv_path)
    cols = {"close": series.close}
    fast = compute_indicator("ema", cols, 10)["value"]
    slow = compute_indicator("ema", cols, 20)["value"]
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

    class EmaCross(Strategy):
        def init(self) -> None:
            self.fast = self.I(lambda: fast)
            self.slow = self.I(lambda: slow)

        def next(self) -> None:
            if crossover(self.fast, self.slow) and not self.position:
                self.buy()
            elif crossover(self.slow, self.fast) and self.position:
                self.position.close()

    t0 = time.perf_counter()
    stats = Backtest(df, EmaCross, cash=10_000_000, trade_on_close=True).run()
    return time.perf_counter() - t0, int(stats["# Trades"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bars", type=int, default=525_600)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-reference", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "BTCUSDT-1m.csv"
        t0 = time.perf_counter()
        write_csv(generate_history("BTCUSDT", "1m", args.bars, seed=1), csv_path)
        print(
            f"machine: {os.cpu_count()} cores; generated+wrote {args.bars:,} bars in "
            f"{time.perf_counter() - t0:.2f}s"
        )
        t = bench_engine(csv_path, args.repeats)
        sim_rate = args.bars / t["simulate_s"]
        print(
            f"engine (best of {args.repeats}): load {t['load_s']:.3f}s  setup {t['setup_s']:.3f}s"
            f"  indicators {t['indicators_s']:.3f}s  simulate {t['simulate_s']:.3f}s"
            f"  metrics {t['metrics_s']:.3f}s  total {t['total_s']:.3f}s"
        )
        print(
            f"engine simulate phase: {sim_rate:,.0f} bars/s; end to end "
            f"{args.bars / t['total_s']:,.0f} bars/s; {int(t['trades'])} trades"
        )
        if not args.skip_reference:
            ref_s, ref_trades = bench_backtesting_py(csv_path)
            print(
                f"backtesting.py run(): {ref_s:.3f}s = {args.bars / ref_s:,.0f} bars/s; "
                f"{ref_trades} trades"
            )


if __name__ == "__main__":
    main()
