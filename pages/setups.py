"""Setups ``/setups`` (coming soon): saved strategy configurations and their signals."""

from __future__ import annotations

import dash
from dash import html

from components.coming_soon import make_coming_soon

dash.register_page(__name__, path="/setups", name="Setups", title="Setups · Trading Simulator")


def layout(**_query: str) -> html.Div:
    """What the setups section will offer."""
    return make_coming_soon(
        "Setups",
        "Keep the configurations that worked: a strategy with its symbol, timeframe and tuned "
        "parameters.",
        [
            "Save a setup from a backtest or a parameter sweep, with its metrics",
            "Compare setups side by side and see their latest signals",
            "Launch a setup as a live runner in one click",
        ],
    )
