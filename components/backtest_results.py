"""Result panels of the Backtest page: progress, stat cards, run summary and trade log grids.

Pure functions of the status / result JSON (the page reads them through the API functions).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import html

from components.runner_table import GRID_THEME
from components.shell import format_duration

#: (metric key, label, kind) for every engine metric; kinds: pct, money, ratio, int, dur, bars
METRICS: tuple[tuple[str, str, str], ...] = (
    ("total_return_pct", "Total return", "pct"),
    ("annualized_return_pct", "Annualized return", "pct"),
    ("net_pnl", "Net P&L", "money"),
    ("final_equity", "Final equity", "money"),
    ("sharpe", "Sharpe", "ratio"),
    ("sortino", "Sortino", "ratio"),
    ("calmar", "Calmar", "ratio"),
    ("max_drawdown_pct", "Max drawdown", "dd"),
    ("max_drawdown_duration", "Max DD duration", "days"),
    ("num_trades", "Trades", "int"),
    ("win_rate_pct", "Win rate", "pct0"),
    ("profit_factor", "Profit factor", "ratio"),
    ("expectancy", "Expectancy", "money"),
    ("sqn", "SQN", "ratio"),
    ("avg_win", "Average win", "money"),
    ("avg_loss", "Average loss", "money"),
    ("largest_win", "Largest win", "money"),
    ("largest_loss", "Largest loss", "money"),
    ("avg_hold_time_s", "Average hold", "dur"),
    ("max_hold_time_s", "Longest hold", "dur"),
    ("exposure_pct", "Exposure", "pct0"),
    ("std_returns", "Std of returns", "std"),
    ("volatility_pct", "Volatility (ann.)", "pct0"),
    ("total_commission", "Commission paid", "money"),
)
RUN_METRICS: tuple[tuple[str, str, str], ...] = (
    ("pct_profitable", "Runs profitable", "pct0"),
    ("mean_return_pct", "Mean run return", "pct"),
    ("median_return_pct", "Median run return", "pct"),
    ("best_run_return_pct", "Best run", "pct"),
    ("worst_run_return_pct", "Worst run", "pct"),
    ("std_return_pct", "Std of run returns", "pct0"),
)
HIGHER_IS_BETTER = {key for key, _l, _k in METRICS} - {
    "max_drawdown_pct",
    "max_drawdown_duration",
    "std_returns",
    "volatility_pct",
    "total_commission",
    "avg_hold_time_s",
    "max_hold_time_s",
    "num_trades",
    "exposure_pct",
}


def number(value: Any) -> float | None:
    """A metric as a float (``"∞"`` → inf); None when missing."""
    if value == "∞":
        return math.inf
    if value == "-∞":
        return -math.inf
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def fmt_metric(value: Any, kind: str) -> str:
    """Display text of a metric (profit factor ``∞`` when there are no losses)."""
    x = number(value)
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if kind == "pct":
        return f"{x:+.2f}%"
    if kind in ("pct0", "dd"):
        return f"{x:.1f}%"
    if kind == "money":
        return f"{x:,.2f}"
    if kind == "int":
        return f"{int(x):,}"
    if kind == "dur":
        return format_duration(x) if x else "—"
    if kind == "days":
        return f"{x:.1f} d"
    if kind == "std":
        return f"{x:.4f}"
    return f"{x:.2f}"


def tone(key: str, value: Any) -> str:
    """``pos`` / ``neg`` / ``""``: colour a card by whether the value is good."""
    x = number(value)
    if x is None or key not in {
        "total_return_pct",
        "annualized_return_pct",
        "net_pnl",
        "sharpe",
        "sortino",
        "calmar",
        "expectancy",
        "sqn",
        "mean_return_pct",
        "median_return_pct",
    }:
        return ""
    return "pos" if x > 0 else "neg" if x < 0 else ""


def headline_metrics(result: Mapping[str, Any]) -> dict[str, Any]:
    """Each engine metric: the run's own for one run, else the mean over runs."""
    runs = result.get("runs") or []
    if len(runs) == 1:
        return dict(runs[0]["metrics"])
    out: dict[str, Any] = {}
    for key, _label, _kind in METRICS:
        values = [number(r["metrics"].get(key)) for r in runs]
        finite = [v for v in values if v is not None and math.isfinite(v)]
        if any(v is not None and math.isinf(v) for v in values) and not finite:
            out[key] = "∞"
        else:
            out[key] = sum(finite) / len(finite) if finite else None
    out["num_trades"] = sum(int(r["num_trades"]) for r in runs)
    return out


def stat_card(label: str, text: str, klass: str = "", hint: str | None = None) -> html.Div:
    """One small metric card."""
    return html.Div(
        [html.Div(label, className="stat-label"), html.Div(text, className=f"stat-value {klass}")],
        className="stat-card",
        title=hint,
    )


def make_stat_cards(result: Mapping[str, Any]) -> html.Div:
    """Cards for every engine metric, plus the randomized-run summary when there are runs."""
    values = headline_metrics(result)
    many = int(result.get("num_runs", 1)) > 1
    cards = []
    if many:
        summary = result["metrics"]
        for key, label, kind in RUN_METRICS:
            text = fmt_metric(summary.get(key), kind)
            if key == "best_run_return_pct":
                label = f"Best run (#{summary.get('best_run_id')})"
            if key == "worst_run_return_pct":
                label = f"Worst run (#{summary.get('worst_run_id')})"
            cards.append(stat_card(label, text, tone("mean_return_pct", summary.get(key))))
    for key, label, kind in METRICS:
        hint = f"mean of {result['num_runs']} runs" if many and key != "num_trades" else None
        text = fmt_metric(values.get(key), kind)
        cards.append(stat_card(label, text, tone(key, values.get(key)), hint))
    return html.Div(cards, className="stat-grid", id="bt-stat-cards")


def make_progress(status: Mapping[str, Any]) -> html.Div:
    """Progress bar with the stage and ETA (or the failure reason)."""
    state = str(status.get("status"))
    progress = float(status.get("progress") or 0.0)
    eta = status.get("eta_s")
    label = {"queued": "Waiting for a worker…"}.get(state, str(status.get("stage") or state))
    info = [html.Span(label, className="bt-stage")]
    if eta is not None and state == "running":
        info.append(
            html.Span(f" · about {format_duration(float(eta) + 0.5)} left", className="text-muted")
        )
    color = {"failed": "danger", "cancelled": "secondary"}.get(state, "success")
    children: list[Any] = [
        html.Div(info, className="mb-2"),
        dbc.Progress(
            value=round(progress * 100, 1),
            label=f"{progress * 100:.0f}%",
            striped=state in ("queued", "running"),
            animated=state in ("queued", "running"),
            color=color,
            style={"height": "22px"},
        ),
    ]
    if status.get("error"):
        children.append(dbc.Alert(str(status["error"]), color="danger", className="mt-3 mb-0"))
    return html.Div(children)


RUN_COLUMNS = [
    {"field": "run_id", "headerName": "Run", "width": 80},
    {"field": "start_time", "headerName": "Start", "minWidth": 165},
    {"field": "end_time", "headerName": "End", "minWidth": 165},
    {"field": "bars", "headerName": "Bars", "type": "numericColumn"},
    {"field": "num_trades", "headerName": "Trades", "type": "numericColumn"},
    {"field": "total_return_pct", "headerName": "Return %", "type": "numericColumn"},
    {"field": "sharpe", "headerName": "Sharpe", "type": "numericColumn"},
    {"field": "max_drawdown_pct", "headerName": "Max DD %", "type": "numericColumn"},
    {"field": "win_rate_pct", "headerName": "Win %", "type": "numericColumn"},
    {"field": "profit_factor", "headerName": "PF", "type": "numericColumn"},
]
TRADE_COLUMNS = [
    {"field": "id", "headerName": "#", "width": 80, "filter": "agNumberColumnFilter"},
    {"field": "run_id", "headerName": "Run", "width": 90, "filter": "agNumberColumnFilter"},
    {"field": "side", "headerName": "Side", "width": 90, "filter": "agTextColumnFilter"},
    {"field": "entry_time", "headerName": "Entry", "minWidth": 165},
    {"field": "exit_time", "headerName": "Exit", "minWidth": 165},
    {"field": "entry_price", "headerName": "Entry price", "type": "numericColumn"},
    {"field": "exit_price", "headerName": "Exit price", "type": "numericColumn"},
    {"field": "quantity", "headerName": "Qty", "type": "numericColumn"},
    {
        "field": "pnl",
        "headerName": "P&L",
        "type": "numericColumn",
        "cellClassRules": {"pnl-pos": "x > 0", "pnl-neg": "x < 0"},
    },
    {
        "field": "pnl_pct",
        "headerName": "P&L %",
        "type": "numericColumn",
        "cellClassRules": {"pnl-pos": "x > 0", "pnl-neg": "x < 0"},
    },
    {"field": "exit_reason", "headerName": "Exit reason", "filter": "agTextColumnFilter"},
    {"field": "bars_held", "headerName": "Bars", "type": "numericColumn", "width": 90},
]


def _round(value: Any, digits: int) -> Any:
    x = number(value)
    return value if x is None or not math.isfinite(x) else round(x, digits)


def run_rows(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per run for the run summary grid."""
    rows = []
    for run in result.get("runs") or []:
        m = run["metrics"]
        rows.append(
            {
                "run_id": run["run_id"],
                "start_time": run["start_time"].replace("T", " ").removesuffix("Z"),
                "end_time": run["end_time"].replace("T", " ").removesuffix("Z"),
                "bars": run["bars"],
                "num_trades": run["num_trades"],
                **{
                    k: _round(m.get(k), 2)
                    for k in (
                        "total_return_pct",
                        "sharpe",
                        "max_drawdown_pct",
                        "win_rate_pct",
                        "profit_factor",
                    )
                },
            }
        )
    return rows


def trade_rows(trades: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Trade log rows (an ``id`` per trade: its index in the result)."""
    return [
        {
            "id": i,
            "run_id": t.get("run_id", 0),
            "side": t["side"],
            "entry_time": t["entry_time"].replace("T", " ").removesuffix("Z"),
            "exit_time": t["exit_time"].replace("T", " ").removesuffix("Z"),
            "entry_price": round(float(t["entry_price"]), 4),
            "exit_price": round(float(t["exit_price"]), 4),
            "quantity": round(float(t["quantity"]), 6),
            "pnl": round(float(t["pnl"]), 2),
            "pnl_pct": round(float(t["pnl_pct"]), 3),
            "exit_reason": t["exit_reason"],
            "bars_held": t["bars_held"],
        }
        for i, t in enumerate(trades)
    ]


def make_grid(
    grid_id: str, rows: list[dict[str, Any]], columns: list[dict[str, Any]], height: int
) -> dag.AgGrid:
    """A sortable, filterable, virtualized grid in the app's dark theme."""
    return dag.AgGrid(
        id=grid_id,
        rowData=rows,
        columnDefs=columns,
        defaultColDef={
            "sortable": True,
            "resizable": True,
            "filter": True,
            "flex": 1,
            "minWidth": 80,
        },
        dashGridOptions={
            "theme": GRID_THEME,
            "rowHeight": 30,
            "headerHeight": 34,
            "rowSelection": {
                "mode": "singleRow",
                "checkboxes": False,
                "enableClickSelection": True,
            },
            "animateRows": False,
            "localeText": {"noRowsToShow": "No trades"},
        },
        style={"height": f"{height}px", "width": "100%"},
    )


def make_monthly_table(table: Mapping[str, Any]) -> html.Div:
    """The monthly returns grid (from ``backtest_charts.monthly_table``) as a coloured table."""
    head = html.Thead(html.Tr([html.Th(h) for h in table["header"]]))
    body = html.Tbody(
        [
            html.Tr(
                [html.Th(row[0][0])]
                + [html.Td(text, style={"background": colour}) for text, colour in row[1:]]
            )
            for row in table["rows"]
        ]
    )
    return html.Div(
        [
            html.Div(table["title"], className="bt-chart-title"),
            html.Table([head, body], className="bt-monthly")
            if table["rows"]
            else html.Div("No months to show.", className="text-muted"),
        ],
        className="bt-monthly-wrap",
    )
