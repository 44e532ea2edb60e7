"""Chart tab ``/chart/<symbol>/<timeframe>?indicators=sma_20,rsi_14&strategies=...&setup=<id>``.

A standalone page (one per browser tab, any number of them on the one server): candles from
the candle store, the indicators as overlays or panes, the strategies' stored signals as
BUY/SELL markers (hover: strategy, price, confidence, reason, indicator values), a timeframe
switcher and a connection badge. Every few seconds the tab asks only for what changed since
its last bar and last signal; nothing at all is sent back when nothing changed, and a change is
sent as a ``Patch`` (the last candle updated, new bars and signals appended). Without a
setup, opening the tab queues an ad-hoc signal calculation for its strategies (the web
process never runs Lua). Bad parameters show what is wrong and how to fix it.
"""

from __future__ import annotations

import time
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, clientside_callback, dcc, html, no_update
from dash.exceptions import PreventUpdate

from components.chart_tab import chart_figure, signal_points, tail_update
from components.runner_format import price_decimals
from engine.data.timeframes import Timeframe
from engine.errors import TradeSimError
from engine.setups.chart import (
    ChartRequest,
    last_bar_time,
    load_candles,
    load_signals,
    parse_chart_request,
)
from engine.setups.service import SIGNAL_QUEUE
from engine.setups.spec import SETUP_TIMEFRAMES, SetupInvalid, chart_url
from engine.strategy.store import StrategyStore
from pages._services import services

dash.register_page(
    __name__,
    path_template="/chart/<symbol>/<timeframe>",
    title=lambda symbol=None, timeframe=None, **_: f"{symbol} {timeframe} · Chart",
)

P = "chart-tab"
GRAPH = f"{P}-graph"
STATE = f"{P}-state"
INTERVAL = f"{P}-interval"
BADGE = f"{P}-badge"
ALIVE = f"{P}-alive"
STATUS = f"{P}-status"
POLL_MS = 5000
ADHOC_JOB = "jobs.signals.adhoc_signals_job"


def _request(symbol: str, timeframe: str, query: dict[str, Any]) -> ChartRequest:
    settings = services().settings
    text = {k: str(v) for k, v in query.items()}
    return parse_chart_request(
        symbol, timeframe, text, StrategyStore(settings.strategy_dir), services().db
    )


def _problem(symbol: str, timeframe: str, exc: SetupInvalid) -> html.Div:
    return html.Div(
        dbc.Alert(
            [
                html.H4(f"Cannot show {symbol} {timeframe}", className="alert-heading"),
                html.P([html.B(exc.field), f": {exc.message}"], id=f"{P}-problem"),
                html.Hr(),
                html.P(
                    [
                        "A chart URL looks like ",
                        html.Code("/chart/BTCUSDT/1h?indicators=sma_20,rsi_14"),
                        html.Code("&strategies=ema_crossover"),
                        ". ",
                        dcc.Link("Open it", href="/chart/BTCUSDT/1h?indicators=sma_20,rsi_14"),
                        " or create a setup on the ",
                        dcc.Link("Setups", href="/setups"),
                        " page.",
                    ],
                    className="mb-0",
                ),
            ],
            color="warning",
        ),
        className="chart-tab-problem",
    )


def _switcher(request: ChartRequest) -> html.Div:
    links = [
        dbc.Button(
            tf,
            href=chart_url(
                request.symbol,
                tf,
                indicators=request.tokens,
                strategies=request.strategies,
                setup_id=request.setup_id or None,
            ),
            external_link=True,
            size="sm",
            color="primary" if tf == request.timeframe else "info",
            outline=tf != request.timeframe,
            className="chart-tf",
        )
        for tf in SETUP_TIMEFRAMES
    ]
    return dbc.ButtonGroup(links, className="chart-tf-group")


def _state(request: ChartRequest, series: Any, trace_map: Any, signals: list[Any]) -> dict:
    return {
        "symbol": request.symbol,
        "timeframe": request.timeframe,
        "indicators": request.tokens,
        "strategies": list(request.strategies),
        "setup": request.setup_id,
        "first": int(series.timestamp[0]) if len(series) else None,
        "last": int(series.timestamp[-1]) if len(series) else None,
        "shown": len(series),
        "last_bar": _bar(series, -1) if len(series) else None,
        "signal_id": max((s["id"] for s in signals), default=0),
        "trace_map": trace_map,
    }


def _bar(series: Any, index: int) -> list[float]:
    return [float(getattr(series, k)[index]) for k in ("open", "high", "low", "close", "volume")]


def _queue_adhoc(request: ChartRequest) -> None:
    jobs = services().jobs
    if request.setup_id or not request.strategies or jobs is None:
        return
    args = {"symbol": request.symbol, "timeframe": request.timeframe}
    args.update(strategies=list(request.strategies), indicators=request.tokens)
    try:
        jobs.enqueue(SIGNAL_QUEUE, ADHOC_JOB, args)
    except Exception:  # Redis down: the chart still shows the candles and stored signals
        return


def layout(symbol: str = "", timeframe: str = "", **query: Any) -> html.Div:
    """The chart tab, or a readable message naming the bad parameter."""
    try:
        request = _request(symbol, timeframe, query)
        series = load_candles(services().db, request)
        signals = load_signals(services().db, request)
    except SetupInvalid as exc:
        return _problem(symbol, timeframe, exc)
    _queue_adhoc(request)
    decimals = price_decimals(request.symbol)
    figure, trace_map = chart_figure(
        series, request.indicators, signals, decimals=decimals, uirevision=request.symbol
    )
    what = ", ".join(c.label for c in request.indicators) or "no indicators"
    strategies = ", ".join(request.strategies) or "no strategies"
    setup = f" · setup {request.setup_id}" if request.setup_id else ""
    return html.Div(
        [
            dcc.Store(id=STATE, data=_state(request, series, trace_map, signals)),
            dcc.Store(id=ALIVE, data=time.time()),
            dcc.Interval(id=INTERVAL, interval=POLL_MS),
            html.Div(
                [
                    html.Div(
                        [
                            html.H4(f"{request.symbol} · {request.timeframe}", className="mb-0"),
                            html.Small(f"{what} · {strategies}{setup}", className="text-muted"),
                        ]
                    ),
                    html.Div(
                        [
                            _switcher(request),
                            dbc.Badge("live", id=BADGE, color="success", className="chart-badge"),
                        ],
                        className="chart-tools",
                    ),
                ],
                className="chart-tab-header",
            ),
            dcc.Graph(
                id=GRAPH,
                figure=figure,
                config={"displaylogo": False, "scrollZoom": True, "responsive": True},
                style={"height": "calc(100vh - 190px)", "minHeight": "520px"},
            ),
            html.Div(id=STATUS, className="chart-tab-status text-muted small"),
        ],
        className="chart-tab",
    )


def _patch(state: dict, request: ChartRequest, now_ms: int | None = None) -> tuple[Any, dict]:
    """The Patch for what changed since ``state`` (PreventUpdate when nothing did)."""
    db = services().db
    last = last_bar_time(db, request)
    signals = load_signals(db, request, after_id=state["signal_id"])
    changed_bars = False
    series = None
    if state["shown"] and last is not None and last >= state["last"]:
        series = load_candles(db, request, start_ms=state["first"], now_ms=now_ms)
        grown = len(series) > state["shown"]
        changed_bars = grown or _bar(series, state["shown"] - 1) != state["last_bar"]
    if not changed_bars and not signals:
        raise PreventUpdate
    patch = dash.Patch()
    if changed_bars and series is not None:
        update = tail_update(series, request.indicators, state["trace_map"], state["shown"])
        at = state["shown"] - 1
        patch["data"][0]["x"].extend(update["x"][1:])
        for key, values in update["candle"].items():
            patch["data"][0][key][at] = values[0]
            patch["data"][0][key].extend(values[1:])
        for index, values in update["traces"].items():
            trace = patch["data"][int(index)]
            trace["x"].extend(update["x"][1:])
            trace["y"][at] = values["y"][0]
            trace["y"].extend(values["y"][1:])
            if "color" in values:
                trace["marker"]["color"][at] = values["color"][0]
                trace["marker"]["color"].extend(values["color"][1:])
        state = {
            **state,
            "shown": len(series),
            "last": int(series.timestamp[-1]),
            "last_bar": _bar(series, -1),
        }
    if signals:
        decimals = price_decimals(request.symbol)
        buy = len(state["trace_map"]) + 1  # candles, the mapped traces, then BUY and SELL
        for index, side in ((buy, "BUY"), (buy + 1, "SELL")):
            points = signal_points(signals, side, decimals)
            for key in ("x", "y", "hovertext"):
                patch["data"][index][key].extend(points[key])
        state = {**state, "signal_id": max(s["id"] for s in signals)}
    return patch, state


@callback(
    Output(GRAPH, "figure"),
    Output(STATE, "data"),
    Output(ALIVE, "data"),
    Output(STATUS, "children"),
    Input(INTERVAL, "n_intervals"),
    State(STATE, "data"),
    prevent_initial_call=True,
)
def poll(_n: int, state: dict | None) -> tuple[Any, Any, Any, Any]:
    """Only what changed: new/updated bars and new signals as a Patch; nothing otherwise."""
    if not state:
        raise PreventUpdate
    try:
        request = _request(
            state["symbol"],
            state["timeframe"],
            {
                "indicators": ",".join(state["indicators"]),
                "strategies": ",".join(state["strategies"]),
                **({"setup": str(state["setup"])} if state["setup"] else {}),
            },
        )
        patch, fresh = _patch(state, request)
    except PreventUpdate:  # nothing changed: only the heartbeat goes back
        return no_update, no_update, time.time(), no_update
    except TradeSimError as exc:
        return no_update, no_update, time.time(), f"Could not update: {exc}"
    step = Timeframe(state["timeframe"]).ms
    stamp = time.strftime("%H:%M:%S", time.gmtime())
    text = f"Updated {stamp} UTC · {fresh['shown']} bars · bar every {step // 60000} min"
    return patch, fresh, time.time(), text


clientside_callback(
    """
    function(n, alive) {
        const silent = alive ? Date.now() / 1000 - alive : 0;
        if (silent > 17) { return ["disconnected", "danger"]; }
        return ["live", "success"];
    }
    """,
    Output(BADGE, "children"),
    Output(BADGE, "color"),
    Input(INTERVAL, "n_intervals"),
    State(ALIVE, "data"),
)
