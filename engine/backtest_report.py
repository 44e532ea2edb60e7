"""Human-readable output of a backtest result (the CLI summary and the trades CSV)."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from engine.errors import ConfigError

_ROWS: tuple[tuple[str, str, str], ...] = (
    ("total_return_pct", "Total return", "{:.2f} %"),
    ("annualized_return_pct", "Annualized return", "{:.2f} %"),
    ("net_pnl", "Net P&L", "{:,.2f}"),
    ("final_equity", "Final equity", "{:,.2f}"),
    ("sharpe", "Sharpe", "{:.3f}"),
    ("sortino", "Sortino", "{:.3f}"),
    ("calmar", "Calmar", "{:.3f}"),
    ("max_drawdown_pct", "Max drawdown", "{:.2f} %"),
    ("max_drawdown_duration", "Max drawdown duration", "{:.1f} days"),
    ("volatility_pct", "Volatility (ann.)", "{:.2f} %"),
    ("num_trades", "Trades", "{:d}"),
    ("win_rate_pct", "Win rate", "{:.1f} %"),
    ("profit_factor", "Profit factor", "{:.3f}"),
    ("avg_win", "Average win", "{:,.2f}"),
    ("avg_loss", "Average loss", "{:,.2f}"),
    ("largest_win", "Largest win", "{:,.2f}"),
    ("largest_loss", "Largest loss", "{:,.2f}"),
    ("expectancy", "Expectancy", "{:,.2f}"),
    ("sqn", "SQN", "{:.3f}"),
    ("avg_hold_bars", "Average hold", "{:.1f} bars"),
    ("max_hold_bars", "Longest hold", "{:d} bars"),
    ("exposure_pct", "Exposure", "{:.1f} %"),
    ("total_commission", "Commission paid", "{:,.2f}"),
    ("pct_profitable", "Runs profitable", "{:.1f} %"),
    ("mean_return_pct", "Mean run return", "{:.2f} %"),
    ("best_run_return_pct", "Best run", "{:.2f} %"),
    ("worst_run_return_pct", "Worst run", "{:.2f} %"),
)


def format_value(value: Any, fmt: str) -> str:
    """One metric as text; infinities (or their JSON form) print as ∞."""
    if value is None:
        return "n/a"
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "∞" if value > 0 else "-∞"
    if "d}" in fmt:
        value = int(value)
    return fmt.format(value)


def format_metrics(metrics: Mapping[str, Any]) -> str:
    """An aligned two-column table of the metrics present in ``metrics``."""
    rows = [(label, format_value(metrics[key], fmt)) for key, label, fmt in _ROWS if key in metrics]
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"  {label:<{width}}  {value:>16}" for label, value in rows)


def format_summary(result: Mapping[str, Any]) -> str:
    """The CLI summary of a result dict from ``BacktestResult.to_dict()``."""
    timing = result["timing"]
    eod = sum(1 for t in result["trades"] if t["end_of_data"])
    lines = [
        f"{result['strategy']} on {result['symbol']} {result['timeframe'] or ''}".rstrip(),
        f"  {result['bars']:,} bars  {result['start_time']} → {result['end_time']}  "
        f"runs: {result['num_runs']}",
        "",
        format_metrics(result["metrics"]),
        "",
        f"  {len(result['trades'])} trades"
        + (f" ({eod} closed at end of data)" if eod else ""),
        "  time: "
        + "  ".join(f"{k.removesuffix('_s')} {v:.3f}s" for k, v in timing.items()),
    ]
    return "\n".join(lines)


TRADE_COLUMNS: Sequence[str] = (
    "run_id", "side", "entry_time", "exit_time", "entry_price", "exit_price", "quantity", "pnl",
    "pnl_pct", "commission", "exit_reason", "bars_held", "mfe", "mae", "end_of_data",
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
