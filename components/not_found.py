"""The body of the in-app "page not found" view (inside the navbar shell)."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html


def make_not_found_page() -> html.Div:
    """A centered card: what happened and the links that lead somewhere useful."""
    return html.Div(
        dbc.Card(
            dbc.CardBody(
                [
                    html.Div(
                        [html.H3("Page not found", className="mb-0"), dbc.Badge("404")],
                        className="coming-soon-title",
                    ),
                    html.P(
                        "There is no page at this address. It may have been mistyped, or the "
                        "runner or strategy it pointed to was deleted.",
                        className="coming-soon-summary",
                    ),
                    html.Div(
                        [
                            dbc.Button("Runners", href="/", color="success", size="sm"),
                            dbc.Button(
                                "Strategies",
                                href="/strategies",
                                color="info",
                                outline=True,
                                size="sm",
                            ),
                        ],
                        className="d-flex gap-2",
                    ),
                    html.Div(
                        [
                            "Looking for the REST API? Its endpoints are listed in ",
                            dcc.Link("/api/openapi.json", href="/api/openapi.json", refresh=True),
                            ".",
                        ],
                        className="text-muted small mt-3",
                    ),
                ]
            ),
            className="coming-soon-card",
        ),
        className="coming-soon",
    )
