"""Builders of the Orders page: the ticket, its confirmation, open orders, history grid,
account, risk form and kill switch. Pure functions of data (no I/O)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.runner_table import GRID_THEME

ORDER_TYPES = [
    {"label": "Market", "value": "market"},
    {"label": "Limit", "value": "limit"},
    {"label": "Stop", "value": "stop"},
]
HISTORY_COLUMNS = [
    {"field": "created", "headerName": "Placed (UTC)", "minWidth": 150, "sort": "desc"},
    {"field": "symbol", "minWidth": 90},
    {"field": "side", "maxWidth": 80},
    {"field": "type", "maxWidth": 90},
    {"field": "quantity", "type": "numericColumn", "maxWidth": 110},
    {"field": "price", "headerName": "Limit / stop", "type": "numericColumn", "maxWidth": 120},
    {
        "field": "status",
        "maxWidth": 110,
        "cellClassRules": {
            "order-filled": "params.value == 'filled'",
            "order-rejected": "params.value == 'rejected'",
            "order-cancelled": "params.value == 'cancelled'",
        },
    },
    {"field": "fill", "headerName": "Fill price", "type": "numericColumn", "maxWidth": 120},
    {"field": "fee", "type": "numericColumn", "maxWidth": 100},
    {"field": "reason", "minWidth": 220, "tooltipField": "reason"},
    {"field": "source", "maxWidth": 110},
]


def money(value: float | None, places: int = 2) -> str:
    """``12,345.68`` (``—`` for None)."""
    return "—" if value is None else f"{value:,.{places}f}"


def price_text(value: float | None) -> str:
    """A price with as many decimals as it needs (at least 2, at most 8)."""
    if value is None:
        return "—"
    places = 2 if abs(value) >= 100 else 4 if abs(value) >= 1 else 8
    return f"{value:,.{places}f}"


def signed(value: float) -> html.Span:
    """A P&L number, green when positive, red when negative."""
    css = "pnl-up" if value > 0 else "pnl-down" if value < 0 else "text-muted"
    return html.Span(f"{value:+,.2f}", className=css)


def estimate_text(
    side: str, quantity: float | None, price: float | None, reference: str, fee_rate: float
) -> list[Any]:
    """``Last 3,012.40 · notional ≈ 1,506.20 · fee ≈ 1.51`` for the ticket."""
    if price is None:
        return [
            html.Span("No live price yet for this symbol: ", className="text-warning"),
            "placing an order opens its feed.",
        ]
    parts: list[Any] = [html.Span(f"{reference} {price_text(price)}", className="me-3")]
    if quantity and quantity > 0:
        notional = quantity * price
        fee = notional * fee_rate
        total = notional + fee if side == "buy" else notional - fee
        parts += [
            html.Span(["notional ≈ ", html.B(money(notional))], className="me-3"),
            html.Span(["fee ≈ ", html.B(money(fee))], className="me-3"),
            html.Span(
                f"{'cost' if side == 'buy' else 'proceeds'} ≈ {money(total)}",
                className="text-muted",
            ),
        ]
    return parts


def order_summary(body: Mapping[str, Any]) -> str:
    """``BUY 0.5 ETHUSDT limit 2,900.00 GTC`` (what the confirmation says in words)."""
    words = [str(body["side"]).upper(), f"{body['quantity']:g}", str(body["symbol"])]
    words.append(str(body.get("type", "market")))
    if "limit_price" in body:
        words.append(f"at {price_text(body['limit_price'])} or better")
    if "stop_price" in body:
        words.append(f"triggered at {price_text(body['stop_price'])}")
    words.append(str(body.get("time_in_force", "GTC")))
    return " ".join(words)


def make_confirmation(
    body: Mapping[str, Any],
    notional: float | None,
    fee: float | None,
    live_exchange: str | None = None,
) -> list[Any]:
    """The dialog's content: the order in words, the estimate and the exact request body;
    for a live order, a warning naming the exchange."""
    badge = (
        dbc.Badge(f"LIVE · {live_exchange}", color="danger", className="me-2")
        if live_exchange
        else dbc.Badge("PAPER", color="info", className="me-2")
    )
    warning = (
        [
            dbc.Alert(
                f"This is a real order on {live_exchange}, with the account of the configured "
                "API key. Tick the confirmation below to send it.",
                color="danger",
                className="py-2 small",
            )
        ]
        if live_exchange
        else []
    )
    return [
        *warning,
        html.H5(order_summary(body), className="mb-2"),
        html.Div(
            [
                badge,
                f"estimated notional {money(notional)} · estimated fee {money(fee)}",
            ],
            className="mb-3",
        ),
        html.Div("This request will be sent:", className="small text-muted mb-1"),
        html.Pre(
            "POST /api/trading/place-order\n" + json.dumps(dict(body), indent=2),
            className="order-request",
        ),
    ]


def make_open_orders(orders: Sequence[Mapping[str, Any]], cancel_type: str) -> Any:
    """Working orders, each with a Cancel button (id ``{type: cancel_type, index: id}``)."""
    if not orders:
        return html.Div("No open orders.", className="text-muted small")
    header = html.Thead(
        html.Tr([html.Th(h) for h in ("Placed", "Symbol", "Side", "Type", "Qty", "Price", "")])
    )
    rows = [
        html.Tr(
            [
                html.Td(_time(o["created_at"])),
                html.Td(o["symbol"]),
                html.Td(o["side"], className=f"side-{o['side']}"),
                html.Td(f"{o['type']} {o['time_in_force']}"),
                html.Td(f"{o['quantity']:g}"),
                html.Td(price_text(o.get("limit_price") or o.get("stop_price"))),
                html.Td(
                    dbc.Button(
                        "Cancel",
                        id={"type": cancel_type, "index": o["order_id"]},
                        size="sm",
                        color="outline-warning",
                        className="py-0",
                    )
                ),
            ]
        )
        for o in orders
    ]
    return dbc.Table([header, html.Tbody(rows)], size="sm", className="orders-table mb-0")


def history_rows(orders: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Grid rows of the order history."""
    return [
        {
            "id": o["order_id"],
            "created": _time(o["created_at"]),
            "symbol": o["symbol"],
            "side": o["side"],
            "type": o["type"],
            "quantity": o["quantity"],
            "price": o.get("limit_price") or o.get("stop_price"),
            "status": o["status"],
            "fill": None if o.get("avg_fill_price") is None else round(o["avg_fill_price"], 4),
            "fee": round(o["fee"], 4) if o.get("fee") else None,
            "reason": o.get("reason") or "",
            "source": o.get("source"),
        }
        for o in orders
    ]


def make_history_grid(grid_id: str) -> dag.AgGrid:
    """The order history grid (filters on every column)."""
    return dag.AgGrid(
        id=grid_id,
        rowData=[],
        columnDefs=HISTORY_COLUMNS,
        getRowId="params.data.id",
        defaultColDef={"sortable": True, "resizable": True, "filter": True, "flex": 1},
        dashGridOptions={
            "theme": GRID_THEME,
            "rowHeight": 32,
            "animateRows": False,
            "tooltipShowDelay": 300,
            "localeText": {"noRowsToShow": "No orders yet: place one with the ticket."},
        },
        style={"height": "330px", "width": "100%"},
    )


def make_account(account: Mapping[str, Any]) -> list[Any]:
    """Balance, equity, P&L and the positions table."""
    stats = [
        ("Cash", money(account["cash"])),
        ("Equity", money(account["equity"])),
        ("Realized P&L", signed(account["realized_pnl"])),
        ("Unrealized P&L", signed(account["unrealized_pnl"])),
        ("Today", signed(account["daily_pnl"])),
        ("Fees paid", money(account["fees_paid"])),
    ]
    tiles = dbc.Row(
        [
            dbc.Col(
                [html.Div(label, className="stat-label"), html.Div(value, className="stat-value")],
                xs=4,
                md=2,
                className="mb-2",
            )
            for label, value in stats
        ],
        className="g-2",
    )
    positions = account["positions"]
    if not positions:
        table: Any = html.Div("No open positions.", className="text-muted small")
    else:
        table = dbc.Table(
            [
                html.Thead(
                    html.Tr([html.Th(h) for h in ("Symbol", "Side", "Qty", "Entry", "Mark", "P&L")])
                ),
                html.Tbody(
                    [
                        html.Tr(
                            [
                                html.Td(p["symbol"]),
                                html.Td(p["side"], className=f"side-{p['side']}"),
                                html.Td(f"{abs(p['quantity']):g}"),
                                html.Td(price_text(p["avg_price"])),
                                html.Td(price_text(p["mark_price"])),
                                html.Td(signed(p["unrealized_pnl"])),
                            ]
                        )
                        for p in positions
                    ]
                ),
            ],
            size="sm",
            className="orders-table mb-0",
        )
    return [tiles, table]


def make_kill_switch(risk: Mapping[str, Any], engage_id: str, release_id: str) -> list[Any]:
    """State of the kill switch and its button."""
    if risk.get("kill_switch"):
        return [
            html.Div(
                [html.B("ENGAGED"), f" since {_time(risk.get('kill_switch_at'))}"],
                className="text-danger mb-2",
            ),
            html.Div(risk.get("kill_switch_reason") or "", className="small text-muted mb-2"),
            dbc.Button("Release kill switch", id=release_id, color="success", className="w-100"),
            dbc.Button(id=engage_id, style={"display": "none"}),
        ]
    return [
        html.Div(
            "Cancels every open order, flattens paper positions, pauses every runner and "
            "refuses new orders until released.",
            className="small text-muted mb-2",
        ),
        dbc.Button("Engage kill switch", id=engage_id, color="danger", className="w-100"),
        dbc.Button(id=release_id, style={"display": "none"}),
    ]


def make_kill_banner(risk: Mapping[str, Any] | None) -> Any:
    """The red banner every page shows while the kill switch is engaged (None otherwise)."""
    if not risk or not risk.get("kill_switch"):
        return None
    return dbc.Alert(
        [
            html.B("Kill switch engaged"),
            f" since {_time(risk.get('kill_switch_at'))}: new orders are refused and runners "
            "were paused. ",
            dcc.Link("Release it on the Orders page", href="/orders", className="alert-link"),
        ],
        color="danger",
        className="kill-banner mb-0 rounded-0 text-center",
    )


def _time(iso: str | None) -> str:
    if not iso:
        return "—"
    return iso.replace("T", " ")[:19]
