"""The backtest history grid and the side-by-side comparison (metrics table with the better
value marked, equity curves as % return on one chart). Pure functions of API data."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import dash_ag_grid as dag
from dash import html

from components.backtest_charts import PALETTE_COMPARE, average_curve, base_layout
from components.backtest_results import (
    HIGHER_IS_BETTER,
    METRICS,
    fmt_metric,
    headline_metrics,
    number,
)
from components.runner_table import GRID_THEME
from components.shell import format_duration

HISTORY_COLUMNS = [
    {
        "field": "open",
        "headerName": "",
        "cellRenderer": "markdown",
        "width": 70,
        "flex": 0,
        "sortable": False,
        "filter": False,
    },
    {
        "field": "strategy",
        "headerName": "Strategy",
        "filter": "agTextColumnFilter",
        "minWidth": 170,
    },
    {"field": "symbol", "headerName": "Symbol", "width": 110, "filter": "agTextColumnFilter"},
    {"field": "timeframe", "headerName": "TF", "width": 70},
    {"field": "range", "headerName": "Range", "minWidth": 230},
    {"field": "runs", "headerName": "Runs", "width": 80, "type": "numericColumn"},
    {
        "field": "total_return_pct",
        "headerName": "Return %",
        "type": "numericColumn",
        "cellClassRules": {"pnl-pos": "x > 0", "pnl-neg": "x < 0"},
    },
    {"field": "sharpe", "headerName": "Sharpe", "type": "numericColumn"},
    {"field": "max_drawdown_pct", "headerName": "Max DD %", "type": "numericColumn"},
    {"field": "num_trades", "headerName": "Trades", "type": "numericColumn"},
    {"field": "status", "headerName": "Status", "width": 110, "filter": "agTextColumnFilter"},
    {"field": "age", "headerName": "Age", "width": 100},
]
COMPARE_KEYS = (
    "total_return_pct",
    "annualized_return_pct",
    "sharpe",
    "sortino",
    "calmar",
    "max_drawdown_pct",
    "win_rate_pct",
    "profit_factor",
    "expectancy",
    "sqn",
    "num_trades",
    "exposure_pct",
    "avg_hold_time_s",
)

UNRANKED = {"num_trades", "avg_hold_time_s", "exposure_pct"}
"""Compared but not ranked: neither direction is better in general."""


def _age(created: str | None, now: datetime) -> str:
    if not created:
        return ""
    moment = datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return format_duration((now - moment).total_seconds()) + " ago"


def _r(value: Any, digits: int = 2) -> Any:
    x = number(value)
    return value if x is None or not math.isfinite(x) else round(x, digits)


def history_rows(items: Sequence[Mapping[str, Any]], now: datetime | None = None) -> list[dict]:
    """Grid rows from ``GET /api/backtests`` items (``id`` = backtest id)."""
    now = now or datetime.now(UTC)
    rows = []
    for item in items:
        summary = item.get("summary") or {}
        start, end = summary.get("start_time"), summary.get("end_time")
        span = f"{start[:10]} → {end[:10]}" if start and end else ""
        rows.append(
            {
                "id": item["backtest_id"],
                "open": f"[open](/backtest/{item['backtest_id']})",
                "strategy": item["strategy"],
                "symbol": item["symbol"],
                "timeframe": item["timeframe"],
                "range": span,
                "runs": item["config"].get("runs", 1),
                "total_return_pct": _r(
                    summary.get("total_return_pct", summary.get("mean_return_pct"))
                ),
                "sharpe": _r(summary.get("sharpe")),
                "max_drawdown_pct": _r(summary.get("max_drawdown_pct")),
                "num_trades": summary.get("num_trades"),
                "status": item["status"],
                "age": _age(item.get("created_at"), now),
            }
        )
    return rows


def make_history_grid(grid_id: str, rows: list[dict[str, Any]]) -> dag.AgGrid:
    """Multi-select grid of past backtests."""
    return dag.AgGrid(
        id=grid_id,
        rowData=rows,
        columnDefs=HISTORY_COLUMNS,
        getRowId="params.data.id",
        defaultColDef={
            "sortable": True,
            "resizable": True,
            "filter": True,
            "flex": 1,
            "minWidth": 70,
        },
        dashGridOptions={
            "theme": GRID_THEME,
            "rowSelection": {
                "mode": "multiRow",
                "checkboxes": True,
                "headerCheckbox": True,
                "enableClickSelection": False,
            },
            "rowHeight": 36,
            "animateRows": False,
            "localeText": {"noRowsToShow": "No backtests yet: run one from the Backtest page."},
        },
        style={"height": f"{min(460, 90 + 36 * max(3, len(rows)))}px", "width": "100%"},
    )


def _label(result: Mapping[str, Any], index: int) -> str:
    return f"#{index + 1} {result['strategy']} · {result['symbol']} {result['timeframe']}"


def best_index(key: str, values: Sequence[float | None]) -> int | None:
    """Which of ``values`` is best for metric ``key`` (None when they all tie or are missing)."""
    present = [(i, v) for i, v in enumerate(values) if v is not None and not math.isnan(v)]
    if len(present) < 2 or len({v for _i, v in present}) == 1:
        return None
    pick = max if key in HIGHER_IS_BETTER else min
    return pick(present, key=lambda p: p[1])[0]


def make_compare_table(results: Sequence[Mapping[str, Any]]) -> html.Table:
    """Metric rows × backtest columns, the better value of each row marked ``better``."""
    kinds = {key: (label, kind) for key, label, kind in METRICS}
    metrics = [headline_metrics(r) for r in results]
    head = html.Thead(
        html.Tr([html.Th("Metric")] + [html.Th(_label(r, i)) for i, r in enumerate(results)])
    )
    rows = []
    for key in COMPARE_KEYS:
        label, kind = kinds[key]
        values = [number(m.get(key)) for m in metrics]
        best = best_index(key, values) if key not in UNRANKED else None
        cells = [
            html.Td(fmt_metric(m.get(key), kind), className="num better" if i == best else "num")
            for i, m in enumerate(metrics)
        ]
        rows.append(html.Tr([html.Th(label, className="fw-normal"), *cells]))
    return html.Table([head, html.Tbody(rows)], className="table table-sm bt-compare")


def compare_equity_figure(results: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Each backtest's equity (its run, or the average of its runs) as % return against days
    since start, on one chart."""
    traces = []
    for i, result in enumerate(results):
        capital = float(result["config"]["initial_capital"])
        days, mean = average_curve(result.get("run_equity") or [])
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": days.round(4).tolist(),
                "y": ((mean / capital - 1) * 100).round(4).tolist(),
                "name": _label(result, i),
                "line": {"color": PALETTE_COMPARE[i % len(PALETTE_COMPARE)], "width": 2},
            }
        )
    return {
        "data": traces,
        "layout": base_layout(
            "Equity, % return since start",
            xaxis={"title": {"text": "days since start"}},
            yaxis={"ticksuffix": "%"},
        ),
    }
