"""The paper account's arithmetic: a fill moves cash, the position and realized P&L.

Positions are signed (short < 0). Adding to a position averages its entry price; reducing it
realizes ``(price - entry) * closed quantity * direction``; crossing zero opens the rest at the
fill price. Cash pays the notional and the fee on a buy and receives the notional minus the
fee on a sell. All in ``Decimal``.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from engine.orders.fills import PLACES
from engine.storage.order_store import AccountRecord, PositionRecord

ZERO = Decimal(0)


def apply_fill(
    account: AccountRecord,
    position: PositionRecord,
    side: str,
    quantity: Decimal,
    price: Decimal,
    fee: Decimal,
) -> tuple[AccountRecord, PositionRecord, Decimal]:
    """The account and position after the fill, and the gross P&L it realized."""
    signed = quantity if side == "buy" else -quantity
    old = position.quantity
    new = old + signed
    realized = ZERO
    avg = position.avg_price
    if old == 0 or (old > 0) == (signed > 0):
        avg = (abs(old) * avg + quantity * price) / (abs(old) + quantity)
    else:
        closed = min(abs(old), quantity)
        realized = (price - avg) * closed * (1 if old > 0 else -1)
        if new == 0:
            avg = ZERO
        elif (new > 0) != (old > 0):
            avg = price
    cash = account.cash - signed * price - fee
    realized = realized.quantize(PLACES)
    moved = replace(
        account,
        cash=cash.quantize(PLACES),
        realized_pnl=account.realized_pnl + realized,
        fees_paid=account.fees_paid + fee,
    )
    held = replace(
        position,
        quantity=new,
        avg_price=avg.quantize(PLACES),
        realized_pnl=position.realized_pnl + realized,
        mark_price=price,
    )
    return moved, held, realized


def unrealized(position: PositionRecord, mark: Decimal | None) -> Decimal:
    """Gross unrealized P&L of ``position`` at ``mark`` (0 without a mark)."""
    if mark is None or position.quantity == 0:
        return ZERO
    return ((mark - position.avg_price) * position.quantity).quantize(PLACES)


def fee_of(quantity: Decimal, price: Decimal, rate: Decimal) -> Decimal:
    """Commission: ``rate`` on the notional."""
    return (quantity * price * rate).quantize(PLACES)
