"""The body of a section that a later release fills: what it will do, and where to go now."""

from __future__ import annotations

from collections.abc import Sequence

import dash_bootstrap_components as dbc
from dash import dcc, html


def make_coming_soon(title: str, summary: str, features: Sequence[str]) -> html.Div:
    """A centered card: the section's title, a one-line summary, planned features, a way back."""
    return html.Div(
        dbc.Card(
            dbc.CardBody(
                [
                    html.Div(
                        [html.H3(title, className="mb-0"), dbc.Badge("coming soon", color="info")],
                        className="coming-soon-title",
                    ),
                    html.P(summary, className="coming-soon-summary"),
                    html.Ul([html.Li(item) for item in features], className="coming-soon-list"),
                    html.Div(
                        [
                            "Meanwhile, watch your strategies trade live on the ",
                            dcc.Link("Runners", href="/"),
                            " page or edit them under ",
                            dcc.Link("Strategies", href="/strategies"),
                            ".",
                        ],
                        className="text-muted small",
                    ),
                ]
            ),
            className="coming-soon-card",
        ),
        className="coming-soon",
    )
