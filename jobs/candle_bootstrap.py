"""RQ job: the candle bootstrap of a stored backtest (``sweeps`` queue). Builds the synthetic
paths from the backtest's bars and re-runs its strategy and config on each with one Lua
runtime (``engine.optimize.candle_bootstrap``); paths done / N in ``job.meta`` and the
row, cancellation through the row's status (``DELETE``) or ``job.meta["cancel"]``; the
result goes to ``candle_bootstraps``."""

from __future__ import annotations

import time
from typing import Any

from rq import get_current_job

from engine.backtest.data_spec import load_series
from engine.backtest.request import BacktestConfig
from engine.data.candle_store import CandleStore
from engine.errors import BacktestCancelled, TradeSimError
from engine.optimize.candle_bootstrap import run_bootstrap
from engine.platform.settings import Settings
from engine.storage.backtest_store import BacktestStore
from engine.storage.bootstrap_store import CandleBootstrapStore
from engine.storage.db import make_engine

POLL_S = 0.5
"""How often the job writes progress and looks for a cancel at most."""


def candle_bootstrap_job(bootstrap_id: str) -> dict[str, Any]:
    """Run bootstrap ``bootstrap_id``; strategy/data errors mark it failed with the message."""
    settings = Settings.from_env()
    db = make_engine(settings, migrate=False)
    store = CandleBootstrapStore(db)
    try:
        row = store.get(bootstrap_id)
        if row is None or not store.mark_running(bootstrap_id):
            return {"bootstrap_id": bootstrap_id, "status": row["status"] if row else "missing"}
        job = get_current_job()
        last = [0.0, 0.0]  # last progress write, last cancel check
        stopped = [False]

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if done < total and now - last[0] < POLL_S:
                return
            last[0] = now
            store.set_done(bootstrap_id, done)
            if job is not None:
                job.meta = job.get_meta(refresh=True)
                job.meta.update(progress=done / total, done=done, total=total, stage="paths")
                job.save_meta()

        def cancelled() -> bool:
            now = time.monotonic()
            if now - last[1] >= POLL_S:
                last[1] = now
                cancel = job is not None and bool(job.get_meta(refresh=True).get("cancel"))
                stopped[0] = cancel or store.status(bootstrap_id) != "running"
            return stopped[0]

        try:
            record = BacktestStore(db).get(row["backtest_id"])
            if record is None:
                store.fail(bootstrap_id, "the backtest is gone")
                return {"bootstrap_id": bootstrap_id, "status": "failed"}
            config = BacktestConfig.from_dict(record.config)
            series = load_series(
                config.data, csv_folders=settings.csv_folders, candles=CandleStore(db)
            )
            result = run_bootstrap(
                config,
                series,
                paths=int(row["paths"]),
                block=int(row["block"]),
                seed=int(row["seed"]),
                progress=progress,
                cancel=cancelled,
            )
        except BacktestCancelled:
            store.cancel(bootstrap_id)
            return {"bootstrap_id": bootstrap_id, "status": "cancelled"}
        except TradeSimError as exc:
            store.fail(bootstrap_id, str(exc))
            return {"bootstrap_id": bootstrap_id, "status": "failed"}
        except Exception as exc:  # a bug: record it, let RQ keep the traceback
            store.fail(bootstrap_id, f"internal error: {type(exc).__name__}: {exc}")
            raise
        store.finish(bootstrap_id, result)
        return {"bootstrap_id": bootstrap_id, "status": "finished"}
    finally:
        db.dispose()
