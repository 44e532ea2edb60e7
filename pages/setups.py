"""Setups ``/setups``: configure a setup (symbol, timeframes, indicators with parameters,
strategies) and create it; the list of setups with status, data freshness, last signal and
"Open charts" (one browser tab per timeframe), Pause/Resume and Delete.

The page calls the REST handlers in-process (``engine.api.setups``), with the same checks and
messages as the API; a refusal appears under the form. The list refreshes every 5 s.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, clientside_callback, ctx, dcc, html
from dash.exceptions import PreventUpdate
from pydantic import BaseModel, ValidationError

from components.setups_views import (
    ACTION,
    IND_CHECK,
    IND_PARAM,
    indicator_tokens,
    make_indicator_picker,
    make_setup_card,
    strategy_options,
    symbol_details,
    symbol_options,
    timeframe_checklist,
)
from engine.api import setups as api
from engine.api.core import ApiRequest, Handler
from engine.api.dispatch import respond
from engine.api.schema import problems
from engine.data.symbols import get_symbol
from engine.errors import ConfigError
from engine.strategy.store import StrategyStore
from pages._services import services

dash.register_page(__name__, path="/setups", name="Setups", title="Setups · Trading Simulator")

P = "setups"
SYMBOL = f"{P}-symbol"
SYMBOL_INFO = f"{P}-symbol-info"
TIMEFRAMES = f"{P}-timeframes"
STRATEGIES = f"{P}-strategies"
CREATE = f"{P}-create"
FEEDBACK = f"{P}-feedback"
LIST = f"{P}-list"
INTERVAL = f"{P}-interval"
CHANGED = f"{P}-changed"
OPENED = f"{P}-opened"


def call(
    handler: Handler,
    *,
    body: Any = None,
    body_model: type[BaseModel] | None = None,
    setup_id: int | None = None,
    query_model: type[BaseModel] | None = None,
) -> tuple[Any, str | None]:
    """Run a setups handler in-process with its models checked: ``(data, None)`` or
    ``(None, message)``."""
    models: dict[type, BaseModel] = {}
    path = {} if setup_id is None else {"setup_id": str(setup_id)}
    if path:
        models[api.SetupPath] = api.SetupPath.model_validate(path)
    if query_model is not None:
        models[query_model] = query_model.model_validate({})
    if body_model is not None:
        try:
            models[body_model] = body_model.model_validate(body)
        except ValidationError as exc:
            first = problems(exc, "body")[0]
            return None, f"{first['field']} {first['message']}"
    request = ApiRequest(path=path, body=body, models=models)
    payload = respond(handler, services(), request).payload
    if payload.get("status") == "ok":
        return payload["data"], None
    return None, str(payload["error"]["message"])


def _setups() -> list[Any]:
    data, error = call(api.list_setups, query_model=api.SetupListQuery)
    if error:
        return [dbc.Alert(error, color="danger")]
    if not data:
        return [html.P("No setups yet: configure one on the left.", className="text-muted")]
    return [make_setup_card(s) for s in data]


def layout(**_query: str) -> html.Div:
    """The form and the list."""
    strategies = [i.to_dict() for i in StrategyStore(services().settings.strategy_dir).list()]
    form = dbc.Card(
        dbc.CardBody(
            [
                html.H5("New setup"),
                html.Div("Symbol", className="setups-section-title"),
                dcc.Dropdown(
                    id=SYMBOL,
                    options=symbol_options(),
                    value="BTCUSDT",
                    clearable=False,
                    searchable=True,
                    placeholder="Search a symbol…",
                ),
                html.Div(id=SYMBOL_INFO, className="setups-symbol-info"),
                html.Div("Timeframes", className="setups-section-title"),
                timeframe_checklist(TIMEFRAMES),
                html.Div("Indicators", className="setups-section-title"),
                make_indicator_picker(),
                html.Div("Strategies", className="setups-section-title"),
                dbc.Checklist(
                    id=STRATEGIES,
                    options=strategy_options(strategies),
                    value=["ema_crossover"],
                ),
                dbc.Button("Create setup", id=CREATE, color="primary", className="mt-3"),
                html.Div(id=FEEDBACK, className="mt-2"),
            ]
        )
    )
    return html.Div(
        [
            dcc.Interval(id=INTERVAL, interval=5000),
            dcc.Store(id=CHANGED),
            dcc.Store(id=OPENED),
            html.H3("Setups"),
            html.Div(
                [form, html.Div(_setups(), id=LIST, className="setups-list")],
                className="setups-grid",
            ),
        ],
        className="setups-page",
    )


@callback(Output(SYMBOL_INFO, "children"), Input(SYMBOL, "value"))
def show_symbol(symbol: str | None) -> str:
    """Details of the chosen symbol."""
    try:
        return symbol_details(get_symbol(symbol or ""))
    except ConfigError:
        return "Choose a symbol."


@callback(
    Output(FEEDBACK, "children"),
    Output(CHANGED, "data", allow_duplicate=True),
    Input(CREATE, "n_clicks"),
    State(SYMBOL, "value"),
    State(TIMEFRAMES, "value"),
    State({"type": IND_CHECK, "name": ALL}, "id"),
    State({"type": IND_CHECK, "name": ALL}, "value"),
    State({"type": IND_PARAM, "name": ALL, "i": ALL}, "id"),
    State({"type": IND_PARAM, "name": ALL, "i": ALL}, "value"),
    State(STRATEGIES, "value"),
    prevent_initial_call=True,
)
def create(
    _n: int,
    symbol: str,
    timeframes: list[str],
    check_ids: list[dict],
    checked: list[bool],
    param_ids: list[dict],
    params: list[Any],
    strategies: list[str],
) -> tuple[Any, Any]:
    """Create the setup; the answer lists its chart links (each opens in a new tab)."""
    body = {
        "symbol": symbol,
        "timeframes": timeframes or [],
        "indicators": indicator_tokens(check_ids, checked, param_ids, params),
        "strategies": strategies or [],
    }
    data, error = call(api.create, body=body, body_model=api.CreateSetupBody)
    if error:
        return dbc.Alert(error, color="danger", id=f"{P}-error"), dash.no_update
    links = [
        html.A(
            url.split("?")[0].removeprefix("/chart/"), href=url, target="_blank", className="me-3"
        )
        for url in data["chart_urls"]
    ]
    message = dbc.Alert(
        [
            html.Div(f"Setup #{data['setup_id']} created: collecting data, computing signals."),
            *links,
        ],
        color="success",
        id=f"{P}-created",
    )
    return message, data["setup_id"]


@callback(
    Output(LIST, "children"),
    Input(INTERVAL, "n_intervals"),
    Input(CHANGED, "data"),
    prevent_initial_call=True,
)
def refresh(_n: int, _changed: Any) -> list[Any]:
    """The setup cards, fresh."""
    return _setups()


@callback(
    Output(CHANGED, "data", allow_duplicate=True),
    Output(FEEDBACK, "children", allow_duplicate=True),
    Input({"type": ACTION, "id": ALL, "op": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def act(clicks: list[int | None]) -> tuple[Any, Any]:
    """Pause, resume or delete the clicked setup ("open" is handled in the browser)."""
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not any(clicks) or trigger["op"] == "open":
        raise PreventUpdate
    handlers = {
        "pause": api.status_handler("paused"),
        "resume": api.status_handler("active"),
        "delete": api.delete,
    }
    _data, error = call(handlers[trigger["op"]], setup_id=int(trigger["id"]))
    if error:
        return dash.no_update, dbc.Alert(error, color="danger")
    return f"{trigger['op']}-{trigger['id']}-{sum(c or 0 for c in clicks)}", dash.no_update


clientside_callback(
    """
    function(clicks, urls) {
        const cc = window.dash_clientside.callback_context;
        const trigger = cc.triggered_id;
        const pressed = cc.triggered.length && cc.triggered[0].value;
        if (!trigger || trigger.op !== "open" || !pressed) {
            return window.dash_clientside.no_update;
        }
        const found = cc.states_list[0].find((s) => s.id.id === trigger.id);
        (found ? found.value : []).forEach((url) => window.open(url, "_blank"));
        return trigger.id;
    }
    """,
    Output(OPENED, "data"),
    Input({"type": ACTION, "id": ALL, "op": ALL}, "n_clicks"),
    State({"type": "setups-urls", "id": ALL}, "data"),
    prevent_initial_call=True,
)
