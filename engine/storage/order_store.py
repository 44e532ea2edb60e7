"""Stored orders, their status changes and fills, the paper account, positions, risk limits
and the kill switch.

Money is ``Decimal`` in and out (``Numeric(28, 10)`` columns). Each call is one short
transaction; a fill updates the order, its events, the fill row, the account and the position
together, so a crash never leaves half a fill.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, RowMapping

from engine.storage.models import Base

_ORDERS = Base.metadata.tables["orders"]
_EVENTS = Base.metadata.tables["order_events"]
_FILLS = Base.metadata.tables["order_fills"]
_ACCOUNTS = Base.metadata.tables["paper_accounts"]
_POSITIONS = Base.metadata.tables["paper_positions"]
_LIMITS = Base.metadata.tables["risk_limits"]
PAPER = "paper"
ZERO = Decimal(0)


class DuplicateOrder(Exception):
    """An order with this ``client_order_id`` exists already (see ``OrderStore.by_client_id``)."""


@dataclass(frozen=True, kw_only=True)
class OrderRecord:
    """One order as stored."""

    order_id: str
    client_order_id: str
    mode: str
    symbol: str
    side: str
    order_type: str
    quantity: Decimal
    limit_price: Decimal | None
    stop_price: Decimal | None
    time_in_force: str
    status: str
    reason: str | None
    filled_quantity: Decimal
    avg_fill_price: Decimal | None
    fee: Decimal
    source: str
    signal_id: str | None
    armed_after_ms: int | None
    created_at: datetime
    updated_at: datetime
    exchange_order_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (money as numbers, times ISO-8601 UTC)."""
        out = {k: _json(v) for k, v in asdict(self).items()}
        out["type"] = out.pop("order_type")
        out.pop("armed_after_ms")
        return out


@dataclass(frozen=True, kw_only=True)
class FillRecord:
    """One fill of an order."""

    order_id: str
    time: datetime
    symbol: str
    side: str
    price: Decimal
    quantity: Decimal
    fee: Decimal
    realized_pnl: Decimal

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {k: _json(v) for k, v in asdict(self).items()}


@dataclass(frozen=True, kw_only=True)
class AccountRecord:
    """The paper account's cash and totals."""

    starting_balance: Decimal
    cash: Decimal
    realized_pnl: Decimal
    fees_paid: Decimal


@dataclass(frozen=True, kw_only=True)
class PositionRecord:
    """A paper position (signed quantity; short < 0)."""

    symbol: str
    quantity: Decimal
    avg_price: Decimal
    realized_pnl: Decimal
    mark_price: Decimal | None = None


@dataclass(frozen=True, kw_only=True)
class LimitsRecord:
    """Risk limits (None: no limit) and the kill switch."""

    max_order_notional: Decimal | None
    max_position_notional: Decimal | None
    max_open_orders: int | None
    max_daily_loss: Decimal | None
    kill_switch: bool = False
    kill_switch_at: datetime | None = None
    kill_switch_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {k: _json(v) for k, v in asdict(self).items()}


DEFAULT_LIMITS = LimitsRecord(
    max_order_notional=Decimal(10_000),
    max_position_notional=Decimal(20_000),
    max_open_orders=20,
    max_daily_loss=Decimal(1_000),
)
LIMIT_FIELDS = ("max_order_notional", "max_position_notional", "max_open_orders", "max_daily_loss")


class OrderStore:
    """Reads and writes the order tables."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # -- orders ---------------------------------------------------------------------------
    def insert(self, order: OrderRecord, reason: str | None = None) -> None:
        """Store a new order and its first event; DuplicateOrder when the client id is taken."""
        try:
            with self._engine.begin() as conn:
                conn.execute(_ORDERS.insert().values(**asdict(order)))
                _event(conn, order.order_id, order.status, reason, order.updated_at)
        except sa.exc.IntegrityError:
            if self.by_client_id(order.client_order_id) is None:
                raise
            raise DuplicateOrder(order.client_order_id) from None

    def update(self, order: OrderRecord, reason: str | None = None) -> OrderRecord:
        """Store a status change (and the event saying why); returns the stored order."""
        changed = replace(order, reason=reason or order.reason, updated_at=_now())
        with self._engine.begin() as conn:
            conn.execute(_by_id(changed.order_id).values(**_mutable(changed)))
            _event(conn, changed.order_id, changed.status, reason, changed.updated_at)
        return changed

    def fill(
        self,
        order: OrderRecord,
        fill: FillRecord,
        account: AccountRecord | None = None,
        position: PositionRecord | None = None,
    ) -> OrderRecord:
        """Mark ``order`` filled by ``fill`` and store the paper account and position it
        produced (None for a live fill: the exchange holds that account)."""
        now = fill.time
        filled = replace(
            order,
            status="filled",
            filled_quantity=fill.quantity,
            avg_fill_price=fill.price,
            fee=fill.fee,
            updated_at=now,
        )
        with self._engine.begin() as conn:
            conn.execute(_by_id(order.order_id).values(**_mutable(filled)))
            _event(conn, order.order_id, "filled", f"filled at {fill.price:f}", now)
            conn.execute(_FILLS.insert().values(**asdict(fill)))
            if account is None or position is None:
                return filled
            conn.execute(
                _ACCOUNTS.update()
                .where(_ACCOUNTS.c.account_id == PAPER)
                .values(**asdict(account), updated_at=now)
            )
            conn.execute(
                _POSITIONS.delete().where(
                    (_POSITIONS.c.account_id == PAPER) & (_POSITIONS.c.symbol == position.symbol)
                )
            )
            conn.execute(
                _POSITIONS.insert().values(account_id=PAPER, **asdict(position), updated_at=now)
            )
        return filled

    def get(self, order_id: str) -> OrderRecord | None:
        """One order, or None."""
        with self._engine.connect() as conn:
            row = conn.execute(_ORDERS.select().where(_ORDERS.c.order_id == order_id)).first()
        return None if row is None else _order(row._mapping)

    def by_client_id(self, client_order_id: str) -> OrderRecord | None:
        """The order placed with this client id, or None."""
        query = _ORDERS.select().where(_ORDERS.c.client_order_id == client_order_id)
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else _order(row._mapping)

    def open_orders(self) -> list[OrderRecord]:
        """Orders still working (pending or open), oldest first."""
        query = (
            _ORDERS.select()
            .where(_ORDERS.c.status.in_(("pending", "open")))
            .order_by(_ORDERS.c.created_at)
        )
        with self._engine.connect() as conn:
            return [_order(r._mapping) for r in conn.execute(query)]

    def find(
        self,
        *,
        status: str | None = None,
        symbol: str | None = None,
        side: str | None = None,
        mode: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[OrderRecord], int]:
        """Orders newest first matching the filters (a page of them) and how many match."""
        where: sa.ColumnElement[bool] = sa.true()
        for column, value in (("status", status), ("symbol", symbol), ("side", side)):
            if value is not None:
                where = where & (_ORDERS.c[column] == value)
        if mode is not None:
            where = where & (_ORDERS.c.mode == mode)
        query = (
            _ORDERS.select()
            .where(where)
            .order_by(_ORDERS.c.created_at.desc(), _ORDERS.c.order_id)
            .limit(limit)
            .offset(offset)
        )
        with self._engine.connect() as conn:
            rows = [_order(r._mapping) for r in conn.execute(query)]
            total = conn.execute(sa.select(sa.func.count()).select_from(_ORDERS).where(where))
            return rows, int(total.scalar_one())

    def events(self, order_id: str) -> list[dict[str, Any]]:
        """The order's status changes, oldest first."""
        query = _EVENTS.select().where(_EVENTS.c.order_id == order_id).order_by(_EVENTS.c.id)
        with self._engine.connect() as conn:
            return [
                {"time": _json(r.time), "status": r.status, "reason": r.reason}
                for r in conn.execute(query)
            ]

    def fills(self, order_id: str | None = None, since: datetime | None = None) -> list[FillRecord]:
        """Fills of one order, or every fill (since a time), oldest first."""
        query = _FILLS.select().order_by(_FILLS.c.id)
        if order_id is not None:
            query = query.where(_FILLS.c.order_id == order_id)
        if since is not None:
            query = query.where(_FILLS.c.time >= since)
        with self._engine.connect() as conn:
            return [
                FillRecord(**{k: v for k, v in r._mapping.items() if k != "id"})
                for r in conn.execute(query)
            ]

    # -- paper account --------------------------------------------------------------------
    def account(self, starting_balance: Decimal) -> AccountRecord:
        """The paper account (created with ``starting_balance`` the first time)."""
        with self._engine.begin() as conn:
            row = conn.execute(_ACCOUNTS.select().where(_ACCOUNTS.c.account_id == PAPER)).first()
            if row is None:
                now = _now()
                fresh = AccountRecord(
                    starting_balance=starting_balance,
                    cash=starting_balance,
                    realized_pnl=ZERO,
                    fees_paid=ZERO,
                )
                conn.execute(
                    _ACCOUNTS.insert().values(
                        account_id=PAPER, **asdict(fresh), created_at=now, updated_at=now
                    )
                )
                return fresh
        m = row._mapping
        return AccountRecord(**{k: m[k] for k in AccountRecord.__dataclass_fields__})

    def positions(self) -> list[PositionRecord]:
        """Every paper position with a non-zero quantity, by symbol."""
        query = (
            _POSITIONS.select()
            .where((_POSITIONS.c.account_id == PAPER) & (_POSITIONS.c.quantity != 0))
            .order_by(_POSITIONS.c.symbol)
        )
        fields = PositionRecord.__dataclass_fields__
        with self._engine.connect() as conn:
            return [
                PositionRecord(**{k: r._mapping[k] for k in fields}) for r in conn.execute(query)
            ]

    def position(self, symbol: str) -> PositionRecord:
        """The paper position in ``symbol`` (flat when there is none)."""
        for found in self.positions():
            if found.symbol == symbol:
                return found
        return PositionRecord(symbol=symbol, quantity=ZERO, avg_price=ZERO, realized_pnl=ZERO)

    def set_marks(self, marks: dict[str, Decimal]) -> None:
        """Store the latest price of each held symbol (what unrealized P&L is computed from)."""
        if not marks:
            return
        with self._engine.begin() as conn:
            for symbol, price in marks.items():
                conn.execute(
                    _POSITIONS.update()
                    .where((_POSITIONS.c.account_id == PAPER) & (_POSITIONS.c.symbol == symbol))
                    .values(mark_price=price)
                )

    # -- risk limits and kill switch ------------------------------------------------------
    def limits(self) -> LimitsRecord:
        """The risk limits and kill switch (the defaults until they are first changed)."""
        with self._engine.connect() as conn:
            row = conn.execute(_LIMITS.select().where(_LIMITS.c.id == 1)).first()
        if row is None:
            return DEFAULT_LIMITS
        m = row._mapping
        return LimitsRecord(**{k: m[k] for k in LimitsRecord.__dataclass_fields__})

    def save_limits(self, limits: LimitsRecord) -> LimitsRecord:
        """Store the limits and kill switch as given."""
        values = {**asdict(limits), "updated_at": _now()}
        with self._engine.begin() as conn:
            if conn.execute(_LIMITS.update().where(_LIMITS.c.id == 1).values(**values)).rowcount:
                return limits
            conn.execute(_LIMITS.insert().values(id=1, **values))
        return limits


def _event(
    conn: sa.Connection, order_id: str, status: str, reason: str | None, at: datetime
) -> None:
    conn.execute(_EVENTS.insert().values(order_id=order_id, time=at, status=status, reason=reason))


def _mutable(order: OrderRecord) -> dict[str, Any]:
    keep = (
        "status",
        "reason",
        "filled_quantity",
        "avg_fill_price",
        "fee",
        "updated_at",
        "exchange_order_id",
    )
    return {k: getattr(order, k) for k in keep}


def _by_id(order_id: str) -> sa.Update:
    return _ORDERS.update().where(_ORDERS.c.order_id == order_id)


def _order(row: RowMapping) -> OrderRecord:
    return OrderRecord(**{k: row[k] for k in OrderRecord.__dataclass_fields__})


def _now() -> datetime:
    return datetime.now(UTC)


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value
