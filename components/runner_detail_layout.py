"""Layout of the runner detail page: the control buttons and the chart card with its
timeframe, overlay and oscillator pickers. Pure builders (ids are passed in by the page).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.runner_chart import OSCILLATOR_PRESETS, OVERLAY_PRESETS, chart_timeframes
from components.runner_format import ACTION_LABEL, allowed_actions

NO_OSCILLATOR = "none"
BUTTON_COLOR = {
    "pause": "warning",
    "resume": "success",
    "start": "success",
    "stop": "danger",
    "close_position": "info",
    "delete": "secondary",
}


@dataclass(frozen=True)
class ChartCardIds:
    """Component ids of the chart card."""

    chart: str
    timeframe: str
    overlays: str
    oscillator: str


def make_controls(
    snap: dict[str, Any], online: bool, action_id: Callable[[str], dict[str, str]]
) -> list[Any]:
    """The control buttons the runner's status allows (disabled while the engine is offline);
    ``action_id(action)`` gives each button's id."""
    actions = [a for a in allowed_actions(str(snap.get("status"))) if a != "view"]
    if snap.get("position") and snap.get("status") in ("running", "paused"):
        actions.insert(-1, "close_position")
    return [
        dbc.Button(
            ACTION_LABEL[a],
            id=action_id(a),
            color=BUTTON_COLOR[a],
            outline=a != "delete",
            size="sm",
            disabled=not online,
        )
        for a in actions
    ]


def make_chart_card(
    snap: dict[str, Any], overlays: list[str], oscillator: str, figure: Any, ids: ChartCardIds
) -> dbc.Card:
    """The chart with its toolbar: timeframe buttons, overlay and oscillator pickers."""
    timeframes = chart_timeframes(snap.get("timeframe"))
    overlay_opts = list(dict.fromkeys([*overlays, *OVERLAY_PRESETS]))
    osc_opts = list(dict.fromkeys([oscillator, *OSCILLATOR_PRESETS]))
    toolbar = html.Div(
        [
            dbc.RadioItems(
                id=ids.timeframe,
                options=[{"label": tf, "value": tf} for tf in timeframes],
                value=timeframes[0] if timeframes else None,
                inline=True,
                className="btn-group tf-group",
                inputClassName="btn-check",
                labelClassName="btn btn-outline-light btn-sm",
                labelCheckedClassName="active",
            ),
            dcc.Dropdown(
                id=ids.overlays,
                options=overlay_opts,
                value=overlays,
                multi=True,
                placeholder="Overlays",
                className="dark-dropdown overlay-dropdown",
            ),
            dbc.Select(
                id=ids.oscillator,
                options=[
                    *({"label": o, "value": o} for o in osc_opts),
                    {"label": "no oscillator", "value": NO_OSCILLATOR},
                ],
                value=oscillator,
                size="sm",
                className="osc-select",
            ),
        ],
        className="chart-toolbar",
    )
    graph = dcc.Graph(
        id=ids.chart,
        figure=figure or {},
        config={"scrollZoom": True, "displaylogo": False, "modeBarButtonsToRemove": ["select2d"]},
        className="runner-chart",
    )
    return dbc.Card(
        [dbc.CardHeader(toolbar), dbc.CardBody(graph, className="p-1")], className="panel"
    )
