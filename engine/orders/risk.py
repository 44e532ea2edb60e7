"""Risk limits, checked before an order is accepted; a refusal names the limit and by how much.

- ``max_order_notional``: quantity x price of the order;
- ``max_position_notional``: |position after the order| x price, for orders that grow it;
- ``max_open_orders``: working orders (pending or open) before this one;
- ``max_daily_loss``: today's (UTC) P&L = realized P&L minus fees of today's fills plus the
  open positions' unrealized P&L; at or beyond the loss, only orders that reduce a position
  are accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from engine.storage.order_store import LimitsRecord


@dataclass(frozen=True)
class Exposure:
    """What the checks need to know about one new order."""

    notional: Decimal
    position_after_notional: Decimal
    grows_position: bool
    open_orders: int
    daily_pnl: Decimal


def violation(limits: LimitsRecord, exposure: Exposure) -> str | None:
    """The first limit the order breaks, as a message, or None when it passes."""
    cap = limits.max_order_notional
    if cap is not None and exposure.notional > cap:
        return (
            f"max_order_notional: the order's notional {_m(exposure.notional)} is over the "
            f"limit {_m(cap)} by {_m(exposure.notional - cap)}"
        )
    cap = limits.max_position_notional
    if cap is not None and exposure.grows_position and exposure.position_after_notional > cap:
        over = exposure.position_after_notional - cap
        return (
            f"max_position_notional: the position after this order would be "
            f"{_m(exposure.position_after_notional)}, over the limit {_m(cap)} by {_m(over)}"
        )
    count = limits.max_open_orders
    if count is not None and exposure.open_orders >= count:
        return (
            f"max_open_orders: {exposure.open_orders} orders are open and the limit is {count} "
            f"(over by {exposure.open_orders + 1 - count}); cancel one first"
        )
    loss = limits.max_daily_loss
    if loss is not None and exposure.grows_position and -exposure.daily_pnl >= loss:
        return (
            f"max_daily_loss: today's P&L is {_m(exposure.daily_pnl)}, beyond the limit "
            f"-{_m(loss)} by {_m(-exposure.daily_pnl - loss)}; only orders that reduce a "
            "position are accepted until tomorrow (UTC) or a higher limit"
        )
    return None


def _m(value: Decimal) -> str:
    return f"{value:,.2f}"
