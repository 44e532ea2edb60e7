"""Backtest ``/backtest``: the form; Run queues the backtest (the same checks as
``POST /api/backtest/run``) and moves to ``/backtest/<id>`` (progress, then results).

``/backtest?strategy=<name or path>`` preselects a strategy (the editor's "Backtest this");
``/backtest?rerun=<id>`` prefills everything from a stored backtest.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate

from components import backtest_form as form
from engine.api.backtests import rerun_request, submit
from engine.api.core import ApiError
from engine.data.candle_store import CandleStore
from engine.errors import TradeSimError
from engine.storage.backtest_store import BacktestStore
from engine.strategy.store import StrategyStore
from pages._services import services

dash.register_page(
    __name__, path="/backtest", name="Backtest", title="Backtest · Trading Simulator"
)

P = "bt-page"
REDIRECT = f"{P}-redirect"


def _csv_names() -> list[str]:
    names: list[str] = []
    for folder in services().settings.csv_folders:
        if folder.is_dir():
            names += sorted(p.stem for p in folder.glob("*.csv"))
    return names


def _stored_series() -> dict[str, list[str]]:
    """The candle store's series per source ("SYMBOL timeframe"), the simulated cache left out."""
    stored: dict[str, list[str]] = {}
    for entry in CandleStore(services().db).coverage():
        if entry.source != "sim":
            stored.setdefault(entry.source, []).append(f"{entry.symbol} {entry.timeframe}")
    return stored


def _prefill(query: dict[str, str], paths: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    wanted = query.get("strategy")
    if wanted:
        match = [p for p in paths if p == wanted or p.rsplit("/", 1)[-1] == f"{wanted}.lua"]
        values["strategy"] = match[0] if match else wanted
    rerun = query.get("rerun")
    record = BacktestStore(services().db).get(rerun) if rerun else None
    if record is not None:
        body = rerun_request(record)
        path = next((p for p in paths if p.endswith("/" + body["strategy"])), None)
        values.update(
            strategy=path,
            params=body["params"],
            symbol=body["symbol"],
            timeframe=body["timeframe"],
            source=body["source"],
            runs=body["runs"],
            duration=body.get("duration") or "7d",
            capital=body["capital"],
            commission_pct=round(body["commission"] * 100, 6),
            slippage_model=body["slippage_model"],
            slippage_bps=body["slippage_bps"],
            fill=body["fill"],
            window=body["window"],
            seed=body["seed"],
            preset="custom",
            start=_date(body["start"]),
            end=_date(body["end"]),
        )
    return values


def _date(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d")


def layout(**query: str) -> html.Div:
    """Form on the left, what-you-get notes on the right."""
    infos = StrategyStore(services().settings.strategy_dir).list()
    values = _prefill(query, [i.path for i in infos])
    intro = html.Div(
        [
            html.H5("What you get", className="mb-3"),
            html.Ul(
                [
                    html.Li(
                        "Every metric of the engine: returns, Sharpe, Sortino, Calmar, "
                        "drawdown, win rate, profit factor, SQN, exposure…"
                    ),
                    html.Li("Equity of every run with the average, drawdown, monthly returns"),
                    html.Li("Trade distribution, hold time vs P&L, wins by hour of day"),
                    html.Li("Candles with every entry and exit; click a trade to jump there"),
                    html.Li("A shareable link; trades as CSV and the full result as JSON"),
                ],
                className="bt-notes",
            ),
            html.Div(
                [
                    "Simulated data is reproducible bit for bit; randomized runs sample "
                    "N windows of the chosen duration from the range. ",
                    dcc.Link("Past backtests →", href="/backtests"),
                ],
                className="text-muted small mt-3",
            ),
        ],
        className="bt-aside",
    )
    return html.Div(
        [
            dcc.Location(id=REDIRECT, refresh="callback-nav"),
            html.Div(
                [
                    html.H3("Backtest", className="mb-0"),
                    dcc.Link("History & compare", href="/backtests", className="ms-auto"),
                ],
                className="d-flex align-items-baseline mb-3",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Card(
                            dbc.CardBody(
                                form.make_form(infos, _csv_names(), values, _stored_series())
                            )
                        ),
                        lg=7,
                    ),
                    dbc.Col(dbc.Card(dbc.CardBody(intro)), lg=5),
                ],
                className="g-3",
            ),
        ],
        className="bt-page",
    )


@callback(
    Output(form.PARAMS, "children"),
    Input(form.STRATEGY, "value"),
    prevent_initial_call=True,
)
def _params(path: str | None) -> list[Any]:
    """The chosen strategy's @param inputs."""
    if not path:
        return form.make_param_inputs([])
    infos = StrategyStore(services().settings.strategy_dir).list()
    info = next((i for i in infos if i.path == path), None)
    return form.make_param_inputs(info.params if info else [])


@callback(Output(form.CUSTOM, "is_open"), Input(form.PRESET, "value"))
def _custom(preset: str | None) -> bool:
    """Show the date inputs for a custom range."""
    return preset == "custom"


@callback(
    Output(REDIRECT, "href"),
    Output(form.ERROR, "children"),
    Output(form.ERROR, "is_open"),
    Input(form.RUN, "n_clicks"),
    State(form.STRATEGY, "value"),
    State({"type": f"{form.P}-param", "name": ALL}, "id"),
    State({"type": f"{form.P}-param", "name": ALL}, "value"),
    State(form.SYMBOL, "value"),
    State(form.TIMEFRAME, "value"),
    State(form.SOURCE, "value"),
    State(form.PRESET, "value"),
    State(form.START, "value"),
    State(form.END, "value"),
    State(form.RUNS, "value"),
    State(form.DURATION, "value"),
    State(form.CAPITAL, "value"),
    State(form.COMMISSION, "value"),
    State(form.SLIPPAGE_MODEL, "value"),
    State(form.SLIPPAGE_BPS, "value"),
    State(form.FILL, "value"),
    State(form.WINDOW, "value"),
    State(form.SEED, "value"),
    prevent_initial_call=True,
)
def _run(
    n_clicks: int | None,
    strategy: str | None,
    ids: list[dict[str, str]],
    values: list[Any],
    *fields: Any,
) -> tuple[Any, Any, bool]:
    """Queue the backtest and go to its page, or say what to fix."""
    if not n_clicks:
        raise PreventUpdate
    names = (
        "symbol",
        "timeframe",
        "source",
        "preset",
        "start",
        "end",
        "runs",
        "duration",
        "capital",
        "commission_pct",
        "slippage_model",
        "slippage_bps",
        "fill",
        "window",
        "seed",
    )
    params = {i["name"]: v for i, v in zip(ids, values, strict=True)}
    body = form.form_request(strategy, params, dict(zip(names, fields, strict=True)))
    try:
        answer = submit(services(), body)
    except ApiError as exc:
        return no_update, exc.message, True
    except TradeSimError as exc:
        return no_update, str(exc), True
    return f"/backtest/{answer['backtest_id']}", None, False
