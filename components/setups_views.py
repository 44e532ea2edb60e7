"""Builders of the Setups and Signals pages: the create form (symbols by category, timeframe
checkboxes, indicators by category with their parameters, strategies with descriptions), the
setup cards (status, data freshness, last signal, chart links) and the signal rows.

Pure functions of the data the pages read; ids are passed in or pattern-matching dicts.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.runner_format import price_decimals
from components.runner_table import GRID_THEME
from components.shell import format_duration
from engine.data.symbols import SymbolSpec, symbols_by_category
from engine.data.timeframes import Timeframe
from engine.indicators.registry import REGISTRY
from engine.setups.spec import INDICATOR_CATEGORIES, SETUP_TIMEFRAMES

IND_CHECK = "setups-ind"
IND_PARAM = "setups-ind-param"
ACTION = "setups-action"
DEFAULT_PERIODS = {"sma": 20, "ema": 50, "wma": 20, "highest": 20, "lowest": 20}
STATUS_COLOR = {"active": "success", "paused": "warning", "stopped": "secondary"}


def symbol_options() -> list[dict[str, Any]]:
    """Dropdown options, category by category, searchable by symbol, name and category."""
    options: list[dict[str, Any]] = []
    for category, specs in symbols_by_category().items():
        for spec in specs:
            options.append(
                {
                    "label": f"{spec.display} · {category}",
                    "value": spec.symbol,
                    "search": f"{spec.symbol} {spec.display} {category}",
                }
            )
    return options


def symbol_details(spec: SymbolSpec) -> str:
    """One line about a symbol: category, market hours, spread, price level."""
    hours = "trades 24/7" if spec.trading_24_7 else "trades on weekdays"
    return (
        f"{spec.display} · {spec.category} · {hours} · typical spread {spec.spread_bps:g} bps · "
        f"simulated from {spec.start_price:,.{spec.price_decimals}f}"
    )


def _param_default(name: str, index: int) -> float | None:
    spec = REGISTRY[name]
    default = spec.params[index].default
    return DEFAULT_PERIODS.get(name) if default is None and index == 0 else default


def make_indicator_picker(chosen: Sequence[str] = ("sma", "rsi")) -> html.Div:
    """Indicators grouped Trend / Momentum / Volatility / Volume, each with its parameters."""
    groups = []
    for category, names in INDICATOR_CATEGORIES.items():
        rows = []
        for name in names:
            spec = REGISTRY[name]
            params = [
                html.Label(
                    [
                        html.Small(p.name, className="text-muted me-1"),
                        dbc.Input(
                            id={"type": IND_PARAM, "name": name, "i": i},
                            type="number",
                            value=_param_default(name, i),
                            min=0,
                            step="any",
                            placeholder=p.name,
                            size="sm",
                            style={"width": "4.5rem"},
                        ),
                    ],
                    className="d-flex align-items-center mb-0",
                    title=p.description,
                )
                for i, p in enumerate(spec.params)
            ]
            rows.append(
                html.Div(
                    [
                        dbc.Checkbox(
                            id={"type": IND_CHECK, "name": name},
                            label=name.upper().replace("_", " "),
                            value=name in chosen,
                        ),
                        *params,
                    ],
                    className="setups-indicator-row",
                    title=spec.description,
                )
            )
        groups.append(
            html.Div(
                [html.Div(category, className="setups-section-title"), *rows],
                className="setups-indicator-group",
            )
        )
    return html.Div(groups)


def indicator_tokens(
    checks: Sequence[Mapping[str, Any]],
    checked: Sequence[bool | None],
    params: Sequence[Mapping[str, Any]],
    values: Sequence[Any],
) -> list[str]:
    """``sma_20`` style tokens of the ticked indicators (pattern-matching ids and values)."""
    by_name: dict[str, dict[int, Any]] = {}
    for pid, value in zip(params, values, strict=True):
        by_name.setdefault(pid["name"], {})[pid["i"]] = value
    tokens = []
    for cid, on in zip(checks, checked, strict=True):
        if not on:
            continue
        name = cid["name"]
        args = [by_name.get(name, {}).get(i) for i in range(len(REGISTRY[name].params))]
        parts = [name]
        for value in args:
            if value is None or value == "":
                break
            number = float(value)
            parts.append(str(int(number)) if number.is_integer() else f"{number:g}")
        tokens.append("_".join(parts))
    return tokens


def strategy_options(strategies: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Checklist options: title, description and parameters under each strategy."""
    out = []
    for info in strategies:
        params = ", ".join(f"{p['name']}={p.get('default')}" for p in info.get("params") or [])
        detail = info.get("description") or ""
        if params:
            detail = f"{detail} · params {params}" if detail else f"params {params}"
        out.append(
            {
                "label": html.Span(
                    [html.B(info.get("title") or info["name"]), html.Small(detail)],
                    className="setups-strategy",
                ),
                "value": info["name"],
            }
        )
    return out


def timeframe_checklist(component_id: str) -> dbc.Checklist:
    """The seed's timeframes as inline checkboxes (15m, 1h, 4h ticked)."""
    return dbc.Checklist(
        id=component_id,
        options=[{"label": tf, "value": tf} for tf in SETUP_TIMEFRAMES],
        value=["15m", "1h", "4h"],
        inline=True,
        className="setups-timeframes",
    )


def _ago(ms: int | None, now: float) -> str:
    if ms is None:
        return "no data yet"
    return f"{format_duration(max(0.0, now - ms / 1000))} ago"


def _signal_line(signal: Mapping[str, Any] | None, now: float) -> Any:
    if signal is None:
        return html.Span("no signal yet", className="text-muted")
    color = "success" if signal["signal"] == "BUY" else "danger"
    return html.Span(
        [
            dbc.Badge(signal["signal"], color=color, className="me-1"),
            f"{signal['strategy']} @ {signal['price']:,.2f} on {signal['timeframe']} · ",
            _ago(signal["time"], now),
        ]
    )


def make_setup_card(setup: Mapping[str, Any], now: float | None = None) -> dbc.Card:
    """One setup: status, what it watches, freshness per timeframe, last signal, actions."""
    now = time.time() if now is None else now
    sid = setup["id"]
    fresh = [
        html.Span(
            f"{tf}: last bar closed {_ago(None if ms is None else ms + Timeframe(tf).ms, now)}",
            className="me-3",
        )
        for tf, ms in (setup.get("last_bar_ms") or {}).items()
    ]
    charts = [
        dbc.Button(
            tf,
            href=url,
            target="_blank",
            external_link=True,
            size="sm",
            color="info",
            outline=True,
            id={"type": "setups-chart", "id": sid, "tf": tf},
        )
        for tf, url in zip(setup["timeframes"], setup["chart_urls"], strict=True)
    ]
    paused = setup["status"] != "active"
    toggle = "resume" if paused else "pause"
    return dbc.Card(
        dbc.CardBody(
            [
                html.Div(
                    [
                        html.H5(f"#{sid} {setup['symbol']}", className="mb-0 me-2 d-inline"),
                        dbc.Badge(setup["status"], color=STATUS_COLOR.get(setup["status"])),
                    ]
                ),
                html.Div(
                    f"{', '.join(setup['timeframes'])} · {', '.join(setup['indicators']) or '—'}"
                    f" · {', '.join(setup['strategies']) or 'no strategies'}",
                    className="setup-meta",
                ),
                html.Div(["Data: ", *fresh], className="setup-meta"),
                html.Div(["Last signal: ", _signal_line(setup.get("last_signal"), now)]),
                *(
                    [html.Div(f"⚠ {setup['last_error']}", className="text-warning small")]
                    if setup.get("last_error")
                    else []
                ),
                html.Div(
                    [
                        dbc.Button(
                            "Open charts",
                            id={"type": ACTION, "id": sid, "op": "open"},
                            size="sm",
                            color="primary",
                        ),
                        *charts,
                        dbc.Button(
                            toggle.capitalize(),
                            id={"type": ACTION, "id": sid, "op": toggle},
                            size="sm",
                            color="warning" if not paused else "success",
                            outline=True,
                        ),
                        dbc.Button(
                            "Delete",
                            id={"type": ACTION, "id": sid, "op": "delete"},
                            size="sm",
                            color="danger",
                            outline=True,
                        ),
                        dcc.Store(id={"type": "setups-urls", "id": sid}, data=setup["chart_urls"]),
                    ],
                    className="setups-actions",
                ),
            ]
        ),
        className="setup-card",
        id=f"setup-card-{sid}",
    )


SIGNAL_COLUMNS = [
    {"field": "when", "headerName": "Bar (UTC)", "minWidth": 150, "sort": "desc"},
    {"field": "setup", "headerName": "Setup", "maxWidth": 90},
    {"field": "symbol", "headerName": "Symbol", "maxWidth": 110},
    {"field": "timeframe", "headerName": "TF", "maxWidth": 80},
    {"field": "strategy", "headerName": "Strategy", "minWidth": 150},
    {
        "field": "signal",
        "headerName": "Signal",
        "maxWidth": 95,
        "cellStyle": {
            "styleConditions": [
                {"condition": "params.value == 'BUY'", "style": {"color": "#00bc8c"}},
                {"condition": "params.value == 'SELL'", "style": {"color": "#e74c3c"}},
            ]
        },
    },
    {"field": "price", "headerName": "Price", "type": "numericColumn", "maxWidth": 130},
    {"field": "confidence", "headerName": "Conf.", "maxWidth": 90},
    {"field": "reason", "headerName": "Reason", "minWidth": 200, "tooltipField": "indicators"},
    {
        "field": "order",
        "headerName": "",
        "cellRenderer": "markdown",
        "sortable": False,
        "filter": False,
        "minWidth": 120,
    },
]


def order_link(signal: Mapping[str, Any]) -> str:
    """The prefilled order ticket of a signal (the Orders page reads these parameters)."""
    query = {
        "symbol": signal["symbol"],
        "side": str(signal["signal"]).lower(),
        "price": f"{signal['price']:.8g}",
        "signal_id": str(signal["id"]),
    }
    return f"/orders?{urlencode(query)}"


def signal_rows(signals: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Grid rows, one per signal (its id is the row id)."""
    rows = []
    for s in signals:
        conf = s.get("confidence")
        indicators = ", ".join(
            f"{k}={'—' if v is None else f'{v:.4g}'}"
            for k, v in (s.get("indicators") or {}).items()
        )
        rows.append(
            {
                "id": str(s["id"]),
                "when": time.strftime("%Y-%m-%d %H:%M", time.gmtime(s["time"] / 1000)),
                "setup": s["setup_id"] or "ad hoc",
                "symbol": s["symbol"],
                "timeframe": s["timeframe"],
                "strategy": s["strategy"],
                "signal": s["signal"],
                "price": f"{float(s['price']):,.{price_decimals(s['symbol'])}f}",
                "confidence": None if conf is None else round(float(conf), 2),
                "reason": s.get("reason") or s.get("action"),
                "indicators": indicators,
                "order": f"[Place order]({order_link(s)})",
            }
        )
    return rows


def make_signal_grid(grid_id: str, rows: list[dict[str, Any]]) -> dag.AgGrid:
    """The signals grid: newest first, keyed by signal id (refreshes update in place)."""
    return dag.AgGrid(
        id=grid_id,
        rowData=rows,
        columnDefs=SIGNAL_COLUMNS,
        getRowId="params.data.id",
        defaultColDef={"sortable": True, "resizable": True, "filter": True, "flex": 1},
        dashGridOptions={"theme": GRID_THEME, "tooltipShowDelay": 300},
        style={"height": "calc(100vh - 260px)", "minHeight": "420px"},
    )
