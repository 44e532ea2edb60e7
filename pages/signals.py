"""Signals ``/signals``: recent strategy signals across setups, newest first, filtered by setup,
strategy and timeframe (``/signals?strategy=ema_crossover`` is one strategy's view), refreshed
every 5 s; each row has "Place order", the order ticket prefilled with symbol, side and price.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html

from components.setups_views import make_signal_grid, signal_rows
from engine.setups.spec import SETUP_TIMEFRAMES
from engine.storage.setup_store import SetupStore
from pages._services import services

dash.register_page(__name__, path="/signals", name="Signals", title="Signals · Trading Simulator")

P = "signals"
SETUP = f"{P}-setup"
STRATEGY = f"{P}-strategy"
TIMEFRAME = f"{P}-timeframe"
GRID = f"{P}-grid"
INTERVAL = f"{P}-interval"
COUNT = f"{P}-count"
LIMIT = 500


def _rows(setup: Any, strategy: str | None, timeframe: str | None) -> list[dict[str, Any]]:
    setup_id = None if setup in (None, "") else int(setup)
    found = SetupStore(services().db).signals(
        setup_id=setup_id, strategy=strategy or None, timeframe=timeframe or None, limit=LIMIT
    )
    return signal_rows(found)


def _choices() -> tuple[list[dict[str, Any]], list[str]]:
    setups = SetupStore(services().db).list()
    options = [{"label": "ad hoc", "value": 0}] + [
        {"label": f"#{s['id']} {s['symbol']} ({', '.join(s['timeframes'])})", "value": s["id"]}
        for s in setups
    ]
    strategies = sorted({name for s in setups for name in s["strategies"]})
    return options, strategies


def layout(setup: str | None = None, strategy: str | None = None, **_q: str) -> html.Div:
    """Filters and the grid."""
    options, strategies = _choices()
    chosen = int(setup) if setup and setup.isdigit() else None
    rows = _rows(chosen, strategy, None)
    return html.Div(
        [
            dcc.Interval(id=INTERVAL, interval=5000),
            html.H3("Signals"),
            html.Div(
                [
                    html.Div(
                        [
                            dbc.Label("Setup"),
                            dcc.Dropdown(
                                id=SETUP, options=options, value=chosen, placeholder="All setups"
                            ),
                        ]
                    ),
                    html.Div(
                        [
                            dbc.Label("Strategy"),
                            dcc.Dropdown(
                                id=STRATEGY,
                                options=sorted({*strategies, *([strategy] if strategy else [])}),
                                value=strategy,
                                placeholder="All strategies",
                            ),
                        ]
                    ),
                    html.Div(
                        [
                            dbc.Label("Timeframe"),
                            dcc.Dropdown(
                                id=TIMEFRAME,
                                options=list(SETUP_TIMEFRAMES),
                                placeholder="All timeframes",
                            ),
                        ]
                    ),
                    html.Div(id=COUNT, className="text-muted small pb-2"),
                ],
                className="signals-filters",
            ),
            make_signal_grid(GRID, rows),
        ],
        className="signals-page",
    )


@callback(
    Output(GRID, "rowData"),
    Output(COUNT, "children"),
    Input(INTERVAL, "n_intervals"),
    Input(SETUP, "value"),
    Input(STRATEGY, "value"),
    Input(TIMEFRAME, "value"),
)
def refresh(_n: int, setup: Any, strategy: str | None, timeframe: str | None) -> tuple[Any, str]:
    """The newest signals under the filters (rows keyed by id: the grid updates in place)."""
    rows = _rows(setup, strategy, timeframe)
    more = f" (the newest {LIMIT})" if len(rows) == LIMIT else ""
    return rows, f"{len(rows)} signals{more}, newest first"
