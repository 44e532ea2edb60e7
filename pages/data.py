"""Data ``/data``: stored candles (coverage table + timeline with gaps), candle preview, CSV
import (upload, preview, column mapping), exchange download, collection schedules with
"Collect now", running jobs with progress bars and the sessions log.

Every action goes through the REST handlers of ``engine.api.history`` / ``engine.api.collection``
(same validation and messages as the API); long work runs as RQ jobs on the ``data`` queue.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from components.data_views import (
    candle_figure,
    coverage_figure,
    coverage_rows,
    make_coverage_grid,
    make_progress_list,
    make_sessions_grid,
    mapping_table,
    series_key,
    session_rows,
)
from engine.api import collection as collection_api
from engine.api import history as history_api
from engine.api.core import ApiRequest, Handler
from engine.api.dispatch import respond
from engine.data.candle_store import CandleStore
from engine.data.history import CANONICAL, series_gaps
from engine.data.symbols import SYMBOLS
from engine.data.timeframes import Timeframe
from pages._services import services

dash.register_page(__name__, path="/data", name="Data", title="Data · Trading Simulator")

P = "data"
INTERVAL = f"{P}-interval"
COVERAGE = f"{P}-coverage"
TIMELINE = f"{P}-timeline"
JOBS = f"{P}-jobs"
SESSIONS = f"{P}-sessions"
COLLECTIONS = f"{P}-collections"
FINISHED = f"{P}-finished"
CHANGED = f"{P}-changed"
PREVIEW_SERIES = f"{P}-preview-series"
PREVIEW_TF = f"{P}-preview-timeframe"
PREVIEW = f"{P}-preview"
UPLOAD = f"{P}-upload"
UPLOADED = f"{P}-uploaded"
UPLOAD_PREVIEW = f"{P}-upload-preview"
MAPPING = f"{P}-mapping"
IMP_SYMBOL = f"{P}-import-symbol"
IMP_TF = f"{P}-import-timeframe"
IMP_SOURCE = f"{P}-import-source"
IMP_GO = f"{P}-import-go"
IMP_MSG = f"{P}-import-message"
DL_EXCHANGE = f"{P}-download-exchange"
DL_SYMBOL = f"{P}-download-symbol"
DL_TF = f"{P}-download-timeframe"
DL_SINCE = f"{P}-download-since"
DL_UNTIL = f"{P}-download-until"
DL_GO = f"{P}-download-go"
DL_MSG = f"{P}-download-message"
SC_SOURCE = f"{P}-schedule-source"
SC_SYMBOL = f"{P}-schedule-symbol"
SC_TF = f"{P}-schedule-timeframe"
SC_SINCE = f"{P}-schedule-since"
SC_GO = f"{P}-schedule-go"
SC_MSG = f"{P}-schedule-message"
COLLECT_ALL = f"{P}-collect-all"
ACTION_MSG = f"{P}-action-message"
REFRESH_MS = 2_000
TIMEFRAMES = [tf.value for tf in Timeframe]
_STEP = {tf.value: tf.ms for tf in Timeframe}


def call(
    handler: Handler,
    *,
    body: Any = None,
    path: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> tuple[Any, str | None]:
    """Run a REST handler in-process: ``(data, None)`` or ``(None, error message)``."""
    request = ApiRequest(path=path or {}, query=query or {}, body=body)
    response = respond(handler, services(), request)
    payload = response.payload
    if payload.get("status") == "ok":
        return payload["data"], None
    return None, str(payload["error"]["message"])


def _field(label: str, control: Any, width: int = 6) -> dbc.Col:
    return dbc.Col([dbc.Label(label, className="small mb-1"), control], md=width, className="mb-2")


def _tf_dropdown(component_id: str, value: str | None, clearable: bool = False) -> dcc.Dropdown:
    return dcc.Dropdown(
        id=component_id,
        options=TIMEFRAMES,
        value=value,
        clearable=clearable,
        placeholder="from the file",
    )


def _import_tab() -> html.Div:
    return html.Div(
        [
            dcc.Upload(
                id=UPLOAD,
                children=html.Div(["Drop a CSV file here or ", html.A("choose one")]),
                className="data-upload",
                multiple=False,
            ),
            html.Div(id=UPLOAD_PREVIEW, className="mt-2"),
            dbc.Collapse(
                dbc.Row(
                    [
                        _field(name, dcc.Dropdown(id=f"{MAPPING}-{name}", options=[]), 4)
                        for name in CANONICAL
                    ],
                    className="g-2",
                ),
                id=MAPPING,
                is_open=False,
            ),
            dbc.Row(
                [
                    _field("Symbol", dbc.Input(id=IMP_SYMBOL, placeholder="e.g. BTCUSDT"), 4),
                    _field("Timeframe", _tf_dropdown(IMP_TF, None, clearable=True), 4),
                    _field("Source name", dbc.Input(id=IMP_SOURCE, placeholder="csv:<file>"), 4),
                ],
                className="g-2 mt-1",
            ),
            dbc.Button("Import", id=IMP_GO, color="success", size="sm", disabled=True),
            html.Div(id=IMP_MSG, className="mt-2 small"),
        ]
    )


def _download_tab() -> html.Div:
    return html.Div(
        [
            dbc.Row(
                [
                    _field("Exchange (ccxt id)", dbc.Input(id=DL_EXCHANGE, value="binanceus"), 4),
                    _field("Symbol", dbc.Input(id=DL_SYMBOL, value="BTC/USDT"), 4),
                    _field("Timeframe", _tf_dropdown(DL_TF, "1m"), 4),
                    _field("Since", dbc.Input(id=DL_SINCE, value="2024-01-01"), 6),
                    _field("Until (optional)", dbc.Input(id=DL_UNTIL, placeholder="now"), 6),
                ],
                className="g-2",
            ),
            dbc.Button("Download", id=DL_GO, color="primary", size="sm"),
            html.Div(id=DL_MSG, className="mt-2 small"),
        ]
    )


def _schedule_tab() -> html.Div:
    symbols = [s.symbol for s in SYMBOLS]
    return html.Div(
        [
            dbc.Row(
                [
                    _field(
                        "Source",
                        dcc.Dropdown(
                            id=SC_SOURCE,
                            options=[
                                {"label": "simulated market (sim)", "value": "sim"},
                                {"label": "Binance US (binanceus)", "value": "binanceus"},
                            ],
                            value="sim",
                            clearable=False,
                        ),
                        6,
                    ),
                    _field(
                        "Symbol",
                        dcc.Dropdown(id=SC_SYMBOL, options=symbols, value="BTCUSDT"),
                        6,
                    ),
                    _field("Timeframe", _tf_dropdown(SC_TF, "1h"), 6),
                    _field("Keep history since", dbc.Input(id=SC_SINCE, placeholder="30 days"), 6),
                ],
                className="g-2",
            ),
            html.Div(
                "Cadence: 5m/15m/30m every 5 minutes, 1h/4h/8h hourly, 1d daily after the close.",
                className="text-muted small mb-2",
            ),
            dbc.Button("Schedule", id=SC_GO, color="primary", size="sm"),
            html.Div(id=SC_MSG, className="mt-2 small"),
        ]
    )


def _card(title: str, body: Any, **kwargs: Any) -> dbc.Card:
    return dbc.Card([dbc.CardHeader(title), dbc.CardBody(body)], className="mb-3", **kwargs)


def layout(**_query: str) -> html.Div:
    """The data page; everything fills in from its callbacks."""
    return html.Div(
        [
            dcc.Interval(id=INTERVAL, interval=REFRESH_MS),
            dcc.Store(id=FINISHED, data=-1),
            dcc.Store(id=CHANGED, data=0),
            dcc.Store(id=UPLOADED),
            html.Div(
                [
                    html.H3("Data", className="page-title mb-0"),
                    html.Span(
                        "the candles backtests, runners and charts read", className="page-subtitle"
                    ),
                ],
                className="page-header",
            ),
            html.Div(id=ACTION_MSG),
            dbc.Row(
                [
                    dbc.Col(
                        _card(
                            "Stored series",
                            html.Div(make_coverage_grid(COVERAGE, []), className="data-grid-frame"),
                        ),
                        lg=9,
                    ),
                    dbc.Col(_card("Running jobs", html.Div(id=JOBS)), lg=3),
                ],
                className="g-3",
            ),
            _card("Coverage timeline", dcc.Graph(id=TIMELINE, config={"displaylogo": False})),
            dbc.Row(
                [
                    dbc.Col(
                        _card(
                            "Candle preview",
                            [
                                dbc.Row(
                                    [
                                        dbc.Col(
                                            dcc.Dropdown(
                                                id=PREVIEW_SERIES,
                                                options=[],
                                                placeholder="pick a stored series",
                                            ),
                                            md=8,
                                        ),
                                        dbc.Col(_tf_dropdown(PREVIEW_TF, None, True), md=4),
                                    ],
                                    className="g-2 mb-2",
                                ),
                                dcc.Graph(id=PREVIEW, config={"displaylogo": False}),
                            ],
                        ),
                        lg=7,
                    ),
                    dbc.Col(
                        _card(
                            "Add data",
                            dbc.Tabs(
                                [
                                    dbc.Tab(_import_tab(), label="Import CSV", tab_id="import"),
                                    dbc.Tab(_download_tab(), label="Download", tab_id="download"),
                                    dbc.Tab(_schedule_tab(), label="Schedule", tab_id="schedule"),
                                ],
                                active_tab="import",
                                className="mb-3",
                            ),
                        ),
                        lg=5,
                    ),
                ],
                className="g-3",
            ),
            _card(
                "Collections",
                [
                    dbc.Button(
                        "Collect now (all)",
                        id=COLLECT_ALL,
                        color="success",
                        size="sm",
                        className="mb-2",
                    ),
                    html.Div(id=COLLECTIONS),
                ],
            ),
            _card(
                "Sessions log",
                html.Div(make_sessions_grid(SESSIONS, []), className="data-grid-frame"),
            ),
        ],
        className="data-page",
    )


def _collections_table(jobs: list[dict[str, Any]]) -> Any:
    if not jobs:
        return html.Div(
            "No collection scheduled: use the Schedule tab.", className="text-muted small"
        )
    head = ["Series", "Every", "Status", "Last run", "Next run", "Last error", ""]
    body = []
    for j in jobs:
        body.append(
            html.Tr(
                [
                    html.Td(f"{j['symbol']} {j['timeframe']} · {j['source']}"),
                    html.Td(f"{j['interval_s'] // 60} min"),
                    html.Td(j["status"], className=f"data-status-{j['status']}"),
                    html.Td((j["last_run_at"] or "")[:19].replace("T", " ")),
                    html.Td((j["next_run_at"] or "")[:19].replace("T", " ")),
                    html.Td(j["last_error"] or "", className="text-danger small"),
                    html.Td(
                        dbc.Button(
                            "Collect now",
                            id={"type": f"{P}-collect", "job": j["id"]},
                            size="sm",
                            color="secondary",
                        )
                    ),
                ]
            )
        )
    return html.Table(
        [html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(body)],
        className="table table-sm table-dark mb-0",
    )


# -- periodic: jobs, sessions, collections ----------------------------------------------------
@callback(
    Output(JOBS, "children"),
    Output(SESSIONS, "rowData"),
    Output(COLLECTIONS, "children"),
    Output(FINISHED, "data"),
    Input(INTERVAL, "n_intervals"),
    Input(CHANGED, "data"),
    State(FINISHED, "data"),
)
def _refresh(_n: int | None, _changed: int, finished: int) -> tuple[Any, ...]:
    sessions, error = call(history_api.list_sessions, query={"limit": "100"})
    jobs, _ = call(collection_api.list_jobs)
    if error:
        return dbc.Alert(error, color="danger"), no_update, no_update, no_update
    sessions = sessions or []
    active = [s for s in sessions if s["status"] in ("queued", "running")]
    done = sum(1 for s in sessions if s["status"] not in ("queued", "running"))
    return (
        make_progress_list(active),
        session_rows(sessions),
        _collections_table(jobs or []),
        done if done != finished else no_update,
    )


@callback(
    Output(COVERAGE, "rowData"),
    Output(TIMELINE, "figure"),
    Output(PREVIEW_SERIES, "options"),
    Input(FINISHED, "data"),
    Input(CHANGED, "data"),
)
def _coverage(_finished: int, _changed: int) -> tuple[Any, ...]:
    coverage, error = call(history_api.coverage)
    if error:
        raise PreventUpdate
    entries = coverage or []
    store = CandleStore(services().db)
    gaps = {
        series_key(c): series_gaps(store, c["source"], c["symbol"], c["timeframe"]) for c in entries
    }
    options = [
        {
            "label": f"{c['symbol']} {c['timeframe']} · {c['source']} ({c['bars']:,} bars)",
            "value": series_key(c),
        }
        for c in entries
    ]
    return coverage_rows(entries), coverage_figure(entries, gaps, _STEP), options


@callback(
    Output(PREVIEW_SERIES, "value"),
    Input(COVERAGE, "selectedRows"),
    prevent_initial_call=True,
)
def _select(rows: list[dict[str, Any]] | None) -> Any:
    if not rows:
        raise PreventUpdate
    return rows[0]["key"]


@callback(
    Output(PREVIEW, "figure"),
    Input(PREVIEW_SERIES, "value"),
    Input(PREVIEW_TF, "value"),
)
def _preview(key: str | None, timeframe: str | None) -> dict[str, Any]:
    if not key:
        return candle_figure([], "Pick a series above or in the table")
    source, symbol, stored_tf = key.split("|")
    tf = timeframe or stored_tf
    data, error = call(
        history_api.get_history,
        path={"symbol": symbol},
        query={"timeframe": tf, "source": source, "limit": "500"},
    )
    if error:
        return candle_figure([], error)
    return candle_figure(data["bars"], f"{symbol} {tf} · {source} (last {data['count']} bars)")


# -- import ------------------------------------------------------------------------------------
@callback(
    Output(UPLOADED, "data"),
    Output(UPLOAD_PREVIEW, "children"),
    Output(MAPPING, "is_open"),
    *[Output(f"{MAPPING}-{n}", "options") for n in CANONICAL],
    *[Output(f"{MAPPING}-{n}", "value") for n in CANONICAL],
    Output(IMP_SYMBOL, "value"),
    Output(IMP_GO, "disabled"),
    Input(UPLOAD, "contents"),
    State(UPLOAD, "filename"),
    prevent_initial_call=True,
)
def _uploaded(contents: str | None, filename: str | None) -> tuple[Any, ...]:
    empty = (no_update,) * (2 * len(CANONICAL))
    if not contents:
        raise PreventUpdate
    try:
        text = base64.b64decode(contents.split(",", 1)[1]).decode("utf-8-sig")
    except (IndexError, binascii.Error, UnicodeDecodeError):
        message = dbc.Alert(f"{filename}: not a UTF-8 text file", color="danger", className="py-1")
        return None, message, False, *empty, no_update, True
    preview, error = call(history_api.import_csv, body={"content": text, "preview": True})
    if error:
        return (
            None,
            dbc.Alert(error, color="danger", className="py-1"),
            False,
            *empty,
            no_update,
            True,
        )
    header = preview["header"]
    mapping = preview["mapping"]
    note = (
        html.Div("Columns recognized.", className="text-success small")
        if preview["recognized"]
        else html.Div(
            "Header not recognized: map the columns below.", className="text-warning small"
        )
    )
    table = mapping_table(header, preview["rows"][:5])
    stem = Path(filename or "upload.csv").stem
    symbol = stem.split("-")[0].split("_")[0].upper()
    return (
        {"text": text, "filename": filename or "upload.csv"},
        [html.Div(f"{filename}: first rows", className="small mb-1"), table, note],
        not preview["recognized"],
        *[header for _ in CANONICAL],
        *[mapping[n] for n in CANONICAL],
        symbol,
        False,
    )


@callback(
    Output(IMP_MSG, "children"),
    Output(CHANGED, "data", allow_duplicate=True),
    Input(IMP_GO, "n_clicks"),
    State(UPLOADED, "data"),
    State(IMP_SYMBOL, "value"),
    State(IMP_TF, "value"),
    State(IMP_SOURCE, "value"),
    State(MAPPING, "is_open"),
    *[State(f"{MAPPING}-{n}", "value") for n in CANONICAL],
    State(CHANGED, "data"),
    prevent_initial_call=True,
)
def _import(_n: int | None, uploaded: dict[str, Any] | None, *args: Any) -> tuple[Any, Any]:
    if not uploaded:
        return dbc.Alert("Choose a file first.", color="warning", className="py-1"), no_update
    symbol, timeframe, source, mapped, *columns, changed = args
    body: dict[str, Any] = {
        "content": uploaded["text"],
        "filename": uploaded["filename"],
        "symbol": symbol,
        "timeframe": timeframe,
        "source": source,
    }
    if mapped:
        body["columns"] = {n: c for n, c in zip(CANONICAL, columns, strict=True) if c}
    result, error = call(history_api.import_csv, body=body)
    if error:
        return dbc.Alert(error, color="danger", className="py-1"), no_update
    text = (
        f"Imported {result['bars']:,} {result['timeframe']} bars of {result['symbol']} as "
        f"{result['source']}: {result['added']:,} new, {result['unchanged']:,} already stored."
    )
    return dbc.Alert(text, color="success", className="py-1"), (changed or 0) + 1


# -- download / schedule / collect / cancel ----------------------------------------------------
@callback(
    Output(DL_MSG, "children"),
    Output(CHANGED, "data", allow_duplicate=True),
    Input(DL_GO, "n_clicks"),
    State(DL_EXCHANGE, "value"),
    State(DL_SYMBOL, "value"),
    State(DL_TF, "value"),
    State(DL_SINCE, "value"),
    State(DL_UNTIL, "value"),
    State(CHANGED, "data"),
    prevent_initial_call=True,
)
def _download(_n: int | None, *args: Any) -> tuple[Any, Any]:
    exchange, symbol, timeframe, since, until, changed = args
    body = {"exchange": exchange, "symbol": symbol, "timeframe": timeframe, "since": since}
    if until:
        body["until"] = until
    session, error = call(history_api.start_download, body=body)
    if error:
        return dbc.Alert(error, color="danger", className="py-1"), no_update
    text = f"Download queued (session {session['id']}): watch it under Running jobs."
    return dbc.Alert(text, color="info", className="py-1"), (changed or 0) + 1


@callback(
    Output(SC_MSG, "children"),
    Output(CHANGED, "data", allow_duplicate=True),
    Input(SC_GO, "n_clicks"),
    State(SC_SOURCE, "value"),
    State(SC_SYMBOL, "value"),
    State(SC_TF, "value"),
    State(SC_SINCE, "value"),
    State(CHANGED, "data"),
    prevent_initial_call=True,
)
def _schedule(_n: int | None, *args: Any) -> tuple[Any, Any]:
    source, symbol, timeframe, since, changed = args
    body = {"source": source, "symbol": symbol, "timeframe": timeframe}
    if since:
        body["since"] = since
    job, error = call(collection_api.create_job, body=body)
    if error:
        return dbc.Alert(error, color="danger", className="py-1"), no_update
    text = f"Scheduled {job['symbol']} {job['timeframe']} from {job['source']}: first run now."
    return dbc.Alert(text, color="success", className="py-1"), (changed or 0) + 1


@callback(
    Output(ACTION_MSG, "children"),
    Output(CHANGED, "data", allow_duplicate=True),
    Input(COLLECT_ALL, "n_clicks"),
    Input({"type": f"{P}-collect", "job": ALL}, "n_clicks"),
    Input({"type": "data-cancel", "session": ALL}, "n_clicks"),
    State(CHANGED, "data"),
    prevent_initial_call=True,
)
def _act(
    _all: int | None, _collect: list[Any], _cancel: list[Any], changed: int
) -> tuple[Any, Any]:
    trigger = ctx.triggered_id
    if not ctx.triggered or not ctx.triggered[0]["value"]:
        raise PreventUpdate
    if trigger == COLLECT_ALL:
        data, error = call(collection_api.auto_collect, body={})
        text = f"Collecting {len(data or [])} series now."
    elif isinstance(trigger, dict) and trigger.get("type") == f"{P}-collect":
        data, error = call(collection_api.run_job, path={"collection_id": str(trigger["job"])})
        text = "Collection queued."
    elif isinstance(trigger, dict):
        data, error = call(history_api.cancel_session, path={"session_id": str(trigger["session"])})
        text = "Cancel requested."
    else:
        raise PreventUpdate
    if error:
        return dbc.Alert(error, color="danger", dismissable=True, className="py-1"), no_update
    return (
        dbc.Alert(text, color="info", dismissable=True, duration=4000, className="py-1"),
        (changed or 0) + 1,
    )
