"""Orders ``/orders`` (coming soon): manual paper orders next to what the runners do."""

from __future__ import annotations

import dash
from dash import html

from components.coming_soon import make_coming_soon

dash.register_page(__name__, path="/orders", name="Orders", title="Orders · Trading Simulator")


def layout(**_query: str) -> html.Div:
    """What the orders section will offer."""
    return make_coming_soon(
        "Orders",
        "Place paper orders by hand and follow every fill, yours and the runners'.",
        [
            "Market and limit orders with stop-loss and take-profit on any curated symbol",
            "Open orders, fills and positions with live P&L",
            "An order history you can filter by symbol, runner and date",
        ],
    )
