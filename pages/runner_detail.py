"""Runner Detail ``/runners/<runner_id>``: header with controls, the chart (timeframe, overlays,
oscillator), indicators, position and history, context and stats, and the state-logic log.

Reads go through ``services().engine`` (closed trades: the database's ``runner_trades``) and
never raise when the engine, Redis or the database is down; the
chart keeps the user's zoom across refreshes (``uirevision``) and is only re-sent when its
data changed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import dash
import dash_bootstrap_components as dbc
import redis
import sqlalchemy
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from components.runner_chart import OSCILLATOR_PRESETS, runner_figure
from components.runner_chart_traces import strategy_indicators
from components.runner_detail_layout import (
    NO_OSCILLATOR,
    ChartCardIds,
    make_chart_card,
    make_controls,
)
from components.runner_format import ACTION_DONE, ACTION_LABEL, make_toast, price_decimals
from components.runner_layout import (
    make_confirm_modal,
    make_not_found,
    make_panel,
    make_runner_header,
)
from components.runner_logs import (
    history_column_defs,
    history_rows,
    logic_column_defs,
    logic_rows,
    make_log_grid,
)
from components.runner_panels import (
    make_context_panel,
    make_indicator_panel,
    make_position_panel,
    make_stats_panel,
)
from engine.errors import CommandError, EngineUnavailable
from engine.live.client import EngineClient
from engine.storage.runner_store import RunnerStore
from pages._services import services

dash.register_page(
    __name__,
    path_template="/runners/<runner_id>",
    title=lambda runner_id=None, **_: f"{runner_id} · Runner" if runner_id else "Runner",
)

P = "runner-detail"
RUNNER = f"{P}-runner"
INTERVAL = f"{P}-interval"
OFFLINE = f"{P}-offline"
HEADER = f"{P}-header"
CONTROLS = f"{P}-controls"
CONTROLS_KEY = f"{P}-controls-key"
CHART = f"{P}-chart"
CHART_KEY = f"{P}-chart-key"
TIMEFRAME = f"{P}-timeframe"
OVERLAYS = f"{P}-overlays"
OSCILLATOR = f"{P}-oscillator"
INDICATORS = f"{P}-indicators"
POSITION = f"{P}-position"
HISTORY = f"{P}-history"
CONTEXT = f"{P}-context"
STATS = f"{P}-stats"
LOGIC = f"{P}-logic"
TOASTS = f"{P}-toasts"
CONFIRM = f"{P}-confirm"
CONFIRM_OK = f"{P}-confirm-ok"
CONFIRM_CANCEL = f"{P}-confirm-cancel"
REDIRECT = f"{P}-redirect"
NOT_FOUND = f"{P}-not-found"
REFRESH_MS = 2_000
READ_ERRORS = (redis.RedisError, OSError, ValueError, sqlalchemy.exc.SQLAlchemyError)


def _trades() -> RunnerStore:
    """Closed trades are read from the database (the runner_trades table)."""
    return RunnerStore(services().db)


CHART_IDS = ChartCardIds(chart=CHART, timeframe=TIMEFRAME, overlays=OVERLAYS, oscillator=OSCILLATOR)


def action_id(action: str) -> dict[str, str]:
    """Pattern-matching id of a control button."""
    return {"type": f"{P}-action", "action": action}


def detail_view(
    engine: EngineClient, trades_db: RunnerStore, runner_id: str
) -> dict[str, Any] | None:
    """Everything but the chart for one runner (None if it does not exist); closed trades come
    from the database."""
    try:
        snap = engine.snapshot(runner_id)
        if snap is None:
            return None
        online = engine.heartbeat() is not None
        decisions = engine.decisions(runner_id, 100)
        trades = trades_db.closed_positions(runner_id, 100)
    except READ_ERRORS:
        return None
    last_bar = snap.get("last_bar") or {}
    decimals = price_decimals(snap.get("symbol"), last_bar.get("close"))
    timeframe = str(snap.get("timeframe") or "")
    return {
        "snapshot": snap,
        "offline": not online,
        "header": make_runner_header(snap),
        "controls": make_controls(snap, online, action_id),
        "controls_key": f"{snap.get('status')}|{bool(snap.get('position'))}|{online}",
        "indicators": make_indicator_panel(
            snap.get("indicators") or {}, last_bar.get("close"), decimals
        ),
        "position": make_position_panel(
            snap.get("position"), last_bar, timeframe, decimals, str(snap.get("symbol") or "")
        ),
        "history": history_rows(trades, timeframe, decimals),
        "context": make_context_panel(snap.get("context") or {}),
        "stats": make_stats_panel(snap.get("stats") or {}),
        "logic": logic_rows(decisions, decimals),
    }


def chart_view(
    engine: EngineClient,
    trades_db: RunnerStore,
    runner_id: str,
    timeframe: str | None,
    overlays: list[str] | None,
    oscillator: str | None,
) -> tuple[Any, str] | None:
    """The chart figure and a key of what it shows (same key: nothing to redraw)."""
    try:
        snap = engine.snapshot(runner_id)
        if snap is None:
            return None
        bars = engine.bars(runner_id, 500, forming=True)
        trades = trades_db.closed_positions(runner_id, 200)
    except READ_ERRORS:
        return None
    position = snap.get("position")
    osc = None if oscillator in (None, NO_OSCILLATOR) else oscillator
    key = "|".join(
        str(part)
        for part in (
            bars[-1] if bars else None,
            len(bars),
            trades[0].get("exit_time") if trades else None,
            position and (position.get("stop_loss"), position.get("take_profit")),
            timeframe,
            overlays,
            osc,
        )
    )
    figure = runner_figure(
        bars,
        symbol=str(snap.get("symbol")),
        base_timeframe=str(snap.get("timeframe")),
        timeframe=timeframe,
        overlays=overlays or [],
        oscillator=osc,
        trades=trades,
        position=position,
        decimals=price_decimals(snap.get("symbol"), (snap.get("last_bar") or {}).get("close")),
        uirevision=f"{runner_id}:{timeframe}",
    )
    return figure, key


def layout(runner_id: str | None = None, **_query: Any) -> html.Div:
    """The detail page, or a friendly not-found card."""
    view = detail_view(services().engine, _trades(), runner_id or "")
    if view is None:
        return make_not_found(NOT_FOUND, runner_id or "")
    snap = view["snapshot"]
    overlays, oscillator = strategy_indicators((snap.get("indicators") or {}).keys())
    oscillator = oscillator or OSCILLATOR_PRESETS[0]
    timeframe = snap.get("timeframe")
    chart = chart_view(
        services().engine, _trades(), str(runner_id), timeframe, overlays, oscillator
    )
    return html.Div(
        [
            dcc.Store(id=RUNNER, data=runner_id),
            dcc.Store(id=CONTROLS_KEY, data=view["controls_key"]),
            dcc.Store(id=CHART_KEY, data=chart[1] if chart else None),
            dcc.Interval(id=INTERVAL, interval=REFRESH_MS),
            dcc.Location(id=REDIRECT, refresh="callback-nav"),
            html.Div(id=TOASTS, className="toast-stack"),
            dcc.Link("← Runners", href="/", className="back-link"),
            html.Div(
                [
                    html.Div(view["header"], id=HEADER, className="detail-title"),
                    html.Div(view["controls"], id=CONTROLS, className="detail-controls"),
                ],
                className="detail-header",
            ),
            dbc.Alert(
                "Engine offline: showing the last state it published.",
                id=OFFLINE,
                color="danger",
                is_open=view["offline"],
                className="py-2",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        make_chart_card(
                            snap, overlays, oscillator, chart[0] if chart else None, CHART_IDS
                        ),
                        xl=9,
                        lg=8,
                        className="mb-3",
                    ),
                    dbc.Col(
                        [
                            make_panel("Indicators", INDICATORS, view["indicators"]),
                            make_panel("Position", POSITION, view["position"]),
                            make_panel("Stats", STATS, view["stats"]),
                        ],
                        xl=3,
                        lg=4,
                    ),
                ],
                className="g-3",
            ),
            make_panel(
                "State logic · last 100 decisions, newest first",
                f"{LOGIC}-body",
                make_log_grid(
                    LOGIC,
                    view["logic"],
                    logic_column_defs(),
                    "No decisions yet: the strategy runs once per bar.",
                ),
                "grid-body logic-body",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        make_panel(
                            "Closed positions",
                            f"{HISTORY}-body",
                            make_log_grid(
                                HISTORY, view["history"], history_column_defs(), "None yet."
                            ),
                            "grid-body history-body",
                        ),
                        xl=8,
                    ),
                    dbc.Col(make_panel("Context", CONTEXT, view["context"]), xl=4),
                ],
                className="g-3",
            ),
            make_confirm_modal(
                CONFIRM,
                CONFIRM_OK,
                CONFIRM_CANCEL,
                f"Delete {runner_id}?",
                "Its configuration, state, decision log and position history are removed. "
                "This cannot be undone.",
            ),
        ],
        className="runner-detail-page",
    )


# -- callbacks ---------------------------------------------------------------------------------
@callback(
    Output(HEADER, "children"),
    Output(CONTROLS, "children"),
    Output(CONTROLS_KEY, "data"),
    Output(OFFLINE, "is_open"),
    Output(OFFLINE, "children"),
    Output(INDICATORS, "children"),
    Output(POSITION, "children"),
    Output(HISTORY, "rowData"),
    Output(CONTEXT, "children"),
    Output(STATS, "children"),
    Output(LOGIC, "rowData"),
    Input(INTERVAL, "n_intervals"),
    State(RUNNER, "data"),
    State(CONTROLS_KEY, "data"),
    prevent_initial_call=True,
)
def _refresh(_n: int | None, runner_id: str, shown_key: str | None) -> tuple[Any, ...]:
    view = detail_view(services().engine, _trades(), runner_id)
    if view is None:
        gone = f"Runner {runner_id} is gone (deleted), or Redis cannot be reached."
        return (no_update,) * 3 + (True, gone) + (no_update,) * 6
    key = view["controls_key"]
    return (
        view["header"],
        view["controls"] if key != shown_key else no_update,
        key,
        view["offline"],
        "Engine offline: showing the last state it published.",
        view["indicators"],
        view["position"],
        view["history"],
        view["context"],
        view["stats"],
        view["logic"],
    )


@callback(
    Output(CHART, "figure"),
    Output(CHART_KEY, "data"),
    Input(INTERVAL, "n_intervals"),
    Input(TIMEFRAME, "value"),
    Input(OVERLAYS, "value"),
    Input(OSCILLATOR, "value"),
    State(RUNNER, "data"),
    State(CHART_KEY, "data"),
)
def _chart(
    _n: int | None,
    timeframe: str | None,
    overlays: list[str] | None,
    oscillator: str | None,
    runner_id: str,
    shown_key: str | None,
) -> tuple[Any, Any]:
    found = chart_view(services().engine, _trades(), runner_id, timeframe, overlays, oscillator)
    if found is None or found[1] == shown_key:
        raise PreventUpdate
    return found


@callback(
    Output(TOASTS, "children", allow_duplicate=True),
    Output(CONTROLS, "children", allow_duplicate=True),
    Output(CONTROLS_KEY, "data", allow_duplicate=True),
    Output(CONFIRM, "is_open", allow_duplicate=True),
    Input(action_id(ALL), "n_clicks"),
    State(RUNNER, "data"),
    prevent_initial_call=True,
    running=[(Output(CONTROLS, "className"), "detail-controls busy", "detail-controls")],
)
def _action(clicks: list[int | None], runner_id: str) -> tuple[Any, ...]:
    if not ctx.triggered_id or not any(clicks):
        raise PreventUpdate
    action = ctx.triggered_id["action"]
    if action == "delete":
        return no_update, no_update, no_update, True
    try:
        services().engine.command(action, runner_id=runner_id)
    except (CommandError, EngineUnavailable, *READ_ERRORS) as exc:
        message = exc.message if isinstance(exc, CommandError) else str(exc)
        label = ACTION_LABEL[action].lower()
        return make_toast(f"Could not {label}", message, ok=False), no_update, no_update, False
    view = detail_view(services().engine, _trades(), runner_id)
    toast = make_toast("Done", f"{ACTION_DONE[action]} {runner_id}.")
    if view is None:
        return toast, no_update, no_update, False
    return toast, view["controls"], view["controls_key"], False


@callback(
    Output(TOASTS, "children", allow_duplicate=True),
    Output(CONFIRM, "is_open", allow_duplicate=True),
    Output(REDIRECT, "href"),
    Input(CONFIRM_OK, "n_clicks"),
    Input(CONFIRM_CANCEL, "n_clicks"),
    State(RUNNER, "data"),
    prevent_initial_call=True,
    running=[(Output(CONFIRM_OK, "disabled"), True, False)],
)
def _confirm_delete(_ok: int | None, _cancel: int | None, runner_id: str) -> tuple[Any, ...]:
    if ctx.triggered_id != CONFIRM_OK:
        return no_update, False, no_update
    try:
        services().engine.command("delete", runner_id=runner_id)
    except (CommandError, EngineUnavailable, *READ_ERRORS) as exc:
        message = exc.message if isinstance(exc, CommandError) else str(exc)
        return make_toast("Delete failed", message, ok=False), False, no_update
    return no_update, False, f"/?deleted={quote(runner_id, safe='')}"
