"""RQ job: one stored walk-forward run (``sweeps`` queue), progress in the database and
``job.meta``, cancellation through the row's status; the result goes to the database."""

from __future__ import annotations

import time
from typing import Any

from rq import get_current_job

from engine.backtest.data_spec import load_series
from engine.errors import BacktestCancelled, TradeSimError
from engine.optimize.request import SweepConfig
from engine.optimize.walkforward import walk_forward
from engine.platform.settings import Settings
from engine.storage.db import make_engine
from engine.storage.walkforward_store import WalkForwardStore

POLL_S = 0.5


def walk_forward_job(walk_forward_id: str) -> dict[str, Any]:
    """Run walk-forward ``walk_forward_id``; strategy/data errors mark it failed."""
    settings = Settings.from_env()
    db = make_engine(settings, migrate=False)
    store = WalkForwardStore(db)
    try:
        record = store.get(walk_forward_id)
        if record is None or not store.mark_running(walk_forward_id):
            return {"walk_forward_id": walk_forward_id, "status": "gone"}
        config = record.config
        sweep = SweepConfig.from_dict(config["sweep"])
        job = get_current_job()
        last = [0.0]

        def progress(fraction: float, stage: str) -> None:
            now = time.monotonic()
            if now - last[0] < POLL_S:
                return
            last[0] = now
            store.set_progress(walk_forward_id, round(fraction, 4))
            if job is not None:
                job.meta.update(progress=fraction, stage=stage)
                job.save_meta()

        def cancelled() -> bool:
            fresh = store.get(walk_forward_id)
            return fresh is None or fresh.status != "running"

        try:
            series = load_series(sweep.backtest.data, csv_folders=settings.csv_folders)
            result = walk_forward(
                sweep,
                series,
                folds=int(config["folds"]),
                mode=str(config["mode"]),
                is_ratio=float(config["is_ratio"]),
                progress=progress,
                cancel=cancelled,
            )
        except BacktestCancelled:
            return {"walk_forward_id": walk_forward_id, "status": "cancelled"}
        except TradeSimError as exc:
            store.fail(walk_forward_id, str(exc))
            return {"walk_forward_id": walk_forward_id, "status": "failed"}
        except Exception as exc:  # a bug: record it, let RQ keep the traceback
            store.fail(walk_forward_id, f"internal error: {type(exc).__name__}: {exc}")
            raise
        store.finish(walk_forward_id, result)
        return {"walk_forward_id": walk_forward_id, "status": "finished"}
    finally:
        db.dispose()
