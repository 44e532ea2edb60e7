"""The strategy editor's quick test: a backtest of unsaved code on simulated bars.

Runs in an RQ job (``jobs/quick_test.py``), never in the web process: one strategy stuck in
a C call must not take a web thread with it.
"""

from __future__ import annotations

from typing import Any

from engine.backtest.run import run_backtest
from engine.data.simulated import generate_history
from engine.errors import StrategyError, TradeSimError
from engine.strategy.fills import SimConfig
from engine.strategy.instance import StrategySource

QUICK_BARS = 3_000
QUICK_TIMEFRAME = "1h"
#: A tighter per-call budget than backtests: a quick test answers in a few seconds at most.
QUICK_BUDGET = 100_000


def quick_test(code: str, name: str, symbol: str = "BTCUSDT") -> dict[str, Any]:
    """Backtest ``code`` on generated bars: ``{"ok": True, metrics, trades, bars, label}`` or
    ``{"ok": False, message, line}`` with the strategy's first error."""
    try:
        source = StrategySource.from_code(code, f"{name}.lua")
        series = generate_history(symbol or "BTCUSDT", QUICK_TIMEFRAME, QUICK_BARS)
        result = run_backtest(source, series, config=SimConfig(instruction_budget=QUICK_BUDGET))
    except StrategyError as exc:
        return {"ok": False, "message": str(exc), "line": exc.line}
    except TradeSimError as exc:
        return {"ok": False, "message": str(exc), "line": None}
    total_ms = result.timing.get("total_s", 0) * 1000
    return {
        "ok": True,
        "metrics": dict(result.metrics),
        "trades": [t.to_dict() for t in result.trades],
        "bars": len(series),
        "label": f"{series.symbol} · {QUICK_TIMEFRAME} · {total_ms:.0f} ms",
    }
