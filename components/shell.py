"""The app shell: navbar with the sections, engine status badge, page container."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

SHELL_STATUS = "shell-engine-status"
SHELL_INTERVAL = "shell-interval"
SHELL_BANNER = "shell-kill-banner"

SECTIONS: tuple[tuple[str, str], ...] = (
    ("Runners", "/"),
    ("Strategies", "/strategies"),
    ("Backtest", "/backtest"),
    ("Optimize", "/optimize"),
    ("Setups", "/setups"),
    ("Signals", "/signals"),
    ("Orders", "/orders"),
    ("Data", "/data"),
)


def make_navbar() -> dbc.Navbar:
    """Brand, section links and the engine status badge."""
    links = [
        dbc.NavItem(dbc.NavLink(label, href=href, active="exact" if href == "/" else "partial"))
        for label, href in SECTIONS
    ]
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand(
                    [html.Span("▲", className="brand-mark"), " Trading Simulator"], href="/"
                ),
                dbc.Nav(links, navbar=True, className="me-auto"),
                html.Div(id=SHELL_STATUS, className="engine-status"),
            ],
            fluid=True,
        ),
        color="dark",
        dark=True,
        className="app-navbar mb-3",
    )


def engine_status_badge(heartbeat: dict[str, Any] | None) -> list[Any]:
    """Online (runner count, uptime) or offline badge for the navbar."""
    if heartbeat is None:
        return [dbc.Badge("engine offline", color="danger", className="status-badge")]
    uptime = format_duration(float(heartbeat.get("uptime_s", 0)))
    return [
        dbc.Badge("engine online", color="success", className="status-badge me-2"),
        html.Span(
            f"{heartbeat.get('runners', 0)} runners · up {uptime}", className="text-muted small"
        ),
    ]


def format_duration(seconds: float) -> str:
    """``3d 4h``, ``5h 12m``, ``7m 03s`` or ``42s``."""
    s = int(max(0, seconds))
    days, rem = divmod(s, 86_400)
    hours, rem = divmod(rem, 3_600)
    minutes, secs = divmod(rem, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def make_shell() -> html.Div:
    """The whole-page layout around the current page."""
    return html.Div(
        [
            make_navbar(),
            html.Div(id=SHELL_BANNER, className="shell-banner"),
            dbc.Container(dash.page_container, fluid=True, className="page-body"),
            dcc.Interval(id=SHELL_INTERVAL, interval=3_000),
        ]
    )
