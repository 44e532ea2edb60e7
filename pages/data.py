"""Data ``/data`` (coming soon): market data collection and coverage."""

from __future__ import annotations

import dash
from dash import html

from components.coming_soon import make_coming_soon

dash.register_page(__name__, path="/data", name="Data", title="Data · Trading Simulator")


def layout(**_query: str) -> html.Div:
    """What the data section will offer."""
    return make_coming_soon(
        "Data",
        "Collect and manage the candles that backtests and runners use.",
        [
            "Candles per symbol and timeframe stored in the database, with coverage and gaps",
            "Collection jobs from exchanges or the simulated market, with progress",
            "CSV import and export",
        ],
    )
