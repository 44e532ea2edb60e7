"""Walk-forward views: headline cards, the per-fold in-sample / out-of-sample table, the
stitched out-of-sample equity against buy-and-hold, and the params chosen per fold. Pure
functions of the ``GET /api/robustness/walk-forward/<id>`` result."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dash import html

from components.backtest_charts import ACCENT, AVERAGE, PALETTE_COMPARE, base_layout
from components.backtest_results import stat_card


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def make_cards(result: Mapping[str, Any]) -> html.Div:
    """Efficiency, OOS return vs buy-and-hold, mean annualized IS / OOS returns."""
    eff = result.get("efficiency")
    cards = [
        stat_card(
            "WF efficiency",
            _fmt(eff),
            "pos" if eff and eff > 0.5 else "",
            "annualized OOS / IS return",
        ),
        stat_card(
            "OOS return %",
            _fmt(result["oos_total_return_pct"]),
            "pos" if result["oos_total_return_pct"] > 0 else "neg",
        ),
        stat_card("Buy & hold %", _fmt(result["buy_and_hold_return_pct"])),
        stat_card("Mean IS annual %", _fmt(result["mean_is_annualized_return_pct"])),
        stat_card("Mean OOS annual %", _fmt(result["mean_oos_annualized_return_pct"])),
        stat_card(
            "Folds",
            f"{len(result['folds'])} {result['mode']}",
            hint=f"{result['combinations_per_fold']} combinations each",
        ),
    ]
    return html.Div(cards, className="stat-grid wf-cards mb-3")


def make_fold_table(result: Mapping[str, Any]) -> html.Table:
    """One row per fold: windows, chosen params, IS and OOS return, Sharpe, drawdown, trades."""
    head = html.Thead(
        [
            html.Tr(
                [
                    html.Th("Fold", rowSpan=2),
                    html.Th("In-sample", rowSpan=2),
                    html.Th("Out-of-sample", rowSpan=2),
                    html.Th("Params", rowSpan=2),
                    html.Th("In-sample", colSpan=4, className="wf-group"),
                    html.Th("Out-of-sample", colSpan=4, className="wf-group"),
                ]
            ),
            html.Tr([html.Th(t) for t in ("return %", "Sharpe", "max DD %", "trades") * 2]),
        ]
    )
    rows = []
    for fold in result["folds"]:
        params = fold["params"]
        shown = ", ".join(f"{k}={v}" for k, v in params.items()) if params else "none qualified"
        failed = fold.get("status") == "failed"  # runs stored before folds had a status: ok
        if failed:
            shown = f"failed: {fold.get('error')}"
        cells = [
            html.Td(fold["fold"]),
            html.Td(f"{fold['is_start'][:10]} → {fold['is_end'][:10]}"),
            html.Td(f"{fold['oos_start'][:10]} → {fold['oos_end'][:10]}"),
            html.Td(shown, className="wf-params wf-failed" if failed else "wf-params"),
        ]
        for part in ("in_sample", "out_of_sample"):
            m = fold[part]
            ret = m["total_return_pct"]
            cells += [
                html.Td(_fmt(ret), className="pos" if ret and ret > 0 else ("neg" if ret else "")),
                html.Td(_fmt(m["sharpe"])),
                html.Td(_fmt(m["max_drawdown_pct"])),
                html.Td(
                    _fmt(m["num_trades"], 0)
                    if m["num_trades"] is None
                    else f"{int(m['num_trades'])}"
                ),
            ]
        rows.append(html.Tr(cells))
    return html.Table([head, html.Tbody(rows)], className="table table-sm wf-table")


def equity_figure(result: Mapping[str, Any]) -> dict[str, Any]:
    """Stitched out-of-sample equity and buy-and-hold over the same bars."""
    eq = result["equity"]
    return {
        "data": [
            {
                "type": "scatter",
                "x": eq["time"],
                "y": eq["stitched"],
                "mode": "lines",
                "name": "out-of-sample (stitched)",
                "line": {"color": ACCENT, "width": 2},
            },
            {
                "type": "scatter",
                "x": eq["time"],
                "y": eq["buy_and_hold"],
                "mode": "lines",
                "name": "buy & hold",
                "line": {"color": AVERAGE, "width": 1.5, "dash": "dot"},
            },
        ],
        "layout": base_layout(
            "Out-of-sample equity vs buy & hold", yaxis={"title": {"text": "equity"}}
        ),
    }


def params_figure(result: Mapping[str, Any]) -> dict[str, Any]:
    """The value each param took in each fold (drift shows as a moving line)."""
    folds = [f for f in result["folds"] if f["params"]]
    names = list(folds[0]["params"]) if folds else []
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "x": [f["fold"] for f in folds],
            "y": [f["params"][name] for f in folds],
            "name": name,
            "line": {"color": PALETTE_COMPARE[i % len(PALETTE_COMPARE)], "width": 2},
            "marker": {"size": 8},
        }
        for i, name in enumerate(names)
    ]
    return {
        "data": data,
        "layout": base_layout(
            "Params chosen per fold",
            xaxis={"title": {"text": "fold"}, "dtick": 1},
            yaxis={"title": {"text": "value"}},
        ),
    }
