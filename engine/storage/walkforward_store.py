"""Stored walk-forward runs: config, status, progress and the result JSON; each fold's
outcome in ``walk_forward_folds`` as its job finishes (the gather job assembles them).

The API creates a ``queued`` row, the job moves it to ``running`` (with progress) and then
``finished`` (with the result), ``failed`` (with the reason) or ``cancelled``; terminal rows
never change status again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from engine.storage.models import Base

_TABLE = Base.metadata.tables["walk_forwards"]
_FOLDS = Base.metadata.tables["walk_forward_folds"]
ACTIVE = ("queued", "running")


@dataclass(frozen=True, kw_only=True)
class WalkForwardRecord:
    """One row without the result (see :meth:`WalkForwardStore.result`)."""

    walk_forward_id: str
    status: str
    strategy_name: str
    symbol: str
    timeframe: str
    config: dict[str, Any]
    job_id: str | None
    progress: float
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (the backtest config without the strategy code)."""
        config = dict(self.config)
        sweep = dict(config.get("sweep") or {})
        sweep["backtest"] = {
            k: v for k, v in (sweep.get("backtest") or {}).items() if k != "strategy_code"
        }
        config["sweep"] = sweep
        return {
            "walk_forward_id": self.walk_forward_id,
            "status": self.status,
            "strategy": self.strategy_name,
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "config": config,
            "progress": self.progress,
            "error": self.error,
            "created_at": _iso(self.created_at),
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
        }


class WalkForwardStore:
    """Reads and writes ``walk_forwards``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, walk_forward_id: str, config: Mapping[str, Any]) -> None:
        """Insert a queued run; ``config`` = ``{"sweep": SweepConfig.to_dict(), "folds", ...}``."""
        backtest = config["sweep"]["backtest"]
        with self._engine.begin() as conn:
            conn.execute(
                _TABLE.insert().values(
                    walk_forward_id=walk_forward_id,
                    status="queued",
                    strategy_name=str(backtest["strategy_name"])[:128],
                    symbol=backtest["data"]["symbol"],
                    timeframe=backtest["data"]["timeframe"],
                    config=dict(config),
                    job_id=None,
                    progress=0.0,
                    result=None,
                    error=None,
                    created_at=_now(),
                    started_at=None,
                    finished_at=None,
                )
            )

    def get(self, walk_forward_id: str) -> WalkForwardRecord | None:
        """The run, or None."""
        columns = [c for c in _TABLE.c if c.name != "result"]
        query = sa.select(*columns).where(_TABLE.c.walk_forward_id == walk_forward_id)
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        data = row._mapping
        return WalkForwardRecord(**{k: data[k] for k in WalkForwardRecord.__dataclass_fields__})

    def result(self, walk_forward_id: str) -> dict[str, Any] | None:
        """The result JSON of a finished run."""
        query = sa.select(_TABLE.c.result).where(_TABLE.c.walk_forward_id == walk_forward_id)
        with self._engine.connect() as conn:
            return conn.execute(query).scalar()

    def set_job(self, walk_forward_id: str, job_id: str) -> None:
        """Remember the RQ job."""
        self._update(walk_forward_id, None, job_id=job_id)

    def mark_running(self, walk_forward_id: str) -> bool:
        """``queued`` -> ``running``."""
        return self._update(walk_forward_id, ("queued",), status="running", started_at=_now())

    def set_progress(self, walk_forward_id: str, progress: float) -> None:
        """Progress of a running run."""
        self._update(walk_forward_id, ("running",), progress=progress)

    def finish(self, walk_forward_id: str, result: Mapping[str, Any]) -> bool:
        """Store the result."""
        return self._update(
            walk_forward_id,
            ACTIVE,
            status="finished",
            progress=1.0,
            result=dict(result),
            finished_at=_now(),
        )

    def fail(self, walk_forward_id: str, reason: str) -> bool:
        """Mark an active run failed."""
        return self._update(
            walk_forward_id, ACTIVE, status="failed", error=reason, finished_at=_now()
        )

    def cancel(self, walk_forward_id: str) -> bool:
        """Mark an active run cancelled (the job stops at its next check)."""
        return self._update(walk_forward_id, ACTIVE, status="cancelled", finished_at=_now())

    def record_fold(
        self, walk_forward_id: str, fold: int, outcome: Mapping[str, Any], error: str | None = None
    ) -> int:
        """Store fold ``fold``'s outcome (``ok``; ``failed`` when ``error`` is given) unless
        it is already stored (a retried job); the number of folds stored."""
        values = {
            "walk_forward_id": walk_forward_id,
            "fold": fold,
            "status": "ok" if error is None else "failed",
            "result": dict(outcome),
            "error": error,
            "finished_at": _now(),
        }
        try:
            with self._engine.begin() as conn:
                conn.execute(_FOLDS.insert().values(**values))
        except IntegrityError:
            pass
        return len(self.folds(walk_forward_id))

    def folds(self, walk_forward_id: str) -> dict[int, dict[str, Any]]:
        """Stored fold outcomes by fold index."""
        query = sa.select(_FOLDS.c.fold, _FOLDS.c.result).where(
            _FOLDS.c.walk_forward_id == walk_forward_id
        )
        with self._engine.connect() as conn:
            return {int(fold): result for fold, result in conn.execute(query)}

    def _update(self, walk_forward_id: str, allowed: tuple[str, ...] | None, **values: Any) -> bool:
        query = _TABLE.update().where(_TABLE.c.walk_forward_id == walk_forward_id)
        if allowed is not None:
            query = query.where(_TABLE.c.status.in_(allowed))
        with self._engine.begin() as conn:
            done = conn.execute(query.values(**values))
        return bool(done.rowcount)


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")
