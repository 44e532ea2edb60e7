"""The ``collection_jobs`` and ``collection_sessions`` tables: schedules and their runs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from engine.errors import ConfigError
from engine.storage.models import Base

_JOBS = Base.metadata.tables["collection_jobs"]
_SESSIONS = Base.metadata.tables["collection_sessions"]

JOB_STATUSES = ("scheduled", "running", "ok", "failed", "disabled")
SESSION_STATUSES = ("queued", "running", "ok", "failed", "cancelled")


class CollectionExists(ConfigError):
    """A collection for this source, symbol and timeframe exists already (a ``conflict``)."""


def _now() -> datetime:
    return datetime.now(UTC)


def _row(mapping: Any) -> dict[str, Any]:
    return dict(mapping)


class CollectionStore:
    """Reads and writes collection jobs and sessions; one short transaction per call.

    Rows come back as plain dicts with the column names as keys (datetimes aware UTC).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- jobs -------------------------------------------------------------------------------
    def add_job(
        self, *, source: str, symbol: str, timeframe: str, interval_s: int, since_ms: int
    ) -> dict[str, Any]:
        """Create an enabled job; CollectionExists when the series has one already."""
        values = {
            "source": source,
            "symbol": symbol,
            "timeframe": timeframe,
            "interval_s": interval_s,
            "since_ms": since_ms,
            "enabled": True,
            "status": "scheduled",
            "failures": 0,
            "created_at": _now(),
        }
        try:
            with self.engine.begin() as conn:
                key = conn.execute(sa.insert(_JOBS).values(**values)).inserted_primary_key
                assert key is not None
                job_id = key[0]
        except sa.exc.IntegrityError:
            raise CollectionExists(
                f"a collection for {source} {symbol} {timeframe} exists already: edit that one"
            ) from None
        job = self.get_job(int(job_id))
        assert job is not None
        return job

    def get_job(self, job_id: int) -> dict[str, Any] | None:
        """One job, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(_JOBS).where(_JOBS.c.id == job_id)).mappings().first()
        return None if row is None else _row(row)

    def list_jobs(self) -> list[dict[str, Any]]:
        """Every job, by symbol, timeframe, source."""
        query = sa.select(_JOBS).order_by(_JOBS.c.symbol, _JOBS.c.timeframe, _JOBS.c.source)
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(query).mappings()]

    def update_job(self, job_id: int, **values: Any) -> dict[str, Any] | None:
        """Change columns of a job; returns the new row, None if there is no such job."""
        unknown = set(values) - set(_JOBS.c.keys())
        if unknown:
            raise ConfigError(f"unknown collection job field(s): {', '.join(sorted(unknown))}")
        with self.engine.begin() as conn:
            conn.execute(sa.update(_JOBS).where(_JOBS.c.id == job_id).values(**values))
        return self.get_job(job_id)

    def delete_job(self, job_id: int) -> bool:
        """Delete a job and its sessions; False if there was none."""
        with self.engine.begin() as conn:
            conn.execute(sa.delete(_SESSIONS).where(_SESSIONS.c.job_id == job_id))
            return bool(conn.execute(sa.delete(_JOBS).where(_JOBS.c.id == job_id)).rowcount)

    # -- sessions ---------------------------------------------------------------------------
    def start_session(
        self,
        *,
        kind: str,
        source: str,
        symbol: str,
        timeframe: str,
        job_id: int | None = None,
        status: str = "running",
        rq_job_id: str | None = None,
    ) -> dict[str, Any]:
        """Record a new run (``collection`` or ``download``)."""
        values = {
            "job_id": job_id,
            "kind": kind,
            "source": source,
            "symbol": symbol,
            "timeframe": timeframe,
            "status": status,
            "started_at": _now(),
            "bars_added": 0,
            "bars_expected": 0,
            "gaps_found": 0,
            "gaps_filled": 0,
            "rq_job_id": rq_job_id,
        }
        with self.engine.begin() as conn:
            key = conn.execute(sa.insert(_SESSIONS).values(**values)).inserted_primary_key
            assert key is not None
            sid = key[0]
        session = self.get_session(int(sid))
        assert session is not None
        return session

    def update_session(self, session_id: int, **values: Any) -> None:
        """Change columns of a session (progress, the final counts, the status)."""
        if values.get("status") in ("ok", "failed", "cancelled"):
            values.setdefault("finished_at", _now())
        with self.engine.begin() as conn:
            conn.execute(sa.update(_SESSIONS).where(_SESSIONS.c.id == session_id).values(**values))

    def get_session(self, session_id: int) -> dict[str, Any] | None:
        """One session, or None."""
        query = sa.select(_SESSIONS).where(_SESSIONS.c.id == session_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else _row(row)

    def list_sessions(
        self, *, job_id: int | None = None, status: tuple[str, ...] | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        """Sessions newest first, optionally of one job and/or with given statuses."""
        query = sa.select(_SESSIONS).order_by(_SESSIONS.c.id.desc()).limit(limit)
        if job_id is not None:
            query = query.where(_SESSIONS.c.job_id == job_id)
        if status:
            query = query.where(_SESSIONS.c.status.in_(status))
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(query).mappings()]
