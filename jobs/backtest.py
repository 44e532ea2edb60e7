"""RQ job: a backtest, with progress in ``job.meta`` and cancellation via ``job.meta``."""

from __future__ import annotations

from typing import Any

from rq import get_current_job

from engine.backtest.run import run_backtest
from engine.data.csv_io import load_csv
from engine.data.simulated import generate_history
from engine.strategy.fills import SimConfig
from engine.strategy.instance import StrategySource


def backtest_job(
    strategy_path: str,
    *,
    symbol: str = "BTCUSDT",
    timeframe: str = "1h",
    bars: int = 5_000,
    data_path: str | None = None,
    config: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    runs: int = 1,
    duration_bars: int | None = None,
    seed: int = 1,
) -> dict[str, Any]:
    """Backtest a strategy file on CSV or simulated data; returns the result JSON dict.

    Progress goes to ``job.meta["progress"]`` (0..1); setting ``job.meta["cancel"] = True``
    (and saving the meta) stops it between chunks.
    """
    job = get_current_job()
    series = (
        load_csv(data_path, symbol=symbol)
        if data_path
        else generate_history(symbol, timeframe, bars, seed=seed)
    )

    def progress(fraction: float, label: str) -> None:
        if job is not None:
            job.meta.update(progress=round(fraction, 4), stage=label)
            job.save_meta()

    def cancelled() -> bool:
        if job is None:
            return False
        job.refresh()
        return bool(job.meta.get("cancel"))

    result = run_backtest(
        StrategySource.from_file(strategy_path),
        series,
        config=SimConfig(**(config or {})),
        params=params,
        runs=runs,
        duration_bars=duration_bars,
        seed=seed,
        progress=progress,
        cancel=cancelled,
    )
    return result.to_dict()
