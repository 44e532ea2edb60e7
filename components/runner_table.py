"""The Runner Manager's building blocks: grid rows and columns, filter bar, summary cards.

The grid is dash-ag-grid: rows are keyed by runner id (``getRowId``), so a refresh that only
changes data updates cells in place and keeps the user's selection, sort and scroll. Cell
renderers (status badge, id link, action buttons) live in ``assets/04-runners.js``.

Pure functions of their arguments (no Redis, file or network access).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.runner_format import (
    STATES,
    STATUS_LABEL,
    STATUSES,
    allowed_actions,
    as_number,
    error_text,
    fmt_pnl,
    pnl_class,
    position_text,
    price_decimals,
)
from components.shell import format_duration

P = "runners"
SEARCH = f"{P}-search"
F_SYMBOL = f"{P}-filter-symbol"
F_STRATEGY = f"{P}-filter-strategy"
F_STATE = f"{P}-filter-state"
F_STATUS = f"{P}-filter-status"
BULK_START = f"{P}-bulk-start"
BULK_STOP = f"{P}-bulk-stop"
BULK_DELETE = f"{P}-bulk-delete"
#: The store a row's action button writes ``{action, runner_id, nonce}`` into.
ROW_ACTION = f"{P}-row-action"
#: AG Grid's Quartz theme in the colours of the Bootswatch "darkly" theme.
GRID_THEME = {
    "function": (
        "themeQuartz.withParams({backgroundColor: '#2b2b2b', foregroundColor: '#dee2e6', "
        "headerBackgroundColor: '#303030', headerTextColor: '#adb5bd', borderColor: '#3d4145', "
        "rowHoverColor: '#34393e', selectedRowBackgroundColor: 'rgba(0, 188, 140, 0.12)', "
        "accentColor: '#00bc8c', oddRowBackgroundColor: '#2e2e2e', fontSize: 13, "
        "headerFontSize: 12, spacing: 6, wrapperBorderRadius: 6, "
        "tooltipBackgroundColor: '#111', tooltipTextColor: '#f1f1f1'})"
    )
}


def runner_row(
    snapshot: Mapping[str, Any], ack: Any = None, offline: bool = False
) -> dict[str, Any]:
    """One grid row from a runner snapshot (``ack`` echoes the last command's nonce)."""
    stats = snapshot.get("stats") or {}
    status = str(snapshot.get("status") or "unknown")
    pnl = as_number(stats.get("total_pnl")) or 0.0
    uptime = as_number(snapshot.get("uptime_s")) or 0.0
    symbol = str(snapshot.get("symbol") or "")
    last_close = (snapshot.get("last_bar") or {}).get("close")
    return {
        "runner_id": snapshot.get("runner_id"),
        "status": status,
        "status_label": STATUS_LABEL.get(status, status.capitalize()),
        "error": error_text(snapshot.get("error")) or None,
        "symbol": symbol,
        "timeframe": snapshot.get("timeframe"),
        "strategy": snapshot.get("strategy"),
        "state": snapshot.get("state"),
        "position": position_text(snapshot.get("position"), price_decimals(symbol, last_close)),
        "pnl": round(pnl, 6),
        "pnl_text": fmt_pnl(pnl),
        "pnl_class": pnl_class(pnl),
        "uptime_s": round(uptime),
        "uptime": format_duration(uptime) if status in ("running", "paused") else "—",
        "actions": list(allowed_actions(status)),
        "ack": ack,
        "offline": offline,
    }


def runner_rows(
    snapshots: Iterable[Mapping[str, Any]],
    acks: Mapping[str, Any] | None = None,
    offline: bool = False,
) -> list[dict[str, Any]]:
    """Grid rows for ``snapshots`` (in their order)."""
    acks = acks or {}
    return [runner_row(s, acks.get(str(s.get("runner_id"))), offline) for s in snapshots]


def filter_snapshots(
    snapshots: Iterable[Mapping[str, Any]],
    *,
    search: str | None = None,
    symbols: Sequence[str] | None = None,
    strategies: Sequence[str] | None = None,
    states: Sequence[str] | None = None,
    statuses: Sequence[str] | None = None,
) -> list[Mapping[str, Any]]:
    """Snapshots matching every given filter; ``search`` matches runner id or symbol."""
    needle = (search or "").strip().lower()
    wanted = {
        "symbol": set(symbols or ()),
        "strategy": set(strategies or ()),
        "state": set(states or ()),
        "status": set(statuses or ()),
    }
    out = []
    for snap in snapshots:
        if any(values and snap.get(field) not in values for field, values in wanted.items()):
            continue
        if needle and not (
            needle in str(snap.get("runner_id", "")).lower()
            or needle in str(snap.get("symbol", "")).lower()
        ):
            continue
        out.append(snap)
    return out


def filter_options(snapshots: Iterable[Mapping[str, Any]]) -> tuple[list[str], list[str]]:
    """Sorted symbols and strategies present among ``snapshots`` (the filter dropdowns)."""
    snaps = list(snapshots)
    symbols = sorted({str(s["symbol"]) for s in snaps if s.get("symbol")})
    strategies = sorted({str(s["strategy"]) for s in snaps if s.get("strategy")})
    return symbols, strategies


def summarize(snapshots: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts by status, active symbols (of running runners) and total P&L."""
    snaps = list(snapshots)
    counts = {status: 0 for status in STATUSES}
    total_pnl = 0.0
    active: set[str] = set()
    for snap in snaps:
        status = str(snap.get("status"))
        if status in counts:
            counts[status] += 1
        if status == "running" and snap.get("symbol"):
            active.add(str(snap["symbol"]))
        total_pnl += as_number((snap.get("stats") or {}).get("total_pnl")) or 0.0
    return {"total": len(snaps), **counts, "symbols": sorted(active), "total_pnl": total_pnl}


def make_summary_cards(summary: Mapping[str, Any]) -> list[dbc.Col]:
    """Seven small cards: total, running, paused, stopped, error, active symbols, total P&L."""
    symbols = list(summary.get("symbols") or [])
    pnl = as_number(summary.get("total_pnl")) or 0.0
    cards = [
        ("Runners", str(summary.get("total", 0)), "", None),
        ("Running", str(summary.get("running", 0)), "stat-running", None),
        ("Paused", str(summary.get("paused", 0)), "stat-paused", None),
        ("Stopped", str(summary.get("stopped", 0)), "stat-stopped", None),
        ("Error", str(summary.get("error", 0)), "stat-error", None),
        ("Active symbols", str(len(symbols)), "", ", ".join(symbols) or "none running"),
        ("Total P&L", fmt_pnl(pnl), pnl_class(pnl), "realized + unrealized, all runners"),
    ]
    return [
        dbc.Col(
            html.Div(
                [
                    html.Div(label, className="stat-label"),
                    html.Div(value, className=f"stat-value num {css}".strip()),
                ],
                className="stat-card",
                title=hint,
                id=f"runners-stat-{label.lower().replace(' ', '-').replace('&', '')}",
            ),
            xs=6,
            md=3,
            xl=True,
        )
        for label, value, css, hint in cards
    ]


def grid_column_defs() -> list[dict[str, Any]]:
    """The grid's columns (renderers from ``assets/04-runners.js``)."""
    return [
        {
            "field": "status",
            "headerName": "Status",
            "cellRenderer": "RunnerStatus",
            "tooltipField": "error",
            "width": 118,
            "minWidth": 118,
            "maxWidth": 130,
        },
        {
            "field": "runner_id",
            "headerName": "Runner ID",
            "cellRenderer": "RunnerLink",
            "tooltipField": "runner_id",
            "comparator": {"function": "naturalCompare(valueA, valueB)"},
            "sort": "asc",
            "minWidth": 150,
            "flex": 2,
        },
        {"field": "symbol", "headerName": "Symbol", "minWidth": 100, "flex": 1},
        {"field": "timeframe", "headerName": "TF", "width": 70, "minWidth": 64},
        {"field": "strategy", "headerName": "Strategy", "minWidth": 150, "flex": 2},
        {
            "field": "state",
            "headerName": "FSM State",
            "minWidth": 110,
            "flex": 1,
            "cellClass": {"function": "'fsm-' + params.value"},
        },
        {
            "field": "position",
            "headerName": "Position",
            "minWidth": 190,
            "flex": 2,
            "cellClass": "num-cell",
        },
        {
            "field": "pnl",
            "headerName": "P&L",
            "minWidth": 100,
            "flex": 1,
            "type": "rightAligned",
            "valueFormatter": {"function": "params.data.pnl_text"},
            "cellClass": {"function": "'num-cell ' + params.data.pnl_class"},
        },
        {
            "field": "uptime_s",
            "headerName": "Uptime",
            "minWidth": 90,
            "flex": 1,
            "type": "rightAligned",
            "valueFormatter": {"function": "params.data.uptime"},
            "cellClass": "num-cell",
        },
        {
            "field": "actions",
            "headerName": "Actions",
            "cellRenderer": "RunnerActions",
            "cellRendererParams": {"actionStore": ROW_ACTION},
            "cellDataType": False,
            "sortable": False,
            "minWidth": 300,
            "width": 300,
        },
    ]


def make_runner_grid(grid_id: str, rows: list[dict[str, Any]]) -> dag.AgGrid:
    """The runners grid: multi-select checkboxes, sortable columns, stable row ids."""
    return dag.AgGrid(
        id=grid_id,
        rowData=rows,
        columnDefs=grid_column_defs(),
        getRowId="params.data.runner_id",
        defaultColDef={"sortable": True, "resizable": True, "suppressMovable": True},
        dashGridOptions={
            "theme": GRID_THEME,
            "rowSelection": {
                "mode": "multiRow",
                "checkboxes": True,
                "headerCheckbox": True,
                "enableClickSelection": False,
            },
            "animateRows": False,
            "suppressCellFocus": True,
            "tooltipShowDelay": 150,
            "rowHeight": 42,
            "localeText": {
                "noRowsToShow": "No runners to show: create one with “New runner”, "
                "or clear the filters."
            },
        },
        className="runners-grid",
        style={"height": "100%", "width": "100%"},
    )


def make_filter_bar(symbols: list[str], strategies: list[str]) -> html.Div:
    """Search, the symbol/strategy/state/status filters and the bulk action buttons."""

    def multi(id_: str, placeholder: str, options: list[Any]) -> dcc.Dropdown:
        return dcc.Dropdown(
            id=id_,
            options=options,
            multi=True,
            placeholder=placeholder,
            className="dark-dropdown filter-dropdown",
        )

    statuses = [{"label": label, "value": key} for key, label in STATUS_LABEL.items()]
    return html.Div(
        [
            dbc.Input(
                id=SEARCH,
                placeholder="Search id or symbol",
                type="search",
                debounce=250,
                className="filter-search",
            ),
            multi(F_SYMBOL, "Symbol", symbols),
            multi(F_STRATEGY, "Strategy", strategies),
            multi(F_STATE, "FSM state", list(STATES)),
            multi(F_STATUS, "Status", statuses),
            html.Div(
                [
                    dbc.Button(
                        "Start all", id=BULK_START, color="success", outline=True, size="sm"
                    ),
                    dbc.Button("Stop all", id=BULK_STOP, color="danger", outline=True, size="sm"),
                    dbc.Button(
                        "Delete selected",
                        id=BULK_DELETE,
                        color="light",
                        outline=True,
                        size="sm",
                        disabled=True,
                    ),
                ],
                className="bulk-actions",
            ),
        ],
        className="filter-bar",
    )
