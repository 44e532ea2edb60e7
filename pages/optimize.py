"""Optimize ``/optimize``: the sweep form with a live count of combinations; Run queues the
sweep (the same checks as ``POST /api/sweeps``) and moves to ``/optimize/<id>``.

``/optimize?backtest=<id>`` prefills strategy, market and range from a stored backtest (the
backtest result page's "Optimize" button); ``/optimize?strategy=<name>`` picks a strategy.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate

from components import sweep_form as form
from engine.api.core import ApiError
from engine.api.sweeps import submit
from engine.errors import TradeSimError
from engine.storage.backtest_store import BacktestStore
from engine.storage.sweep_store import SweepStore
from engine.strategy.store import StrategyStore
from pages._services import services

dash.register_page(
    __name__, path="/optimize", name="Optimize", title="Optimize · Trading Simulator"
)

P = "opt-page"
REDIRECT = f"{P}-redirect"


def _csv_names() -> list[str]:
    names: list[str] = []
    for folder in services().settings.csv_folders:
        if folder.is_dir():
            names += sorted(p.stem for p in folder.glob("*.csv"))
    return names


def _prefill(query: dict[str, str], paths: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    wanted = query.get("strategy")
    if wanted:
        match = [p for p in paths if p == wanted or p.rsplit("/", 1)[-1] == f"{wanted}.lua"]
        values["strategy"] = match[0] if match else wanted
    record = BacktestStore(services().db).get(query["backtest"]) if query.get("backtest") else None
    if record is not None:
        config = record.config
        file = config["strategy_file"]
        values.update(
            strategy=next((p for p in paths if p.endswith("/" + file)), None),
            symbol=config["data"]["symbol"],
            timeframe=config["data"]["timeframe"],
            source=config["data"]["source"],
            commission_pct=round(config["sim"]["commission_rate"] * 100, 6),
        )
    return values


def _recent() -> html.Div:
    """Links to the latest sweeps."""
    records = SweepStore(services().db).recent(limit=8)
    if not records:
        return html.Div("No sweeps yet.", className="text-muted small mt-3")
    items = [
        html.Li(
            [
                dcc.Link(
                    f"{r.strategy_name} · {r.symbol} {r.timeframe}", href=f"/optimize/{r.sweep_id}"
                ),
                html.Span(f" {r.method}, {r.total} · {r.status}", className="text-muted"),
            ]
        )
        for r in records
    ]
    return html.Div(
        [html.H6("Recent sweeps", className="mt-4"), html.Ul(items, className="small opt-recent")]
    )


def layout(**query: str) -> html.Div:
    """The form on the left, how it works on the right."""
    infos = StrategyStore(services().settings.strategy_dir).list()
    values = _prefill(query, [i.path for i in infos])
    aside = html.Div(
        [
            html.H5("How a sweep runs", className="mb-3"),
            html.Ul(
                [
                    html.Li("Every combination is a full backtest with the same fills and costs"),
                    html.Li(
                        "The space is split into chunks that any worker takes; each chunk "
                        "loads the data once and reuses one Lua runtime"
                    ),
                    html.Li("Results land row by row: watch the heatmap fill in"),
                    html.Li(
                        "Constraints (drawdown, trades) exclude a combination from “best” "
                        "but keep it in the table"
                    ),
                    html.Li("Optuna TPE picks each batch from the results so far (seeded)"),
                ],
                className="bt-notes",
            ),
            _recent(),
        ],
        className="bt-aside",
    )
    return html.Div(
        [
            dcc.Location(id=REDIRECT, refresh="callback-nav"),
            html.Div(
                [
                    html.H3("Optimize", className="mb-0"),
                    html.Span(
                        "parameter sweeps over RQ workers", className="text-muted ms-3 small"
                    ),
                ],
                className="d-flex align-items-baseline mb-3",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Card(dbc.CardBody(form.make_form(infos, _csv_names(), values))), lg=8
                    ),
                    dbc.Col(dbc.Card(dbc.CardBody(aside)), lg=4),
                ],
                className="g-3",
            ),
        ],
        className="bt-page opt-page",
    )


@callback(
    Output(form.RANGES, "children"),
    Input(form.STRATEGY, "value"),
    prevent_initial_call=True,
)
def _ranges(path: str | None) -> list[Any]:
    """The chosen strategy's params as range rows."""
    infos = StrategyStore(services().settings.strategy_dir).list()
    info = next((i for i in infos if i.path == path), None)
    return form.make_range_rows(info.params if info else [])


def _range_states() -> list[State]:
    return [
        State({"type": f"{form.P}-range-{field}", "name": ALL}, "value") for field in form.FIELDS
    ]


@callback(
    Output(form.COUNT, "children"),
    Input({"type": f"{form.P}-range-sweep", "name": ALL}, "id"),
    *[Input({"type": f"{form.P}-range-{f}", "name": ALL}, "value") for f in form.FIELDS],
    Input(form.METHOD, "value"),
    Input(form.TRIALS, "value"),
)
def _count(ids: list[dict[str, str]], *values: Any) -> str:
    """The live count of combinations."""
    *columns, method, trials = values
    space = form.ranges_from_inputs(ids, columns)
    return form.count_text(space, method or "grid", trials)


@callback(
    Output(REDIRECT, "href"),
    Output(form.ERROR, "children"),
    Output(form.ERROR, "is_open"),
    Input(form.RUN, "n_clicks"),
    State(form.STRATEGY, "value"),
    State({"type": f"{form.P}-range-sweep", "name": ALL}, "id"),
    *_range_states(),
    State(form.SYMBOL, "value"),
    State(form.TIMEFRAME, "value"),
    State(form.SOURCE, "value"),
    State(form.PRESET, "value"),
    State(form.METHOD, "value"),
    State(form.TRIALS, "value"),
    State(form.SEED, "value"),
    State(form.OBJECTIVE, "value"),
    State(form.DIRECTION, "value"),
    State(form.MAX_DD, "value"),
    State(form.MIN_TRADES, "value"),
    State(form.COMMISSION, "value"),
    prevent_initial_call=True,
)
def _run(n_clicks: int | None, strategy: str | None, ids: list[dict[str, str]], *rest: Any) -> Any:
    """Queue the sweep and go to its page, or say what to fix."""
    if not n_clicks:
        raise PreventUpdate
    columns, fields = rest[: len(form.FIELDS)], rest[len(form.FIELDS) :]
    names = (
        "symbol",
        "timeframe",
        "source",
        "preset",
        "method",
        "trials",
        "seed",
        "objective",
        "direction",
        "max_dd",
        "min_trades",
        "commission_pct",
    )
    space = form.ranges_from_inputs(ids, columns)
    if not space:
        return no_update, "Switch on at least one parameter to sweep.", True
    body = form.sweep_request(strategy, space, dict(zip(names, fields, strict=True)))
    try:
        answer = submit(services(), body)
    except ApiError as exc:
        return no_update, exc.message, True
    except TradeSimError as exc:
        return no_update, str(exc), True
    return f"/optimize/{answer['sweep_id']}", None, False
