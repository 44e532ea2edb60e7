"""Runner configurations, their persisted runtime state and their closed positions."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, RowMapping

from engine.errors import ConfigError
from engine.storage.models import DESIRED_STATUSES, Base

_RUNNERS = Base.metadata.tables["runners"]
_POSITIONS = Base.metadata.tables["closed_positions"]

POSITION_FIELDS: dict[str, type] = {
    "side": str,
    "entry_time": int,
    "exit_time": int,
    "entry_price": float,
    "exit_price": float,
    "quantity": float,
    "pnl": float,
    "pnl_pct": float,
    "commission": float,
    "exit_reason": str,
    "bars_held": int,
    "mfe": float,
    "mae": float,
}
"""A closed position's fields and types: the ``runner:<id>:positions`` format of docs/redis.md."""

MAX_RUNNER_ID_LENGTH = 64


class RunnerExists(ConfigError):
    """A runner with this id is already stored: choose another id (a ``conflict``)."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, kw_only=True)
class RunnerRecord:
    """One row of ``runners``. Datetimes are aware UTC; ``state`` is None until first saved.

    Raises ConfigError for an empty or too long id, an unknown status or naive datetimes.
    """

    runner_id: str
    symbol: str
    timeframe: str
    strategy_path: str
    params: dict[str, Any]
    window_size: int
    desired_status: str
    created_at: datetime = field(default_factory=_utc_now)
    updated_at: datetime = field(default_factory=_utc_now)
    state: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if not 0 < len(self.runner_id) <= MAX_RUNNER_ID_LENGTH:
            raise ConfigError(
                f"runner id {self.runner_id!r}: expected 1..{MAX_RUNNER_ID_LENGTH} characters"
            )
        _check_status(self.desired_status)
        if self.created_at.tzinfo is None or self.updated_at.tzinfo is None:
            raise ConfigError(f"runner {self.runner_id!r}: created_at/updated_at must be aware")


class RunnerStore:
    """Reads and writes runners and closed positions; one short transaction per call."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, record: RunnerRecord) -> None:
        """Insert a new runner; raise RunnerExists if its id is taken."""
        try:
            with self._engine.begin() as conn:
                conn.execute(sa.insert(_RUNNERS).values(_runner_row(record)))
        except sa.exc.IntegrityError:
            if self.get(record.runner_id) is None:
                raise
            raise RunnerExists(f"runner {record.runner_id!r} already exists") from None

    def get(self, runner_id: str) -> RunnerRecord | None:
        """The runner with this id, or None."""
        query = sa.select(_RUNNERS).where(_RUNNERS.c.runner_id == runner_id)
        with self._engine.begin() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else _record(row)

    def list(self) -> builtins.list[RunnerRecord]:
        """Every runner, oldest first (by ``created_at``, then id)."""
        query = sa.select(_RUNNERS).order_by(_RUNNERS.c.created_at, _RUNNERS.c.runner_id)
        with self._engine.begin() as conn:
            rows = conn.execute(query).mappings().all()
        return [_record(row) for row in rows]

    def set_status(self, runner_id: str, status: str) -> bool:
        """Set ``desired_status`` (running, paused or stopped); False if there is no such runner.

        Raises ConfigError for any other status.
        """
        _check_status(status)
        return self._update(runner_id, desired_status=status)

    def save_state(self, runner_id: str, state: Mapping[str, Any]) -> bool:
        """Replace the persisted runtime state (one UPDATE); False if there is no such runner."""
        return self._update(runner_id, state=dict(state))

    def delete(self, runner_id: str) -> bool:
        """Delete the runner and its closed positions; False if there was no such runner."""
        with self._engine.begin() as conn:
            result = conn.execute(sa.delete(_RUNNERS).where(_RUNNERS.c.runner_id == runner_id))
        return result.rowcount > 0

    def add_closed_positions(self, runner_id: str, trades: Sequence[Mapping[str, Any]]) -> None:
        """Append closed trades (dicts with ``POSITION_FIELDS``; other keys are ignored).

        Raises ConfigError if a trade lacks a field, IntegrityError if the runner is unknown.
        """
        rows = [_position_row(runner_id, index, trade) for index, trade in enumerate(trades)]
        if not rows:
            return
        with self._engine.begin() as conn:
            conn.execute(sa.insert(_POSITIONS), rows)

    def closed_positions(self, runner_id: str, limit: int = 100) -> builtins.list[dict[str, Any]]:
        """The runner's latest closed positions, newest exit first, as ``POSITION_FIELDS`` dicts."""
        query = (
            sa.select(*(_POSITIONS.c[name] for name in POSITION_FIELDS))
            .where(_POSITIONS.c.runner_id == runner_id)
            .order_by(_POSITIONS.c.exit_time.desc(), _POSITIONS.c.id.desc())
            .limit(limit)
        )
        with self._engine.begin() as conn:
            rows = conn.execute(query).mappings().all()
        return [dict(row) for row in rows]

    def _update(self, runner_id: str, **values: Any) -> bool:
        query = (
            sa.update(_RUNNERS)
            .where(_RUNNERS.c.runner_id == runner_id)
            .values(**values, updated_at=_utc_now())
        )
        with self._engine.begin() as conn:
            result = conn.execute(query)
        return result.rowcount > 0


def _check_status(status: str) -> None:
    if status not in DESIRED_STATUSES:
        raise ConfigError(
            f"runner status {status!r}: expected one of {', '.join(DESIRED_STATUSES)}"
        )


def _runner_row(record: RunnerRecord) -> dict[str, Any]:
    return {item.name: getattr(record, item.name) for item in fields(record)}


def _record(row: RowMapping) -> RunnerRecord:
    return RunnerRecord(**{column.name: row[column.name] for column in _RUNNERS.columns})


def _position_row(runner_id: str, index: int, trade: Mapping[str, Any]) -> dict[str, Any]:
    """Coerce with the field types so numpy scalars (np.int64 is no int) can be bound."""
    missing = [name for name in POSITION_FIELDS if name not in trade]
    if missing:
        raise ConfigError(f"closed position #{index}: missing {', '.join(missing)}")
    row = {name: kind(trade[name]) for name, kind in POSITION_FIELDS.items()}
    row["runner_id"] = runner_id
    return row
