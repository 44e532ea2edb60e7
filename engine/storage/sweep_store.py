"""Stored sweeps and their per-combination results.

The API creates a ``queued`` sweep; the parent job plans a batch (``pending`` rows with
their chunk numbers) and moves it to ``running``; chunk jobs fill rows in (``ok`` with
metrics, or ``failed`` with the reason) one combination at a time; the gather job marks
rows a lost chunk left ``pending`` as ``failed`` and the sweep ``finished`` with its best
row. Terminal sweeps never change status again (a late chunk cannot undo a cancel).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, RowMapping

from engine.errors import ConfigError
from engine.storage.models import SWEEP_STATUSES, Base

_SWEEPS = Base.metadata.tables["sweeps"]
_RESULTS = Base.metadata.tables["sweep_results"]
ACTIVE = ("queued", "running")
TERMINAL = ("finished", "failed", "cancelled")


@dataclass(frozen=True, kw_only=True)
class SweepRecord:
    """One ``sweeps`` row."""

    sweep_id: str
    status: str
    strategy_name: str
    symbol: str
    timeframe: str
    method: str
    config: dict[str, Any]
    total: int
    batches: int
    job_id: str | None
    best: dict[str, Any] | None
    error: str | None
    note: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form for the API (the backtest config without the strategy code)."""
        config = dict(self.config)
        config["backtest"] = {
            k: v for k, v in config.get("backtest", {}).items() if k != "strategy_code"
        }
        return {
            "sweep_id": self.sweep_id,
            "status": self.status,
            "strategy": self.strategy_name,
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "method": self.method,
            "config": config,
            "total": self.total,
            "best": self.best,
            "error": self.error,
            "note": self.note,
            "created_at": _iso(self.created_at),
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
        }


@dataclass(frozen=True, kw_only=True)
class Counts:
    """Combinations per result status."""

    pending: int = 0
    ok: int = 0
    failed: int = 0

    @property
    def done(self) -> int:
        """Combinations finished either way."""
        return self.ok + self.failed


class SweepStore:
    """Reads and writes ``sweeps`` and ``sweep_results``; one short transaction per call."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # -- sweeps ---------------------------------------------------------------------------
    def create(self, sweep_id: str, config: Mapping[str, Any], total: int) -> SweepRecord:
        """Insert a ``queued`` sweep for a ``SweepConfig.to_dict()``."""
        backtest = config["backtest"]
        row = {
            "sweep_id": sweep_id,
            "status": "queued",
            "strategy_name": str(backtest["strategy_name"])[:128],
            "symbol": backtest["data"]["symbol"],
            "timeframe": backtest["data"]["timeframe"],
            "method": config["method"],
            "config": dict(config),
            "total": total,
            "batches": 0,
            "job_id": None,
            "best": None,
            "error": None,
            "note": str(backtest.get("note") or "")[:500],
            "created_at": _now(),
            "started_at": None,
            "finished_at": None,
        }
        with self._engine.begin() as conn:
            conn.execute(_SWEEPS.insert().values(**row))
        return SweepRecord(**row)

    def get(self, sweep_id: str) -> SweepRecord | None:
        """The sweep, or None."""
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(_SWEEPS).where(_SWEEPS.c.sweep_id == sweep_id)).first()
        return None if row is None else _record(row._mapping)

    def status(self, sweep_id: str) -> str | None:
        """Just the status (what a chunk polls to notice a cancel)."""
        with self._engine.connect() as conn:
            query = sa.select(_SWEEPS.c.status).where(_SWEEPS.c.sweep_id == sweep_id)
            return conn.execute(query).scalar()

    def recent(self, *, status: str | None = None, limit: int = 100) -> list[SweepRecord]:
        """Newest first."""
        query = sa.select(_SWEEPS).order_by(_SWEEPS.c.created_at.desc()).limit(limit)
        if status:
            if status not in SWEEP_STATUSES:
                raise ConfigError(f"status {status!r}: expected one of {', '.join(SWEEP_STATUSES)}")
            query = query.where(_SWEEPS.c.status == status)
        with self._engine.connect() as conn:
            return [_record(r._mapping) for r in conn.execute(query)]

    def set_job(self, sweep_id: str, job_id: str) -> None:
        """Remember the parent job."""
        with self._engine.begin() as conn:
            conn.execute(_by_id(sweep_id).values(job_id=job_id))

    def plan_batch(
        self, sweep_id: str, batch: int, combos: Sequence[Mapping[str, Any]], chunk_size: int
    ) -> int:
        """Insert ``combos`` as ``pending`` rows after the existing ones, ``chunk_size`` per
        chunk (chunk numbers continue across batches); the sweep becomes ``running``.
        Returns the number of chunks of this batch (0 when the sweep is no longer active)."""
        with self._engine.begin() as conn:
            moved = conn.execute(
                _by_id(sweep_id)
                .where(_SWEEPS.c.status.in_(ACTIVE))
                .values(status="running", batches=batch + 1)
            )
            if not moved.rowcount:
                return 0
            conn.execute(
                _by_id(sweep_id).where(_SWEEPS.c.started_at.is_(None)).values(started_at=_now())
            )
            start = (
                conn.execute(
                    sa.select(sa.func.count()).where(_RESULTS.c.sweep_id == sweep_id)
                ).scalar()
                or 0
            )
            first_chunk = (
                conn.execute(
                    sa.select(sa.func.coalesce(sa.func.max(_RESULTS.c.chunk) + 1, 0)).where(
                        _RESULTS.c.sweep_id == sweep_id
                    )
                ).scalar()
                or 0
            )
            rows = [
                {
                    "sweep_id": sweep_id,
                    "combo_index": start + i,
                    "batch": batch,
                    "chunk": first_chunk + i // chunk_size,
                    "params": dict(params),
                    "status": "pending",
                    "metrics": None,
                    "objective": None,
                    "feasible": False,
                    "error": None,
                    "seconds": None,
                    "finished_at": None,
                }
                for i, params in enumerate(combos)
            ]
            if rows:
                conn.execute(_RESULTS.insert(), rows)
        return -(-len(rows) // chunk_size) if rows else 0

    def first_chunk(self, sweep_id: str, batch: int) -> int:
        """The number of the first chunk of ``batch``."""
        with self._engine.connect() as conn:
            query = sa.select(sa.func.min(_RESULTS.c.chunk)).where(
                _RESULTS.c.sweep_id == sweep_id, _RESULTS.c.batch == batch
            )
            return int(conn.execute(query).scalar() or 0)

    def finish(self, sweep_id: str, best: Mapping[str, Any] | None) -> bool:
        """Mark an active sweep finished with its best row (None when nothing qualified)."""
        return self._move(sweep_id, status="finished", best=None if best is None else dict(best))

    def fail(self, sweep_id: str, reason: str) -> bool:
        """Mark an active sweep failed."""
        return self._move(sweep_id, status="failed", error=reason)

    def cancel(self, sweep_id: str) -> bool:
        """Mark an active sweep cancelled (its chunks stop at their next check)."""
        return self._move(sweep_id, status="cancelled")

    def delete(self, sweep_id: str) -> bool:
        """Delete the sweep and its results."""
        with self._engine.begin() as conn:
            conn.execute(_RESULTS.delete().where(_RESULTS.c.sweep_id == sweep_id))
            done = conn.execute(_SWEEPS.delete().where(_SWEEPS.c.sweep_id == sweep_id))
        return bool(done.rowcount)

    def _move(self, sweep_id: str, **values: Any) -> bool:
        with self._engine.begin() as conn:
            done = conn.execute(
                _by_id(sweep_id)
                .where(_SWEEPS.c.status.in_(ACTIVE))
                .values(finished_at=_now(), **values)
            )
        return bool(done.rowcount)

    # -- results --------------------------------------------------------------------------
    def chunk_rows(self, sweep_id: str, chunk: int) -> list[dict[str, Any]]:
        """Rows of one chunk still ``pending`` (a retried chunk skips the finished ones)."""
        query = (
            sa.select(_RESULTS.c.combo_index, _RESULTS.c.params)
            .where(
                _RESULTS.c.sweep_id == sweep_id,
                _RESULTS.c.chunk == chunk,
                _RESULTS.c.status == "pending",
            )
            .order_by(_RESULTS.c.combo_index)
        )
        with self._engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def record(
        self,
        sweep_id: str,
        combo_index: int,
        *,
        metrics: Mapping[str, Any] | None,
        objective: float | None,
        feasible: bool,
        error: str | None = None,
    ) -> None:
        """Write one finished combination (``ok`` with metrics, or ``failed`` with error)."""
        seconds = None if metrics is None else metrics.get("seconds")
        values = {
            "status": "failed" if error else "ok",
            "metrics": None if metrics is None else dict(metrics),
            "objective": objective,
            "feasible": feasible,
            "error": error,
            "seconds": seconds,
            "finished_at": _now(),
        }
        with self._engine.begin() as conn:
            conn.execute(
                _RESULTS.update()
                .where(
                    _RESULTS.c.sweep_id == sweep_id,
                    _RESULTS.c.combo_index == combo_index,
                    _RESULTS.c.status == "pending",
                )
                .values(**values)
            )

    def fail_pending(self, sweep_id: str, reason: str) -> int:
        """Mark every still-``pending`` row failed with ``reason`` (a lost chunk's)."""
        with self._engine.begin() as conn:
            done = conn.execute(
                _RESULTS.update()
                .where(_RESULTS.c.sweep_id == sweep_id, _RESULTS.c.status == "pending")
                .values(status="failed", error=reason, finished_at=_now())
            )
        return int(done.rowcount)

    def counts(self, sweep_id: str) -> Counts:
        """Rows per status."""
        query = (
            sa.select(_RESULTS.c.status, sa.func.count())
            .where(_RESULTS.c.sweep_id == sweep_id)
            .group_by(_RESULTS.c.status)
        )
        with self._engine.connect() as conn:
            found = {str(s): int(n) for s, n in conn.execute(query)}
        return Counts(**found)

    def results(self, sweep_id: str, *, status: str | None = None) -> list[dict[str, Any]]:
        """Every row of the sweep in combination order (``finished_at`` as ISO text)."""
        query = (
            sa.select(_RESULTS)
            .where(_RESULTS.c.sweep_id == sweep_id)
            .order_by(_RESULTS.c.combo_index)
        )
        if status:
            query = query.where(_RESULTS.c.status == status)
        with self._engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query)]
        for row in rows:
            row.pop("id", None)
            row.pop("sweep_id", None)
            row["finished_at"] = _iso(row["finished_at"])
        return rows


def _record(row: Mapping[str, Any] | RowMapping) -> SweepRecord:
    return SweepRecord(**{k: row[k] for k in SweepRecord.__dataclass_fields__})


def _by_id(sweep_id: str) -> sa.Update:
    return _SWEEPS.update().where(_SWEEPS.c.sweep_id == sweep_id)


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")
