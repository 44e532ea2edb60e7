"""Runner configurations, their persisted runtime state and their closed trades."""

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
_POSITIONS = Base.metadata.tables["runner_trades"]

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
"""A closed trade's fields and types (a ``runner_trades`` row, and ``/positions``' ``closed``)."""

MAX_RUNNER_ID_LENGTH = 64


class RunnerExists(ConfigError):
    """A runner with this id is already stored: choose another id (a ``conflict``)."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, kw_only=True)
class RunnerRecord:
    """One row of ``runners``. Datetimes are aware UTC; ``state`` is None until first saved;
    ``strategy_code``/``strategy_hash`` are the code the runner runs (None only for rows made
    before revision 0002).

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
    strategy_code: str | None = None
    strategy_hash: str | None = None

    def __post_init__(self) -> None:
        if not 0 < len(self.runner_id) <= MAX_RUNNER_ID_LENGTH:
            raise ConfigError(
                f"runner id {self.runner_id!r}: expected 1..{MAX_RUNNER_ID_LENGTH} characters"
            )
        _check_status(self.desired_status)
        if self.created_at.tzinfo is None or self.updated_at.tzinfo is None:
            raise ConfigError(f"runner {self.runner_id!r}: created_at/updated_at must be aware")


class RunnerStore:
    """Reads and writes runners and their closed trades; one short transaction per call."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def db(self) -> Engine:
        """The SQLAlchemy engine this store uses."""
        return self._engine

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

    def save_states(self, states: Mapping[str, Mapping[str, Any]]) -> None:
        """Replace the persisted state of several runners in one transaction (unknown ids
        are skipped)."""
        if not states:
            return
        now = _utc_now()
        query = (
            sa.update(_RUNNERS)
            .where(_RUNNERS.c.runner_id == sa.bindparam("rid"))
            .values(state=sa.bindparam("new_state"), updated_at=now)
        )
        rows = [{"rid": rid, "new_state": dict(state)} for rid, state in states.items()]
        with self._engine.begin() as conn:
            conn.execute(query, rows)

    def quarantine(self, runner_id: str, message: str, file: str) -> bool:
        """Put a runner in error with ``message`` (stored as stopped with the error in its
        state, so it stays there across restarts until started again); False if unknown."""
        record = self.get(runner_id)
        if record is None:
            return False
        state = dict(record.state or {})
        state.update(status="error", error={"file": file, "line": None, "message": message})
        return self._update(runner_id, state=state, desired_status="stopped")

    def delete(self, runner_id: str) -> bool:
        """Delete the runner and its closed positions; False if there was no such runner."""
        with self._engine.begin() as conn:
            result = conn.execute(sa.delete(_RUNNERS).where(_RUNNERS.c.runner_id == runner_id))
        return result.rowcount > 0

    def add_closed_positions(
        self,
        runner_id: str,
        trades: Sequence[Mapping[str, Any]],
        *,
        state: Mapping[str, Any] | None = None,
    ) -> None:
        """Append closed trades to ``runner_trades`` (dicts with ``POSITION_FIELDS``; other keys
        are ignored) and, when given, save ``state`` in the same transaction, so a crash never
        keeps a trade whose position the saved state still holds open.

        Raises ConfigError if a trade lacks a field, IntegrityError if the runner is unknown.
        """
        rows = [_position_row(runner_id, index, trade) for index, trade in enumerate(trades)]
        if not rows:
            return
        with self._engine.begin() as conn:
            conn.execute(sa.insert(_POSITIONS), rows)
            if state is not None:
                conn.execute(
                    sa.update(_RUNNERS)
                    .where(_RUNNERS.c.runner_id == runner_id)
                    .values(state=dict(state), updated_at=_utc_now())
                )

    def add_trades_and_states(
        self,
        trades: Mapping[str, Sequence[Mapping[str, Any]]],
        states: Mapping[str, Mapping[str, Any]],
    ) -> None:
        """Append several runners' closed trades and save several runners' states in one
        transaction (a runner host's batch of bars: one commit instead of one per change)."""
        rows = [
            _position_row(rid, index, trade)
            for rid, batch in trades.items()
            for index, trade in enumerate(batch)
        ]
        if not rows and not states:
            return
        now = _utc_now()
        update = (
            sa.update(_RUNNERS)
            .where(_RUNNERS.c.runner_id == sa.bindparam("rid"))
            .values(state=sa.bindparam("new_state"), updated_at=now)
        )
        with self._engine.begin() as conn:
            if rows:
                conn.execute(sa.insert(_POSITIONS), rows)
            if states:
                conn.execute(
                    update, [{"rid": rid, "new_state": dict(st)} for rid, st in states.items()]
                )

    def trade_counts(self) -> dict[str, tuple[int, int, float]]:
        """Per runner id: (trades, winning trades, summed P&L) over its stored trades."""
        pnl = _POSITIONS.c.pnl
        query = sa.select(
            _POSITIONS.c.runner_id,
            sa.func.count(),
            sa.func.sum(sa.case((pnl > 0, 1), else_=0)),
            sa.func.sum(pnl),
        ).group_by(_POSITIONS.c.runner_id)
        with self._engine.begin() as conn:
            rows = conn.execute(query).all()
        return {rid: (int(n), int(wins or 0), float(total or 0.0)) for rid, n, wins, total in rows}

    def set_strategy(self, runner_id: str, code: str, code_hash: str) -> bool:
        """Store the strategy code a runner runs (and its hash); False if there is no runner."""
        return self._update(runner_id, strategy_code=code, strategy_hash=code_hash)

    def runners_using(self, strategy_path: str) -> builtins.list[str]:
        """Ids of the runners created from ``strategy_path`` (relative to the strategy dir)."""
        query = (
            sa.select(_RUNNERS.c.runner_id)
            .where(_RUNNERS.c.strategy_path == strategy_path)
            .order_by(_RUNNERS.c.runner_id)
        )
        with self._engine.begin() as conn:
            return list(conn.execute(query).scalars().all())

    def closed_positions(self, runner_id: str, limit: int = 100) -> builtins.list[dict[str, Any]]:
        """The runner's latest closed trades, newest exit first, as ``POSITION_FIELDS`` dicts."""
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
