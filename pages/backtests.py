"""Backtest history ``/backtests``: past runs with delete and re-run; select two or more and
Compare (``/backtests?compare=<id>,<id>``: metrics side by side, equity on one chart)."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate

from components.backtest_history import (
    compare_equity_figure,
    history_rows,
    make_compare_table,
    make_history_grid,
)
from engine.api.backtests import delete, history
from engine.api.core import ApiRequest
from engine.api.dispatch import respond
from engine.storage.backtest_store import BacktestStore
from pages._services import services

dash.register_page(
    __name__, path="/backtests", name="Backtests", title="Backtests · Trading Simulator"
)

P = "bt-history"
GRID = f"{P}-grid"
COMPARE = f"{P}-compare"
RERUN = f"{P}-rerun"
DELETE = f"{P}-delete"
REDIRECT = f"{P}-redirect"
MESSAGE = f"{P}-message"
MAX_COMPARE = 6


def _rows() -> list[dict[str, Any]]:
    items = respond(history, services(), ApiRequest(query={"limit": "500"})).payload["data"]
    return history_rows(items)


def _comparison(ids: list[str]) -> Any:
    store = BacktestStore(services().db)
    results = [r for r in (store.result(i) for i in ids[:MAX_COMPARE]) if r is not None]
    if len(results) < 2:
        return dbc.Alert("Select two or more finished backtests to compare.", color="info")
    return dbc.Card(
        dbc.CardBody(
            [
                html.H5(f"Comparing {len(results)} backtests", className="mb-3"),
                dbc.Row(
                    [
                        dbc.Col(make_compare_table(results), lg=5),
                        dbc.Col(
                            dcc.Graph(
                                figure=compare_equity_figure(results),
                                config={"displaylogo": False},
                                style={"height": "420px"},
                            ),
                            lg=7,
                        ),
                    ],
                    className="g-3",
                ),
                html.Div("★ marks the better value of each row.", className="text-muted small"),
            ]
        ),
        className="mt-3",
        id=f"{P}-comparison",
    )


def layout(compare: str | None = None, **_query: str) -> html.Div:
    """The grid with its actions, and the comparison asked for in the query string."""
    ids = [i for i in (compare or "").split(",") if i]
    toolbar = html.Div(
        [
            dbc.Button(
                "Compare selected", id=COMPARE, color="success", size="sm", className="me-2"
            ),
            dbc.Button(
                "Re-run", id=RERUN, color="light", outline=True, size="sm", className="me-2"
            ),
            dbc.Button("Delete", id=DELETE, color="danger", outline=True, size="sm"),
            html.Span(id=MESSAGE, className="text-muted small ms-3"),
            dcc.Link("+ New backtest", href="/backtest", className="ms-auto"),
        ],
        className="d-flex align-items-center mb-2",
    )
    return html.Div(
        [
            dcc.Location(id=REDIRECT, refresh="callback-nav"),
            html.H3("Backtests", className="mb-3"),
            dbc.Card(dbc.CardBody([toolbar, make_history_grid(GRID, _rows())])),
            _comparison(ids) if ids else None,
        ],
        className="bt-page",
    )


@callback(
    Output(REDIRECT, "href"),
    Output(MESSAGE, "children"),
    Input(COMPARE, "n_clicks"),
    Input(RERUN, "n_clicks"),
    State(GRID, "selectedRows"),
    prevent_initial_call=True,
)
def _go(_compare: int | None, _rerun: int | None, rows: list[dict[str, Any]] | None) -> Any:
    """Compare the selection, or open the form prefilled from the first selected."""
    ids = [r["id"] for r in rows or []]
    if dash.ctx.triggered_id == RERUN:
        if not ids:
            return no_update, "Select a backtest to re-run."
        return f"/backtest?rerun={ids[0]}", ""
    if len(ids) < 2:
        return no_update, "Select two or more backtests to compare."
    return f"/backtests?compare={','.join(ids[:MAX_COMPARE])}", ""


@callback(
    Output(GRID, "rowData"),
    Output(MESSAGE, "children", allow_duplicate=True),
    Input(DELETE, "n_clicks"),
    State(GRID, "selectedRows"),
    prevent_initial_call=True,
)
def _delete(n_clicks: int | None, rows: list[dict[str, Any]] | None) -> Any:
    """Delete the selected backtests (running ones are cancelled)."""
    if not n_clicks or not rows:
        raise PreventUpdate
    for row in rows:
        respond(delete, services(), ApiRequest(path={"backtest_id": row["id"]}))
    return _rows(), f"{len(rows)} backtest(s) deleted or cancelled."
