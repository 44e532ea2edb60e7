"""Backtest ``/backtest`` (coming soon): run strategies on history as background jobs."""

from __future__ import annotations

import dash
from dash import html

from components.coming_soon import make_coming_soon

dash.register_page(
    __name__, path="/backtest", name="Backtest", title="Backtest · Trading Simulator"
)


def layout(**_query: str) -> html.Div:
    """What the backtest section will offer."""
    return make_coming_soon(
        "Backtest",
        "Run a strategy on real or simulated history and see how it would have traded.",
        [
            "Pick a strategy, symbol, timeframe and date range (CSV data or the simulated market)",
            "Metrics: return, Sharpe, Sortino, max drawdown, win rate, profit factor, exposure",
            "Equity curve and drawdown chart, trade list with entry/exit markers on the candles",
            "Randomized runs over many windows and parameter sweeps, with live job progress",
        ],
    )
