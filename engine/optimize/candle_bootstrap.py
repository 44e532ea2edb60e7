"""Candle (block) bootstrap: re-run a backtest's strategy on synthetic price paths.

**Paths.** From the backtest's bars, the ``n - 1`` close-to-close log returns
``r[t] = log(close[t] / close[t-1])`` are resampled with a *fixed-size moving-block
bootstrap*: each path draws ``ceil((n - 1) / block)`` block starts uniformly from
``0 .. n - 1 - block`` and concatenates the blocks ``r[s : s + block]``, cut to ``n - 1``
returns. The path starts at the original first close and compounds the drawn returns.
Each synthetic bar keeps the *shape* of the original bar its return came from: its open,
high, low, bid and ask relative to that bar's close (bar 0 keeps bar 0's shape), and that
bar's volume; timestamps are the original ones. Because ``high / close >= max(open / close,
1)`` and multiplying by one positive close is monotone in floating point, every synthetic
bar is a valid OHLC bar (``high >= max(open, close)``, ``low <= min(open, close)``).

**Why fixed blocks of 60 bars by default.** A block keeps what the strategy reacts to inside
it — volatility clusters, short trends, the autocorrelation that moving averages and
oscillators of typical periods (10–50 bars) see — while the blocks' order is random, so the
long-run path differs. A stationary bootstrap (random, geometric block lengths) would smooth
the block edges but adds a second random stream and makes a path's source indices harder to
reproduce and reason about; fixed blocks are the plain, reproducible choice. 60 bars covers
the longest common indicator period with room to spare; shorter blocks (towards 1, an i.i.d.
bootstrap) destroy more of the structure, longer ones resemble the original path more.

**Draw order** (the tests rebuild it with a plain loop): one
``Generator.integers(0, n - block, size=ceil((n - 1) / block))`` call per path, in order,
from ``numpy.random.default_rng(seed)``.

:func:`run_bootstrap` backtests every path with one :class:`ChunkEvaluator` (one Lua runtime
for all paths) and :func:`summarize` gives the percentiles, the probability of loss, the
original backtest's values and the equity fan over bar index.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.backtest.request import BacktestConfig
from engine.data.bars import BarSeries
from engine.errors import BacktestCancelled, ConfigError
from engine.optimize.evaluate import ChunkEvaluator
from engine.optimize.objective import metric_value

DEFAULT_PATHS = 200
MAX_PATHS = 1000
DEFAULT_BLOCK = 60
MAX_BLOCK = 10_000
MIN_BARS = 20
PERCENTILES = (5, 50, 95)
FAN_PERCENTILES = (5, 25, 50, 75, 95)
MAX_FAN_POINTS = 400
_SHAPE = ("open", "high", "low", "bid", "ask")

Progress = Callable[[int, int], None]
"""Receives (paths done, paths in all)."""


@dataclass(frozen=True)
class PathOutcome:
    """One backtest on one path: final return %, max drawdown %, trades, sampled equity."""

    final_return_pct: float
    max_drawdown_pct: float
    trades: int
    equity: np.ndarray


def check_arguments(bars: int, paths: int, block: int) -> None:
    """ConfigError naming what to change when ``paths``/``block`` do not fit ``bars``."""
    if not 1 <= paths <= MAX_PATHS:
        raise ConfigError(f"paths must be 1..{MAX_PATHS}, got {paths}")
    if bars < MIN_BARS:
        raise ConfigError(f"the candle bootstrap needs at least {MIN_BARS} bars, got {bars}")
    if not 1 <= block < bars:
        raise ConfigError(
            f"block must be 1..{bars - 1} bars (shorter than the backtest's {bars} bars), "
            f"got {block}"
        )


def source_bars(starts: np.ndarray, block: int, returns: int) -> np.ndarray:
    """The original bar index behind each synthetic bar (bar 0 first) for one path's block
    ``starts``: return ``r[s]`` is bar ``s + 1``'s."""
    drawn = (starts[:, None] + np.arange(block)[None, :]).ravel()[:returns]
    return np.r_[0, drawn + 1]


def synthetic_paths(series: BarSeries, n: int, block: int, seed: int) -> Iterator[BarSeries]:
    """``n`` synthetic bar series of ``series``'s length, one at a time (see the module
    docstring); the same seed gives the same paths."""
    check_arguments(len(series), n, block)
    close = series.close
    log_returns = np.diff(np.log(close))
    returns = len(log_returns)
    shape = {name: getattr(series, name) / close for name in _SHAPE}
    count = -(-returns // block)
    rng = np.random.default_rng(seed)
    for _ in range(n):
        starts = rng.integers(0, returns - block + 1, size=count)
        src = source_bars(starts, block, returns)
        path = close[0] * np.exp(np.r_[0.0, np.cumsum(log_returns[src[1:] - 1])])
        yield BarSeries.from_arrays(
            symbol=series.symbol,
            timeframe=series.timeframe,
            timestamp=series.timestamp,
            close=path,
            volume=series.volume[src],
            **{name: path * shape[name][src] for name in _SHAPE},
        )


def fan_index(bars: int) -> np.ndarray:
    """Bar indices the equity fan samples (at most about ``MAX_FAN_POINTS``, last included)."""
    step = max(1, int(np.ceil(bars / MAX_FAN_POINTS)))
    return np.unique(np.r_[np.arange(0, bars, step), bars - 1])


def _outcome(metrics: dict[str, Any], equity: np.ndarray, index: np.ndarray) -> PathOutcome:
    return PathOutcome(
        final_return_pct=float(metric_value(metrics, "total_return_pct") or 0.0),
        max_drawdown_pct=float(metric_value(metrics, "max_drawdown_pct") or 0.0),
        trades=int(metrics["num_trades"]),
        equity=equity[index],
    )


def run_bootstrap(
    config: BacktestConfig,
    series: BarSeries,
    *,
    paths: int = DEFAULT_PATHS,
    block: int = DEFAULT_BLOCK,
    seed: int = 1,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Backtest ``config`` on the original bars and on every synthetic path (one runtime);
    the JSON-able :func:`summarize` result. BacktestCancelled when ``cancel()`` says so."""
    check_arguments(len(series), paths, block)
    index = fan_index(len(series))
    evaluator = ChunkEvaluator(config, series)
    original = _outcome(*evaluator.measure({}), index)
    outcomes: list[PathOutcome] = []
    for path in synthetic_paths(series, paths, block, seed):
        if cancel is not None and cancel():
            raise BacktestCancelled("candle bootstrap cancelled")
        evaluator.use_series(path)
        outcomes.append(_outcome(*evaluator.measure({}), index))
        if progress is not None:
            progress(len(outcomes), paths)
    capital = config.sim_config().initial_capital
    return summarize(
        outcomes, original, bar_index=index.tolist(), capital=capital, block=block, seed=seed
    ) | {"runtimes": evaluator.runtimes}


def summarize(
    outcomes: Sequence[PathOutcome],
    original: PathOutcome,
    *,
    bar_index: Sequence[int],
    capital: float,
    block: int,
    seed: int,
) -> dict[str, Any]:
    """Percentiles 5/50/95 of final return, max drawdown and trades, probability of loss
    (final return < 0), the original backtest's values and the equity fan (5–95 %, 25–75 %,
    median and the original, over bar index)."""
    if not outcomes:
        raise ConfigError("no path to summarize")
    finals = np.array([o.final_return_pct for o in outcomes])
    drawdowns = np.array([o.max_drawdown_pct for o in outcomes])
    trades = np.array([o.trades for o in outcomes], dtype=float)
    bands = np.percentile(np.vstack([o.equity for o in outcomes]), FAN_PERCENTILES, axis=0)
    return {
        "paths": len(outcomes),
        "block": block,
        "seed": seed,
        "capital": capital,
        "final_return_pct": _percentiles(finals),
        "max_drawdown_pct": _percentiles(drawdowns),
        "trades": _percentiles(trades),
        "probability_of_loss": float(np.mean(finals < 0.0)),
        "original": {
            "final_return_pct": original.final_return_pct,
            "max_drawdown_pct": original.max_drawdown_pct,
            "trades": original.trades,
        },
        "fan": {
            "bar": [int(i) for i in bar_index],
            "bands": {
                f"p{p}": [round(float(v), 4) for v in row]
                for p, row in zip(FAN_PERCENTILES, bands, strict=True)
            },
            "original": [round(float(v), 4) for v in original.equity],
        },
    }


def _percentiles(values: np.ndarray) -> dict[str, float]:
    found = np.percentile(values, PERCENTILES)
    return {f"p{p}": float(v) for p, v in zip(PERCENTILES, found, strict=True)}
