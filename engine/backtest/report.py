"""Human-readable output of a backtest result (the CLI summary and the trades CSV)."""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from engine.backtest.metrics import format_metrics_table
from engine.errors import ConfigError


def format_summary(result: Mapping[str, Any]) -> str:
    """The CLI summary of a result dict from ``BacktestResult.to_dict()``."""
    timing = result["timing"]
    eod = sum(run["end_of_data_trades"] for run in result["runs"])
    trades = sum(run["num_trades"] for run in result["runs"])
    lines = [
        f"{result['strategy']} on {result['symbol']} {result['timeframe'] or ''}".rstrip(),
        f"  {result['bars']:,} bars  {result['start_time']} → {result['end_time']}  "
        f"runs: {result['num_runs']}",
        "",
        format_metrics_table(result["metrics"]),
        "",
        f"  {trades} trades" + (f" ({eod} closed at end of data)" if eod else ""),
        "  time: " + "  ".join(f"{k.removesuffix('_s')} {v:.3f}s" for k, v in timing.items()),
    ]
    return "\n".join(lines)


TRADE_COLUMNS: Sequence[str] = (
    "run_id",
    "side",
    "entry_time",
    "exit_time",
    "entry_price",
    "exit_price",
    "quantity",
    "pnl",
    "pnl_pct",
    "commission",
    "exit_reason",
    "bars_held",
    "mfe",
    "mae",
    "end_of_data",
)


def write_trades_csv(trades: Sequence[Mapping[str, Any]], path: Path) -> None:
    """Write the trade list (JSON form) as CSV with a header row."""
    try:
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(TRADE_COLUMNS), extrasaction="ignore")
            writer.writeheader()
            writer.writerows(trades)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from None


def json_safe(value: object) -> object:
    """``value`` with NaN as None and ±inf as ``"∞"``/``"-∞"`` (strict JSON)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("∞" if value > 0 else "-∞")
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value
