"""The Backtest form: strategy with its ``@param`` inputs, market, range, randomized runs and
the advanced fill/cost settings; :func:`form_request` turns the values into the API's body.

Pure functions of their arguments (the page passes the strategy infos and data sources in).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.runner_form import strategy_options, symbol_options, timeframe_options
from engine.strategy.store import StrategyInfo

P = "bt"
STRATEGY = f"{P}-strategy"
PARAMS = f"{P}-params"
SYMBOL = f"{P}-symbol"
TIMEFRAME = f"{P}-timeframe"
SOURCE = f"{P}-source"
PRESET = f"{P}-preset"
START = f"{P}-start"
END = f"{P}-end"
CUSTOM = f"{P}-custom-range"
RUNS = f"{P}-runs"
DURATION = f"{P}-duration"
CAPITAL = f"{P}-capital"
COMMISSION = f"{P}-commission"
SLIPPAGE_MODEL = f"{P}-slippage-model"
SLIPPAGE_BPS = f"{P}-slippage-bps"
FILL = f"{P}-fill"
WINDOW = f"{P}-window"
SEED = f"{P}-seed"
RUN = f"{P}-run"
ERROR = f"{P}-form-error"
PRESETS = ("24h", "7d", "30d", "90d", "1y")
DEFAULTS: dict[str, Any] = {
    "symbol": "BTCUSDT",
    "timeframe": "1h",
    "source": "sim",
    "preset": "90d",
    "runs": 1,
    "duration": "7d",
    "capital": 10_000,
    "commission_pct": 0.1,
    "slippage_model": "fixed",
    "slippage_bps": 2,
    "fill": "close",
    "window": 100,
    "seed": 1,
}


def param_id(name: str) -> dict[str, str]:
    """Pattern-matching id of the input for strategy parameter ``name``."""
    return {"type": f"{P}-param", "name": name}


def make_param_inputs(
    params: Sequence[Mapping[str, Any]], values: Mapping[str, Any] | None = None
) -> list[Any]:
    """A numeric input per ``@param`` with its range and default."""
    if not params:
        return [html.Div("This strategy declares no parameters.", className="text-muted small")]
    values = values or {}
    cols = []
    for spec in params:
        name = str(spec["name"])
        low, high, kind = spec.get("minimum"), spec.get("maximum"), spec.get("kind")
        span = f"{low} – {high}" if low is not None else "any value"
        cols.append(
            dbc.Col(
                [
                    dbc.Label(name, className="bt-label"),
                    dbc.Input(
                        id=param_id(name),
                        type="number",
                        value=values.get(name, spec.get("default")),
                        min=low,
                        max=high,
                        step=1 if kind == "int" else "any",
                        size="sm",
                    ),
                    dbc.FormText(f"{span} · default {spec.get('default')}"),
                ],
                xs=6,
                lg=4,
                className="mb-2",
            )
        )
    return [dbc.Row(cols, className="g-2")]


def _field(label: str, control: Any, width: int = 6, hint: str | None = None) -> dbc.Col:
    return dbc.Col(
        [dbc.Label(label, className="bt-label"), control, hint and dbc.FormText(hint)],
        md=width,
        className="mb-3",
    )


def source_options(
    csv_names: Sequence[str], stored: Mapping[str, Sequence[str]] | None = None
) -> list[dict[str, str]]:
    """The simulated market, each source of the candle store (``stored``: source -> its
    "SYMBOL timeframe" series) and one option per CSV file found that is not stored."""
    options = [{"label": "Simulated market (reproducible)", "value": "sim"}]
    for source, series in sorted((stored or {}).items()):
        shown = ", ".join(series[:3]) + (f" +{len(series) - 3}" if len(series) > 3 else "")
        options.append({"label": f"Stored · {source} ({shown})", "value": source})
    options += [
        {"label": f"CSV file · {name}", "value": f"csv:{name}"}
        for name in csv_names
        if f"csv:{name}" not in (stored or {})
    ]
    return options


def backtest_symbol_options(extra: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The curated symbols plus the stored symbols that are not curated (e.g. imported CSVs)."""
    options = symbol_options()
    known = {o["value"] for o in options}
    others = sorted(set(extra) - known)
    if others:
        options.append(
            {
                "label": html.Span("Stored data", className="dd-group"),
                "value": "__group__stored",
                "disabled": True,
                "search": "stored",
            }
        )
        options += [{"label": name, "value": name, "search": name} for name in others]
    return options


def make_strategy_picker(
    picker_id: str, infos: Sequence[StrategyInfo], strategy: str | None
) -> html.Div:
    """The labelled strategy dropdown (title, file and description per option)."""
    return html.Div(
        [
            dbc.Label("Strategy", className="bt-label"),
            dcc.Dropdown(
                id=picker_id,
                options=strategy_options(infos),
                value=strategy,
                clearable=False,
                optionHeight=56,
            ),
        ],
        className="mb-3",
    )


def make_form(
    infos: Sequence[StrategyInfo],
    csv_names: Sequence[str],
    values: Mapping[str, Any] | None = None,
    stored: Mapping[str, Sequence[str]] | None = None,
) -> html.Div:
    """The whole form, prefilled from ``values`` (query string, re-run) over the defaults;
    ``stored`` lists the candle store's series per source (see :func:`source_options`)."""
    v = {**DEFAULTS, **(values or {})}
    stored_symbols = [entry.split(" ")[0] for series in (stored or {}).values() for entry in series]
    paths = [i.path for i in infos]
    strategy = v.get("strategy") if v.get("strategy") in paths else (paths[0] if paths else None)
    info = next((i for i in infos if i.path == strategy), None)
    custom = v.get("preset") == "custom"
    num = {"type": "number", "size": "sm"}
    market = dbc.Row(
        [
            _field(
                "Symbol",
                dcc.Dropdown(
                    id=SYMBOL,
                    options=backtest_symbol_options(stored_symbols),
                    value=v["symbol"],
                    clearable=False,
                ),
                4,
            ),
            _field(
                "Timeframe",
                dbc.Select(
                    id=TIMEFRAME, options=timeframe_options(), value=v["timeframe"], size="sm"
                ),
                3,
            ),
            _field(
                "Data",
                dbc.Select(
                    id=SOURCE,
                    options=source_options(csv_names, stored),
                    value=v["source"],
                    size="sm",
                ),
                5,
            ),
        ],
        className="g-3",
    )
    range_row = html.Div(
        [
            dbc.Label("Range", className="bt-label"),
            dbc.RadioItems(
                id=PRESET,
                options=[{"label": p, "value": p} for p in PRESETS]
                + [{"label": "Custom", "value": "custom"}],
                value=v["preset"],
                inline=True,
                className="bt-presets",
                inputClassName="btn-check",
                labelClassName="btn btn-outline-secondary btn-sm",
                labelCheckedClassName="active",
            ),
            dbc.Collapse(
                dbc.Row(
                    [
                        _field(
                            "Start (UTC)",
                            dbc.Input(id=START, type="date", size="sm", value=v.get("start")),
                            6,
                        ),
                        _field(
                            "End (UTC, exclusive)",
                            dbc.Input(id=END, type="date", size="sm", value=v.get("end")),
                            6,
                        ),
                    ],
                    className="g-3 mt-1",
                ),
                id=CUSTOM,
                is_open=custom,
            ),
        ],
        className="mb-3",
    )
    runs_row = dbc.Row(
        [
            _field(
                "Randomized runs",
                dbc.Input(id=RUNS, min=1, max=1000, step=1, value=v["runs"], **num),
                6,
                "1 = one run over the whole range",
            ),
            _field(
                "Duration of each run",
                dbc.Input(id=DURATION, value=v["duration"], size="sm"),
                6,
                "e.g. 12h, 7d, 2w",
            ),
        ],
        className="g-3",
    )
    advanced = dbc.Row(
        [
            _field("Capital", dbc.Input(id=CAPITAL, min=1, value=v["capital"], **num), 4),
            _field(
                "Commission %",
                dbc.Input(id=COMMISSION, min=0, step="any", value=v["commission_pct"], **num),
                4,
                "per side",
            ),
            _field(
                "Window (bars)", dbc.Input(id=WINDOW, min=2, step=1, value=v["window"], **num), 4
            ),
            _field(
                "Slippage model",
                dbc.Select(
                    id=SLIPPAGE_MODEL,
                    size="sm",
                    value=v["slippage_model"],
                    options=[
                        {"label": "fixed bps", "value": "fixed"},
                        {"label": "bid/ask spread + bps", "value": "spread"},
                    ],
                ),
                4,
            ),
            _field(
                "Slippage bps",
                dbc.Input(id=SLIPPAGE_BPS, min=0, step="any", value=v["slippage_bps"], **num),
                4,
            ),
            _field(
                "Fill at",
                dbc.Select(
                    id=FILL,
                    size="sm",
                    value=v["fill"],
                    options=[
                        {"label": "signal bar close", "value": "close"},
                        {"label": "next bar open", "value": "next_open"},
                    ],
                ),
                4,
            ),
            _field(
                "Seed",
                dbc.Input(id=SEED, min=0, step=1, value=v["seed"], **num),
                4,
                "random run starts (and simulated prices)",
            ),
        ],
        className="g-3",
    )
    return html.Div(
        [
            make_strategy_picker(STRATEGY, infos, strategy),
            html.Div(
                make_param_inputs(info.params if info else [], v.get("params")),
                id=PARAMS,
                className="bt-params mb-3",
            ),
            market,
            range_row,
            runs_row,
            html.Details(
                [
                    html.Summary("Advanced: capital, costs, fills", className="bt-summary"),
                    html.Div(advanced, className="pt-3"),
                ],
                className="bt-advanced mb-3",
            ),
            dbc.Alert(id=ERROR, color="danger", is_open=False, className="py-2"),
            dbc.Button("▶ Run backtest", id=RUN, color="success", className="w-100 bt-run"),
        ],
        className="bt-form",
    )


def form_request(
    strategy: str | None,
    params: Mapping[str, Any],
    fields: Mapping[str, Any],
) -> dict[str, Any]:
    """The ``POST /api/backtest/run`` body for the form's values (empty inputs are left out,
    so the API's message says what is missing)."""
    body: dict[str, Any] = {"strategy": strategy}
    body["params"] = {k: v for k, v in params.items() if v is not None and v != ""}
    for key in ("symbol", "timeframe", "source", "fill", "slippage_model"):
        if fields.get(key):
            body[key] = fields[key]
    if fields.get("preset") == "custom":
        for key in ("start", "end"):
            if fields.get(key):
                body[key] = fields[key]
    elif fields.get("preset"):
        body["preset"] = fields["preset"]
    runs = fields.get("runs")
    if isinstance(runs, int | float) and runs > 1:
        body["runs"] = int(runs)
        body["duration"] = fields.get("duration") or None
    for key, name in (("capital", "capital"), ("slippage_bps", "slippage_bps")):
        if isinstance(fields.get(key), int | float):
            body[name] = float(fields[key])
    if isinstance(fields.get("commission_pct"), int | float):
        body["commission"] = float(fields["commission_pct"]) / 100
    for key in ("window", "seed"):
        if isinstance(fields.get(key), int | float):
            body[key] = int(fields[key])
    return {k: v for k, v in body.items() if v is not None}
