"""RQ job: one stored backtest, with progress/stage/ETA in ``job.meta`` and cancellation via
``job.meta["cancel"]``; the result goes to the database, the RQ result is only a pointer."""

from __future__ import annotations

import time
from typing import Any

from rq import get_current_job

from engine.backtest.execute import execute
from engine.backtest.request import BacktestConfig
from engine.data.candle_store import CandleStore
from engine.errors import BacktestCancelled, TradeSimError
from engine.platform.settings import Settings
from engine.storage.backtest_store import BacktestStore
from engine.storage.db import make_engine

CANCEL_POLL_S = 0.25
"""How often the running job reads ``meta["cancel"]`` at most (one Redis read)."""


def backtest_job(backtest_id: str) -> dict[str, Any]:
    """Run backtest ``backtest_id`` from the ``backtests`` table; returns
    ``{"backtest_id", "status"}``. Strategy and data errors mark it failed with the message."""
    settings = Settings.from_env()
    db = make_engine(settings, migrate=False)
    store = BacktestStore(db)
    try:
        record = store.get(backtest_id)
        if record is None or not store.mark_running(backtest_id):
            return {"backtest_id": backtest_id, "status": record.status if record else "missing"}
        config = BacktestConfig.from_dict(record.config)
        job = get_current_job()
        last_check = [0.0]

        def report(meta: dict[str, Any]) -> None:
            if job is None:
                return
            job.meta = job.get_meta(refresh=True)
            job.meta.update(meta)
            job.save_meta()

        def cancelled() -> bool:
            now = time.monotonic()
            if job is None or now - last_check[0] < CANCEL_POLL_S:
                return False
            last_check[0] = now
            return bool(job.get_meta(refresh=True).get("cancel"))

        try:
            result = execute(
                config,
                backtest_id,
                csv_folders=settings.csv_folders,
                candles=CandleStore(db),
                report=report,
                cancel=cancelled,
            )
        except BacktestCancelled:
            store.cancel(backtest_id)
            return {"backtest_id": backtest_id, "status": "cancelled"}
        except TradeSimError as exc:
            store.fail(backtest_id, str(exc))
            return {"backtest_id": backtest_id, "status": "failed"}
        except Exception as exc:  # a bug: record it, then let RQ keep the traceback
            store.fail(backtest_id, f"internal error: {type(exc).__name__}: {exc}")
            raise
        store.finish(backtest_id, result)
        report({"progress": 1.0, "stage": "finished", "eta_s": 0.0})
        return {"backtest_id": backtest_id, "status": "finished"}
    finally:
        db.dispose()
