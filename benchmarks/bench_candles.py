"""Candle store speed on SQLite: import of a year of 1-minute bars (525,600), the same import
again (idempotent: nothing new), a range read of the whole year, a resampled read (1m -> 1h)
and the coverage with session-aware gaps. Targets: import < 5 s, range read < 1 s.

Each import goes into a fresh database file; the figures are the best of ``--runs`` (the
machine is shared, so the best run is the one least disturbed by other work)."""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from engine.data.bars import BarSeries
from engine.data.candle_store import CandleStore
from engine.data.history import MarketData
from engine.data.simulated import generate_history
from engine.platform.settings import Settings
from engine.storage.db import make_engine

BARS = 525_600


def timed(action: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def measure(folder: Path, series: BarSeries) -> dict[str, float]:
    """Seconds of each operation on a fresh database in ``folder``."""
    first, last = int(series.timestamp[0]), int(series.timestamp[-1])
    db = make_engine(
        Settings(data_dir=folder, redis_url=None, database_url=f"sqlite:///{folder}/b.db")
    )
    store = CandleStore(db)
    data = MarketData(store)
    figures = {
        "import": timed(lambda: store.insert("csv:bench", series)),
        "re-import": timed(lambda: store.insert("csv:bench", series)),
        "range read 1m": timed(
            lambda: store.read("csv:bench", "BTCUSDT", "1m", start_ms=first, end_ms=last)
        ),
        "resampled read 1h": timed(
            lambda: data.read("BTCUSDT", "1h", source="csv:bench", start_ms=first, end_ms=last)
        ),
        "coverage + gaps": timed(data.coverage),
    }
    db.dispose()
    assert figures["import"][1] == BARS and figures["re-import"][1] == 0
    assert len(figures["range read 1m"][1]) == BARS  # type: ignore[arg-type]
    return {name: seconds for name, (seconds, _) in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    series = generate_history("BTCUSDT", "1m", BARS, seed=1)
    best: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            for name, seconds in measure(Path(tmp) / str(run), series).items():
                best[name] = min(best.get(name, float("inf")), seconds)
    print(f"candle store, SQLite, {BARS:,} 1-minute bars (best of {args.runs}):")
    for name, seconds in best.items():
        target = {"import": 5.0, "range read 1m": 1.0}.get(name)
        note = f"  (target < {target:g} s)" if target else ""
        print(f"  {name:<18} {seconds:6.3f} s{note}")


if __name__ == "__main__":
    main()
