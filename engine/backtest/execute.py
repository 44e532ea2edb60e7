"""Run a stored :class:`BacktestConfig`: the job-side logic, free of RQ and the database.

:func:`execute` loads the bars through :func:`load_series`, runs :func:`run_backtest` with
progress (fraction, stage, ETA) and cancellation hooks, and returns the JSON-safe result dict
(the CLI's ``--json`` shape; infinite values as ``"∞"``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from engine.backtest.data_spec import load_series
from engine.backtest.report import json_safe
from engine.backtest.request import BacktestConfig
from engine.backtest.run import BacktestResult, iso_many, run_backtest
from engine.data.candle_store import CandleStore
from engine.errors import BacktestCancelled
from engine.strategy.instance import StrategySource

Report = Callable[[dict[str, Any]], None]
"""Receives ``{"progress": 0..1, "stage": str, "eta_s": float | None}``."""


def execute(
    config: BacktestConfig,
    backtest_id: str,
    *,
    csv_folders: Sequence[Path] = (),
    candles: CandleStore | None = None,
    report: Report | None = None,
    cancel: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """The result dict of ``config`` (``backtest_id`` set to the stored id); stored data
    sources are read from ``candles``."""
    started = time.perf_counter()

    def tell(progress: float, stage: str) -> None:
        if report is None:
            return
        elapsed = time.perf_counter() - started
        eta = elapsed / progress * (1 - progress) if progress > 0.01 else None
        report({"progress": round(progress, 4), "stage": stage, "eta_s": eta and round(eta, 2)})

    tell(0.0, "loading data")
    series = load_series(config.data, csv_folders=csv_folders, candles=candles)
    load_s = time.perf_counter() - started
    if cancel is not None and cancel():
        raise BacktestCancelled("backtest cancelled")
    tell(0.02, "computing indicators")

    def progress(fraction: float, stage: str) -> None:
        tell(0.02 + 0.93 * fraction, stage)

    result = run_backtest(
        StrategySource.from_code(config.strategy_code, config.strategy_file),
        series,
        config=config.sim_config(),
        params=config.params,
        runs=config.runs,
        duration_bars=config.duration_bars,
        seed=config.seed,
        progress=progress,
        cancel=cancel,
    )
    tell(0.96, "saving results")
    result.backtest_id = backtest_id
    result.timing = {"load_s": load_s, **result.timing}
    result.timing["total_s"] += load_s
    data = result.to_dict()
    data["run_equity"] = run_equity(result)
    out = json_safe(data)
    assert isinstance(out, dict)
    return out


EQUITY_BUDGET = 4_000
"""Points of all runs' equity curves together in ``run_equity`` (at least 60 per run)."""


def run_equity(result: BacktestResult) -> list[dict[str, Any]]:
    """Every run's equity curve, down-sampled (last point kept): ``[{run_id, time, equity}]``
    with ``time`` and ``equity`` as parallel lists (the Backtest page overlays them)."""
    ts = result.series.timestamp
    per_run = max(60, EQUITY_BUDGET // max(1, len(result.runs)))
    out = []
    for run in result.runs:
        n = len(run.equity)
        idx = np.unique(np.linspace(0, n - 1, min(n, per_run)).round().astype(np.int64))
        out.append(
            {
                "run_id": run.run_id,
                "time": iso_many(ts[run.start + idx]),
                "equity": [round(float(v), 4) for v in run.equity[idx]],
            }
        )
    return out
