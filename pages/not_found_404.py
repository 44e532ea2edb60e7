"""Unknown routes: Dash pages shows this module's layout inside the app shell (navbar kept)."""

from __future__ import annotations

import dash
from dash import html

from components.not_found import make_not_found_page

dash.register_page(__name__, path="/404", title="Not found · Trading Simulator")


def layout(**_query: str) -> html.Div:
    """The "page not found" card."""
    return make_not_found_page()
