"""Order requests: the fields of a place-order command, checked (each problem names its field),
and the new order they make.

A request is ``{symbol, side, type, quantity, limit_price?, stop_price?, time_in_force?,
client_order_id?, mode?, signal_id?, source?}``; the engine receives it as a command, so it is
checked here again even though the API validated its types already.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.data.symbols import get_symbol
from engine.errors import CommandError, ConfigError
from engine.storage.order_store import OrderRecord

CLIENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
SIDES = ("buy", "sell")
TYPES = ("market", "limit", "stop")
TIME_IN_FORCE = ("GTC", "IOC")
ZERO = Decimal(0)


@dataclass(frozen=True)
class OrderRequest:
    """A checked place-order request."""

    symbol: str
    side: str
    order_type: str
    quantity: Decimal
    limit_price: Decimal | None
    stop_price: Decimal | None
    time_in_force: str
    client_order_id: str
    mode: str
    signal_id: str | None
    source: str

    def same_order(self, order: OrderRecord) -> bool:
        """True when ``order`` is what this request asks for (a retry of it)."""
        return (
            order.symbol == self.symbol
            and order.side == self.side
            and order.order_type == self.order_type
            and order.quantity == self.quantity
            and order.limit_price == self.limit_price
            and order.stop_price == self.stop_price
            and order.time_in_force == self.time_in_force
        )

    def new_order(self, armed_after_ms: int | None) -> OrderRecord:
        """A ``pending`` order for this request."""
        now = datetime.now(UTC)
        return OrderRecord(
            order_id=uuid.uuid4().hex,
            client_order_id=self.client_order_id,
            mode=self.mode,
            symbol=self.symbol,
            side=self.side,
            order_type=self.order_type,
            quantity=self.quantity,
            limit_price=self.limit_price,
            stop_price=self.stop_price,
            time_in_force=self.time_in_force,
            status="pending",
            reason=None,
            filled_quantity=ZERO,
            avg_fill_price=None,
            fee=ZERO,
            source=self.source,
            signal_id=self.signal_id,
            armed_after_ms=armed_after_ms,
            created_at=now,
            updated_at=now,
        )


def parse_request(args: dict[str, Any], *, live_enabled: bool = False) -> OrderRequest:
    """Check a place-order command; CommandError ``validation`` lists every problem."""
    problems: list[dict[str, str]] = []

    def bad(name: str, message: str) -> None:
        problems.append({"field": f"body.{name}", "message": message})

    symbol = str(args.get("symbol") or "")
    try:
        symbol = get_symbol(symbol).symbol
    except ConfigError as exc:
        bad("symbol", str(exc))
    side = args.get("side")
    if side not in SIDES:
        bad("side", f"should be 'buy' or 'sell' (got {side!r})")
    kind = args.get("type", "market")
    if kind not in TYPES:
        bad("type", f"should be 'market', 'limit' or 'stop' (got {kind!r})")
    quantity = _decimal(args.get("quantity"), "quantity", bad, required=True)
    if quantity is not None and quantity <= 0:
        bad("quantity", f"should be greater than 0 (got {quantity:f})")
    limit = _decimal(args.get("limit_price"), "limit_price", bad)
    stop = _decimal(args.get("stop_price"), "stop_price", bad)
    for name, price in (("limit_price", limit), ("stop_price", stop)):
        if price is not None and price <= 0:
            bad(name, f"should be greater than 0 (got {price:f})")
    if kind == "limit" and limit is None and "limit_price" not in _names(problems):
        bad("limit_price", "is required for a limit order (the price to buy at or below)")
    if kind == "stop" and stop is None and "stop_price" not in _names(problems):
        bad("stop_price", "is required for a stop order (the price that triggers it)")
    if kind != "limit" and limit is not None:
        bad("limit_price", f"is only for limit orders (this is a {kind} order); remove it")
    if kind != "stop" and stop is not None:
        bad("stop_price", f"is only for stop orders (this is a {kind} order); remove it")
    tif = args.get("time_in_force", "GTC")
    if tif not in TIME_IN_FORCE:
        bad("time_in_force", f"should be 'GTC' or 'IOC' (got {tif!r})")
    elif tif == "IOC" and kind == "stop":
        bad("time_in_force", "IOC is for market and limit orders; use GTC for a stop")
    client_id = args.get("client_order_id") or f"tsim-{uuid.uuid4().hex[:24]}"
    if not isinstance(client_id, str) or not re.fullmatch(CLIENT_ID_PATTERN, client_id):
        bad("client_order_id", "use 1-64 letters, digits, '_', '-', '.' or ':'")
    mode = args.get("mode", "paper")
    if mode not in ("paper", "live"):
        bad("mode", f"should be 'paper' or 'live' (got {mode!r})")
    elif mode == "live" and not live_enabled:
        bad(
            "mode",
            "live trading is off: it needs TRADESIM_LIVE_TRADING=1 and exchange keys; "
            "orders are paper by default",
        )
    if problems:
        message = "; ".join(f"{p['field']} {p['message']}" for p in problems)
        raise CommandError("validation", message, problems)
    assert quantity is not None
    return OrderRequest(
        symbol=symbol,
        side=str(side),
        order_type=str(kind),
        quantity=quantity,
        limit_price=limit,
        stop_price=stop,
        time_in_force=str(tif),
        client_order_id=str(client_id),
        mode=str(mode),
        signal_id=_text(args.get("signal_id")),
        source=_text(args.get("source")) or "api",
    )


def parse_symbol(symbol: str) -> str:
    """A curated symbol's canonical name; CommandError ``validation`` naming body.symbol."""
    try:
        return get_symbol(symbol).symbol
    except ConfigError as exc:
        raise CommandError(
            "validation", f"body.symbol {exc}", [{"field": "body.symbol", "message": str(exc)}]
        ) from None


def _decimal(value: Any, name: str, bad: Any, *, required: bool = False) -> Decimal | None:
    if value is None:
        if required:
            bad(name, "is required")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        bad(name, f"should be a number (got {value!r})")
        return None
    try:
        number = Decimal(repr(value) if isinstance(value, float) else str(value))
    except InvalidOperation:
        bad(name, f"should be a number (got {value!r})")
        return None
    if not number.is_finite():
        bad(name, f"should be a finite number (got {value!r})")
        return None
    return number


def _names(problems: list[dict[str, str]]) -> set[str]:
    return {p["field"].removeprefix("body.") for p in problems}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)[:64]
