"""What the API and the page show of the paper account and the risk limits (read from the
database; the engine keeps the positions' mark prices there)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from engine.orders.account import ZERO, unrealized
from engine.storage.order_store import OrderStore, PositionRecord


def start_of_day(now: datetime | None = None) -> datetime:
    """Midnight UTC of today (when the daily loss counter starts)."""
    now = now or datetime.now(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def daily_pnl(
    store: OrderStore, positions: list[PositionRecord], marks: dict[str, Decimal] | None = None
) -> Decimal:
    """Today's P&L: realized minus fees of today's fills, plus open positions' unrealized P&L
    (at ``marks``, else at their stored mark price)."""
    fills = store.fills(since=start_of_day())
    realized = sum((f.realized_pnl - f.fee for f in fills), ZERO)
    marks = marks or {}
    open_pnl = sum((unrealized(p, marks.get(p.symbol, p.mark_price)) for p in positions), ZERO)
    return realized + open_pnl


def account_view(store: OrderStore, starting_balance: Decimal) -> dict[str, Any]:
    """Cash, equity, realized/unrealized P&L, fees, today's P&L and every open position."""
    account = store.account(starting_balance)
    positions = store.positions()
    rows = []
    open_pnl = ZERO
    market_value = ZERO
    for p in positions:
        mark = p.mark_price if p.mark_price is not None else p.avg_price
        pnl = unrealized(p, mark)
        open_pnl += pnl
        market_value += p.quantity * mark
        rows.append(
            {
                "symbol": p.symbol,
                "quantity": float(p.quantity),
                "side": "long" if p.quantity > 0 else "short",
                "avg_price": float(p.avg_price),
                "mark_price": float(mark),
                "unrealized_pnl": float(pnl),
                "realized_pnl": float(p.realized_pnl),
            }
        )
    equity = account.cash + market_value
    return {
        "mode": "paper",
        "starting_balance": float(account.starting_balance),
        "cash": float(account.cash),
        "equity": float(equity),
        "realized_pnl": float(account.realized_pnl),
        "unrealized_pnl": float(open_pnl),
        "fees_paid": float(account.fees_paid),
        "daily_pnl": float(daily_pnl(store, positions)),
        "positions": rows,
    }


def risk_view(store: OrderStore) -> dict[str, Any]:
    """The limits, the kill switch and how much of each limit is in use now."""
    limits = store.limits()
    positions = store.positions()
    return {
        **limits.to_dict(),
        "open_orders": len(store.open_orders()),
        "daily_pnl": float(daily_pnl(store, positions)),
    }
