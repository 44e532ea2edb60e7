"""Stored no-lookahead checks (one per request): status and the comparison result."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from engine.storage.models import Base

_TABLE = Base.metadata.tables["lookahead_checks"]


class LookaheadStore:
    """Reads and writes ``lookahead_checks``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, check_id: str, backtest_id: str) -> None:
        """Insert a queued check."""
        with self._engine.begin() as conn:
            conn.execute(
                _TABLE.insert().values(
                    check_id=check_id,
                    backtest_id=backtest_id,
                    status="queued",
                    job_id=None,
                    result=None,
                    error=None,
                    created_at=datetime.now(UTC),
                    finished_at=None,
                )
            )

    def get(self, check_id: str) -> dict[str, Any] | None:
        """The check as plain data (times ISO), or None."""
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(_TABLE).where(_TABLE.c.check_id == check_id)).first()
        if row is None:
            return None
        out = dict(row._mapping)
        for key in ("created_at", "finished_at"):
            moment = out[key]
            out[key] = None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        return out

    def update(self, check_id: str, **values: Any) -> None:
        """Set ``job_id``, ``status`` (``running``), or finish with ``result`` / ``error``."""
        if values.get("status") in ("finished", "failed"):
            values["finished_at"] = datetime.now(UTC)
        with self._engine.begin() as conn:
            conn.execute(_TABLE.update().where(_TABLE.c.check_id == check_id).values(**values))

    def finish(self, check_id: str, result: Mapping[str, Any]) -> None:
        """Store the comparison."""
        self.update(check_id, status="finished", result=dict(result))
