"""CPU time to stop each hostile strategy in tests/fixtures/lua/hostile (target < 100 ms)."""

from __future__ import annotations

import time
from pathlib import Path

from engine.backtest.run import run_backtest
from engine.data.simulated import generate_history
from engine.errors import StrategyError
from engine.strategy.instance import StrategySource

HOSTILE = Path(__file__).resolve().parents[1] / "tests/fixtures/lua/hostile"


def main() -> None:
    series = generate_history("BTCUSDT", "1h", 50, seed=3)
    worst = 0.0
    for path in sorted(HOSTILE.glob("*.lua")):
        source = StrategySource.from_file(path)
        t0 = time.process_time()
        try:
            run_backtest(source, series)
            outcome = "NOT STOPPED"
        except StrategyError as exc:
            outcome = f"{type(exc).__name__}: {exc}"
        cpu_ms = (time.process_time() - t0) * 1000
        worst = max(worst, cpu_ms)
        print(f"{path.stem:24s} {cpu_ms:7.1f} ms CPU  {outcome[:90]}")
    print(f"worst: {worst:.1f} ms CPU")


if __name__ == "__main__":
    main()
