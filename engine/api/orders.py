"""REST handlers for orders, the paper account, risk limits and the kill switch.

Placing and cancelling go to the engine as commands (it owns working orders and fills them on
its feeds); every read comes from the database. A place-order body is checked here first, so
a bad order is a 400 naming the field even while the engine is offline.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field

from engine.api.core import ApiError, ApiRequest, ApiResponse, Route, ok
from engine.api.schema import Body, NoQuery, PathParams, Query, QueryInt, SymbolName, absent
from engine.errors import EngineUnavailable
from engine.orders.model import CLIENT_ID_PATTERN, parse_request
from engine.orders.views import account_view, risk_view
from engine.platform.services import Services
from engine.storage.order_store import LIMIT_FIELDS, OrderStore

ORDER_ID_PATTERN = r"^[0-9a-f]{32}$"
Price = Annotated[float, Field(gt=0, le=1e12)]
Order = dict[str, Any]
WRITE_ERRORS = (400, 409, 503)


class PlaceOrderBody(Body):
    """An order: ``limit_price`` for a limit order, ``stop_price`` for a stop (a buy stop
    above the market, a sell stop below). ``client_order_id`` makes retries place one order
    (generated when absent); ``mode`` is ``paper`` unless live trading is enabled."""

    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                {
                    "if": {"properties": {"type": {"const": "limit"}}, "required": ["type"]},
                    "then": {"required": ["limit_price"]},
                },
                {
                    "if": {"properties": {"type": {"const": "stop"}}, "required": ["type"]},
                    "then": {"required": ["stop_price"]},
                },
            ]
        }
    )

    symbol: SymbolName
    side: Literal["buy", "sell"]
    type: Literal["market", "limit", "stop"] | None = absent()
    quantity: Annotated[float, Field(gt=0, le=1e12, examples=[0.01])]
    limit_price: Price | None = absent()
    stop_price: Price | None = absent()
    time_in_force: Literal["GTC", "IOC"] | None = absent()
    client_order_id: Annotated[str, Field(pattern=CLIENT_ID_PATTERN)] | None = absent()
    mode: Literal["paper", "live"] | None = absent()
    signal_id: Annotated[str, Field(max_length=64)] | None = absent()


class CancelOrderBody(Body):
    """The order to cancel, by ``order_id`` or ``client_order_id``."""

    model_config = ConfigDict(
        json_schema_extra={"anyOf": [{"required": ["order_id"]}, {"required": ["client_order_id"]}]}
    )

    order_id: Annotated[str, Field(pattern=ORDER_ID_PATTERN)] | None = absent()
    client_order_id: Annotated[str, Field(pattern=CLIENT_ID_PATTERN)] | None = absent()


class OrdersQuery(Query):
    """Filters (all optional) and a page: newest first."""

    status: Literal["pending", "open", "filled", "cancelled", "rejected"] | None = None
    symbol: SymbolName | None = None
    side: Literal["buy", "sell"] | None = None
    mode: Literal["paper", "live"] | None = None
    limit: QueryInt = Field(100, ge=1, le=1000)
    offset: QueryInt = Field(0, ge=0, le=1_000_000)


class OrderPath(PathParams):
    """An order id in the path."""

    order_id: Annotated[str, Field(pattern=ORDER_ID_PATTERN)]


Limit = Annotated[float, Field(gt=0, le=1e15)] | None


def _whole(value: Any) -> Any:
    """JSON Schema's integers include ``3.0``: take it as 3."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


Count = Annotated[int, Field(ge=1, le=100_000), BeforeValidator(_whole)]


class RiskBody(Body):
    """New limits: a number sets one, ``null`` removes it, a field left out stays as it is."""

    max_order_notional: Limit = None
    max_position_notional: Limit = None
    max_open_orders: Count | None = None
    max_daily_loss: Limit = None


class KillSwitchBody(Body):
    """``engage: true`` cancels open orders, flattens paper positions, pauses every runner and
    refuses new orders; ``engage: false`` releases it (runners stay paused)."""

    engage: bool
    reason: Annotated[str, Field(max_length=200)] | None = absent()


def place_order(services: Services, request: ApiRequest) -> ApiResponse:
    """Check the order, then have the engine store and open it (or reject it, with why)."""
    body = request.valid(PlaceOrderBody).model_dump(exclude_none=True)
    settings = services.settings
    live = settings.live_trading and bool(settings.exchange_api_key and settings.exchange_secret)
    parse_request(body, live_enabled=live)  # 400 naming the field, engine or not
    order = services.engine.command("orders.place", **body)
    return ok(order, 201)


def cancel_order(services: Services, request: ApiRequest) -> ApiResponse:
    """Cancel an open order."""
    body = request.valid(CancelOrderBody)
    if body.order_id is None and body.client_order_id is None:
        raise ApiError(
            400,
            "validation",
            "body.order_id or body.client_order_id is required",
            [{"field": "body.order_id", "message": "is required"}],
        )
    return ok(services.engine.command("orders.cancel", **body.model_dump(exclude_none=True)))


def list_orders(services: Services, request: ApiRequest) -> ApiResponse:
    """Orders newest first, filtered, one page."""
    query = request.valid(OrdersQuery)
    items, total = OrderStore(services.db).find(
        status=query.status,
        symbol=query.symbol,
        side=query.side,
        mode=query.mode,
        limit=query.limit,
        offset=query.offset,
    )
    return ok(
        {
            "items": [o.to_dict() for o in items],
            "total": total,
            "limit": query.limit,
            "offset": query.offset,
        }
    )


def order_status(services: Services, request: ApiRequest) -> ApiResponse:
    """One order with every status change and its fills."""
    order_id = request.valid(OrderPath).order_id
    store = OrderStore(services.db)
    order = store.get(order_id)
    if order is None:
        raise ApiError(404, "not_found", f"no order '{order_id}'")
    fills = [f.to_dict() for f in store.fills(order_id)]
    return ok({**order.to_dict(), "events": store.events(order_id), "fills": fills})


def get_account(services: Services, request: ApiRequest) -> ApiResponse:
    """The paper account: cash, equity, P&L and positions."""
    balance = Decimal(repr(services.settings.paper_balance))
    return ok(account_view(OrderStore(services.db), balance))


def get_live_account(services: Services, request: ApiRequest) -> ApiResponse:
    """The live exchange's balances (409 while live trading is off; keys never shown)."""
    return ok(services.engine.command("orders.live_account"))


def get_risk(services: Services, request: ApiRequest) -> ApiResponse:
    """Risk limits, kill switch, open orders and today's P&L."""
    return ok(risk_view(OrderStore(services.db)))


def put_risk(services: Services, request: ApiRequest) -> ApiResponse:
    """Change some limits (the next order is checked against them)."""
    body = request.valid(RiskBody)
    store = OrderStore(services.db)
    changes: dict[str, Any] = {}
    for name in LIMIT_FIELDS:
        if name in body.model_fields_set:
            value = getattr(body, name)
            changes[name] = value if value is None or name == "max_open_orders" else _dec(value)
    store.save_limits(replace(store.limits(), **changes))
    return ok(risk_view(store))


def kill_switch(services: Services, request: ApiRequest) -> ApiResponse:
    """Engage or release the kill switch."""
    body = request.valid(KillSwitchBody)
    args: dict[str, Any] = {"engage": body.engage, "reason": body.reason or "engaged by the user"}
    try:
        return ok(services.engine.command("orders.kill_switch", **args))
    except EngineUnavailable as exc:
        if not body.engage:
            raise
        store = OrderStore(services.db)  # at least refuse new orders from now on
        store.save_limits(
            replace(store.limits(), kill_switch=True, kill_switch_reason=args["reason"])
        )
        raise EngineUnavailable(
            f"{exc}. The kill switch is engaged (new orders are refused), but open orders are "
            "cancelled, positions flattened and runners paused only when the engine runs: "
            "start it and engage the kill switch again"
        ) from None


def _dec(value: float) -> Decimal:
    return Decimal(repr(value))


ORDER_ROUTES: list[Route] = [
    Route(
        "/api/trading/place-order",
        ("POST",),
        place_order,
        "Place an order (paper unless live trading is enabled); a retry with the same "
        "client_order_id answers with the first order (duplicate: true)",
        query=NoQuery,
        body=PlaceOrderBody,
        status=201,
        data=Order,
        errors=WRITE_ERRORS,
    ),
    Route(
        "/api/trading/cancel-order",
        ("POST",),
        cancel_order,
        "Cancel an open order",
        query=NoQuery,
        body=CancelOrderBody,
        data=Order,
        errors=(404, *WRITE_ERRORS),
    ),
    Route(
        "/api/trading/orders",
        ("GET",),
        list_orders,
        "Orders, newest first (filters, paging)",
        query=OrdersQuery,
        data=dict[str, Any],
    ),
    Route(
        "/api/trading/order-status/<order_id>",
        ("GET",),
        order_status,
        "One order with its status changes and fills",
        path=OrderPath,
        query=NoQuery,
        data=Order,
        errors=(404,),
    ),
    Route(
        "/api/trading/account",
        ("GET",),
        get_account,
        "The paper account: cash, equity, P&L, positions",
        query=NoQuery,
        data=dict[str, Any],
    ),
    Route(
        "/api/trading/live-account",
        ("GET",),
        get_live_account,
        "The live exchange account's balances (409 unless live trading is enabled)",
        query=NoQuery,
        data=dict[str, Any],
        errors=(409, 503),
    ),
    Route(
        "/api/trading/risk",
        ("GET",),
        get_risk,
        "Risk limits and the kill switch",
        query=NoQuery,
        data=dict[str, Any],
    ),
    Route(
        "/api/trading/risk",
        ("PUT",),
        put_risk,
        "Change risk limits (null removes one)",
        query=NoQuery,
        body=RiskBody,
        data=dict[str, Any],
    ),
    Route(
        "/api/trading/kill-switch",
        ("POST",),
        kill_switch,
        "Engage or release the kill switch",
        query=NoQuery,
        body=KillSwitchBody,
        data=dict[str, Any],
        errors=(400, 503),
    ),
]
