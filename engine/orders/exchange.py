"""The live exchange broker: orders on a real exchange through ccxt, only by explicit opt-in.

It exists only with ``TRADESIM_LIVE_TRADING=1`` and both exchange keys set
(:meth:`ExchangeBroker.from_settings` refuses otherwise). Every answer becomes an order
status, never an exception: an exchange's refusal (insufficient funds, bad order) is
``rejected`` with the exchange's message; a network error or timeout leaves the order
``pending`` with the reason (the exchange may have it: :meth:`ExchangeBroker.refresh` asks
again by client order id). Keys never appear in a message: they are masked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import ccxt

from engine.data.symbols import get_symbol
from engine.errors import ConfigError
from engine.platform.settings import Settings
from engine.storage.order_store import OrderRecord

#: ccxt's unified order status -> ours.
STATUSES = {
    "open": "open",
    "closed": "filled",
    "canceled": "cancelled",
    "cancelled": "cancelled",
    "expired": "cancelled",
    "rejected": "rejected",
}


@dataclass(frozen=True)
class ExchangeAnswer:
    """What the exchange said about an order."""

    status: str
    reason: str
    exchange_order_id: str | None = None
    filled: Decimal = Decimal(0)
    average: Decimal | None = None
    fee: Decimal = Decimal(0)


class ExchangeBroker:
    """Places, cancels and follows live orders on one ccxt exchange."""

    def __init__(self, client: Any, secrets: tuple[str, ...] = ()) -> None:
        self.client = client
        self.exchange_id = str(getattr(client, "id", "exchange"))
        self._secrets = tuple(s for s in secrets if s)

    @classmethod
    def from_settings(
        cls, settings: Settings, factory: Callable[[dict[str, Any]], Any] | None = None
    ) -> ExchangeBroker:
        """The broker for ``settings.exchange_id``; ConfigError unless live trading is enabled
        (``TRADESIM_LIVE_TRADING=1``) and both keys are configured."""
        if not settings.live_trading:
            raise ConfigError(
                "live trading is off: set TRADESIM_LIVE_TRADING=1 (and the exchange keys) to "
                "send real orders; paper orders need nothing"
            )
        if not settings.exchange_api_key or not settings.exchange_secret:
            raise ConfigError(
                "live trading needs TRADESIM_EXCHANGE_API_KEY and TRADESIM_EXCHANGE_SECRET "
                f"for {settings.exchange_id}"
            )
        config = {
            "apiKey": settings.exchange_api_key,
            "secret": settings.exchange_secret,
            "enableRateLimit": True,
        }
        make = factory or getattr(ccxt, settings.exchange_id)
        return cls(make(config), (settings.exchange_api_key, settings.exchange_secret))

    def submit(self, order: OrderRecord) -> ExchangeAnswer:
        """Send ``order`` to the exchange (a stop as a stop-market order; an exchange or market
        without them rejects it with ccxt's message)."""
        params: dict[str, Any] = {"clientOrderId": order.client_order_id}
        kind = order.order_type
        price = order.limit_price
        if kind == "stop":  # a stop-market order, where the exchange has them
            params["stopPrice"] = float(order.stop_price or 0)
            kind = "market"
        if order.time_in_force == "IOC" and order.order_type == "limit":
            params["timeInForce"] = "IOC"
        return self._call(
            lambda: self.client.create_order(
                _market(order.symbol),
                kind,
                order.side,
                float(order.quantity),
                None if price is None else float(price),
                params,
            )
        )

    def refresh(self, order: OrderRecord) -> ExchangeAnswer:
        """The order's state on the exchange (found by client order id when it has no
        exchange id yet: after a timeout)."""
        market = _market(order.symbol)
        if order.exchange_order_id:
            return self._call(lambda: self.client.fetch_order(order.exchange_order_id, market))
        params = {"origClientOrderId": order.client_order_id}
        return self._call(lambda: self.client.fetch_order(None, market, params))

    def cancel(self, order: OrderRecord) -> ExchangeAnswer:
        """Cancel the order on the exchange."""
        market = _market(order.symbol)
        return self._call(lambda: self.client.cancel_order(order.exchange_order_id, market))

    def open_orders(self, symbol: str) -> list[dict[str, Any]]:
        """The exchange's open orders on ``symbol`` (id, client id, side, amount, price)."""
        found = self.client.fetch_open_orders(_market(symbol))
        keep = ("id", "clientOrderId", "side", "type", "amount", "price", "status")
        return [{k: o.get(k) for k in keep} for o in found]

    def balance(self) -> dict[str, dict[str, float]]:
        """``{currency: {free, used, total}}`` for the currencies the account holds."""
        raw = self.client.fetch_balance()
        totals = raw.get("total") or {}
        return {
            c: {k: float((raw.get(k) or {}).get(c) or 0) for k in ("free", "used", "total")}
            for c, total in totals.items()
            if total
        }

    def _call(self, request: Callable[[], dict[str, Any]]) -> ExchangeAnswer:
        try:
            answer = request()
        except (ccxt.RequestTimeout, ccxt.NetworkError) as exc:
            return ExchangeAnswer(
                "pending",
                f"{self.exchange_id} did not answer ({type(exc).__name__}: {self._mask(exc)}); "
                "the order's state is unknown until the exchange is asked again",
            )
        except ccxt.BaseError as exc:
            return ExchangeAnswer(
                "rejected",
                f"{self.exchange_id} refused it: {type(exc).__name__}: {self._mask(exc)}",
            )
        return _answer(answer)

    def _mask(self, exc: Exception) -> str:
        text = str(exc)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text[:500]


def _answer(order: dict[str, Any]) -> ExchangeAnswer:
    status = STATUSES.get(str(order.get("status")), "open")
    fee = (order.get("fee") or {}).get("cost")
    average = order.get("average") or order.get("price") if status == "filled" else None
    return ExchangeAnswer(
        status=status,
        reason=f"exchange status {order.get('status')}",
        exchange_order_id=None if order.get("id") is None else str(order["id"]),
        filled=_dec(order.get("filled")) or Decimal(0),
        average=_dec(average),
        fee=_dec(fee) or Decimal(0),
    )


def _market(symbol: str) -> str:
    return get_symbol(symbol).display


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(repr(float(value)))
