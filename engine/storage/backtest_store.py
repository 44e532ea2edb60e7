"""Stored backtests: config, status, progress, summary metrics and the full result JSON.

The store knows nothing of the job system: the API creates a row (``queued``), the job moves it
to ``running`` and then ``finished`` (with the result), ``failed`` (with the reason) or
``cancelled``. Terminal rows never change status again, so a late job cannot undo a
``failed`` set by the stale-job check.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, RowMapping

from engine.errors import ConfigError
from engine.storage.models import BACKTEST_STATUSES, Base

_TABLE = Base.metadata.tables["backtests"]
ACTIVE = ("queued", "running")
TERMINAL = ("finished", "failed", "cancelled")
SUMMARY_KEYS = (
    "total_return_pct",
    "sharpe",
    "max_drawdown_pct",
    "win_rate_pct",
    "profit_factor",
    "num_trades",
    "pct_profitable",
    "final_equity",
    "num_runs",
    "mean_return_pct",
    "mean_sharpe",
    "mean_max_drawdown_pct",
    "total_trades",
)
"""Metrics copied into ``summary`` for the history list (the rest is in ``result``)."""


@dataclass(frozen=True, kw_only=True)
class BacktestRecord:
    """One row without the result JSON (see :meth:`BacktestStore.result`)."""

    backtest_id: str
    status: str
    strategy_name: str
    strategy_hash: str
    symbol: str
    timeframe: str
    config: dict[str, Any]
    job_id: str | None
    progress: float
    summary: dict[str, Any] | None
    error: str | None
    note: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form for the API (config without the strategy code; times ISO)."""
        config = {k: v for k, v in self.config.items() if k != "strategy_code"}
        return {
            "backtest_id": self.backtest_id,
            "status": self.status,
            "strategy": self.strategy_name,
            "strategy_hash": self.strategy_hash,
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "config": config,
            "progress": self.progress,
            "summary": self.summary,
            "error": self.error,
            "note": self.note,
            "created_at": _iso(self.created_at),
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
        }


class BacktestStore:
    """Reads and writes ``backtests``; one short transaction per call."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, backtest_id: str, config: Mapping[str, Any]) -> BacktestRecord:
        """Insert a ``queued`` backtest for a ``BacktestConfig.to_dict()``."""
        data = config["data"]
        row = {
            "backtest_id": backtest_id,
            "status": "queued",
            "strategy_name": str(config["strategy_name"])[:128],
            "strategy_hash": config["strategy_hash"],
            "symbol": data["symbol"],
            "timeframe": data["timeframe"],
            "config": dict(config),
            "job_id": None,
            "progress": 0.0,
            "summary": None,
            "result": None,
            "error": None,
            "note": str(config.get("note") or "")[:500],
            "created_at": datetime.now(UTC),
            "started_at": None,
            "finished_at": None,
        }
        with self._engine.begin() as conn:
            conn.execute(_TABLE.insert().values(**row))
        return self._record(row)

    def set_job(self, backtest_id: str, job_id: str) -> None:
        """Remember the RQ job that runs this backtest."""
        with self._engine.begin() as conn:
            conn.execute(_by_id(backtest_id).values(job_id=job_id))

    def get(self, backtest_id: str) -> BacktestRecord | None:
        """The backtest, or None if there is none with this id."""
        with self._engine.connect() as conn:
            row = conn.execute(_select().where(_TABLE.c.backtest_id == backtest_id)).first()
        return None if row is None else self._record(row._mapping)

    def result(self, backtest_id: str) -> dict[str, Any] | None:
        """The full result JSON of a finished backtest (None otherwise)."""
        with self._engine.connect() as conn:
            value = conn.execute(
                sa.select(_TABLE.c.result).where(_TABLE.c.backtest_id == backtest_id)
            ).scalar()
        return value

    def list(
        self,
        *,
        status: str | None = None,
        strategy: str | None = None,
        symbol: str | None = None,
        limit: int = 100,
    ) -> list[BacktestRecord]:
        """Newest first, optionally filtered (strategy and symbol case-insensitive)."""
        query = _select().order_by(_TABLE.c.created_at.desc()).limit(limit)
        if status:
            _check_status(status)
            query = query.where(_TABLE.c.status == status)
        if strategy:
            query = query.where(sa.func.lower(_TABLE.c.strategy_name) == strategy.lower())
        if symbol:
            query = query.where(sa.func.lower(_TABLE.c.symbol) == symbol.lower())
        with self._engine.connect() as conn:
            return [self._record(r._mapping) for r in conn.execute(query)]

    def count_active(self) -> int:
        """Backtests queued or running (the queue cap counts these)."""
        with self._engine.connect() as conn:
            query = sa.select(sa.func.count()).where(_TABLE.c.status.in_(ACTIVE))
            return int(conn.execute(query).scalar() or 0)

    def mark_running(self, backtest_id: str) -> bool:
        """``queued`` -> ``running``; False when the row is gone or already terminal."""
        return self._move(backtest_id, ("queued",), status="running", started_at=_now())

    def set_progress(self, backtest_id: str, progress: float) -> None:
        """Store the progress of a running backtest (the live value is in the job meta)."""
        with self._engine.begin() as conn:
            conn.execute(
                _by_id(backtest_id).where(_TABLE.c.status == "running").values(progress=progress)
            )

    def finish(self, backtest_id: str, result: Mapping[str, Any]) -> bool:
        """Store the result and its summary; False when the backtest is no longer active."""
        metrics = result.get("metrics") or {}
        summary = {k: metrics[k] for k in SUMMARY_KEYS if k in metrics}
        summary.update(start_time=result.get("start_time"), end_time=result.get("end_time"))
        summary.update(num_runs=result.get("num_runs"), bars=result.get("bars"))
        if "mean_return_pct" in metrics:  # randomized runs: the means stand for the whole
            summary.update(
                total_return_pct=metrics["mean_return_pct"],
                sharpe=metrics["mean_sharpe"],
                max_drawdown_pct=metrics["mean_max_drawdown_pct"],
                num_trades=metrics["total_trades"],
            )
        return self._move(
            backtest_id,
            ACTIVE,
            status="finished",
            progress=1.0,
            result=dict(result),
            summary=summary,
            finished_at=_now(),
        )

    def fail(self, backtest_id: str, reason: str) -> bool:
        """Mark an active backtest failed with ``reason``."""
        return self._move(backtest_id, ACTIVE, status="failed", error=reason, finished_at=_now())

    def cancel(self, backtest_id: str) -> bool:
        """Mark an active backtest cancelled."""
        return self._move(backtest_id, ACTIVE, status="cancelled", finished_at=_now())

    def delete(self, backtest_id: str) -> bool:
        """Delete the row (and its result); False if there was none."""
        with self._engine.begin() as conn:
            done = conn.execute(_TABLE.delete().where(_TABLE.c.backtest_id == backtest_id))
        return bool(done.rowcount)

    def _move(self, backtest_id: str, allowed: tuple[str, ...], **values: Any) -> bool:
        with self._engine.begin() as conn:
            done = conn.execute(
                _by_id(backtest_id).where(_TABLE.c.status.in_(allowed)).values(**values)
            )
        return bool(done.rowcount)

    @staticmethod
    def _record(row: Mapping[str, Any] | RowMapping) -> BacktestRecord:
        return BacktestRecord(**{k: row[k] for k in BacktestRecord.__dataclass_fields__})


def _select() -> sa.Select[Any]:
    return sa.select(*[c for c in _TABLE.c if c.name != "result"])


def _by_id(backtest_id: str) -> sa.Update:
    return _TABLE.update().where(_TABLE.c.backtest_id == backtest_id)


def _check_status(status: str) -> None:
    if status not in BACKTEST_STATUSES:
        raise ConfigError(f"status {status!r}: expected one of {', '.join(BACKTEST_STATUSES)}")


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")
