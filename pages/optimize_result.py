"""One sweep ``/optimize/<id>``: progress (combinations done / total, ETA) with Cancel while
it runs; the heatmap of any metric over any two params, a line over one or a scatter of every
combination (one param against the metric, coloured by another), and a sortable table of
every combination, both filling in as rows land. "Open as backtest" runs the selected row as
a full backtest; "Run as runner" opens the runner form prefilled with it. Shareable:
everything is read from the database.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate

from components import sweep_charts as charts
from components import sweep_controls as controls
from components.backtest_results import make_grid, make_progress
from components.runner_prefill import runner_link
from components.sweep_controls import AGG, AGG_COL, COLOR, COLOR_COL, METRIC, VIEW, Y_COL, X, Y
from engine.api.backtests import submit as submit_backtest
from engine.api.core import ApiError, ApiRequest
from engine.api.dispatch import respond
from engine.api.robustness import submit_walk_forward
from engine.api.sweeps import delete as delete_handler
from engine.api.sweeps import status_of
from engine.backtest.request import BacktestConfig
from engine.errors import TradeSimError
from engine.optimize.request import SweepConfig
from engine.storage.sweep_store import SweepStore
from pages._services import services

dash.register_page(
    __name__,
    path_template="/optimize/<sweep_id>",
    name="Sweep",
    title="Sweep · Trading Simulator",
)

P = "opt-result"
ID = f"{P}-id"
POLL = f"{P}-poll"
VERSION = f"{P}-version"
PROGRESS = f"{P}-progress"
CANCEL = f"{P}-cancel"
BEST = f"{P}-best"
CHART = f"{P}-chart"
GRID = f"{P}-grid"
OPEN = f"{P}-open"
OPEN_ERROR = f"{P}-open-error"
RUNNER = f"{P}-runner"
WF_FOLDS = f"{P}-wf-folds"
WF_MODE = f"{P}-wf-mode"
WF_RUN = f"{P}-wf-run"
WF_ERROR = f"{P}-wf-error"
REDIRECT = f"{P}-redirect"
GRAPH_CONFIG = {"displaylogo": False, "responsive": True, "displayModeBar": "hover"}


def _progress_state(sweep_id: str) -> dict[str, Any]:
    state = status_of(services(), sweep_id)
    stage = f"{state['done']:,} of {state['total']:,} combinations"
    if state["failed"]:
        stage += f" · {state['failed']} failed"
    return {**state, "stage": stage if state["status"] != "queued" else "queued"}


def _best_card(state: dict[str, Any]) -> Any:
    best = state.get("best")
    objective = state["config"]["objective"]
    if not best:
        text = "no combination meets the constraints yet" if state["done"] else "waiting…"
        return html.Div(text, className="text-muted")
    params = ", ".join(f"{k} = {v}" for k, v in best["params"].items())
    value = best.get("objective")
    shown = "–" if value is None else f"{value:,.4g}"
    return html.Div(
        [
            html.Div(
                f"Best {objective['metric']} ({objective['direction']})", className="bt-label"
            ),
            html.Div(shown, className="opt-best-value"),
            html.Div(params, className="opt-best-params"),
            html.Div(f"combination #{best['combo_index']}", className="text-muted small"),
        ]
    )


def _title(record: Any) -> html.Div:
    config = record.config
    objective = config["objective"]
    constraints = " · ".join(
        f"{c['metric']} {c['op']} {c['value']:g}" for c in objective["constraints"]
    )
    data = config["backtest"]["data"]
    source = "simulated" if data["source"] == "sim" else data["source"].removeprefix("csv:")
    return html.Div(
        [
            html.Div(
                [dcc.Link("Optimize", href="/optimize", className="crumb")], className="small mb-1"
            ),
            html.H3(
                [
                    record.strategy_name,
                    html.Span(f" {record.symbol} · {record.timeframe}", className="text-muted"),
                ],
                className="mb-1",
            ),
            html.Div(
                f"{source} · {record.method} · {record.total:,} combinations · "
                f"{objective['direction']} {objective['metric']}"
                + (f" · {constraints}" if constraints else ""),
                className="text-muted small",
            ),
        ]
    )


def layout(sweep_id: str = "", **_query: str) -> html.Div:
    """Progress and results (rendered from the database; polled while active)."""
    record = SweepStore(services().db).get(sweep_id)
    if record is None:
        return html.Div(
            dbc.Alert(
                [f"There is no sweep '{sweep_id}'. ", dcc.Link("Start one", href="/optimize")],
                color="warning",
            ),
            className="bt-page",
        )
    state = _progress_state(sweep_id)
    active = state["status"] in ("queued", "running")
    params = [r["name"] for r in record.config["space"]]
    view = "heatmap" if len(params) > 1 else "line"
    chart_controls = controls.make_chart_controls(
        params, view, record.config["objective"]["metric"]
    )
    progress = dbc.Card(
        dbc.CardBody(
            dbc.Row(
                [
                    dbc.Col(
                        [
                            html.Div(make_progress(state), id=PROGRESS),
                            dbc.Button(
                                "Cancel sweep",
                                id=CANCEL,
                                color="danger",
                                outline=True,
                                size="sm",
                                className="mt-3",
                                style={} if active else {"display": "none"},
                            ),
                        ],
                        lg=8,
                    ),
                    dbc.Col(html.Div(_best_card(state), id=BEST), lg=4, className="opt-best"),
                ]
            )
        ),
        className="mb-3",
    )
    maximize = record.config["objective"]["direction"] == "maximize"
    grid = make_grid(GRID, [], charts.result_columns(params, maximize), 420)
    grid.dashGridOptions = {
        **grid.dashGridOptions,
        "localeText": {"noRowsToShow": "No results yet"},
    }
    table = dbc.Card(
        [
            dbc.CardHeader(
                html.Div(
                    [
                        html.Span("Every combination"),
                        html.Span(" — select a row, then", className="text-muted ms-1"),
                        dbc.Button(
                            "Open as backtest",
                            id=OPEN,
                            color="primary",
                            size="sm",
                            className="ms-2",
                            disabled=True,
                        ),
                        dbc.Button(
                            "Run as runner",
                            id=RUNNER,
                            color="info",
                            outline=True,
                            size="sm",
                            className="ms-2",
                            disabled=True,
                            title="Open the runner form with this combination's params",
                        ),
                    ],
                    className="d-flex align-items-center",
                )
            ),
            dbc.CardBody(
                [
                    dbc.Alert(id=OPEN_ERROR, color="danger", is_open=False, className="py-2"),
                    grid,
                ],
                className="p-2",
            ),
        ],
        className="mb-3",
    )
    return html.Div(
        [
            dcc.Store(id=ID, data=sweep_id),
            dcc.Store(id=VERSION, data=state["done"]),
            dcc.Interval(id=POLL, interval=1000, disabled=not active),
            dcc.Location(id=REDIRECT, refresh="callback-nav"),
            _title(record),
            html.Div(className="mb-3"),
            progress,
            dbc.Card(
                dbc.CardBody(
                    [
                        chart_controls,
                        dcc.Graph(id=CHART, config=GRAPH_CONFIG, style={"height": "460px"}),
                    ],
                    className="p-2",
                ),
                className="mb-3",
            ),
            table,
            _walk_forward_card(record.method),
        ],
        className="bt-page opt-page",
    )


def _walk_forward_card(method: str) -> dbc.Card:
    """Walk-forward with this sweep's space, objective and constraints."""
    if method == "tpe":
        note: Any = html.Div(
            "Walk-forward optimizes each fold with a grid or random sweep; run one of those.",
            className="text-muted small",
        )
    else:
        note = dbc.Row(
            [
                dbc.Col(
                    [
                        dbc.Label("Folds", className="bt-label"),
                        dbc.Input(
                            id=WF_FOLDS, type="number", min=1, max=20, step=1, value=4, size="sm"
                        ),
                    ],
                    md=2,
                ),
                dbc.Col(
                    [
                        dbc.Label("Windows", className="bt-label"),
                        dbc.Select(
                            id=WF_MODE,
                            size="sm",
                            value="rolling",
                            options=[
                                {"label": "rolling", "value": "rolling"},
                                {"label": "anchored", "value": "anchored"},
                            ],
                        ),
                    ],
                    md=3,
                ),
                dbc.Col(
                    dbc.Button(
                        "Run walk-forward", id=WF_RUN, color="primary", size="sm", className="w-100"
                    ),
                    md=3,
                ),
                dbc.Col(
                    html.Div(
                        "Each fold optimizes this space on 3× the out-of-sample length before "
                        "it, then tests the best params out of sample.",
                        className="text-muted small",
                    ),
                    md=4,
                ),
            ],
            className="g-2 align-items-end",
        )
    return dbc.Card(
        [
            dbc.CardHeader("Walk-forward validation"),
            dbc.CardBody(
                [dbc.Alert(id=WF_ERROR, color="danger", is_open=False, className="py-2"), note]
            ),
        ],
        className="mb-3",
    )


@callback(
    Output(PROGRESS, "children"),
    Output(BEST, "children"),
    Output(VERSION, "data"),
    Output(POLL, "disabled"),
    Output(CANCEL, "style"),
    Input(POLL, "n_intervals"),
    State(ID, "data"),
    prevent_initial_call=True,
)
def _poll(_n: int | None, sweep_id: str) -> tuple[Any, Any, Any, bool, Any]:
    """Progress and best while active; ``VERSION`` changes as rows land (charts refresh)."""
    try:
        state = _progress_state(sweep_id)
    except ApiError as exc:
        return (
            dbc.Alert(exc.message, color="warning"),
            no_update,
            no_update,
            True,
            {"display": "none"},
        )
    active = state["status"] in ("queued", "running")
    version = f"{state['done']}:{state['status']}"
    hide = {} if active else {"display": "none"}
    return make_progress(state), _best_card(state), version, not active, hide


@callback(
    Output(Y_COL, "style"),
    Output(COLOR_COL, "style"),
    Output(AGG_COL, "style"),
    Input(VIEW, "value"),
    prevent_initial_call=True,
)
def _view(view: str) -> tuple[Any, Any, Any]:
    """Show the controls the chosen view uses."""
    shown = controls.shown(view)
    return shown["y"], shown["color"], shown["agg"]


@callback(
    Output(CHART, "figure"),
    Output(GRID, "rowData"),
    Input(VERSION, "data"),
    Input(VIEW, "value"),
    Input(METRIC, "value"),
    Input(X, "value"),
    Input(Y, "value"),
    Input(COLOR, "value"),
    Input(AGG, "value"),
    State(ID, "data"),
)
def _charts(
    _version: Any, view: str, metric: str, x: str, y: str, color: str, how: str, sweep_id: str
) -> Any:
    """Heatmap (two params), line (one) or scatter (every combination) of ``metric``, and the
    table rows."""
    store = SweepStore(services().db)
    rows = store.results(sweep_id)
    record = store.get(sweep_id)
    best = record.best if record and record.best else None
    best_index = best["combo_index"] if best else None
    if view == "scatter":
        figure = charts.scatter_figure(rows, x, metric, color or None, best_index)
    elif view == "heatmap" and y and y != x:
        figure = charts.heatmap_figure(rows, x, y, metric, how, best and best["params"])
    else:
        figure = charts.line_figure(rows, x, metric, how)
    return figure, charts.result_rows(rows, best_index)


@callback(
    Output(OPEN, "disabled"),
    Output(RUNNER, "disabled"),
    Output(RUNNER, "href"),
    Input(GRID, "selectedRows"),
    State(ID, "data"),
)
def _selected(rows: list[dict[str, Any]] | None, sweep_id: str) -> tuple[bool, bool, str | None]:
    """ "Open as backtest" needs a finished row; "Run as runner" links to the runner form
    prefilled with the sweep's strategy, market and the row's params."""
    if not rows:
        return True, True, None
    record = SweepStore(services().db).get(sweep_id)
    if record is None:
        return True, True, None
    finished = str(rows[0].get("status", "")).startswith("ok")
    return not finished, False, runner_link(record.config["backtest"], _row_params(rows[0]))


def _row_params(row: dict[str, Any]) -> dict[str, Any]:
    return {k.removeprefix("p_"): v for k, v in row.items() if k.startswith("p_")}


@callback(
    Output(REDIRECT, "href"),
    Output(OPEN_ERROR, "children"),
    Output(OPEN_ERROR, "is_open"),
    Input(OPEN, "n_clicks"),
    State(GRID, "selectedRows"),
    State(ID, "data"),
    prevent_initial_call=True,
)
def _open(n_clicks: int | None, rows: list[dict[str, Any]] | None, sweep_id: str) -> Any:
    """Queue the selected combination as a backtest (same code, data, fills) and go there."""
    if not n_clicks or not rows:
        raise PreventUpdate
    record = SweepStore(services().db).get(sweep_id)
    if record is None:
        return no_update, "This sweep no longer exists.", True
    params = _row_params(rows[0])
    body = BacktestConfig.from_dict(record.config["backtest"]).to_request()
    body["params"] = {**body["params"], **params}
    body["note"] = f"sweep {sweep_id} combination #{rows[0]['combo']}"
    try:
        answer = submit_backtest(services(), body)
    except ApiError as exc:
        return no_update, exc.message, True
    except TradeSimError as exc:
        return no_update, str(exc), True
    return f"/backtest/{answer['backtest_id']}", None, False


@callback(
    Output(PROGRESS, "children", allow_duplicate=True),
    Input(CANCEL, "n_clicks"),
    State(ID, "data"),
    prevent_initial_call=True,
)
def _cancel(n_clicks: int | None, sweep_id: str) -> Any:
    """Cancel every chunk (each stops within half a second)."""
    if not n_clicks:
        raise PreventUpdate
    respond(delete_handler, services(), ApiRequest(path={"sweep_id": sweep_id}))
    return make_progress({"status": "running", "stage": "cancelling…", "progress": 0})


@callback(
    Output(REDIRECT, "href", allow_duplicate=True),
    Output(WF_ERROR, "children"),
    Output(WF_ERROR, "is_open"),
    Input(WF_RUN, "n_clicks"),
    State(WF_FOLDS, "value"),
    State(WF_MODE, "value"),
    State(ID, "data"),
    prevent_initial_call=True,
)
def _walk_forward(n_clicks: int | None, folds: Any, mode: str, sweep_id: str) -> Any:
    """Queue a walk-forward run of this sweep and go to its page."""
    if not n_clicks:
        raise PreventUpdate
    record = SweepStore(services().db).get(sweep_id)
    if record is None:
        return no_update, "This sweep no longer exists.", True
    body = SweepConfig.from_dict(record.config).to_request()
    body.update(mode=mode or "rolling")
    if isinstance(folds, int | float):
        body["folds"] = int(folds)
    try:
        answer = submit_walk_forward(services(), body)
    except ApiError as exc:
        return no_update, exc.message, True
    except TradeSimError as exc:
        return no_update, str(exc), True
    return f"/walk-forward/{answer['walk_forward_id']}", None, False
