"""The Optimize form: strategy, market and range (the Backtest form's), then a range per
``@param`` (min/max/step or a list of values, or fixed), method, objective, constraints.
:func:`sweep_request` turns the values into the ``POST /api/sweeps`` body and
:func:`combination_count` gives the live count. Pure functions (no I/O).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.backtest_form import PRESETS, make_strategy_picker, source_options
from components.runner_form import symbol_options, timeframe_options
from engine.optimize.objective import METRICS
from engine.strategy.store import StrategyInfo

P = "opt"
STRATEGY = f"{P}-strategy"
RANGES = f"{P}-ranges"
SYMBOL = f"{P}-symbol"
TIMEFRAME = f"{P}-timeframe"
SOURCE = f"{P}-source"
PRESET = f"{P}-preset"
METHOD = f"{P}-method"
TRIALS = f"{P}-trials"
SEED = f"{P}-seed"
OBJECTIVE = f"{P}-objective"
DIRECTION = f"{P}-direction"
MAX_DD = f"{P}-max-dd"
MIN_TRADES = f"{P}-min-trades"
COMMISSION = f"{P}-commission"
COUNT = f"{P}-count"
RUN = f"{P}-run"
ERROR = f"{P}-error"
FIELDS = ("sweep", "min", "max", "step", "values")
DEFAULTS: dict[str, Any] = {
    "symbol": "BTCUSDT",
    "timeframe": "1h",
    "source": "sim",
    "preset": "90d",
    "method": "grid",
    "trials": 50,
    "seed": 1,
    "objective": "total_return_pct",
    "direction": "maximize",
    "commission_pct": 0.1,
}


def range_id(field: str, name: str) -> dict[str, str]:
    """Pattern-matching id of one range input (``field`` in :data:`FIELDS`)."""
    return {"type": f"{P}-range-{field}", "name": name}


def default_range(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Min/max from the declaration (or around the default) and a step giving ~10 values."""
    default = spec.get("default") or 0
    low = spec.get("minimum") if spec.get("minimum") is not None else default
    high = spec.get("maximum") if spec.get("maximum") is not None else default
    span = float(high) - float(low)
    if spec.get("kind") == "int":
        step: float = max(1, math.ceil(span / 9)) if span else 1
    else:
        step = round(span / 9, 6) if span else 1.0
    return {"min": low, "max": high, "step": step}


def make_range_rows(
    params: Sequence[Mapping[str, Any]], chosen: Mapping[str, Mapping[str, Any]] | None = None
) -> list[Any]:
    """One row per ``@param``: swept (with min/max/step or a list of values) or fixed at its
    default. The first two params are swept by default."""
    if not params:
        return [html.Div("This strategy declares no parameters to sweep.", className="text-muted")]
    chosen = chosen or {}
    num = {"type": "number", "size": "sm"}
    header = dbc.Row(
        [
            dbc.Col("Param", width=3),
            dbc.Col("Min", width=2),
            dbc.Col("Max", width=2),
            dbc.Col("Step", width=2),
            dbc.Col("or values", width=3),
        ],
        className="opt-range-head g-2",
    )
    rows = [header]
    for i, spec in enumerate(params):
        name = str(spec["name"])
        given = chosen.get(name) or {}
        r = {**default_range(spec), **given}
        swept = bool(given) if chosen else i < 2
        step_any = 1 if spec.get("kind") == "int" else "any"
        rows.append(
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Checklist(
                            id=range_id("sweep", name),
                            options=[{"label": name, "value": "on"}],
                            value=["on"] if swept else [],
                            switch=True,
                            className="opt-switch",
                        ),
                        width=3,
                    ),
                    dbc.Col(
                        dbc.Input(id=range_id("min", name), value=r["min"], step=step_any, **num),
                        width=2,
                    ),
                    dbc.Col(
                        dbc.Input(id=range_id("max", name), value=r["max"], step=step_any, **num),
                        width=2,
                    ),
                    dbc.Col(
                        dbc.Input(
                            id=range_id("step", name), value=r["step"], min=0, step="any", **num
                        ),
                        width=2,
                    ),
                    dbc.Col(
                        dbc.Input(
                            id=range_id("values", name),
                            value=given.get("values_text", ""),
                            placeholder="e.g. 5, 10, 20",
                            size="sm",
                        ),
                        width=3,
                    ),
                ],
                className="opt-range-row g-2 align-items-center",
            )
        )
    return rows


def ranges_from_inputs(
    ids: Sequence[Mapping[str, str]], values: Sequence[Sequence[Any]]
) -> dict[str, dict[str, Any]]:
    """The request's ``space`` from the range inputs (``values`` per field in :data:`FIELDS`
    order, each aligned with ``ids``); a values list wins over min/max/step."""
    space: dict[str, dict[str, Any]] = {}
    columns = dict(zip(FIELDS, values, strict=True))
    for i, ident in enumerate(ids):
        if not columns["sweep"][i]:
            continue
        text = str(columns["values"][i] or "").strip()
        if text:
            items = [s for s in text.replace(";", ",").split(",") if s.strip()]
            space[ident["name"]] = {"values": [_number(s) for s in items]}
            continue
        entry = {
            k: columns[k][i] for k in ("min", "max", "step") if columns[k][i] not in (None, "")
        }
        space[ident["name"]] = entry
    return space


def _number(text: str) -> float | int | str:
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        return text  # the API says which value is not a number
    return int(value) if value.is_integer() and "." not in text else value


def combination_count(space: Mapping[str, Mapping[str, Any]]) -> int | None:
    """Grid size of ``space`` (None when a range is incomplete or invalid)."""
    total = 1
    for entry in space.values():
        if "values" in entry:
            total *= len(entry["values"])
            continue
        try:
            low, high, step = float(entry["min"]), float(entry["max"]), float(entry["step"])
        except (KeyError, TypeError, ValueError):
            return None
        if step <= 0 or high < low:
            return None
        total *= math.floor((high - low) / step + 1e-9) + 1
    return total if space else None


def count_text(space: Mapping[str, Mapping[str, Any]], method: str, trials: Any) -> str:
    """What the Run button will do: ``"120 combinations"``, ``"50 of 120 (random)"``."""
    total = combination_count(space)
    if total is None:
        return "choose at least one param with a complete range"
    if method == "grid":
        return f"{total:,} combinations"
    n = int(trials) if isinstance(trials, int | float) and trials > 0 else 0
    return f"{min(n, total):,} trials of {total:,} combinations ({method})"


def _field(label: str, control: Any, width: int = 6, hint: str | None = None) -> dbc.Col:
    return dbc.Col(
        [dbc.Label(label, className="bt-label"), control, hint and dbc.FormText(hint)],
        md=width,
        className="mb-3",
    )


def metric_options() -> list[dict[str, str]]:
    """The metrics offered as objective and in the heatmap."""
    return [{"label": m.replace("_", " "), "value": m} for m in METRICS]


def make_form(
    infos: Sequence[StrategyInfo], csv_names: Sequence[str], values: Mapping[str, Any] | None = None
) -> html.Div:
    """The whole form, prefilled from ``values`` (e.g. a backtest's settings)."""
    v = {**DEFAULTS, **(values or {})}
    paths = [i.path for i in infos]
    strategy = v.get("strategy") if v.get("strategy") in paths else (paths[0] if paths else None)
    info = next((i for i in infos if i.path == strategy), None)
    num = {"type": "number", "size": "sm"}
    market = dbc.Row(
        [
            _field(
                "Symbol",
                dcc.Dropdown(
                    id=SYMBOL, options=symbol_options(), value=v["symbol"], clearable=False
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
                    id=SOURCE, options=source_options(csv_names), value=v["source"], size="sm"
                ),
                5,
            ),
        ],
        className="g-3",
    )
    presets = html.Div(
        [
            dbc.Label("Range", className="bt-label"),
            dbc.RadioItems(
                id=PRESET,
                options=[{"label": p, "value": p} for p in PRESETS],
                value=v["preset"],
                inline=True,
                className="bt-presets",
                inputClassName="btn-check",
                labelClassName="btn btn-outline-secondary btn-sm",
                labelCheckedClassName="active",
            ),
        ],
        className="mb-3",
    )
    method = dbc.Row(
        [
            _field(
                "Method",
                dbc.Select(
                    id=METHOD,
                    size="sm",
                    value=v["method"],
                    options=[
                        {"label": "Grid (every combination)", "value": "grid"},
                        {"label": "Random (N seeded draws)", "value": "random"},
                        {"label": "Optuna TPE (model-based)", "value": "tpe"},
                    ],
                ),
                4,
            ),
            _field(
                "Trials",
                dbc.Input(id=TRIALS, min=1, step=1, value=v["trials"], **num),
                2,
                "random / tpe",
            ),
            _field("Seed", dbc.Input(id=SEED, min=0, step=1, value=v["seed"], **num), 2),
            _field(
                "Commission %",
                dbc.Input(id=COMMISSION, min=0, step="any", value=v["commission_pct"], **num),
                4,
                "per side",
            ),
        ],
        className="g-3",
    )
    objective = dbc.Row(
        [
            _field(
                "Objective",
                dbc.Select(id=OBJECTIVE, options=metric_options(), value=v["objective"], size="sm"),
                4,
            ),
            _field(
                "Direction",
                dbc.Select(
                    id=DIRECTION,
                    size="sm",
                    value=v["direction"],
                    options=[
                        {"label": "maximize", "value": "maximize"},
                        {"label": "minimize", "value": "minimize"},
                    ],
                ),
                2,
            ),
            _field(
                "Max drawdown % ≤",
                dbc.Input(id=MAX_DD, min=0, step="any", placeholder="any", **num),
                3,
                "constraint",
            ),
            _field(
                "Trades ≥",
                dbc.Input(id=MIN_TRADES, min=0, step=1, placeholder="any", **num),
                3,
                "constraint",
            ),
        ],
        className="g-3",
    )
    return html.Div(
        [
            make_strategy_picker(STRATEGY, infos, strategy),
            market,
            presets,
            dbc.Label("Parameters to sweep", className="bt-label"),
            html.Div(
                make_range_rows(info.params if info else [], v.get("ranges")),
                id=RANGES,
                className="bt-params opt-ranges mb-3",
            ),
            method,
            objective,
            dbc.Alert(id=ERROR, color="danger", is_open=False, className="py-2"),
            html.Div(
                [
                    html.Span(id=COUNT, className="opt-count"),
                    dbc.Button("▶ Run sweep", id=RUN, color="success", className="bt-run ms-auto"),
                ],
                className="d-flex align-items-center",
            ),
        ],
        className="bt-form",
    )


def sweep_request(
    strategy: str | None, space: Mapping[str, Any], fields: Mapping[str, Any]
) -> dict[str, Any]:
    """The ``POST /api/sweeps`` body for the form's values (empty inputs left out)."""
    body: dict[str, Any] = {"strategy": strategy, "space": dict(space)}
    for key in ("symbol", "timeframe", "source", "preset", "method", "objective", "direction"):
        if fields.get(key):
            body[key] = fields[key]
    if fields.get("method") in ("random", "tpe") and isinstance(fields.get("trials"), int | float):
        body["trials"] = int(fields["trials"])
    if isinstance(fields.get("seed"), int | float):
        body["seed"] = int(fields["seed"])
    if isinstance(fields.get("commission_pct"), int | float):
        body["commission"] = float(fields["commission_pct"]) / 100
    constraints = []
    if isinstance(fields.get("max_dd"), int | float):
        constraints.append(
            {"metric": "max_drawdown_pct", "op": "<=", "value": float(fields["max_dd"])}
        )
    if isinstance(fields.get("min_trades"), int | float):
        constraints.append(
            {"metric": "num_trades", "op": ">=", "value": float(fields["min_trades"])}
        )
    if constraints:
        body["constraints"] = constraints
    return {k: v for k, v in body.items() if v is not None}
