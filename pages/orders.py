"""Orders ``/orders``: the order ticket (estimated notional and fee, a confirmation showing the
exact request), open orders with Cancel, the order history grid, the paper account, the risk
limits form and the kill switch.

``/orders?symbol=ETHUSDT&side=sell&price=3000&quantity=0.5`` opens the ticket prefilled (a
price makes it a limit order). Every action goes through the REST handlers of
``engine.api.orders`` (same checks and messages as the API); the engine fills the orders.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate
from pydantic import BaseModel, ValidationError

from components.order_views import (
    ORDER_TYPES,
    estimate_text,
    history_rows,
    make_account,
    make_confirmation,
    make_history_grid,
    make_kill_switch,
    make_open_orders,
)
from engine.api import orders as orders_api
from engine.api.core import ApiRequest, Handler
from engine.api.dispatch import respond
from engine.api.schema import problems
from engine.data.symbols import SYMBOLS
from engine.errors import TradeSimError
from engine.orders.model import parse_request
from engine.orders.views import account_view, risk_view
from engine.storage.order_store import OrderStore
from pages._services import services

dash.register_page(__name__, path="/orders", name="Orders", title="Orders · Trading Simulator")

P = "orders"
INTERVAL = f"{P}-interval"
CHANGED = f"{P}-changed"
SYMBOL = f"{P}-symbol"
SIDE = f"{P}-side"
TYPE = f"{P}-type"
QUANTITY = f"{P}-quantity"
LIMIT = f"{P}-limit-price"
STOP = f"{P}-stop-price"
LIMIT_ROW = f"{P}-limit-row"
STOP_ROW = f"{P}-stop-row"
TIF = f"{P}-tif"
MODE = f"{P}-mode"
LIVE_OK = f"{P}-live-confirm"
ESTIMATE = f"{P}-estimate"
REVIEW = f"{P}-review"
TICKET_MSG = f"{P}-ticket-message"
MODAL = f"{P}-confirm"
CONFIRM_BODY = f"{P}-confirm-body"
SEND = f"{P}-send"
BACK = f"{P}-back"
PENDING = f"{P}-pending"
OPEN = f"{P}-open"
OPEN_IDS = f"{P}-open-ids"
CANCEL = f"{P}-cancel"
HISTORY = f"{P}-history"
ACCOUNT = f"{P}-account"
RISK_FIELDS = {
    "max_order_notional": "Max order notional",
    "max_position_notional": "Max position per symbol (notional)",
    "max_open_orders": "Max open orders",
    "max_daily_loss": "Max daily loss",
}
RISK_SAVE = f"{P}-risk-save"
RISK_MSG = f"{P}-risk-message"
RISK_USAGE = f"{P}-risk-usage"
KILL = f"{P}-kill"
KILL_ENGAGE = f"{P}-kill-engage"
KILL_RELEASE = f"{P}-kill-release"
KILL_MSG = f"{P}-kill-message"
REFRESH_MS = 1_000


def _risk_id(name: str) -> str:
    return f"{P}-risk-{name.replace('_', '-')}"


def call(
    handler: Handler,
    model: type[BaseModel] | None = None,
    body: Any = None,
    query: dict[str, str] | None = None,
) -> tuple[Any, str | None]:
    """Run a REST handler in-process (its model checked first): ``(data, None)`` or
    ``(None, message)``."""
    models: dict[type, BaseModel] = {}
    if model is not None:
        try:
            models[model] = model.model_validate(body if body is not None else query or {})
        except ValidationError as exc:
            where = "body" if body is not None else "query"
            return None, "; ".join(f"{p['field']} {p['message']}" for p in problems(exc, where))
    request = ApiRequest(query=query or {}, body=body, models=models)
    payload = respond(handler, services(), request).payload
    if payload.get("status") == "ok":
        return payload["data"], None
    return None, str(payload["error"]["message"])


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def _card(title: str, body: Any, **kwargs: Any) -> dbc.Card:
    return dbc.Card([dbc.CardHeader(title), dbc.CardBody(body)], className="mb-3", **kwargs)


def _field(label: str, control: Any, row_id: str | None = None, **style: Any) -> html.Div:
    extra = {"id": row_id} if row_id else {}
    return html.Div(
        [dbc.Label(label, className="small mb-1"), control], className="mb-2", style=style, **extra
    )


def _ticket(symbol: str, side: str, kind: str, quantity: float | None, price: float | None) -> Any:
    symbols = [{"label": f"{s.symbol} · {s.category}", "value": s.symbol} for s in SYMBOLS]
    return [
        _field("Symbol", dcc.Dropdown(id=SYMBOL, options=symbols, value=symbol, clearable=False)),
        _field(
            "Side",
            dbc.RadioItems(
                id=SIDE,
                options=[{"label": "Buy", "value": "buy"}, {"label": "Sell", "value": "sell"}],
                value=side,
                className="side-toggle",
                inputClassName="btn-check",
                labelClassName="btn btn-outline-secondary w-100",
                labelCheckedClassName="active",
            ),
        ),
        dbc.Row(
            [
                dbc.Col(
                    _field("Type", dbc.Select(id=TYPE, options=ORDER_TYPES, value=kind)), width=6
                ),
                dbc.Col(
                    _field(
                        "Time in force",
                        dbc.Select(
                            id=TIF,
                            options=[
                                {"label": "GTC", "value": "GTC"},
                                {"label": "IOC", "value": "IOC"},
                            ],
                            value="GTC",
                        ),
                    ),
                    width=6,
                ),
            ],
            className="g-2",
        ),
        _mode_field(),
        _field("Quantity", dbc.Input(id=QUANTITY, type="number", min=0, value=quantity)),
        _field(
            "Limit price",
            dbc.Input(id=LIMIT, type="number", min=0, value=price),
            LIMIT_ROW,
            display="block" if kind == "limit" else "none",
        ),
        _field(
            "Stop price",
            dbc.Input(id=STOP, type="number", min=0),
            STOP_ROW,
            display="block" if kind == "stop" else "none",
        ),
        html.Div(id=ESTIMATE, className="order-estimate small mb-2"),
        dbc.Button("Review order", id=REVIEW, color="primary", className="w-100"),
        html.Div(id=TICKET_MSG, className="mt-2"),
    ]


def _mode_note() -> str:
    settings = services().settings
    if settings.live_trading:
        return f"Paper orders fill against the live feed; live orders go to {settings.exchange_id}."
    return "Orders fill against the live feed; live exchange orders are off."


def _mode_field() -> Any:
    """Paper, or live when it is enabled (hidden otherwise: every order is paper)."""
    settings = services().settings
    options = [{"label": "Paper", "value": "paper"}]
    if settings.live_trading:
        options.append({"label": f"Live on {settings.exchange_id}", "value": "live"})
    select = dbc.Select(id=MODE, options=options, value="paper")
    return _field("Mode", select, display="block" if settings.live_trading else "none")


def _confirm_modal() -> dbc.Modal:
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("Confirm order")),
            dbc.ModalBody(
                [
                    html.Div(id=CONFIRM_BODY),
                    dbc.Checkbox(
                        id=LIVE_OK,
                        value=False,
                        label="I confirm a real order with real money",
                        className="mt-2 text-danger",
                        style={"display": "none"},
                    ),
                ]
            ),
            dbc.ModalFooter(
                [
                    dbc.Button("Back", id=BACK, color="secondary", className="me-2"),
                    dbc.Button("Send order", id=SEND, color="primary"),
                ]
            ),
        ],
        id=MODAL,
        is_open=False,
        centered=True,
    )


def _risk_form(limits: dict[str, Any]) -> Any:
    inputs = [
        dbc.Col(
            _field(
                label,
                dbc.Input(
                    id=_risk_id(name),
                    type="number",
                    min=0,
                    value=limits.get(name),
                    placeholder="no limit",
                ),
            ),
            md=6,
        )
        for name, label in RISK_FIELDS.items()
    ]
    return [
        html.Div(
            "Checked before every order; a rejected order says which limit and by how much. "
            "Leave a field empty for no limit.",
            className="small text-muted mb-2",
        ),
        dbc.Row(inputs, className="g-3"),
        dbc.Row(
            [
                dbc.Col(html.Div(id=RISK_USAGE, className="small text-muted"), md=8),
                dbc.Col(
                    dbc.Button("Save limits", id=RISK_SAVE, color="secondary", className="w-100"),
                    md=4,
                ),
            ],
            className="align-items-center g-3",
        ),
        html.Div(id=RISK_MSG, className="mt-2"),
    ]


def layout(
    symbol: str = "BTCUSDT",
    side: str = "buy",
    price: str | None = None,
    quantity: str | None = None,
    **_other: str,
) -> html.Div:
    """The page; query parameters prefill the ticket."""
    known = {s.symbol for s in SYMBOLS}
    symbol = symbol.upper() if symbol.upper() in known else "BTCUSDT"
    limit_price = _number(price)
    store = OrderStore(services().db)
    risk = risk_view(store)
    ticket = _ticket(
        symbol,
        side if side in ("buy", "sell") else "buy",
        "limit" if limit_price else "market",
        _number(quantity),
        limit_price,
    )
    return html.Div(
        [
            dcc.Interval(id=INTERVAL, interval=REFRESH_MS),
            dcc.Store(id=CHANGED, data=0),
            dcc.Store(id=PENDING),
            dcc.Store(id=OPEN_IDS),
            _confirm_modal(),
            html.Div(
                [
                    html.H3("Orders", className="mb-0 me-3"),
                    dbc.Badge("PAPER", color="info", className="me-2"),
                    html.Span(_mode_note(), className="text-muted small"),
                ],
                className="d-flex align-items-center mb-3",
            ),
            dbc.Row(
                [
                    dbc.Col(_card("Order ticket", ticket), lg=4),
                    dbc.Col(
                        [
                            _card("Paper account", html.Div(id=ACCOUNT)),
                            _card("Open orders", html.Div(id=OPEN)),
                        ],
                        lg=8,
                    ),
                ]
            ),
            _card("Order history", make_history_grid(HISTORY)),
            dbc.Row(
                [
                    dbc.Col(_card("Risk limits", _risk_form(risk)), lg=8),
                    dbc.Col(
                        _card(
                            "Kill switch",
                            [
                                html.Div(
                                    make_kill_switch(risk, KILL_ENGAGE, KILL_RELEASE), id=KILL
                                ),
                                html.Div(id=KILL_MSG, className="mt-2"),
                            ],
                        ),
                        lg=4,
                    ),
                ]
            ),
        ],
        className="orders-page",
    )


@callback(
    Output(OPEN, "children"),
    Output(OPEN_IDS, "data"),
    Output(HISTORY, "rowData"),
    Output(ACCOUNT, "children"),
    Output(RISK_USAGE, "children"),
    Input(INTERVAL, "n_intervals"),
    Input(CHANGED, "data"),
    State(OPEN_IDS, "data"),
)
def refresh(_n: int | None, _changed: int | None, shown: list[str] | None) -> tuple[Any, ...]:
    """Open orders (redrawn only when they change, so a Cancel click is never lost),
    history, account and risk usage, from the database."""
    store = OrderStore(services().db)
    working, _total = store.find(status="open", limit=200)
    ids = [o.order_id for o in working]
    history, _total = store.find(limit=500)
    balance = Decimal(repr(services().settings.paper_balance))
    risk = risk_view(store)
    usage = f"Now: {risk['open_orders']} open orders · today's P&L {risk['daily_pnl']:+,.2f}"
    same = shown == ids and ctx.triggered_id == INTERVAL
    return (
        no_update if same else make_open_orders([o.to_dict() for o in working], CANCEL),
        ids,
        history_rows([o.to_dict() for o in history]),
        make_account(account_view(store, balance)),
        usage,
    )


@callback(
    Output(LIMIT_ROW, "style"),
    Output(STOP_ROW, "style"),
    Input(TYPE, "value"),
)
def show_prices(kind: str) -> tuple[dict[str, str], dict[str, str]]:
    """Show the price fields the order type needs."""
    show, hide = {"display": "block"}, {"display": "none"}
    return (show if kind == "limit" else hide), (show if kind == "stop" else hide)


def _last_price(symbol: str, open_feed: bool) -> float | None:
    """The symbol's last price from the engine's order feed; with ``open_feed``, ask the
    engine to open that feed when it publishes none yet."""
    found = services().engine.last_price(symbol)
    if found is not None:
        return float(found["close"])
    if not open_feed:
        return None
    try:
        quoted = services().engine.command("orders.quote", symbol=symbol)
    except TradeSimError:
        return None
    return None if quoted.get("price") is None else float(quoted["price"])


@callback(
    Output(ESTIMATE, "children"),
    Input(SYMBOL, "value"),
    Input(SIDE, "value"),
    Input(TYPE, "value"),
    Input(QUANTITY, "value"),
    Input(LIMIT, "value"),
    Input(STOP, "value"),
    Input(INTERVAL, "n_intervals"),
)
def estimate(
    symbol: str,
    side: str,
    kind: str,
    quantity: float | None,
    limit: float | None,
    stop: float | None,
    _n: int | None,
) -> list[Any]:
    """Last price, estimated notional and fee of the ticket's order."""
    last = _last_price(symbol, open_feed=ctx.triggered_id != INTERVAL)
    reference, label = last, "Last"
    if kind == "limit" and limit:
        reference, label = float(limit), "Limit"
    elif kind == "stop" and stop:
        reference, label = float(stop), "Stop"
    lead = [] if label == "Last" or last is None else [f"Last {last:,.2f} · "]
    rate = services().settings.paper_commission
    return lead + estimate_text(side, quantity, reference, label, rate)


def _body(
    symbol: str,
    side: str,
    kind: str,
    quantity: float | None,
    limit: float | None,
    stop: float | None,
    tif: str,
) -> dict[str, Any]:
    body: dict[str, Any] = {"symbol": symbol, "side": side, "type": kind, "quantity": quantity}
    if kind == "limit" and limit is not None:
        body["limit_price"] = limit
    if kind == "stop" and stop is not None:
        body["stop_price"] = stop
    body["time_in_force"] = tif
    body["client_order_id"] = f"ui-{uuid.uuid4().hex[:20]}"
    return body


@callback(
    Output(MODAL, "is_open"),
    Output(CONFIRM_BODY, "children"),
    Output(PENDING, "data"),
    Output(TICKET_MSG, "children", allow_duplicate=True),
    Output(LIVE_OK, "style"),
    Output(LIVE_OK, "value"),
    Input(REVIEW, "n_clicks"),
    State(SYMBOL, "value"),
    State(SIDE, "value"),
    State(TYPE, "value"),
    State(QUANTITY, "value"),
    State(LIMIT, "value"),
    State(STOP, "value"),
    State(TIF, "value"),
    State(MODE, "value"),
    prevent_initial_call=True,
)
def review(
    _clicks: int | None,
    symbol: str,
    side: str,
    kind: str,
    quantity: float | None,
    limit: float | None,
    stop: float | None,
    tif: str,
    mode: str,
) -> tuple[Any, ...]:
    """Check the ticket and open the confirmation with the exact request body (a live order
    also needs its second confirmation ticked)."""
    body = _body(symbol, side, kind, quantity, limit, stop, tif)
    if mode == "live":
        body["mode"] = "live"
    hidden = {"display": "none"}
    try:
        orders_api.PlaceOrderBody.model_validate(body)
        parse_request(body, live_enabled=services().settings.live_trading)
    except ValidationError as exc:
        text = "; ".join(f"{p['field']} {p['message']}" for p in problems(exc, "body"))
        alert = dbc.Alert(text, color="danger", className="py-2 small")
        return False, no_update, None, alert, hidden, False
    except TradeSimError as exc:
        alert = dbc.Alert(str(exc), color="danger", className="py-2 small")
        return False, no_update, None, alert, hidden, False
    reference = limit if kind == "limit" else stop if kind == "stop" else _last_price(symbol, True)
    notional = None if reference is None or quantity is None else float(reference) * quantity
    fee = None if notional is None else notional * services().settings.paper_commission
    exchange = services().settings.exchange_id if mode == "live" else None
    shown = {"display": "block"} if exchange else hidden
    return True, make_confirmation(body, notional, fee, exchange), body, None, shown, False


@callback(
    Output(SEND, "disabled"),
    Input(LIVE_OK, "value"),
    Input(PENDING, "data"),
)
def second_confirmation(ticked: bool, body: Any) -> bool:
    """A live order is sent only once its second confirmation is ticked."""
    return bool(body and body.get("mode") == "live" and not ticked)


@callback(
    Output(MODAL, "is_open", allow_duplicate=True),
    Output(TICKET_MSG, "children"),
    Output(CHANGED, "data"),
    Input(SEND, "n_clicks"),
    Input(BACK, "n_clicks"),
    State(PENDING, "data"),
    State(CHANGED, "data"),
    prevent_initial_call=True,
)
def send(_send: int | None, _back: int | None, body: Any, changed: int) -> tuple[Any, ...]:
    """Send the confirmed order (or go back to the ticket)."""
    if ctx.triggered_id == BACK or not body:
        return False, no_update, no_update
    placed, error = call(orders_api.place_order, orders_api.PlaceOrderBody, body=body)
    if error is not None:
        return False, dbc.Alert(error, color="danger", className="py-2 small"), changed + 1
    assert placed is not None
    short = placed["order_id"][:8]
    if placed["status"] == "rejected":
        alert = dbc.Alert(f"Order {short} rejected: {placed['reason']}", color="danger")
    else:
        alert = dbc.Alert(f"Order {short} sent: {placed['status']}", color="success")
    alert.className = "py-2 small mb-0"
    return False, alert, changed + 1


@callback(
    Output(TICKET_MSG, "children", allow_duplicate=True),
    Output(CHANGED, "data", allow_duplicate=True),
    Input({"type": CANCEL, "index": ALL}, "n_clicks"),
    State(CHANGED, "data"),
    prevent_initial_call=True,
)
def cancel(clicks: list[int | None], changed: int) -> tuple[Any, ...]:
    """Cancel the order whose button was clicked."""
    if not ctx.triggered_id or not any(clicks):
        raise PreventUpdate
    order_id = ctx.triggered_id["index"]
    body = {"order_id": order_id}
    _done, error = call(orders_api.cancel_order, orders_api.CancelOrderBody, body=body)
    if error is not None:
        return dbc.Alert(error, color="danger", className="py-2 small mb-0"), changed + 1
    note = f"Order {order_id[:8]} cancelled"
    return dbc.Alert(note, color="secondary", className="py-2 small mb-0"), changed + 1


@callback(
    Output(RISK_MSG, "children"),
    Output(CHANGED, "data", allow_duplicate=True),
    Input(RISK_SAVE, "n_clicks"),
    [State(_risk_id(name), "value") for name in RISK_FIELDS],
    State(CHANGED, "data"),
    prevent_initial_call=True,
)
def save_risk(_clicks: int | None, *values: Any) -> tuple[Any, ...]:
    """Store the limits (an empty field removes that limit)."""
    *limits, changed = values
    body: dict[str, Any] = {}
    for name, value in zip(RISK_FIELDS, limits, strict=True):
        if value in (None, ""):
            body[name] = None
        else:
            body[name] = int(value) if name == "max_open_orders" else float(value)
    _saved, error = call(orders_api.put_risk, orders_api.RiskBody, body=body)
    if error is not None:
        return dbc.Alert(error, color="danger", className="py-2 small mb-0"), no_update
    return dbc.Alert("Limits saved.", color="success", className="py-2 small mb-0"), changed + 1


@callback(
    Output(KILL, "children"),
    Output(KILL_MSG, "children"),
    Output(CHANGED, "data", allow_duplicate=True),
    Input(KILL_ENGAGE, "n_clicks"),
    Input(KILL_RELEASE, "n_clicks"),
    State(CHANGED, "data"),
    prevent_initial_call=True,
)
def kill_switch(engage: int | None, release: int | None, changed: int) -> tuple[Any, ...]:
    """Engage or release the kill switch."""
    engaging = ctx.triggered_id == KILL_ENGAGE
    if not (engage if engaging else release):
        raise PreventUpdate
    result, error = call(
        orders_api.kill_switch, orders_api.KillSwitchBody, body={"engage": engaging}
    )
    risk = risk_view(OrderStore(services().db))
    buttons = make_kill_switch(risk, KILL_ENGAGE, KILL_RELEASE)
    if error is not None:
        return buttons, dbc.Alert(error, color="danger", className="py-2 small mb-0"), changed + 1
    if engaging:
        note = (
            f"Engaged: {len(result['cancelled'])} orders cancelled, "
            f"{len(result['flattened'])} positions flattened, {len(result['paused'])} runners "
            "paused."
        )
    else:
        note = "Released: orders are accepted again (runners stay paused; resume them)."
    return buttons, dbc.Alert(note, color="warning", className="py-2 small mb-0"), changed + 1
