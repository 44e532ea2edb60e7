"""The ``trading_setups`` and ``strategy_signals`` tables.

Setups are plain rows (dicts with the column names; datetimes aware UTC). Signals are written
with "insert unless the (setup, symbol, timeframe, time, strategy) row exists", so computing
the same bars twice never duplicates a signal.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from engine.errors import ConfigError
from engine.storage.models import SETUP_STATUSES, Base

_SETUPS = Base.metadata.tables["trading_setups"]
_SIGNALS = Base.metadata.tables["strategy_signals"]
_SIGNAL_KEY = ("setup_id", "symbol", "timeframe", "time", "strategy")
SETUP_FIELDS = ("timeframes", "indicators", "strategies", "status", "collection_ids")


def _now() -> datetime:
    return datetime.now(UTC)


class SetupStore:
    """Reads and writes setups and their signals; one short transaction per call."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- setups -----------------------------------------------------------------------------
    def create(
        self,
        *,
        symbol: str,
        source: str,
        timeframes: list[str],
        indicators: list[str],
        strategies: list[str],
        signal_state: dict[str, Any],
    ) -> dict[str, Any]:
        """Insert an ``active`` setup; returns the row."""
        now = _now()
        values = {
            "symbol": symbol,
            "source": source,
            "timeframes": timeframes,
            "indicators": indicators,
            "strategies": strategies,
            "status": "active",
            "collection_ids": [],
            "signal_state": signal_state,
            "last_error": None,
            "created_at": now,
            "updated_at": now,
        }
        with self.engine.begin() as conn:
            key = conn.execute(sa.insert(_SETUPS).values(**values)).inserted_primary_key
            assert key is not None
        found = self.get(int(key[0]))
        assert found is not None
        return found

    def get(self, setup_id: int) -> dict[str, Any] | None:
        """One setup, or None."""
        query = sa.select(_SETUPS).where(_SETUPS.c.id == setup_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else dict(row)

    def list(self, *, status: str | None = None, symbol: str | None = None) -> list[dict[str, Any]]:
        """Setups, newest first, optionally by status and/or symbol."""
        query = sa.select(_SETUPS).order_by(_SETUPS.c.id.desc())
        if status:
            if status not in SETUP_STATUSES:
                raise ConfigError(f"status {status!r}: expected one of {', '.join(SETUP_STATUSES)}")
            query = query.where(_SETUPS.c.status == status)
        if symbol:
            query = query.where(_SETUPS.c.symbol == symbol)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def update(self, setup_id: int, **values: Any) -> dict[str, Any] | None:
        """Change columns of a setup (``updated_at`` follows); the new row or None."""
        unknown = set(values) - set(_SETUPS.c.keys())
        if unknown:
            raise ConfigError(f"unknown setup field(s): {', '.join(sorted(unknown))}")
        values["updated_at"] = _now()
        with self.engine.begin() as conn:
            conn.execute(sa.update(_SETUPS).where(_SETUPS.c.id == setup_id).values(**values))
        return self.get(setup_id)

    def set_signal_state(self, setup_id: int, timeframe: str, state: Mapping[str, Any]) -> None:
        """Record how far the signals of one timeframe are computed (read-modify-write in one
        transaction, so two timeframes' jobs do not overwrite each other)."""
        with self.engine.begin() as conn:
            current = conn.execute(
                sa.select(_SETUPS.c.signal_state).where(_SETUPS.c.id == setup_id)
            ).scalar()
            if current is None:
                return
            merged = {**current, timeframe: dict(state)}
            conn.execute(
                sa.update(_SETUPS).where(_SETUPS.c.id == setup_id).values(signal_state=merged)
            )

    def delete(self, setup_id: int) -> bool:
        """Delete a setup and its signals; False if there was none."""
        with self.engine.begin() as conn:
            conn.execute(sa.delete(_SIGNALS).where(_SIGNALS.c.setup_id == setup_id))
            return bool(conn.execute(sa.delete(_SETUPS).where(_SETUPS.c.id == setup_id)).rowcount)

    # -- signals ----------------------------------------------------------------------------
    def add_signals(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Insert the signals not stored yet (by their unique key); how many were new."""
        rows = [dict(r) for r in rows]
        if not rows:
            return 0
        now = _now()
        added = 0
        with self.engine.begin() as conn:
            for row in rows:
                key = [(_SIGNALS.c[k] == row[k]) for k in _SIGNAL_KEY]
                if conn.execute(sa.select(_SIGNALS.c.id).where(*key)).first() is not None:
                    continue
                conn.execute(sa.insert(_SIGNALS).values(created_at=now, **row))
                added += 1
        return added

    def signals(
        self,
        *,
        setup_id: int | None = None,
        symbol: str | None = None,
        timeframe: str | None = None,
        strategy: str | None = None,
        since_ms: int | None = None,
        after_id: int | None = None,
        limit: int = 100,
    ) -> builtins.list[dict[str, Any]]:
        """Signals newest first (bar time, then id), filtered."""
        query = sa.select(_SIGNALS).order_by(_SIGNALS.c.time.desc(), _SIGNALS.c.id.desc())
        filters = {"setup_id": setup_id, "symbol": symbol, "timeframe": timeframe}
        for name, value in filters.items():
            if value is not None:
                query = query.where(_SIGNALS.c[name] == value)
        if strategy:
            query = query.where(_SIGNALS.c.strategy == strategy)
        if since_ms is not None:
            query = query.where(_SIGNALS.c.time >= since_ms)
        if after_id is not None:
            query = query.where(_SIGNALS.c.id > after_id)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query.limit(limit)).mappings()]

    def last_signals(self, setup_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """The newest signal of each setup (setups without one are absent)."""
        out: dict[int, dict[str, Any]] = {}
        for setup_id in setup_ids:
            found = self.signals(setup_id=setup_id, limit=1)
            if found:
                out[setup_id] = found[0]
        return out
