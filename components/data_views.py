"""Builders of the Data page: coverage grid, coverage timeline (gaps visible), candle preview,
running-job progress bars and the sessions log. Pure functions of their arguments; figures
are plain dicts (Plotly validates them in the browser)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import html

from components.runner_chart import DOWN, GRID, PAPER, PLOT, TEXT, UP
from components.runner_table import GRID_THEME

COVERED, GAP = "#00bc8c", "#e74c3c"
_STATUS_COLOR = {
    "ok": "success",
    "running": "info",
    "queued": "secondary",
    "scheduled": "secondary",
    "failed": "danger",
    "cancelled": "warning",
    "disabled": "dark",
    "stored": "dark",
}


def _iso(ms: int | None) -> str:
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def series_key(row: Mapping[str, Any]) -> str:
    """``source|symbol|timeframe``: one stored series (row id and dropdown value)."""
    return f"{row['source']}|{row['symbol']}|{row['timeframe']}"


def coverage_rows(coverage: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows of the coverage grid from ``GET /api/history`` entries."""
    rows = []
    for c in coverage:
        last_run = c.get("last_collection")
        rows.append(
            {
                "key": series_key(c),
                "symbol": c["symbol"],
                "timeframe": c["timeframe"],
                "source": c["source"],
                "first": _iso(c["first"]),
                "last": _iso(c["last"]),
                "bars": c["bars"],
                "gaps": c["gaps"],
                "missing": c["missing_bars"],
                "last_collection": str(last_run)[:16].replace("T", " ") if last_run else "",
                "status": c.get("status", "stored"),
            }
        )
    return rows


def make_coverage_grid(grid_id: str, rows: list[dict[str, Any]]) -> dag.AgGrid:
    """The coverage table; a click on a row selects that series for the preview."""
    columns = [
        {"field": "symbol", "pinned": "left", "width": 100},
        {"field": "timeframe", "headerName": "TF", "width": 60},
        {"field": "source", "width": 120},
        {"field": "first", "width": 130},
        {"field": "last", "width": 130},
        {"field": "bars", "type": "numericColumn", "width": 90},
        {
            "field": "gaps",
            "type": "numericColumn",
            "width": 70,
            "tooltipValueGetter": {"function": "params.data.missing + ' missing bars'"},
            "cellClassRules": {"text-danger": "params.value > 0"},
        },
        {"field": "last_collection", "headerName": "Last collection", "width": 130},
        {"field": "status", "flex": 1, "minWidth": 90, "cellClassRules": _status_classes()},
    ]
    return dag.AgGrid(
        id=grid_id,
        rowData=rows,
        columnDefs=columns,
        getRowId="params.data.key",
        defaultColDef={"sortable": True, "resizable": True, "suppressMovable": True},
        dashGridOptions={
            "theme": GRID_THEME,
            "rowSelection": {
                "mode": "singleRow",
                "checkboxes": False,
                "enableClickSelection": True,
            },
            "animateRows": False,
            "suppressCellFocus": True,
            "tooltipShowDelay": 150,
            "rowHeight": 34,
            "localeText": {"noRowsToShow": "No candles stored yet: import a CSV or download."},
        },
        className="data-grid",
        style={"height": "100%", "width": "100%"},
    )


def _status_classes() -> dict[str, str]:
    return {
        "text-success": "params.value == 'ok'",
        "text-danger": "params.value == 'failed'",
        "text-info": "params.value == 'running' || params.value == 'scheduled'",
    }


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    axis = {"gridcolor": GRID, "zeroline": False, "color": TEXT}
    return {
        "title": {"text": title, "font": {"size": 13, "color": TEXT}, "x": 0.01},
        "paper_bgcolor": PAPER,
        "plot_bgcolor": PLOT,
        "font": {"color": TEXT, "size": 11},
        "margin": {"l": 10, "r": 10, "t": 32, "b": 28},
        "xaxis": {**axis, "type": "date"},
        "yaxis": {**axis, "automargin": True},
        "showlegend": False,
        **extra,
    }


def coverage_figure(
    rows: Sequence[Mapping[str, Any]],
    gaps: Mapping[str, Sequence[Sequence[int]]],
    step_ms: Mapping[str, int],
) -> dict[str, Any]:
    """One lane per series: covered spans in green, gaps in red (a red tick marks each gap so
    that one missing minute in a year stays visible)."""
    traces: list[dict[str, Any]] = []
    labels = []
    for row in rows:
        key = series_key(row)
        label = f"{row['symbol']} {row['timeframe']} · {row['source']}"
        labels.append(label)
        runs = gaps.get(key, [])
        step = step_ms.get(row["timeframe"], 60_000)
        xs: list[Any] = []
        cursor = row["first"]
        for start, end, _missing in runs:
            xs += [cursor, start - step, None]
            cursor = end + step
        xs += [cursor, row["last"], None]
        traces.append(_lane(xs, label, COVERED, f"{label}: stored"))
        gap_x: list[Any] = []
        for start, end, _missing in runs:
            gap_x += [start, end + step, None]
        if gap_x:
            traces.append(_lane(gap_x, label, GAP, f"{label}: gap"))
            traces.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "x": [s for s, _e, _m in runs],
                    "y": [label] * len(runs),
                    "marker": {"symbol": "line-ns-open", "size": 16, "color": GAP},
                    "customdata": [m for _s, _e, m in runs],
                    "hovertemplate": "gap from %{x}: %{customdata} missing bar(s)<extra></extra>",
                }
            )
    height = 90 + 34 * max(1, len(labels))
    layout = _layout("Coverage", height=height)
    layout["yaxis"].update({"type": "category", "categoryorder": "array", "categoryarray": labels})
    if not rows:
        layout["annotations"] = [
            {"text": "nothing stored yet", "showarrow": False, "xref": "paper", "yref": "paper"}
        ]
    return {"data": traces, "layout": layout}


def _lane(xs: list[Any], label: str, color: str, name: str) -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "lines",
        "x": xs,
        "y": [None if x is None else label for x in xs],
        "line": {"color": color, "width": 14},
        "name": name,
        "hoverinfo": "name",
    }


def candle_figure(bars: Sequence[Mapping[str, Any]], title: str) -> dict[str, Any]:
    """Candlesticks with volume below, from ``GET /api/history/<symbol>`` bars."""
    times = [b["time"] for b in bars]
    candles = {
        "type": "candlestick",
        "x": times,
        "open": [b["open"] for b in bars],
        "high": [b["high"] for b in bars],
        "low": [b["low"] for b in bars],
        "close": [b["close"] for b in bars],
        "increasing": {"line": {"color": UP}},
        "decreasing": {"line": {"color": DOWN}},
        "name": "price",
    }
    colors = [UP if b["close"] >= b["open"] else DOWN for b in bars]
    volume = {
        "type": "bar",
        "x": times,
        "y": [b["volume"] for b in bars],
        "marker": {"color": colors},
        "yaxis": "y2",
        "name": "volume",
    }
    layout = _layout(title, height=380)
    layout["xaxis"]["rangeslider"] = {"visible": False}
    layout["yaxis"].update({"domain": [0.28, 1.0], "tickformat": ".8~g"})
    layout["yaxis2"] = {"domain": [0.0, 0.22], "gridcolor": GRID, "color": TEXT}
    if not bars:
        layout["annotations"] = [
            {"text": "no bars in this range", "showarrow": False, "xref": "paper", "yref": "paper"}
        ]
    return {"data": [candles, volume], "layout": layout}


def make_progress_list(sessions: Sequence[Mapping[str, Any]]) -> list[Any]:
    """One progress bar per queued/running download or collection."""
    if not sessions:
        return [html.Div("No data jobs running.", className="text-muted small")]
    items = []
    for s in sessions:
        fraction = float(s.get("progress") or 0.0)
        label = f"{s['kind']} {s['symbol']} {s['timeframe']} · {s['source']}"
        items.append(
            html.Div(
                [
                    html.Div(
                        [
                            html.Span(label, className="me-2"),
                            dbc.Badge(s["status"], color=_STATUS_COLOR.get(s["status"], "dark")),
                            html.Span(s.get("stage") or "", className="ms-2 text-muted small"),
                            dbc.Button(
                                "Cancel",
                                id={"type": "data-cancel", "session": s["id"]},
                                size="sm",
                                color="link",
                                className="ms-auto p-0",
                            ),
                        ],
                        className="d-flex align-items-center",
                    ),
                    dbc.Progress(
                        value=round(100 * fraction, 1),
                        label=f"{100 * fraction:.0f}%",
                        striped=True,
                        animated=s["status"] == "running",
                        className="mt-1",
                    ),
                ],
                className="data-job mb-2",
                **{"data-session": str(s["id"])},
            )
        )
    return items


def session_rows(sessions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows of the sessions log."""
    rows = []
    for s in sessions:
        unfilled = s.get("unfilled") or []
        rows.append(
            {
                "key": str(s["id"]),
                "id": s["id"],
                "started": str(s["started_at"])[:19].replace("T", " "),
                "kind": s["kind"],
                "series": f"{s['symbol']} {s['timeframe']} · {s['source']}",
                "status": s["status"],
                "bars_added": s["bars_added"],
                "gaps": f"{s['gaps_found']} found / {s['gaps_filled']} filled"
                + (f" / {len(unfilled)} left" if unfilled else ""),
                "error": s.get("error") or "",
            }
        )
    return rows


def make_sessions_grid(grid_id: str, rows: list[dict[str, Any]]) -> dag.AgGrid:
    """The sessions log (newest first); the error column shows why a run failed."""
    columns = [
        {"field": "id", "width": 70},
        {"field": "started", "width": 160},
        {"field": "kind", "width": 100},
        {"field": "series", "width": 220},
        {"field": "status", "width": 100, "cellClassRules": _status_classes()},
        {"field": "bars_added", "headerName": "Bars added", "type": "numericColumn", "width": 110},
        {"field": "gaps", "width": 190},
        {"field": "error", "flex": 1, "tooltipField": "error", "minWidth": 200},
    ]
    return dag.AgGrid(
        id=grid_id,
        rowData=rows,
        columnDefs=columns,
        getRowId="params.data.key",
        defaultColDef={"sortable": True, "resizable": True, "suppressMovable": True},
        dashGridOptions={
            "theme": GRID_THEME,
            "animateRows": False,
            "suppressCellFocus": True,
            "tooltipShowDelay": 150,
            "rowHeight": 32,
            "localeText": {"noRowsToShow": "No downloads or collections yet."},
        },
        className="data-grid",
        style={"height": "100%", "width": "100%"},
    )


def mapping_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> html.Table:
    """The first rows of an upload as a small table."""
    return html.Table(
        [
            html.Thead(html.Tr([html.Th(h) for h in header])),
            html.Tbody([html.Tr([html.Td(c) for c in r]) for r in rows]),
        ],
        className="table table-sm table-dark data-preview mb-2",
    )
