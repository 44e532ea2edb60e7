"""Quick-test views of the strategy editor: a backtest's summary and first trades, or the
strategy's error (clickable to its line).

Pure functions of their arguments (no file, network or database access).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from components.strategy_diagnostics import jump_attrs


# -- quick test --------------------------------------------------------------------------------
def _money(value: float) -> str:
    return f"{value:+,.2f}"


def quick_test_result(
    metrics: Mapping[str, Any], trades: Sequence[Mapping[str, Any]], bars: int, label: str
) -> html.Div:
    """Trades, P&L and the main metrics of a quick test, plus its first trades."""
    pnl = float(metrics.get("net_pnl", 0.0))
    cls = "pnl-pos" if pnl > 0 else "pnl-neg" if pnl < 0 else ""
    stats = [
        ("Trades", f"{metrics.get('num_trades', 0)}", ""),
        ("Net P&L", _money(pnl), cls),
        ("Return", f"{metrics.get('total_return_pct', 0.0):+.2f}%", cls),
        ("Win rate", f"{metrics.get('win_rate_pct', 0.0):.0f}%", ""),
        ("Max DD", f"{metrics.get('max_drawdown_pct', 0.0):.1f}%", ""),
        ("Profit factor", _finite(metrics.get("profit_factor")), ""),
    ]
    head = html.Tr([html.Th(h) for h in ("#", "Side", "Entry", "Exit", "P&L", "Why")])
    rows = [
        html.Tr(
            [
                html.Td(i + 1),
                html.Td(t["side"]),
                html.Td(f"{t['entry_price']:,.2f}", className="num"),
                html.Td(f"{t['exit_price']:,.2f}", className="num"),
                html.Td(
                    _money(t["pnl"]),
                    className="num " + ("pnl-pos" if t["pnl"] > 0 else "pnl-neg"),
                ),
                html.Td(t["exit_reason"]),
            ]
        )
        for i, t in enumerate(trades[:8])
    ]
    table = (
        dbc.Table([html.Thead(head), html.Tbody(rows)], size="sm", className="quick-trades mb-0")
        if rows
        else html.Div("No trades: the strategy never entered.", className="text-muted small")
    )
    return html.Div(
        [
            html.Div(label, className="quick-label"),
            html.Div(
                [
                    html.Div(
                        [html.Div(k, className="stat-k"), html.Div(v, className=f"stat-v {c}")]
                    )
                    for k, v, c in stats
                ],
                className="quick-stats",
            ),
            table,
            html.Div(
                f"{bars:,} bars"
                + (f" · first {len(rows)} of {len(trades)} trades" if rows else ""),
                className="quick-foot",
            ),
        ]
    )


def _finite(value: Any) -> str:
    if value is None:
        return "–"
    number = float(value)
    return "∞" if number == float("inf") else f"{number:.2f}"


def quick_test_error(message: str, line: int | None, column: int = 1) -> html.Div:
    """The strategy's error, clickable to its line when known."""
    attrs = jump_attrs(line, column) if line else {}
    return html.Div(
        [
            html.Span("✖", className="diag-icon error"),
            html.Span(message, className="diag-message"),
            html.Span(f"Ln {line}", className="diag-where") if line else None,
        ],
        className="diag-item diag-error quick-error",
        role="button" if line else None,
        **attrs,
    )
