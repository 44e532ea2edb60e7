"""Paper fill rules (DESIGN.md "Orders and risk"), on one price event: a tick or a closed bar.

A tick is a single price (its bid/ask for market orders); a bar's first price is its open.
- market: the first price (ask for buys, bid for sells), slippage against you;
- limit: when the price reaches the limit: at the open if it opens beyond (better) it, else at
  the limit; no slippage (a resting order);
- stop: when the price reaches the stop, then as market: at the open when the event opens
  beyond it (a gap fills at the first price beyond), else at the stop; slippage against you.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from engine.data.bars import Bar

PLACES = Decimal("0.0000000001")
BPS = Decimal(10_000)


@dataclass(frozen=True)
class PriceEvent:
    """Prices seen once: ``open`` is the first one (for a tick: the last price)."""

    time_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    bid: Decimal
    ask: Decimal
    is_tick: bool

    @classmethod
    def tick(cls, bar: Bar) -> PriceEvent:
        """The latest price of a forming bar (its close, bid and ask)."""
        last = _d(bar.close)
        return cls(bar.timestamp, last, last, last, _d(bar.bid), _d(bar.ask), True)

    @classmethod
    def of_bar(cls, bar: Bar) -> PriceEvent:
        """A closed bar: every price from its open through its high and low."""
        first = _d(bar.open)
        return cls(bar.timestamp, first, _d(bar.high), _d(bar.low), first, first, False)


def fill_price(
    order_type: str,
    side: str,
    event: PriceEvent,
    *,
    limit: Decimal | None = None,
    stop: Decimal | None = None,
    slippage_bps: Decimal = Decimal(0),
) -> Decimal | None:
    """The price ``event`` fills the order at, or None when it does not fill it."""
    buy = side == "buy"
    if order_type == "market":
        first = (event.ask if buy else event.bid) if event.is_tick else event.open
        return slip(first, buy, slippage_bps)
    if order_type == "limit":
        assert limit is not None
        if (event.open <= limit) if buy else (event.open >= limit):
            return event.open.quantize(PLACES)
        if (event.low <= limit) if buy else (event.high >= limit):
            return limit
        return None
    assert stop is not None
    if (event.open >= stop) if buy else (event.open <= stop):
        return slip(event.open, buy, slippage_bps)
    if (event.high >= stop) if buy else (event.low <= stop):
        return slip(stop, buy, slippage_bps)
    return None


def slip(price: Decimal, buy: bool, bps: Decimal) -> Decimal:
    """``price`` moved ``bps`` basis points against the taker."""
    factor = 1 + bps / BPS if buy else 1 - bps / BPS
    return (price * factor).quantize(PLACES)


def _d(value: float) -> Decimal:
    return Decimal(repr(float(value)))
