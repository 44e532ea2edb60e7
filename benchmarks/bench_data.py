"""Data-layer speed: simulated history, CSV write/load, resampling, live feed and window."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from engine.data.bars import BarWindow, resample
from engine.data.csv_io import load_csv, write_csv
from engine.data.simulated import SimulatedFeed, generate_history
from engine.data.timeframes import Timeframe


def best_of(runs: int, action: Callable[[], object]) -> float:
    """Fastest wall time of ``runs`` calls."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    n = 525_600
    series = generate_history("BTCUSDT", "1m", n)
    seconds = best_of(3, lambda: generate_history("BTCUSDT", "1m", n))
    print(f"generate_history 1m x {n:,}: {seconds:.3f} s")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "BTCUSDT-1m.csv"
        print(f"write_csv: {best_of(2, lambda: write_csv(series, path)):.3f} s")
        print(f"load_csv:  {best_of(3, lambda: load_csv(path)):.3f} s")
    print(f"resample 1m->1h: {best_of(3, lambda: resample(series, Timeframe.H1)) * 1000:.1f} ms")
    feed = SimulatedFeed("EURUSD", "1m")
    count = 50_000
    per_bar = best_of(1, lambda: [feed.next_bar() for _ in range(count)]) / count
    print(f"SimulatedFeed.next_bar: {per_bar * 1e6:.2f} µs")
    bars = [series.bar(i) for i in range(count)]
    window = BarWindow(100)

    def fill() -> None:
        for bar in bars:
            window.append(bar)
            window.highest_high()
            window.lowest_low()
            window.avg_volume()

    print(f"BarWindow append + 3 queries: {best_of(1, fill) / count * 1e6:.2f} µs")


if __name__ == "__main__":
    main()
