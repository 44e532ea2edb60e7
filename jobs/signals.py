"""RQ job on the ``signals`` queue: bring a setup's strategy signals up to date.

Queued when a setup is created, resumed or changed, when its collection adds bars
(``jobs/data.py``) and by ``POST /api/strategies/calculate``. The work is idempotent (the
same bars give the same signals, stored once), so a duplicate or retried job is harmless.
Progress is in ``job.meta`` (one step per timeframe); a setup that is not active is skipped.
"""

from __future__ import annotations

from typing import Any

from rq import get_current_job

from engine.data.candle_store import CandleStore
from engine.platform.settings import Settings
from engine.setups.signals import calculate
from engine.storage.db import make_engine
from engine.storage.setup_store import SetupStore
from engine.strategy.store import StrategyStore


def signals_job(setup_id: int, timeframes: list[str] | None = None) -> dict[str, Any]:
    """Calculate the signals of setup ``setup_id`` (all its timeframes, or ``timeframes``);
    ``{"setup_id", "status", "results": [{timeframe, bars, added, errors}]}``."""
    settings = Settings.from_env()
    db = make_engine(settings, migrate=False)
    try:
        setups = SetupStore(db)
        setup = setups.get(setup_id)
        if setup is None:
            return {"setup_id": setup_id, "status": "gone"}
        if setup["status"] != "active":
            return {"setup_id": setup_id, "status": setup["status"]}
        wanted = [tf for tf in setup["timeframes"] if timeframes is None or tf in timeframes]
        job = get_current_job()
        results = []
        for n, timeframe in enumerate(wanted):
            if job is not None:
                job.meta.update(progress=n / max(1, len(wanted)), stage=f"{timeframe} signals")
                job.save_meta()
            fresh = setups.get(setup_id) or setup  # another job may have moved its state on
            results.append(
                calculate(
                    setups, CandleStore(db), StrategyStore(settings.strategy_dir), fresh, timeframe
                )
            )
        errors = "; ".join(f"{k}: {v}" for r in results for k, v in r["errors"].items())
        setups.update(setup_id, last_error=errors or None)
        if job is not None:
            job.meta.update(progress=1.0, stage="finished")
            job.save_meta()
        return {"setup_id": setup_id, "status": "ok", "results": results}
    finally:
        db.dispose()


def adhoc_signals_job(
    symbol: str, timeframe: str, strategies: list[str], indicators: list[str] | None = None
) -> dict[str, Any]:
    """Signals of ``strategies`` on ``symbol``/``timeframe`` without a setup (stored with
    ``setup_id`` 0, over the last bars up to now; repeated runs add only new ones)."""
    settings = Settings.from_env()
    db = make_engine(settings, migrate=False)
    try:
        adhoc = {
            "id": 0,
            "symbol": symbol,
            "indicators": indicators or [],
            "strategies": strategies,
            "signal_state": {},
        }
        store = StrategyStore(settings.strategy_dir)
        result = calculate(SetupStore(db), CandleStore(db), store, adhoc, timeframe)
        return {"setup_id": 0, "status": "ok", "results": [result]}
    finally:
        db.dispose()
