"""Backtests: one strategy over a bar series, once or as seeded randomized runs.

The bar loop runs inside the strategy's Lua sandbox (see :mod:`engine.strategy.sandbox`); this
module packs the bars, drives the kernel in chunks (progress and cancellation between chunks),
builds
the equity curve with numpy from the closed trades, and computes the metrics.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from engine.backtest.metrics import Metrics, compute_metrics, summarize_runs
from engine.data.bars import BarSeries
from engine.data.symbols import periods_per_year
from engine.errors import BacktestCancelled, ConfigError
from engine.indicators.registry import compute_indicator, window_fields
from engine.strategy.fills import SimConfig
from engine.strategy.instance import StrategyInstance, StrategySource
from engine.strategy.state_machine import Transition
from engine.strategy.trades import Trade

ProgressCallback = Callable[[float, str], None]
CancelCheck = Callable[[], bool]

CHUNK_BARS = 65_536
MAX_EQUITY_POINTS = 2_000
_ROW = np.dtype(
    [
        ("ts", "<i8"),
        ("open", "<f8"),
        ("high", "<f8"),
        ("low", "<f8"),
        ("close", "<f8"),
        ("volume", "<f8"),
        ("bid", "<f8"),
        ("ask", "<f8"),
    ]
)


def pack_bars(series: BarSeries) -> bytes:
    """Bars as the kernel's packed rows: ``<q7d`` (ts, o, h, l, c, v, bid, ask), 64 bytes each."""
    rows = np.empty(len(series), dtype=_ROW)
    rows["ts"] = series.timestamp
    for name in ("open", "high", "low", "close", "volume", "bid", "ask"):
        rows[name] = getattr(series, name)
    return rows.tobytes()


class VectorizedSeries:
    """Indicator provider over a whole series (computed once, shared by every run)."""

    def __init__(self, series: BarSeries) -> None:
        self._columns = {
            "open": series.open,
            "high": series.high,
            "low": series.low,
            "close": series.close,
            "volume": series.volume,
        }
        self._window: dict[str, np.ndarray] | None = None

    def series(self, name: str, args: tuple[float, ...]) -> dict[str, np.ndarray]:
        """All outputs of ``name(args)`` over the series (NaN during warm-up); the window
        fields are computed once and reused for each field asked for."""
        if name == "window":
            if self._window is None:
                c = self._columns
                self._window = window_fields(c["high"], c["low"], c["volume"], int(args[0]))
            return self._window
        return compute_indicator(name, self._columns, *args)


@dataclass(frozen=True, kw_only=True)
class RunResult:
    """One run: its bar range (0-based, end exclusive), trades, equity curve and metrics."""

    run_id: int
    start: int
    stop: int
    trades: list[Trade]
    transitions: list[Transition]
    equity: np.ndarray
    metrics: Metrics


@dataclass(kw_only=True)
class BacktestResult:
    """Everything a backtest produced; :meth:`to_dict` gives the JSON result format."""

    backtest_id: str
    strategy: str
    strategy_file: str
    symbol: str
    timeframe: str
    params: dict[str, int | float]
    config: SimConfig
    series: BarSeries
    runs: list[RunResult]
    metrics: dict[str, Any]
    timing: dict[str, float] = field(default_factory=dict)

    @property
    def trades(self) -> list[Trade]:
        """All trades of all runs, in run order."""
        return [t for run in self.runs for t in run.trades]

    def to_dict(self, *, include_trades: bool = True) -> dict[str, Any]:
        """The result as JSON-able data (times ISO-8601 UTC; equity down-sampled); without
        ``include_trades`` the ``trades`` list is empty (a summary needs only the metrics)."""
        ts = self.series.timestamp
        first = self.runs[0]
        return {
            "backtest_id": self.backtest_id,
            "strategy": self.strategy,
            "strategy_file": self.strategy_file,
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "start_time": iso(int(ts[0])),
            "end_time": iso(int(ts[-1])),
            "bars": len(self.series),
            "num_runs": len(self.runs),
            "params": self.params,
            "config": {
                "initial_capital": self.config.initial_capital,
                "commission_rate": self.config.commission_rate,
                "slippage_bps": self.config.slippage_bps,
                "slippage_model": self.config.slippage_model.value,
                "fill_mode": self.config.fill_mode.value,
                "position_fraction": self.config.position_fraction,
                "window_size": self.config.window_size,
            },
            "metrics": self.metrics,
            "runs": [
                {
                    "run_id": run.run_id,
                    "start_time": iso(int(ts[run.start])),
                    "end_time": iso(int(ts[run.stop - 1])),
                    "bars": run.stop - run.start,
                    "num_trades": len(run.trades),
                    "end_of_data_trades": sum(t.exit_reason == "end_of_data" for t in run.trades),
                    "metrics": run.metrics.to_dict(),
                }
                for run in self.runs
            ],
            "trades": trades_to_json(self.trades) if include_trades else [],
            "equity": equity_points(ts[first.start : first.stop], first.equity),
            "timing": {k: round(v, 6) for k, v in self.timing.items()},
        }


def iso(ms: int) -> str:
    """``2024-01-01T00:00:00Z`` for a ms timestamp."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_many(ms: np.ndarray) -> list[str]:
    """:func:`iso` of many ms timestamps at once (vectorized)."""
    text = np.datetime_as_string(np.asarray(ms, dtype="datetime64[ms]"), unit="s")
    return [f"{s}Z" for s in text.tolist()]


def trades_to_json(trades: list[Trade]) -> list[dict[str, Any]]:
    """:func:`trade_to_json` of every trade, with the ISO times formatted in one pass."""
    entries = iso_many(np.array([t.entry_time for t in trades], dtype=np.int64))
    exits = iso_many(np.array([t.exit_time for t in trades], dtype=np.int64))
    out = []
    for trade, entry, exit_ in zip(trades, entries, exits, strict=True):
        d = trade.to_dict()
        d["entry_time"], d["exit_time"] = entry, exit_
        d["end_of_data"] = trade.exit_reason == "end_of_data"
        out.append(d)
    return out


def trade_to_json(trade: Trade) -> dict[str, Any]:
    """A trade with ISO times and ``end_of_data`` marked explicitly."""
    d = trade.to_dict()
    d["entry_time"] = iso(trade.entry_time)
    d["exit_time"] = iso(trade.exit_time)
    d["end_of_data"] = trade.exit_reason == "end_of_data"
    return d


def equity_points(ts: np.ndarray, equity: np.ndarray) -> list[dict[str, Any]]:
    """At most :data:`MAX_EQUITY_POINTS` evenly spaced points, always with the last one."""
    step = max(1, int(np.ceil(len(equity) / MAX_EQUITY_POINTS)))
    idx = list(range(0, len(equity), step))
    if idx[-1] != len(equity) - 1:
        idx.append(len(equity) - 1)
    return [{"time": iso(int(ts[i])), "equity": float(equity[i])} for i in idx]


def equity_curve(
    close: np.ndarray, trades: list[Trade], start: int, capital: float, commission_rate: float
) -> np.ndarray:
    """Per-bar equity = capital + realized + unrealized (net of the paid entry commission).

    ``close`` covers the run's bars; trade bar indices are the kernel's 1-based ones.
    """
    n = len(close)
    realized = np.zeros(n)
    unrealized = np.zeros(n)
    for t in trades:
        entry, exit_ = t.entry_bar - 1 - start, t.exit_bar - 1 - start
        realized[exit_] += t.pnl
        direction = 1.0 if t.side == "long" else -1.0
        held = slice(entry, exit_)
        entry_commission = t.entry_price * t.quantity * commission_rate
        unrealized[held] = (close[held] - t.entry_price) * t.quantity * direction
        unrealized[held] -= entry_commission
    return capital + np.cumsum(realized) + unrealized


def run_backtest(
    source: StrategySource,
    series: BarSeries,
    *,
    config: SimConfig | None = None,
    params: Mapping[str, str | float | int] | None = None,
    runs: int = 1,
    duration_bars: int | None = None,
    seed: int = 1,
    periods: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
) -> BacktestResult:
    """Backtest ``source`` on ``series``.

    ``runs > 1`` samples that many seeded random start points, each running ``duration_bars``
    bars (required then). Raises :class:`StrategyError` when the strategy fails,
    :class:`ConfigError` for bad arguments and :class:`BacktestCancelled` when ``cancel()``
    turns true between chunks.
    """
    config = config or SimConfig()
    started = time.perf_counter()
    if len(series) < 2:
        raise ConfigError("the data has fewer than 2 bars; nothing to backtest")
    ranges = _run_ranges(len(series), runs, duration_bars, seed)
    instance = StrategyInstance(
        source,
        symbol=series.symbol,
        timeframe=series.timeframe,
        config=config,
        provider=VectorizedSeries(series),
        params=params,
    )
    instance.set_bars(pack_bars(series))
    setup_s = time.perf_counter() - started
    total_bars = sum(stop - start for start, stop in ranges)
    done = 0
    per_year = periods or periods_per_year(series.symbol, series.timestamp)
    results: list[RunResult] = []
    simulate_s = metrics_s = 0.0
    for run_id, (start, stop) in enumerate(ranges):
        t0 = time.perf_counter()
        if run_id:
            instance.load()
        for first in range(start, stop, CHUNK_BARS):
            last = min(first + CHUNK_BARS, stop)
            instance.run(first + 1, last)
            done += last - first
            if cancel is not None and cancel():
                raise BacktestCancelled("backtest cancelled")
            if progress is not None:
                progress(done / total_bars, f"run {run_id + 1}/{len(ranges)}")
        instance.close_open("end_of_data", float(series.close[stop - 1]))
        trades, transitions = instance.results(run_id)
        t1 = time.perf_counter()
        equity = equity_curve(
            series.close[start:stop], trades, start, config.initial_capital, config.commission_rate
        )
        metrics = compute_metrics(
            series.timestamp[start:stop],
            equity,
            trades,
            initial_capital=config.initial_capital,
            periods_per_year=per_year,
            bars_in_position=sum(t.bars_held for t in trades),
        )
        results.append(
            RunResult(
                run_id=run_id,
                start=start,
                stop=stop,
                trades=trades,
                transitions=transitions,
                equity=equity,
                metrics=metrics,
            )
        )
        simulate_s += t1 - t0
        metrics_s += time.perf_counter() - t1
    summary = results[0].metrics.to_dict()
    if len(results) > 1:
        summary = summarize_runs([(r.run_id, r.metrics) for r in results]).to_dict()
    indicators_s = instance.timing.seconds
    return BacktestResult(
        backtest_id=uuid.uuid4().hex[:12],
        strategy=source.name,
        strategy_file=source.file,
        symbol=series.symbol,
        timeframe=series.timeframe,
        params=dict(instance.params),
        config=config,
        series=series,
        runs=results,
        metrics=summary,
        timing={
            "setup_s": setup_s,
            "indicators_s": indicators_s,
            "simulate_s": simulate_s - indicators_s,
            "metrics_s": metrics_s,
            "total_s": time.perf_counter() - started,
        },
    )


def _run_ranges(n: int, runs: int, duration_bars: int | None, seed: int) -> list[tuple[int, int]]:
    if runs < 1:
        raise ConfigError(f"runs must be >= 1, got {runs}")
    if runs == 1 and duration_bars is None:
        return [(0, n)]
    if duration_bars is None:
        raise ConfigError("randomized runs need a duration (e.g. --duration 7d)")
    if not 2 <= duration_bars <= n:
        raise ConfigError(
            f"duration is {duration_bars} bars but the data has {n}; choose a shorter duration"
        )
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, n - duration_bars + 1, size=runs)
    return [(int(s), int(s) + duration_bars) for s in starts]
