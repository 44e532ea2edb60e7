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

Each fold is independent (:func:`run_fold`: JSON-able, so a job per fold can run it on any
worker) and :func:`assemble` stitches the folds' outcomes in order; :func:`walk_forward`
runs the folds in turn and gives the same result as the jobs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.backtest.run import iso, iso_many
from engine.data.bars import BarSeries
from engine.errors import BacktestCancelled, ConfigError, TradeSimError
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


def stitch_index(windows: Sequence[Fold]) -> np.ndarray:
    """Positions of the stitched out-of-sample equity that the result keeps (at most about
    ``MAX_POINTS``, the last included), counted from the first out-of-sample bar."""
    total = windows[-1].oos_stop - windows[0].oos_start
    step = max(1, int(np.ceil(total / MAX_POINTS)))
    return np.unique(np.r_[np.arange(0, total, step), total - 1])


def _row(series: BarSeries, fold: Fold) -> dict[str, Any]:
    ts = series.timestamp
    return {
        "fold": fold.index + 1,
        "status": "ok",
        "error": None,
        "is_start": iso(int(ts[fold.is_start])),
        "is_end": iso(int(ts[fold.is_stop - 1])),
        "oos_start": iso(int(ts[fold.oos_start])),
        "oos_end": iso(int(ts[fold.oos_stop - 1])),
        "is_bars": fold.is_stop - fold.is_start,
        "oos_bars": fold.oos_stop - fold.oos_start,
        "params": None,
        "in_sample": _summary(None),
        "out_of_sample": _summary(None),
    }


def failed_fold(series: BarSeries, fold: Fold, reason: str) -> dict[str, Any]:
    """The result of a fold that could not run: its windows, ``status: failed`` and why;
    its out-of-sample window stays flat in the stitched equity."""
    return {
        "row": {**_row(series, fold), "status": "failed", "error": reason},
        "equity_last": None,
        "equity_points": None,
    }


def run_fold(
    config: SweepConfig,
    series: BarSeries,
    windows: Sequence[Fold],
    index: int,
    *,
    step: Callable[[int, str], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Optimize fold ``index`` in-sample, backtest the best params out-of-sample. JSON-able:
    ``row`` (the fold table's row), and of the OOS equity (starting at the initial capital)
    its last value and the values at this fold's :func:`stitch_index` positions (None when
    nothing qualified). ``step(done, stage)`` follows the ``combinations + 1`` steps."""
    fold = windows[index]
    combos = config.planned()
    evaluator = ChunkEvaluator(config.backtest, series.slice(fold.is_start, fold.is_stop))
    results = []
    label = f"fold {fold.index + 1}/{len(windows)}"
    for i, params in enumerate(combos):
        if cancel is not None and cancel():
            raise BacktestCancelled("walk-forward cancelled")
        metrics = evaluator.evaluate(params)
        results.append({"combo_index": i, "params": params, "status": "ok", "metrics": metrics})
        if step is not None:
            step(i + 1, f"{label}: in-sample {i + 1}/{len(combos)}")
    best = config.objective.best(results)
    row = _row(series, fold)
    last = points = None
    if best is not None:
        oos = ChunkEvaluator(config.backtest, series.slice(fold.oos_start, fold.oos_stop))
        oos_metrics, equity = oos.measure(best["params"])
        offset = fold.oos_start - windows[0].oos_start
        idx = stitch_index(windows)
        mine = idx[(idx >= offset) & (idx < offset + len(equity))] - offset
        last, points = float(equity[-1]), [float(v) for v in equity[mine]]
        row.update(
            params=best["params"],
            in_sample=_summary(best["metrics"]),
            out_of_sample=_summary(oos_metrics),
        )
    if step is not None:
        step(len(combos) + 1, f"{label}: out-of-sample")
    return {"row": row, "equity_last": last, "equity_points": points}


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
    """Run every fold in turn and :func:`assemble` them (the jobs run the folds in parallel
    and give the same result); a fold whose strategy fails is marked failed."""
    check_config(config)
    windows = make_folds(len(series), folds, mode, is_ratio)
    steps = len(windows) * (len(config.planned()) + 1)
    outcomes = []
    for i in range(len(windows)):
        before = i * (steps // len(windows))

        def step(done: int, stage: str, before: int = before) -> None:
            if progress is not None:
                progress((before + done) / steps, stage)

        try:
            outcomes.append(run_fold(config, series, windows, i, step=step, cancel=cancel))
        except BacktestCancelled:
            raise
        except TradeSimError as exc:
            outcomes.append(failed_fold(series, windows[i], str(exc)))
    return assemble(config, series, windows, outcomes, mode=mode, is_ratio=is_ratio)


def check_config(config: SweepConfig) -> None:
    """ConfigError for a sweep walk-forward cannot optimize with (tpe)."""
    if config.method == "tpe":
        raise ConfigError("walk-forward optimizes each fold with grid or random; choose one")


def assemble(
    config: SweepConfig,
    series: BarSeries,
    windows: Sequence[Fold],
    outcomes: Sequence[dict[str, Any]],
    *,
    mode: str,
    is_ratio: float,
) -> dict[str, Any]:
    """The result from every fold's :func:`run_fold` (or :func:`failed_fold`) outcome, in
    fold order: the fold table, the stitched OOS equity (each fold's equity scaled to where
    the previous one ended; a fold without one stays flat), buy-and-hold and the efficiency."""
    capital = config.backtest.sim_config().initial_capital
    idx = stitch_index(windows)
    first, last = windows[0].oos_start, windows[-1].oos_stop
    level = capital
    stitched: list[np.ndarray] = []
    for fold, outcome in zip(windows, outcomes, strict=True):
        offset = fold.oos_start - first
        count = int(np.count_nonzero((idx >= offset) & (idx < fold.oos_stop - first)))
        if outcome["equity_points"] is None:
            stitched.append(np.full(count, level))
            continue
        stitched.append(np.asarray(outcome["equity_points"], dtype=float) / capital * level)
        level = float(np.float64(outcome["equity_last"]) / capital * level)
    equity = np.concatenate(stitched)
    rows = [outcome["row"] for outcome in outcomes]
    close = series.close[first:last]
    hold = capital * close[idx] / close[0]
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
        "combinations_per_fold": len(config.planned()),
        "failed_folds": sum(r["status"] == "failed" for r in rows),
        "efficiency": efficiency,
        "mean_is_annualized_return_pct": is_mean,
        "mean_oos_annualized_return_pct": oos_mean,
        "oos_total_return_pct": float((level - capital) / capital * 100),
        "buy_and_hold_return_pct": float(
            (capital * close[-1] / close[0] - capital) / capital * 100
        ),
        "equity": {
            "time": iso_many(series.timestamp[first:last][idx]),
            "stitched": [round(float(v), 4) for v in equity],
            "buy_and_hold": [round(float(v), 4) for v in hold],
        },
    }
