"""Walk-forward validation: K folds over time; in each, optimize on the in-sample window with
the sweep machinery (:class:`ChunkEvaluator`, grid or random space, the sweep's objective and
constraints), then backtest the best params on the following out-of-sample window.

Folds (bar indices, end exclusive): the range is cut into an in-sample length of
``is_ratio`` out-of-sample lengths followed by K out-of-sample windows. *Rolling*: fold i's
in-sample window is the ``is_ratio`` windows just before its out-of-sample one; *anchored*:
it starts at the first bar. Out-of-sample windows are consecutive and never overlap their
in-sample window. Each out-of-sample backtest starts flat on its own window (its indicators
warm up inside it). Walk-forward efficiency = mean annualized OOS return / mean annualized IS
return (of the chosen params).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.backtest.run import iso, iso_many
from engine.data.bars import BarSeries
from engine.errors import BacktestCancelled, ConfigError
from engine.optimize.evaluate import ChunkEvaluator
from engine.optimize.objective import metric_value
from engine.optimize.request import SweepConfig

MODES = ("rolling", "anchored")
MAX_FOLDS = 20
MIN_OOS_BARS = 20
MAX_POINTS = 2_000
SUMMARY = ("total_return_pct", "annualized_return_pct", "sharpe", "max_drawdown_pct", "num_trades")

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Fold:
    """One fold's windows as bar indices (``*_stop`` exclusive)."""

    index: int
    is_start: int
    is_stop: int
    oos_start: int
    oos_stop: int


def make_folds(bars: int, folds: int, mode: str = "rolling", is_ratio: float = 3.0) -> list[Fold]:
    """The folds of a range of ``bars`` bars (see the module docstring)."""
    if mode not in MODES:
        raise ConfigError(f"mode {mode!r}: expected rolling or anchored")
    if not 1 <= folds <= MAX_FOLDS:
        raise ConfigError(f"folds must be 1..{MAX_FOLDS}, got {folds}")
    if not 0.25 <= is_ratio <= 20:
        raise ConfigError(
            f"is_ratio must be 0.25..20 (in-sample / out-of-sample length), got {is_ratio}"
        )
    oos = int(bars / (is_ratio + folds))
    is_len = bars - folds * oos
    if oos < MIN_OOS_BARS:
        raise ConfigError(
            f"{bars} bars give {oos} per out-of-sample window (at least {MIN_OOS_BARS}); "
            "use fewer folds or a longer range"
        )
    out = []
    for i in range(folds):
        oos_start = is_len + i * oos
        is_start = 0 if mode == "anchored" else oos_start - is_len
        out.append(Fold(i, is_start, oos_start, oos_start, oos_start + oos))
    return out


def _summary(metrics: dict[str, Any] | None) -> dict[str, float | None]:
    if metrics is None:
        return {k: None for k in SUMMARY}
    return {k: metric_value(metrics, k) for k in SUMMARY}


def walk_forward(
    config: SweepConfig,
    series: BarSeries,
    *,
    folds: int,
    mode: str = "rolling",
    is_ratio: float = 3.0,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Run every fold; the JSON-able result (fold table, stitched OOS equity, efficiency)."""
    if config.method == "tpe":
        raise ConfigError("walk-forward optimizes each fold with grid or random; choose one")
    combos = config.planned()
    windows = make_folds(len(series), folds, mode, is_ratio)
    capital = config.backtest.sim_config().initial_capital
    steps = len(windows) * (len(combos) + 1)
    done = 0
    rows: list[dict[str, Any]] = []
    stitched: list[np.ndarray] = []
    level = capital
    for fold in windows:
        evaluator = ChunkEvaluator(config.backtest, series.slice(fold.is_start, fold.is_stop))
        results = []
        for i, params in enumerate(combos):
            if cancel is not None and cancel():
                raise BacktestCancelled("walk-forward cancelled")
            results.append(
                {
                    "combo_index": i,
                    "params": params,
                    "status": "ok",
                    "metrics": evaluator.evaluate(params),
                }
            )
            done += 1
            if progress is not None:
                progress(
                    done / steps,
                    f"fold {fold.index + 1}/{len(windows)}: in-sample {i + 1}/{len(combos)}",
                )
        best = config.objective.best(results)
        oos_metrics = None
        if best is not None:
            oos = ChunkEvaluator(config.backtest, series.slice(fold.oos_start, fold.oos_stop))
            oos_metrics, equity = oos.measure(best["params"])
            stitched.append(equity / capital * level)
            level = float(stitched[-1][-1])
        else:
            flat = np.full(fold.oos_stop - fold.oos_start, level)
            stitched.append(flat)
        done += 1
        if progress is not None:
            progress(done / steps, f"fold {fold.index + 1}/{len(windows)}: out-of-sample")
        ts = series.timestamp
        rows.append(
            {
                "fold": fold.index + 1,
                "is_start": iso(int(ts[fold.is_start])),
                "is_end": iso(int(ts[fold.is_stop - 1])),
                "oos_start": iso(int(ts[fold.oos_start])),
                "oos_end": iso(int(ts[fold.oos_stop - 1])),
                "is_bars": fold.is_stop - fold.is_start,
                "oos_bars": fold.oos_stop - fold.oos_start,
                "params": None if best is None else best["params"],
                "in_sample": _summary(None if best is None else best["metrics"]),
                "out_of_sample": _summary(oos_metrics),
            }
        )
    first, last = windows[0].oos_start, windows[-1].oos_stop
    equity = np.concatenate(stitched)
    close = series.close[first:last]
    hold = capital * close / close[0]
    step = max(1, int(np.ceil(len(equity) / MAX_POINTS)))
    idx = np.unique(np.r_[np.arange(0, len(equity), step), len(equity) - 1])
    chosen = [r for r in rows if r["params"] is not None]
    is_ann = [v for r in chosen if (v := r["in_sample"]["annualized_return_pct"]) is not None]
    oos_ann = [v for r in chosen if (v := r["out_of_sample"]["annualized_return_pct"]) is not None]
    is_mean = float(np.mean(is_ann)) if is_ann else None
    oos_mean = float(np.mean(oos_ann)) if oos_ann else None
    efficiency = oos_mean / is_mean if is_mean and oos_mean is not None else None
    return {
        "mode": mode,
        "folds": rows,
        "is_ratio": is_ratio,
        "combinations_per_fold": len(combos),
        "efficiency": efficiency,
        "mean_is_annualized_return_pct": is_mean,
        "mean_oos_annualized_return_pct": oos_mean,
        "oos_total_return_pct": float((equity[-1] - capital) / capital * 100),
        "buy_and_hold_return_pct": float((hold[-1] - capital) / capital * 100),
        "equity": {
            "time": iso_many(series.timestamp[first:last][idx]),
            "stitched": [round(float(v), 4) for v in equity[idx]],
            "buy_and_hold": [round(float(v), 4) for v in hold[idx]],
        },
    }
