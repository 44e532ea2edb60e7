"""The Runner Detail page's two logs as AG Grids: the state-logic log (last 100 decisions,
newest first) and the closed positions.

Rows are plain dicts keyed by a stable id, so a refresh sends only data (cheap to build and
encode: ~100 dicts instead of ~1,000 table cells) and the grid keeps its scroll position.
Pure functions of their arguments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dash_ag_grid as dag

from components.runner_format import (
    as_number,
    fmt_pct,
    fmt_pnl,
    fmt_price,
    fmt_qty,
    fmt_time,
    hold_time,
    pnl_class,
)
from components.runner_table import GRID_THEME

_EXIT_RESULTS = ("exit", "stop_loss", "take_profit", "manual", "end_of_data")


def result_class(result: str) -> str:
    """CSS class for a decision's result: entries, exits, nothing, warnings, other."""
    if result.startswith("enter_"):
        return "res-enter"
    if result.startswith(_EXIT_RESULTS):
        return "res-exit"
    if result in ("nil", "", "-"):
        return "res-nil"
    if "ignored" in result or "cancel" in result or "timeout" in result:
        return "res-warn"
    return "res-other"


def logic_rows(decisions: Sequence[Mapping[str, Any]], price_decimals: int) -> list[dict[str, Any]]:
    """One row per decision (newest first, as stored): bar, time, price, state, function,
    result, transition and the strategy's ``log(...)`` lines."""
    rows = []
    for d in decisions:
        state = str(d.get("state") or "")
        to = str(d.get("to") or state)
        result = str(d.get("result", ""))
        rows.append(
            {
                "id": f"{d.get('time')}:{d.get('bar')}:{d.get('function')}",
                "bar": d.get("bar"),
                "time": fmt_time(d.get("time")),
                "price": fmt_price(d.get("price"), price_decimals),
                "state": state,
                "function": d.get("function", ""),
                "result": result,
                "result_class": result_class(result),
                "transition": f"{state} → {to}" if to != state else "",
                "log": " · ".join(str(x) for x in d.get("logs") or []),
            }
        )
    return rows


def logic_column_defs() -> list[dict[str, Any]]:
    """Columns of the logic log."""
    return [
        {"field": "bar", "headerName": "Bar", "width": 76, "type": "rightAligned"},
        {"field": "time", "headerName": "Time (UTC)", "width": 140, "cellClass": "muted"},
        {"field": "price", "headerName": "Price", "width": 110, "type": "rightAligned"},
        {
            "field": "state",
            "headerName": "State",
            "width": 108,
            "cellClass": {"function": "'fsm-' + params.value"},
        },
        {"field": "function", "headerName": "Function", "width": 160, "cellClass": "mono"},
        {
            "field": "result",
            "headerName": "Result",
            "minWidth": 130,
            "flex": 1,
            "cellClass": {"function": "params.data.result_class"},
            "tooltipField": "result",
        },
        {
            "field": "transition",
            "headerName": "Transition",
            "width": 190,
            "cellClass": "transition",
        },
        {
            "field": "log",
            "headerName": "Log",
            "minWidth": 120,
            "flex": 1,
            "cellClass": "mono",
            "tooltipField": "log",
        },
    ]


def history_rows(
    trades: Sequence[Mapping[str, Any]], timeframe: str, price_decimals: int
) -> list[dict[str, Any]]:
    """Closed positions, newest first: exit time, side, entry → exit, qty, P&L, reason, held."""
    rows = []
    for t in trades:
        pnl = as_number(t.get("pnl"))
        rows.append(
            {
                "id": f"{t.get('entry_time')}:{t.get('exit_time')}",
                "exit": fmt_time(t.get("exit_time")),
                "side": str(t.get("side", "")).upper(),
                "prices": f"{fmt_price(t.get('entry_price'), price_decimals)} → "
                f"{fmt_price(t.get('exit_price'), price_decimals)}",
                "qty": fmt_qty(t.get("quantity")),
                "pnl": pnl,
                "pnl_text": f"{fmt_pnl(pnl)} ({fmt_pct(t.get('pnl_pct'))})",
                "pnl_class": pnl_class(pnl),
                "reason": str(t.get("exit_reason", "")).replace("_", " "),
                "held": hold_time(t.get("bars_held"), timeframe),
            }
        )
    return rows


def history_column_defs() -> list[dict[str, Any]]:
    """Columns of the closed-positions table."""
    return [
        {"field": "exit", "headerName": "Exit (UTC)", "width": 140, "cellClass": "muted"},
        {
            "field": "side",
            "headerName": "Side",
            "width": 76,
            "cellClass": {"function": "'side-' + params.value.toLowerCase()"},
        },
        {"field": "prices", "headerName": "Entry → Exit", "minWidth": 170, "flex": 1},
        {"field": "qty", "headerName": "Qty", "width": 86, "type": "rightAligned"},
        {
            "field": "pnl",
            "headerName": "P&L",
            "width": 150,
            "type": "rightAligned",
            "valueFormatter": {"function": "params.data.pnl_text"},
            "cellClass": {"function": "params.data.pnl_class"},
        },
        {"field": "reason", "headerName": "Reason", "width": 110},
        {"field": "held", "headerName": "Held", "width": 130, "cellClass": "muted"},
    ]


def make_log_grid(
    grid_id: str, rows: list[dict[str, Any]], columns: list[dict[str, Any]], empty: str
) -> dag.AgGrid:
    """A compact read-only grid (rows keyed by their ``id``; ``empty`` when there are none)."""
    return dag.AgGrid(
        id=grid_id,
        rowData=rows,
        columnDefs=columns,
        getRowId="params.data.id",
        defaultColDef={"sortable": False, "resizable": True, "suppressMovable": True},
        dashGridOptions={
            "theme": GRID_THEME,
            "rowHeight": 30,
            "headerHeight": 32,
            "suppressCellFocus": True,
            "tooltipShowDelay": 300,
            "localeText": {"noRowsToShow": empty},
            "rowClassRules": {"logic-moved": "params.data.transition"},
        },
        className="log-grid",
        style={"height": "100%", "width": "100%"},
    )
