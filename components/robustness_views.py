"""Monte Carlo views (the backtest result's Robustness tab): the controls, the percentile
table and the equity fan chart. Pure functions of the ``POST /api/robustness/monte-carlo``
answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from components.backtest_charts import ACCENT, base_layout

P = "mc"
SIMULATIONS = f"{P}-simulations"
SEED = f"{P}-seed"
METHOD = f"{P}-method"
RUN = f"{P}-run"
OUTPUT = f"{P}-output"
BAND = "rgba(52, 152, 219, {alpha})"


def make_controls() -> dbc.Row:
    """Simulations, seed, method and the Run button."""
    num = {"type": "number", "size": "sm"}
    return dbc.Row(
        [
            dbc.Col(
                [
                    dbc.Label("Simulations", className="bt-label"),
                    dbc.Input(id=SIMULATIONS, value=1000, min=1, max=10_000, step=1, **num),
                ],
                md=3,
            ),
            dbc.Col(
                [
                    dbc.Label("Seed", className="bt-label"),
                    dbc.Input(id=SEED, value=1, min=0, step=1, **num),
                ],
                md=2,
            ),
            dbc.Col(
                [
                    dbc.Label("Resampling", className="bt-label"),
                    dbc.Select(
                        id=METHOD,
                        size="sm",
                        value="shuffle",
                        options=[
                            {"label": "shuffle trade order", "value": "shuffle"},
                            {"label": "bootstrap (with replacement)", "value": "bootstrap"},
                        ],
                    ),
                ],
                md=4,
            ),
            dbc.Col(
                dbc.Button(
                    "Run Monte Carlo", id=RUN, color="success", size="sm", className="w-100"
                ),
                md=3,
            ),
        ],
        className="g-2 align-items-end mb-3",
    )


def make_table(result: Mapping[str, Any]) -> html.Table:
    """Percentiles 5/50/95 of final return and max drawdown, the original, P(loss)."""
    ret, dd, orig = result["final_return_pct"], result["max_drawdown_pct"], result["original"]
    head = html.Thead(
        html.Tr(
            [
                html.Th(""),
                html.Th("5 %"),
                html.Th("median"),
                html.Th("95 %"),
                html.Th("this backtest"),
            ]
        )
    )
    body = html.Tbody(
        [
            html.Tr(
                [
                    html.Td("Final return %"),
                    *(html.Td(f"{ret[k]:,.2f}") for k in ("p5", "p50", "p95")),
                    html.Td(f"{orig['final_return_pct']:,.2f}"),
                ]
            ),
            html.Tr(
                [
                    html.Td("Max drawdown %"),
                    *(html.Td(f"{dd[k]:,.2f}") for k in ("p5", "p50", "p95")),
                    html.Td(f"{orig['max_drawdown_pct']:,.2f}"),
                ]
            ),
        ]
    )
    loss = result["probability_of_loss"] * 100
    return html.Div(
        [
            html.Table([head, body], className="table table-sm mc-table mb-2"),
            html.Div(
                [
                    html.Span(f"Probability of loss: {loss:.1f} %", className="mc-loss"),
                    html.Span(
                        f" · {result['simulations']:,} {result['method']} resamples of "
                        f"{result['trades']:,} trades, seed {result['seed']}",
                        className="text-muted",
                    ),
                ]
            ),
        ]
    )


def band_traces(
    x: list[Any], bands: Mapping[str, list[float]], original: list[float]
) -> list[dict[str, Any]]:
    """5–95 % and 25–75 % bands, the median and this backtest (SVG scatter traces)."""

    def band(low: str, high: str, alpha: float, name: str) -> list[dict[str, Any]]:
        edge = {
            "type": "scatter",
            "x": x,
            "mode": "lines",
            "line": {"width": 0},
            "hoverinfo": "skip",
        }
        return [
            {**edge, "y": bands[high], "showlegend": False, "name": name},
            {
                **edge,
                "y": bands[low],
                "fill": "tonexty",
                "fillcolor": BAND.format(alpha=alpha),
                "name": name,
            },
        ]

    return [
        *band("p5", "p95", 0.18, "5–95 %"),
        *band("p25", "p75", 0.35, "25–75 %"),
        {
            "type": "scatter",
            "x": x,
            "y": bands["p50"],
            "mode": "lines",
            "name": "median",
            "line": {"color": ACCENT, "width": 2},
        },
        {
            "type": "scatter",
            "x": x,
            "y": original,
            "mode": "lines",
            "name": "this backtest",
            "line": {"color": "#f39c12", "width": 1.5, "dash": "dot"},
        },
    ]


def fan_figure(result: Mapping[str, Any]) -> dict[str, Any]:
    """Equity after each trade: 5–95 % and 25–75 % bands, the median and this backtest."""
    fan = result["fan"]
    return {
        "data": band_traces(fan["trade"], fan["bands"], fan["original"]),
        "layout": base_layout(
            "Equity fan (trade by trade)",
            xaxis={"title": {"text": "trade #"}},
            yaxis={"title": {"text": "equity"}},
        ),
    }


LA_RUN = "la-run"
LA_OUTPUT = "la-output"
LA_STORE = "la-check"
LA_POLL = "la-poll"


def make_lookahead_controls() -> html.Div:
    """The no-lookahead check's button and what it does."""
    return html.Div(
        [
            html.Div(
                "Replays this backtest's bars one by one through the live path (incremental "
                "indicators, one kernel step per bar) and compares the trades with this "
                "vectorized run: any difference means something looked ahead.",
                className="text-muted small mb-2",
            ),
            dbc.Button("Check for lookahead", id=LA_RUN, color="secondary", size="sm"),
        ]
    )


def lookahead_view(state: Mapping[str, Any]) -> Any:
    """ "identical", the first difference, the failure, or progress."""
    status = state.get("status")
    if status in ("queued", "running"):
        return dbc.Alert(
            "Replaying the bars through the live path…",
            color="secondary",
            className="py-2 mt-2 mb-0",
        )
    if status == "failed":
        return dbc.Alert(
            f"The check failed: {state.get('error')}", color="danger", className="py-2 mt-2 mb-0"
        )
    result = state.get("result") or {}
    if result.get("identical"):
        return dbc.Alert(
            f"Identical: all {result['trades']:,} trades match the live-path replay "
            "(no lookahead).",
            color="success",
            className="py-2 mt-2 mb-0 la-identical",
        )
    diff = result.get("first_difference") or {}
    return dbc.Alert(
        f"First difference at trade #{diff.get('trade')} (entry {diff.get('entry_time')}): "
        f"{diff.get('field')} is {diff.get('vectorized')} in this backtest but "
        f"{diff.get('replayed')} in the live replay.",
        color="warning",
        className="py-2 mt-2 mb-0 la-different",
    )
