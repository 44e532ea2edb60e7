"""One backtest ``/backtest/<id>``: progress with stage, ETA and Cancel while it runs, then the
results (stat cards, charts, run summary, trade log, downloads). Shareable and reloadable:
everything is read from the stored result.
"""

from __future__ import annotations

import csv
import io
import json
from functools import lru_cache
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate

from components import backtest_charts as charts
from components import bootstrap_views as cb
from components import robustness_views as mc
from components.backtest_results import (
    RUN_COLUMNS,
    TRADE_COLUMNS,
    make_grid,
    make_monthly_table,
    make_progress,
    make_stat_cards,
    run_rows,
    trade_rows,
)
from engine.api.backtests import delete as delete_handler
from engine.api.backtests import status_of
from engine.api.candle_bootstrap import candle_bootstrap_state, submit_candle_bootstrap
from engine.api.candle_bootstrap import delete as bootstrap_delete
from engine.api.core import ApiError, ApiRequest
from engine.api.dispatch import respond
from engine.api.robustness import lookahead_state, run_monte_carlo, submit_lookahead
from engine.backtest.data_spec import DataSpec, load_series
from engine.backtest.report import TRADE_COLUMNS as CSV_COLUMNS
from engine.data.bars import BarSeries
from engine.data.candle_store import CandleStore
from engine.errors import TradeSimError
from engine.storage.backtest_store import BacktestStore
from pages._services import services

dash.register_page(
    __name__,
    path_template="/backtest/<backtest_id>",
    name="Backtest result",
    title="Backtest result · Trading Simulator",
)

P = "bt-result"
ID = f"{P}-id"
DONE = f"{P}-done"
POLL = f"{P}-poll"
PROGRESS = f"{P}-progress"
CANCEL = f"{P}-cancel"
BODY = f"{P}-body"
CANDLES = f"{P}-candles"
TRADES = f"{P}-trades"
CSV_BUTTON = f"{P}-csv"
JSON_BUTTON = f"{P}-json"
DOWNLOAD = f"{P}-download"
OPTIMIZE = f"{P}-optimize"
TABS = f"{P}-tabs"
GRAPH_CONFIG = {"displaylogo": False, "responsive": False, "displayModeBar": "hover"}


@lru_cache(maxsize=4)
def _series(spec: DataSpec, folders: tuple[str, ...]) -> BarSeries:
    from pathlib import Path

    return load_series(
        spec, csv_folders=[Path(f) for f in folders], candles=CandleStore(services().db)
    )


def _bars(result: dict[str, Any], focus: dict[str, Any] | None = None) -> dict[str, Any] | None:
    record = BacktestStore(services().db).get(result["backtest_id"])
    if record is None:
        return None
    spec = DataSpec.from_dict(record.config["data"])
    folders = tuple(str(f) for f in services().settings.csv_folders)
    try:
        return charts.chart_bars(_series(spec, folders), focus)
    except TradeSimError:
        return None


def _graph(figure: dict[str, Any], height: int, graph_id: str | None = None) -> dcc.Graph:
    extra = {"id": graph_id} if graph_id else {}
    return dcc.Graph(figure=figure, config=GRAPH_CONFIG, style={"height": f"{height}px"}, **extra)


def _card(title: str | None, body: Any, klass: str = "") -> dbc.Card:
    header = dbc.CardHeader(title, className="bt-card-title") if title else None
    return dbc.Card([header, dbc.CardBody(body, className="p-2")], className=f"mb-3 {klass}")


def _utc(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def _title(record: Any) -> html.Div:
    config = record.config
    data = config["data"]
    source = "simulated" if data["source"] == "sim" else data["source"].removeprefix("csv:")
    span = f"{_utc(data['start_ms'])} → {_utc(data['end_ms'])}"
    runs = f" · {config['runs']} runs × {config['duration']}" if config.get("runs", 1) > 1 else ""
    return html.Div(
        [
            html.Div(
                [
                    dcc.Link("Backtest", href="/backtest", className="crumb"),
                    html.Span(" / ", className="text-muted"),
                    dcc.Link("History", href="/backtests", className="crumb"),
                ],
                className="small mb-1",
            ),
            html.H3(
                [
                    record.strategy_name,
                    html.Span(f" {record.symbol} · {record.timeframe}", className="text-muted"),
                ],
                className="mb-1",
            ),
            html.Div(f"{source} · {span}{runs}", className="text-muted small"),
        ]
    )


@lru_cache(maxsize=2)
def _finished_body(backtest_id: str) -> tuple[Any, ...]:
    """The results of a finished backtest (immutable once finished: a re-run gets a new id),
    built once per web process; the caller has checked that the backtest still exists."""
    result = BacktestStore(services().db).result(backtest_id)
    return tuple(results_body(result)) if result else ()


def results_body(result: dict[str, Any]) -> list[Any]:
    """Everything shown for a finished backtest."""
    trades = result.get("trades") or []
    bars = _bars(result)
    candle_title = f"Price ({bars['timeframe']} candles)" if bars else "Price"
    candles = (
        _graph(charts.candles_figure(bars, trades, title=candle_title), 460, CANDLES)
        if bars
        else html.Div("The bars of this range are no longer available.", className="text-muted")
    )
    downloads = html.Div(
        [
            dbc.Button(
                "⬇ Trades CSV",
                id=CSV_BUTTON,
                color="secondary",
                size="sm",
                outline=True,
                className="me-2",
            ),
            dbc.Button(
                "⬇ Result JSON",
                id=JSON_BUTTON,
                color="secondary",
                size="sm",
                outline=True,
                className="me-2",
            ),
            dbc.Button(
                "↻ Re-run",
                href=f"/backtest?rerun={result['backtest_id']}",
                color="secondary",
                size="sm",
                outline=True,
                className="me-2",
            ),
            dbc.Button(
                "⚙ Optimize",
                id=OPTIMIZE,
                href=f"/optimize?backtest={result['backtest_id']}",
                color="secondary",
                size="sm",
                outline=True,
            ),
            dcc.Download(id=DOWNLOAD),
        ],
        className="bt-downloads",
    )
    return [
        html.Div(downloads, className="d-flex justify-content-end mb-2"),
        make_stat_cards(result),
        dbc.Row(
            [
                dbc.Col(_card(None, _graph(charts.equity_figure(result), 360)), lg=8),
                dbc.Col(_card(None, _graph(charts.drawdown_figure(result), 360)), lg=4),
            ],
            className="g-3 mt-1",
        ),
        _card(None, candles),
        dbc.Row(
            [
                dbc.Col(_card(None, _graph(charts.returns_histogram(trades), 320)), lg=6),
                dbc.Col(_card(None, make_monthly_table(charts.monthly_table(result))), lg=6),
                dbc.Col(_card(None, _graph(charts.hold_scatter(trades), 320)), lg=6),
                dbc.Col(_card(None, _graph(charts.hour_bars(trades), 320)), lg=6),
            ],
            className="g-3",
        ),
        _card(
            "Runs",
            make_grid(
                f"{P}-runs", run_rows(result), RUN_COLUMNS, min(360, 70 + 30 * len(result["runs"]))
            ),
        ),
        _card(
            [
                f"Trade log · {len(trades):,} trades",
                html.Span(" — click a trade to show it on the chart", className="text-muted"),
            ],
            make_grid(TRADES, trade_rows(trades), TRADE_COLUMNS, 460),
        ),
    ]


def layout(backtest_id: str = "", **_query: str) -> html.Div:
    """Results straight away when finished; otherwise progress, polled twice a second."""
    record = BacktestStore(services().db).get(backtest_id)
    if record is None:
        return html.Div(
            dbc.Alert(
                [
                    f"There is no backtest '{backtest_id}'. ",
                    dcc.Link("Start a new one", href="/backtest"),
                ],
                color="warning",
            ),
            className="bt-page",
        )
    try:
        state = status_of(services(), backtest_id)
    except ApiError:
        state = {"status": record.status, "progress": record.progress, "error": record.error}
    finished = state["status"] == "finished"
    body = list(_finished_body(backtest_id)) if finished else []
    active = state["status"] in ("queued", "running")
    progress = dbc.Card(
        dbc.CardBody(
            [
                html.Div(make_progress(state), id=PROGRESS),
                dbc.Button(
                    "Cancel",
                    id=CANCEL,
                    color="danger",
                    outline=True,
                    size="sm",
                    className="mt-3",
                    style={} if active else {"display": "none"},
                ),
            ]
        ),
        className="mb-3 bt-progress",
        style={"display": "none"} if finished else {},
    )
    return html.Div(
        [
            dcc.Store(id=ID, data=backtest_id),
            dcc.Store(id=DONE, data=False),
            dcc.Interval(id=POLL, interval=500, disabled=not active),
            _title(record),
            html.Div(className="mb-3"),
            progress,
            dbc.Tabs(
                [
                    dbc.Tab(
                        dcc.Loading(
                            html.Div(body, id=BODY),
                            type="dot",
                            color="#00bc8c",
                        ),
                        label="Results",
                        tab_id="results",
                    ),
                    dbc.Tab(
                        [
                            _card(
                                "Monte Carlo: resample this backtest's trades",
                                [
                                    mc.make_controls(),
                                    dcc.Loading(html.Div(id=mc.OUTPUT), type="dot"),
                                ],
                            ),
                            _card(
                                "Candle bootstrap: re-run the strategy on synthetic price paths",
                                [
                                    cb.make_controls(),
                                    html.Div(id=cb.OUTPUT),
                                    dcc.Store(id=cb.STORE),
                                    dcc.Interval(id=cb.POLL, interval=700, disabled=True),
                                ],
                            ),
                            _card(
                                "No-lookahead check",
                                [
                                    mc.make_lookahead_controls(),
                                    html.Div(id=mc.LA_OUTPUT),
                                    dcc.Store(id=mc.LA_STORE),
                                    dcc.Interval(id=mc.LA_POLL, interval=700, disabled=True),
                                ],
                            ),
                        ],
                        label="Robustness",
                        tab_id="robustness",
                        tab_class_name="bt-robustness-tab",
                    ),
                ],
                id=TABS,
                active_tab="results",
                className="bt-tabs mb-3",
            ),
        ],
        className="bt-page",
    )


@callback(
    Output(PROGRESS, "children"),
    Output(DONE, "data"),
    Output(POLL, "disabled"),
    Output(CANCEL, "style"),
    Input(POLL, "n_intervals"),
    State(ID, "data"),
    prevent_initial_call=True,
)
def _poll(_n: int | None, backtest_id: str) -> tuple[Any, Any, bool, Any]:
    """Progress while active (cheap: one status read); ``DONE`` once finished, which renders
    the results in :func:`_results` (a slow render here would be superseded by the next tick)."""
    try:
        state = status_of(services(), backtest_id)
    except ApiError as exc:
        return dbc.Alert(exc.message, color="warning"), no_update, True, {"display": "none"}
    if state["status"] in ("queued", "running"):
        return make_progress(state), no_update, False, {}
    finished = state["status"] == "finished"
    return make_progress(state), finished or no_update, True, {"display": "none"}


@callback(
    Output(BODY, "children"), Input(DONE, "data"), State(ID, "data"), prevent_initial_call=True
)
def _results(done: bool | None, backtest_id: str) -> Any:
    """The results, once, when the backtest has finished."""
    if not done:
        raise PreventUpdate
    return list(_finished_body(backtest_id))


@callback(
    Output(PROGRESS, "children", allow_duplicate=True),
    Input(CANCEL, "n_clicks"),
    State(ID, "data"),
    prevent_initial_call=True,
)
def _cancel(n_clicks: int | None, backtest_id: str) -> Any:
    """Ask the job to stop (it answers within a second)."""
    if not n_clicks:
        raise PreventUpdate
    respond(delete_handler, services(), ApiRequest(path={"backtest_id": backtest_id}))
    return make_progress({"status": "running", "stage": "cancelling…", "progress": 0})


@callback(
    Output(CANDLES, "figure"),
    Input(TRADES, "selectedRows"),
    State(ID, "data"),
    prevent_initial_call=True,
)
def _focus(rows: list[dict[str, Any]] | None, backtest_id: str) -> Any:
    """Show the clicked trade on the candles (native bars around it)."""
    if not rows:
        raise PreventUpdate
    result = BacktestStore(services().db).result(backtest_id)
    if result is None:
        raise PreventUpdate
    trade = result["trades"][int(rows[0]["id"])]
    bars = _bars(result, trade)
    if bars is None:
        raise PreventUpdate
    title = f"Trade #{rows[0]['id']} · {trade['side']} · P&L {float(trade['pnl']):,.2f}"
    return charts.candles_figure(bars, result["trades"], focus=trade, title=title)


@callback(
    Output(DOWNLOAD, "data"),
    Input(CSV_BUTTON, "n_clicks"),
    Input(JSON_BUTTON, "n_clicks"),
    State(ID, "data"),
    prevent_initial_call=True,
)
def _download(csv_clicks: int | None, json_clicks: int | None, backtest_id: str) -> Any:
    """Trades as CSV (the CLI's columns) or the full result JSON."""
    result = BacktestStore(services().db).result(backtest_id)
    if result is None:
        raise PreventUpdate
    if dash.ctx.triggered_id == JSON_BUTTON:
        return {"content": json.dumps(result, indent=1), "filename": f"backtest-{backtest_id}.json"}
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(CSV_COLUMNS), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(result["trades"])
    return {"content": buffer.getvalue(), "filename": f"backtest-{backtest_id}-trades.csv"}


@callback(
    Output(mc.OUTPUT, "children"),
    Input(mc.RUN, "n_clicks"),
    State(mc.SIMULATIONS, "value"),
    State(mc.SEED, "value"),
    State(mc.METHOD, "value"),
    State(ID, "data"),
    prevent_initial_call=True,
)
def _monte_carlo(
    n_clicks: int | None, simulations: Any, seed: Any, method: str, backtest_id: str
) -> Any:
    """Percentile table and equity fan of seeded resamples of the trades."""
    if not n_clicks:
        raise PreventUpdate
    body = {"backtest_id": backtest_id, "method": method}
    if isinstance(simulations, int | float):
        body["simulations"] = int(simulations)
    if isinstance(seed, int | float):
        body["seed"] = int(seed)
    try:
        result = run_monte_carlo(services(), body)
    except ApiError as exc:
        return dbc.Alert(exc.message, color="warning")
    except TradeSimError as exc:
        return dbc.Alert(str(exc), color="warning")
    return [mc.make_table(result), _graph(mc.fan_figure(result), 380, f"{P}-fan")]


@callback(
    Output(mc.LA_STORE, "data"),
    Output(mc.LA_POLL, "disabled"),
    Output(mc.LA_OUTPUT, "children"),
    Input(mc.LA_RUN, "n_clicks"),
    State(ID, "data"),
    prevent_initial_call=True,
)
def _lookahead(n_clicks: int | None, backtest_id: str) -> Any:
    """Queue the live-path replay of this backtest."""
    if not n_clicks:
        raise PreventUpdate
    try:
        answer = submit_lookahead(services(), {"backtest_id": backtest_id})
    except ApiError as exc:
        return no_update, True, dbc.Alert(exc.message, color="warning", className="mt-2")
    except TradeSimError as exc:
        return no_update, True, dbc.Alert(str(exc), color="warning", className="mt-2")
    return answer["check_id"], False, mc.lookahead_view({"status": "queued"})


@callback(
    Output(mc.LA_OUTPUT, "children", allow_duplicate=True),
    Output(mc.LA_POLL, "disabled", allow_duplicate=True),
    Input(mc.LA_POLL, "n_intervals"),
    State(mc.LA_STORE, "data"),
    prevent_initial_call=True,
)
def _lookahead_poll(_n: int | None, check_id: str | None) -> Any:
    """The check's answer once the job has it."""
    if not check_id:
        raise PreventUpdate
    state = lookahead_state(services(), check_id)
    return mc.lookahead_view(state), state["status"] not in ("queued", "running")


def _bootstrap_body(state: dict[str, Any]) -> Any:
    """Progress while it runs, then the percentile table and the fan."""
    if state["status"] != "finished" or not state.get("result"):
        return cb.progress_view(state)
    result = state["result"]
    return [cb.make_table(result), _graph(cb.fan_figure(result), 380, cb.FAN)]


@callback(
    Output(cb.STORE, "data"),
    Output(cb.POLL, "disabled"),
    Output(cb.OUTPUT, "children"),
    Output(cb.CANCEL, "style"),
    Input(cb.RUN, "n_clicks"),
    State(cb.PATHS, "value"),
    State(cb.BLOCK, "value"),
    State(cb.SEED, "value"),
    State(ID, "data"),
    prevent_initial_call=True,
)
def _bootstrap(n_clicks: int | None, paths: Any, block: Any, seed: Any, backtest_id: str) -> Any:
    """Queue the candle bootstrap of this backtest."""
    if not n_clicks:
        raise PreventUpdate
    body: dict[str, Any] = {"backtest_id": backtest_id}
    for name, value in (("paths", paths), ("block", block), ("seed", seed)):
        if isinstance(value, int | float):
            body[name] = int(value)
    try:
        answer = submit_candle_bootstrap(services(), body)
    except ApiError as exc:
        alert = dbc.Alert(exc.message, color="warning", className="mt-2")
        return no_update, True, alert, no_update
    except TradeSimError as exc:
        return no_update, True, dbc.Alert(str(exc), color="warning", className="mt-2"), no_update
    queued = cb.progress_view({"status": "queued", "paths": 0})
    return answer["bootstrap_id"], False, queued, {}


@callback(
    Output(cb.OUTPUT, "children", allow_duplicate=True),
    Output(cb.POLL, "disabled", allow_duplicate=True),
    Output(cb.CANCEL, "style", allow_duplicate=True),
    Input(cb.POLL, "n_intervals"),
    State(cb.STORE, "data"),
    prevent_initial_call=True,
)
def _bootstrap_poll(_n: int | None, bootstrap_id: str | None) -> Any:
    """Paths done while it runs (Cancel shown); the result once finished."""
    if not bootstrap_id:
        raise PreventUpdate
    state = candle_bootstrap_state(services(), bootstrap_id)
    active = state["status"] in ("queued", "running")
    return _bootstrap_body(state), not active, {} if active else {"display": "none"}


@callback(
    Output(cb.OUTPUT, "children", allow_duplicate=True),
    Input(cb.CANCEL, "n_clicks"),
    State(cb.STORE, "data"),
    prevent_initial_call=True,
)
def _bootstrap_cancel(n_clicks: int | None, bootstrap_id: str | None) -> Any:
    """Stop the running bootstrap (its job looks at most every 0.5 s); the poll shows it."""
    if not n_clicks or not bootstrap_id:
        raise PreventUpdate
    respond(bootstrap_delete, services(), ApiRequest(path={"bootstrap_id": bootstrap_id}))
    return make_progress({"status": "running", "stage": "cancelling…", "progress": 0})
