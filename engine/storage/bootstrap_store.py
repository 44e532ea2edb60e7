"""Stored candle bootstraps: paths, block and seed, status, paths done and the result JSON.

The API creates a ``queued`` row, the job moves it to ``running`` (counting paths done) and
then ``finished`` (with the result), ``failed`` (with the reason) or ``cancelled``; terminal
rows never change status again.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from engine.storage.models import Base

_TABLE = Base.metadata.tables["candle_bootstraps"]
ACTIVE = ("queued", "running")


class CandleBootstrapStore:
    """Reads and writes ``candle_bootstraps``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(
        self, bootstrap_id: str, backtest_id: str, *, paths: int, block: int, seed: int
    ) -> None:
        """Insert a queued bootstrap."""
        with self._engine.begin() as conn:
            conn.execute(
                _TABLE.insert().values(
                    bootstrap_id=bootstrap_id,
                    backtest_id=backtest_id,
                    status="queued",
                    paths=paths,
                    block=block,
                    seed=seed,
                    done=0,
                    job_id=None,
                    result=None,
                    error=None,
                    created_at=_now(),
                    started_at=None,
                    finished_at=None,
                )
            )

    def get(self, bootstrap_id: str) -> dict[str, Any] | None:
        """The row as plain data (times ISO, ``progress`` = done / paths), or None."""
        query = sa.select(_TABLE).where(_TABLE.c.bootstrap_id == bootstrap_id)
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        out = dict(row._mapping)
        for key in ("created_at", "started_at", "finished_at"):
            moment = out[key]
            out[key] = None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        out["progress"] = round(out["done"] / out["paths"], 4) if out["paths"] else 0.0
        return out

    def status(self, bootstrap_id: str) -> str | None:
        """Just the status (what a running job polls to see a cancel)."""
        query = sa.select(_TABLE.c.status).where(_TABLE.c.bootstrap_id == bootstrap_id)
        with self._engine.connect() as conn:
            return conn.execute(query).scalar()

    def set_job(self, bootstrap_id: str, job_id: str) -> None:
        """Remember the RQ job."""
        self._update(bootstrap_id, None, job_id=job_id)

    def mark_running(self, bootstrap_id: str) -> bool:
        """``queued`` -> ``running``; False when it is no longer queued (cancelled)."""
        return self._update(bootstrap_id, ("queued",), status="running", started_at=_now())

    def set_done(self, bootstrap_id: str, done: int) -> None:
        """Paths finished so far."""
        self._update(bootstrap_id, ("running",), done=done)

    def finish(self, bootstrap_id: str, result: Mapping[str, Any]) -> bool:
        """Store the result."""
        return self._update(
            bootstrap_id,
            ACTIVE,
            status="finished",
            done=int(result["paths"]),
            result=dict(result),
            finished_at=_now(),
        )

    def fail(self, bootstrap_id: str, reason: str) -> bool:
        """Mark an active bootstrap failed."""
        return self._update(bootstrap_id, ACTIVE, status="failed", error=reason, finished_at=_now())

    def cancel(self, bootstrap_id: str) -> bool:
        """Mark an active bootstrap cancelled (the job stops at its next path)."""
        return self._update(bootstrap_id, ACTIVE, status="cancelled", finished_at=_now())

    def _update(self, bootstrap_id: str, allowed: tuple[str, ...] | None, **values: Any) -> bool:
        query = _TABLE.update().where(_TABLE.c.bootstrap_id == bootstrap_id)
        if allowed is not None:
            query = query.where(_TABLE.c.status.in_(allowed))
        with self._engine.begin() as conn:
            done = conn.execute(query.values(**values))
        return bool(done.rowcount)


def _now() -> datetime:
    return datetime.now(UTC)
