"""Performance metrics of one run and of a set of randomized runs (DESIGN.md, "Metrics").

Pure functions over arrays returning frozen dataclasses. Conventions:

- ``equity`` has one value per bar, marked at the bar's close; ``timestamps_ms`` are the bars'
  times (ms since epoch, UTC, strictly increasing), as in :class:`engine.data.bars.BarSeries`.
- ``initial_capital`` is the equity *before* the first bar, placed one bar step (the smallest
  gap between timestamps) before it. It is the base of the total and annualized return, the
  previous close of the first daily return and the first peak for drawdowns, so a loss on the
  very first bar counts (the convention of empyrical's and quantstats' drawdowns, which start
  from a baseline of 1 before the first return).
- Ratios use daily returns (:func:`daily_returns`) with a risk-free rate of 0, annualized with
  ``periods_per_year`` (365 for 24/7 markets, 252 otherwise; 12 for monthly bars).
- Degenerate cases never raise: a ratio with a zero denominator is ``math.inf`` when its
  numerator is positive and 0.0 otherwise, except Sharpe, which is 0.0 whenever the standard
  deviation is 0 (fewer than two daily returns, or all equal). ``Metrics.to_dict`` writes the
  infinities as "∞" / "-∞".

Trade statistics live in :mod:`engine.backtest.metrics_trades` and are re-exported here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.backtest.metrics_trades import TradeMetrics, trade_metrics
from engine.errors import ConfigError
from engine.strategy.trades import Trade

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Metrics",
    "ReturnMetrics",
    "RunsSummary",
    "TradeMetrics",
    "compute_metrics",
    "daily_returns",
    "format_metrics_table",
    "return_metrics",
    "summarize_runs",
    "trade_metrics",
]

JsonValue = float | int | str | None
DAY_MS = 86_400_000


@dataclass(frozen=True, kw_only=True)
class ReturnMetrics:
    """Return and risk measures of an equity curve (percentages are in %, e.g. 12.5).

    ``max_drawdown_pct`` is positive (12.5 means a fall of 12.5 % from a peak), measured on the
    per-bar curve; ``max_drawdown_duration`` is the longest time in days from a peak to the
    bar that regains it, or to the last bar if it is never regained. ``calmar`` is the
    annualized return over the (per-bar) max drawdown, both as fractions. ``std_returns`` is the
    sample (ddof=1) standard deviation of the daily returns, ``volatility_pct`` that annualized.
    """

    total_return_pct: float
    annualized_return_pct: float
    sharpe: float
    sortino: float
    calmar: float
    max_drawdown_pct: float
    max_drawdown_duration: float
    volatility_pct: float
    std_returns: float
    periods_per_year: int


@dataclass(frozen=True, kw_only=True)
class Metrics:
    """Everything measured on one run; :meth:`to_dict` gives the flat JSON form."""

    initial_capital: float
    final_equity: float
    net_pnl: float
    returns: ReturnMetrics
    trade_stats: TradeMetrics

    def to_dict(self) -> dict[str, JsonValue]:
        """One flat dict: capital fields, then return and trade metrics under their field names.

        Full precision; infinities become "∞" / "-∞" and NaN becomes None.
        """
        flat: dict[str, Any] = {
            "initial_capital": self.initial_capital,
            "final_equity": self.final_equity,
            "net_pnl": self.net_pnl,
        }
        for part in (self.returns, self.trade_stats):
            flat.update({f.name: getattr(part, f.name) for f in fields(part)})
        return {key: _json_value(value) for key, value in flat.items()}


@dataclass(frozen=True, kw_only=True)
class RunsSummary:
    """Distribution of results over randomized runs (returns and drawdowns in %).

    ``std_return_pct`` is the sample standard deviation (0.0 for one run); best and worst are
    the first run with the highest / lowest total return; ``mean_win_rate_pct`` averages only
    the runs that traded (0.0 when none did), the other means average every run.
    """

    num_runs: int
    pct_profitable: float
    best_run_id: int
    best_run_return_pct: float
    worst_run_id: int
    worst_run_return_pct: float
    mean_return_pct: float
    median_return_pct: float
    std_return_pct: float
    mean_sharpe: float
    mean_max_drawdown_pct: float
    mean_win_rate_pct: float
    total_trades: int

    def to_dict(self) -> dict[str, JsonValue]:
        """Flat JSON-able dict (infinities as "∞" / "-∞", NaN as None)."""
        return {f.name: _json_value(getattr(self, f.name)) for f in fields(self)}


def daily_returns(
    timestamps_ms: np.ndarray, equity: np.ndarray, *, initial_capital: float | None = None
) -> pd.Series:
    """Daily simple returns of a per-bar equity curve, indexed by UTC day.

    Each UTC calendar day that has bars contributes its last equity value; days without bars
    are skipped. The first day's return is measured from ``initial_capital`` (default:
    ``equity[0]``, i.e. the first bar is the base). Bars coarser than a day (weekly, monthly)
    each fall on their own day, so their bar returns come out unchanged.
    """
    import pandas as pd  # only this helper returns pandas (backtests never import it)

    ts, eq = _curve(timestamps_ms, equity)
    days, returns = _daily(ts, eq, float(eq[0]) if initial_capital is None else initial_capital)
    index = pd.DatetimeIndex(pd.to_datetime(days * DAY_MS, unit="ms", utc=True), name="date")
    return pd.Series(returns, index=index, name="return")


def return_metrics(
    timestamps_ms: np.ndarray,
    equity: np.ndarray,
    *,
    initial_capital: float,
    periods_per_year: int,
) -> ReturnMetrics:
    """Return and risk measures of a per-bar equity curve (see the module conventions).

    Raises :class:`ConfigError` for an empty or non-finite curve, timestamps that do not
    increase, ``initial_capital <= 0`` or ``periods_per_year < 1``.
    """
    ts, eq = _curve(timestamps_ms, equity)
    if not initial_capital > 0:
        raise ConfigError(f"initial capital must be > 0, got {initial_capital}")
    if periods_per_year < 1:
        raise ConfigError(f"periods per year must be >= 1, got {periods_per_year}")
    _, r = _daily(ts, eq, initial_capital)
    n = len(r)
    mean = float(r.mean())
    std = float(r.std(ddof=1)) if n > 1 and r.min() != r.max() else 0.0
    downside = math.sqrt(float(np.square(np.minimum(r, 0.0)).sum()) / n)
    root = math.sqrt(periods_per_year)
    growth = float(eq[-1]) / initial_capital
    annual = _annualize(growth, periods_per_year / n)
    drawdown, duration_ms = _drawdown(ts, eq, initial_capital)
    return ReturnMetrics(
        total_return_pct=(growth - 1.0) * 100.0,
        annualized_return_pct=annual * 100.0,
        sharpe=mean / std * root if std else 0.0,
        sortino=_ratio(mean, downside) * root,
        calmar=_ratio(annual, drawdown),
        max_drawdown_pct=drawdown * 100.0,
        max_drawdown_duration=duration_ms / DAY_MS,
        volatility_pct=std * root * 100.0,
        std_returns=std,
        periods_per_year=periods_per_year,
    )


def compute_metrics(
    timestamps_ms: np.ndarray,
    equity: np.ndarray,
    trades: Sequence[Trade],
    *,
    initial_capital: float,
    periods_per_year: int,
    bars_in_position: int,
) -> Metrics:
    """All metrics of one run: its per-bar equity curve and closed trades.

    Exposure is ``bars_in_position`` over the number of bars in ``equity``. Raises
    :class:`ConfigError` as :func:`return_metrics` and :func:`trade_metrics` do.
    """
    returns = return_metrics(
        timestamps_ms, equity, initial_capital=initial_capital, periods_per_year=periods_per_year
    )
    final = float(equity[-1])
    return Metrics(
        initial_capital=float(initial_capital),
        final_equity=final,
        net_pnl=final - initial_capital,
        returns=returns,
        trade_stats=trade_metrics(
            trades, bars_in_position=bars_in_position, total_bars=len(equity)
        ),
    )


def summarize_runs(run_metrics: Sequence[tuple[int, Metrics]]) -> RunsSummary:
    """Summary of ``(run_id, metrics)`` pairs. Raises :class:`ConfigError` when empty."""
    if not run_metrics:
        raise ConfigError("no runs to summarize")
    ids = [run_id for run_id, _ in run_metrics]
    runs = [m for _, m in run_metrics]
    ret = np.array([m.returns.total_return_pct for m in runs])
    best, worst = int(np.argmax(ret)), int(np.argmin(ret))
    win_rates = [m.trade_stats.win_rate_pct for m in runs if m.trade_stats.num_trades]
    return RunsSummary(
        num_runs=len(runs),
        pct_profitable=float((ret > 0).mean()) * 100.0,
        best_run_id=ids[best],
        best_run_return_pct=float(ret[best]),
        worst_run_id=ids[worst],
        worst_run_return_pct=float(ret[worst]),
        mean_return_pct=float(ret.mean()),
        median_return_pct=float(np.median(ret)),
        std_return_pct=float(ret.std(ddof=1)) if len(ret) > 1 else 0.0,
        mean_sharpe=float(np.mean([m.returns.sharpe for m in runs])),
        mean_max_drawdown_pct=float(np.mean([m.returns.max_drawdown_pct for m in runs])),
        mean_win_rate_pct=float(np.mean(win_rates)) if win_rates else 0.0,
        total_trades=sum(m.trade_stats.num_trades for m in runs),
    )


def format_metrics_table(values: Mapping[str, JsonValue]) -> str:
    """An aligned two-column text table of the metrics in ``values`` (``Metrics.to_dict()`` or
    ``RunsSummary.to_dict()``) for a terminal; keys it does not know are skipped.

    Percentages and money with 2 decimals, ratios with 3, infinities as "∞".
    """
    rows = [
        (label, _format_cell(values[key], fmt)) for key, label, fmt in _TABLE_ROWS if key in values
    ]
    label_width = max(len(label) for label, _ in rows)
    value_width = max(len(text) for _, text in rows)
    return "\n".join(f"{label:<{label_width}}  {text:>{value_width}}" for label, text in rows)


def _curve(timestamps_ms: np.ndarray, equity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ts = np.asarray(timestamps_ms, dtype=np.int64)
    eq = np.asarray(equity, dtype=np.float64)
    if ts.ndim != 1 or eq.shape != ts.shape:
        raise ConfigError(
            f"timestamps and equity must be 1-D and equally long, got {ts.shape}, {eq.shape}"
        )
    if not len(eq):
        raise ConfigError("the equity curve is empty; there is nothing to measure")
    if not np.isfinite(eq).all():
        bad = int(np.flatnonzero(~np.isfinite(eq))[0])
        raise ConfigError(f"equity at bar {bad} is {eq[bad]}; every value must be finite")
    if len(ts) > 1 and not (np.diff(ts) > 0).all():
        bad = int(np.flatnonzero(np.diff(ts) <= 0)[0]) + 1
        raise ConfigError(f"timestamp at bar {bad} does not increase ({ts[bad - 1]}, {ts[bad]})")
    return ts, eq


def _daily(ts: np.ndarray, eq: np.ndarray, initial: float) -> tuple[np.ndarray, np.ndarray]:
    """UTC day numbers that have bars, and the simple returns of their last equity values."""
    day = ts // DAY_MS
    last = np.append(np.flatnonzero(np.diff(day)), len(day) - 1)
    close = eq[last]
    previous = np.concatenate(([initial], close[:-1]))
    return day[last], close / previous - 1.0


def _annualize(growth: float, exponent: float) -> float:
    """``growth ** exponent - 1``; -1.0 (a total loss) when equity ended at or below zero."""
    if growth <= 0:
        return -1.0
    with np.errstate(over="ignore"):
        return float(np.float64(growth) ** exponent) - 1.0


def _ratio(numerator: float, denominator: float) -> float:
    if denominator:
        return numerator / denominator
    return math.inf if numerator > 0 else 0.0


def _drawdown(ts: np.ndarray, eq: np.ndarray, initial: float) -> tuple[float, int]:
    """Largest fall from a running peak (fraction) and the longest time under water (ms)."""
    step = int(np.diff(ts).min()) if len(ts) > 1 else 0
    values = np.concatenate(([initial], eq))
    times = np.concatenate(([ts[0] - step], ts))
    peak = np.maximum.accumulate(values)
    deepest = float((1.0 - values / peak).max())
    at_peak = np.flatnonzero(values >= peak)
    gaps = np.flatnonzero(np.diff(at_peak) > 1)
    longest = int((times[at_peak[gaps + 1]] - times[at_peak[gaps]]).max()) if len(gaps) else 0
    if at_peak[-1] < len(values) - 1:
        longest = max(longest, int(times[-1] - times[at_peak[-1]]))
    return deepest, longest


def _json_value(value: Any) -> JsonValue:
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "∞" if value > 0 else "-∞"
    return value


def _hold_time(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return f"{days}d {hours:02d}:{minutes:02d}:{secs:02d}"


def _format_cell(value: JsonValue, fmt: Callable[[Any], str]) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, str):
        return value
    return fmt(value)


def _pct(value: float) -> str:
    return f"{value:.2f} %"


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _ratio3(value: float) -> str:
    return f"{value:.3f}"


def _count(value: int) -> str:
    return f"{value:d}"


_TABLE_ROWS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("initial_capital", "Initial capital", _money),
    ("final_equity", "Final equity", _money),
    ("net_pnl", "Net P&L", _money),
    ("total_return_pct", "Total return", _pct),
    ("annualized_return_pct", "Annualized return", _pct),
    ("volatility_pct", "Volatility (ann.)", _pct),
    ("sharpe", "Sharpe", _ratio3),
    ("sortino", "Sortino", _ratio3),
    ("calmar", "Calmar", _ratio3),
    ("max_drawdown_pct", "Max drawdown", _pct),
    ("max_drawdown_duration", "Max drawdown duration", lambda v: f"{v:.1f} days"),
    ("num_trades", "Trades", _count),
    ("num_wins", "Wins", _count),
    ("num_losses", "Losses", _count),
    ("win_rate_pct", "Win rate", _pct),
    ("profit_factor", "Profit factor", _ratio3),
    ("expectancy", "Expectancy (avg P&L)", _money),
    ("avg_trade_pct", "Average trade", _pct),
    ("avg_win", "Average win", _money),
    ("avg_loss", "Average loss", _money),
    ("largest_win", "Largest win", _money),
    ("largest_loss", "Largest loss", _money),
    ("gross_profit", "Gross profit", _money),
    ("gross_loss", "Gross loss", _money),
    ("sqn", "SQN", _ratio3),
    ("avg_hold_bars", "Average hold", lambda v: f"{v:.1f} bars"),
    ("max_hold_bars", "Longest hold", lambda v: f"{v:d} bars"),
    ("avg_hold_time_s", "Average hold time", _hold_time),
    ("max_hold_time_s", "Longest hold time", _hold_time),
    ("exposure_pct", "Exposure", _pct),
    ("total_commission", "Commission paid", _money),
    ("end_of_data_trades", "Closed at end of data", _count),
    ("num_runs", "Runs", _count),
    ("pct_profitable", "Runs profitable", _pct),
    ("mean_return_pct", "Mean run return", _pct),
    ("median_return_pct", "Median run return", _pct),
    ("std_return_pct", "Std of run returns", _pct),
    ("best_run_return_pct", "Best run return", _pct),
    ("worst_run_return_pct", "Worst run return", _pct),
    ("mean_sharpe", "Mean Sharpe", _ratio3),
    ("mean_max_drawdown_pct", "Mean max drawdown", _pct),
    ("mean_win_rate_pct", "Mean win rate", _pct),
    ("total_trades", "Trades (all runs)", _count),
)
