"""One walk-forward run ``/walk-forward/<id>``: progress while it runs (Cancel), then the
efficiency and returns, the per-fold in-sample / out-of-sample table, the stitched
out-of-sample equity against buy-and-hold and the params chosen per fold. Started from a
sweep's page (its space, objective and constraints); shareable.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate

from components import walkforward_views as views
from components.backtest_results import make_progress
from engine.api.core import ApiError, ApiRequest
from engine.api.dispatch import respond
from engine.api.robustness import delete_walk_forward, walk_forward_state
from pages._services import services

dash.register_page(
    __name__,
    path_template="/walk-forward/<walk_forward_id>",
    name="Walk-forward",
    title="Walk-forward · Trading Simulator",
)

P = "wf"
ID = f"{P}-id"
POLL = f"{P}-poll"
PROGRESS = f"{P}-progress"
CANCEL = f"{P}-cancel"
BODY = f"{P}-body"
GRAPH_CONFIG = {"displaylogo": False, "responsive": True, "displayModeBar": "hover"}


def _card(body: Any) -> dbc.Card:
    return dbc.Card(dbc.CardBody(body, className="p-2"), className="mb-3")


def results_body(result: dict[str, Any]) -> list[Any]:
    """Everything shown for a finished run."""
    return [
        views.make_cards(result),
        _card(html.Div(views.make_fold_table(result), className="table-responsive")),
        dbc.Row(
            [
                dbc.Col(
                    _card(
                        dcc.Graph(
                            id=f"{P}-equity",
                            figure=views.equity_figure(result),
                            config=GRAPH_CONFIG,
                            style={"height": "380px"},
                        )
                    ),
                    lg=8,
                ),
                dbc.Col(
                    _card(
                        dcc.Graph(
                            id=f"{P}-params",
                            figure=views.params_figure(result),
                            config=GRAPH_CONFIG,
                            style={"height": "380px"},
                        )
                    ),
                    lg=4,
                ),
            ],
            className="g-3",
        ),
    ]


def _progress(state: dict[str, Any]) -> dict[str, Any]:
    stage = {"queued": "Waiting for a worker…", "running": "optimizing folds…"}.get(
        state["status"], state["status"]
    )
    return {**state, "stage": stage, "eta_s": None}


def layout(walk_forward_id: str = "", **_query: str) -> html.Div:
    """Results when finished; otherwise progress, polled every second."""
    try:
        state = walk_forward_state(services(), walk_forward_id)
    except ApiError:
        return html.Div(
            dbc.Alert(
                [
                    f"There is no walk-forward run '{walk_forward_id}'. ",
                    dcc.Link("Optimize", href="/optimize"),
                ],
                color="warning",
            ),
            className="bt-page",
        )
    config = state["config"]
    active = state["status"] in ("queued", "running")
    objective = config["sweep"]["objective"]
    title = html.Div(
        [
            html.Div(
                [dcc.Link("Optimize", href="/optimize", className="crumb")], className="small mb-1"
            ),
            html.H3(
                [
                    f"Walk-forward · {state['strategy']}",
                    html.Span(f" {state['symbol']} · {state['timeframe']}", className="text-muted"),
                ],
                className="mb-1",
            ),
            html.Div(
                f"{config['folds']} {config['mode']} folds · in-sample {config['is_ratio']:g}× "
                f"out-of-sample · {config['sweep']['method']} · {objective['direction']} "
                f"{objective['metric']}",
                className="text-muted small",
            ),
        ],
        className="mb-3",
    )
    progress = _card(
        [
            html.Div(make_progress(_progress(state)), id=PROGRESS),
            dbc.Button(
                "Cancel",
                id=CANCEL,
                color="danger",
                outline=True,
                size="sm",
                className="mt-2",
                style={} if active else {"display": "none"},
            ),
        ]
    )
    return html.Div(
        [
            dcc.Store(id=ID, data=walk_forward_id),
            dcc.Interval(id=POLL, interval=1000, disabled=not active),
            title,
            html.Div(
                progress,
                style={} if active or state["status"] != "finished" else {"display": "none"},
            ),
            html.Div(results_body(state["result"]) if state.get("result") else [], id=BODY),
        ],
        className="bt-page wf-page",
    )


@callback(
    Output(PROGRESS, "children"),
    Output(BODY, "children"),
    Output(POLL, "disabled"),
    Output(CANCEL, "style"),
    Input(POLL, "n_intervals"),
    State(ID, "data"),
    prevent_initial_call=True,
)
def _poll(_n: int | None, walk_forward_id: str) -> Any:
    """Progress while active; the results once finished."""
    state = walk_forward_state(services(), walk_forward_id)
    if state["status"] in ("queued", "running"):
        return make_progress(_progress(state)), no_update, False, {}
    body = results_body(state["result"]) if state.get("result") else []
    return make_progress(_progress(state)), body, True, {"display": "none"}


@callback(
    Output(PROGRESS, "children", allow_duplicate=True),
    Input(CANCEL, "n_clicks"),
    State(ID, "data"),
    prevent_initial_call=True,
)
def _cancel(n_clicks: int | None, walk_forward_id: str) -> Any:
    """Stop the run at its next combination."""
    if not n_clicks:
        raise PreventUpdate
    respond(delete_walk_forward, services(), ApiRequest(path={"walk_forward_id": walk_forward_id}))
    return make_progress({"status": "running", "stage": "cancelling…", "progress": 0})
