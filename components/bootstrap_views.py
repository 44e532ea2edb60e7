"""Candle bootstrap views (the backtest result's Robustness tab): the controls, the progress or
failure, the percentile table and the equity fan over bar index. Pure functions of the
``GET /api/robustness/candle-bootstrap/<id>`` answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from components.backtest_charts import base_layout
from components.backtest_results import make_progress
from components.robustness_views import band_traces

P = "cb"
PATHS = f"{P}-paths"
BLOCK = f"{P}-block"
SEED = f"{P}-seed"
RUN = f"{P}-run"
CANCEL = f"{P}-cancel"
OUTPUT = f"{P}-output"
STORE = f"{P}-id"
POLL = f"{P}-poll"
FAN = f"{P}-fan"


def make_controls() -> html.Div:
    """What the bootstrap does; paths, block, seed and the Run button."""
    num = {"type": "number", "size": "sm"}
    return html.Div(
        [
            html.Div(
                "Builds synthetic price paths from this backtest's bars (blocks of its log "
                "returns in random order, each bar keeping its original shape) and re-runs the "
                "strategy with the same code, params and fills on every path.",
                className="text-muted small mb-2",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dbc.Label("Paths", className="bt-label"),
                            dbc.Input(id=PATHS, value=200, min=1, max=1000, step=1, **num),
                        ],
                        md=3,
                    ),
                    dbc.Col(
                        [
                            dbc.Label("Block (bars)", className="bt-label"),
                            dbc.Input(id=BLOCK, value=60, min=1, step=1, **num),
                        ],
                        md=3,
                    ),
                    dbc.Col(
                        [
                            dbc.Label("Seed", className="bt-label"),
                            dbc.Input(id=SEED, value=1, min=0, step=1, **num),
                        ],
                        md=3,
                    ),
                    dbc.Col(
                        html.Div(
                            [
                                dbc.Button(
                                    "Run bootstrap",
                                    id=RUN,
                                    color="success",
                                    size="sm",
                                    className="flex-grow-1",
                                ),
                                dbc.Button(
                                    "Cancel",
                                    id=CANCEL,
                                    color="danger",
                                    outline=True,
                                    size="sm",
                                    style={"display": "none"},
                                ),
                            ],
                            className="d-flex gap-2",
                        ),
                        md=3,
                    ),
                ],
                className="g-2 align-items-end mb-3",
            ),
        ]
    )


def _row(label: str, values: Mapping[str, float], original: float, digits: int) -> html.Tr:
    cells = [html.Td(f"{values[k]:,.{digits}f}") for k in ("p5", "p50", "p95")]
    return html.Tr([html.Td(label), *cells, html.Td(f"{original:,.{digits}f}")])


def make_table(result: Mapping[str, Any]) -> html.Div:
    """Percentiles 5/50/95 of final return, max drawdown and trades beside this backtest's
    values, and the probability of loss."""
    orig = result["original"]
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
            _row("Final return %", result["final_return_pct"], orig["final_return_pct"], 2),
            _row("Max drawdown %", result["max_drawdown_pct"], orig["max_drawdown_pct"], 2),
            _row("Trades", result["trades"], orig["trades"], 0),
        ]
    )
    loss = result["probability_of_loss"] * 100
    return html.Div(
        [
            html.Table([head, body], className="table table-sm mc-table cb-table mb-2"),
            html.Div(
                [
                    html.Span(f"Probability of loss: {loss:.1f} %", className="mc-loss"),
                    html.Span(
                        f" · {result['paths']:,} synthetic paths, blocks of {result['block']} "
                        f"bars, seed {result['seed']}",
                        className="text-muted",
                    ),
                ]
            ),
        ]
    )


def fan_figure(result: Mapping[str, Any]) -> dict[str, Any]:
    """Equity over bar index: 5–95 % and 25–75 % bands, the median and this backtest."""
    fan = result["fan"]
    return {
        "data": band_traces(fan["bar"], fan["bands"], fan["original"]),
        "layout": base_layout(
            "Equity fan over synthetic paths (bar by bar)",
            xaxis={"title": {"text": "bar #"}},
            yaxis={"title": {"text": "equity"}},
        ),
    }


def progress_view(state: Mapping[str, Any]) -> html.Div:
    """Paths done / N while queued or running, the reason when failed or cancelled."""
    status = str(state.get("status"))
    stage = f"{state.get('done', 0):,} of {state.get('paths', 0):,} paths"
    if status == "cancelled":
        stage = "cancelled"
    return html.Div(make_progress({**state, "stage": stage}), className="cb-progress mb-2")
