"""The chart controls of a sweep's page (``/optimize/<id>``): the view (heatmap over two
params, line over one, scatter of every combination), the metric, the X param, and per view
the Y param, the colour param or how other params are aggregated. Pure functions.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc

from components.sweep_form import metric_options

P = "opt-result"
METRIC = f"{P}-metric"
VIEW = f"{P}-view"
X = f"{P}-x"
Y = f"{P}-y"
Y_COL = f"{P}-y-col"
COLOR = f"{P}-color"
COLOR_COL = f"{P}-color-col"
AGG = f"{P}-agg"
AGG_COL = f"{P}-agg-col"


def _options(names: list[str]) -> list[dict[str, str]]:
    """One option per param name."""
    return [{"label": n, "value": n} for n in names]


def shown(view: str) -> dict[str, dict[str, str]]:
    """Style of each view-specific control column: Y (heatmap), Colour (scatter), Others."""
    hide = {"display": "none"}
    return {
        "y": {} if view == "heatmap" else hide,
        "color": {} if view == "scatter" else hide,
        "agg": hide if view == "scatter" else {},
    }


def make_chart_controls(params: list[str], view: str, metric: str) -> dbc.Row:
    """View (heatmap needs two params), metric, X, and Y / colour / aggregation per view."""
    select = {"size": "sm"}
    styles = shown(view)
    views = [
        {"label": "Heatmap", "value": "heatmap", "disabled": len(params) < 2},
        {"label": "Line", "value": "line"},
        {"label": "Scatter", "value": "scatter"},
    ]

    def column(label: str, control: Any, width: int, style: Any = None, ident: Any = None) -> Any:
        extra = {"id": ident} if ident else {}
        return dbc.Col(
            [dbc.Label(label, className="bt-label"), control], md=width, style=style, **extra
        )

    return dbc.Row(
        [
            column(
                "View",
                dbc.RadioItems(
                    id=VIEW,
                    options=views,
                    value=view,
                    inline=True,
                    className="bt-presets opt-views",
                    inputClassName="btn-check",
                    labelClassName="btn btn-outline-secondary btn-sm",
                    labelCheckedClassName="active",
                ),
                3,
            ),
            column(
                "Metric",
                dbc.Select(id=METRIC, options=metric_options(), value=metric, **select),
                3,
            ),
            column("X", dbc.Select(id=X, options=_options(params), value=params[0], **select), 2),
            column(
                "Y",
                dbc.Select(
                    id=Y, options=_options(params), value=params[min(1, len(params) - 1)], **select
                ),
                2,
                styles["y"],
                Y_COL,
            ),
            column(
                "Colour",
                dbc.Select(
                    id=COLOR,
                    options=[{"label": "— (none)", "value": ""}, *_options(params)],
                    value=params[1] if len(params) > 1 else "",
                    **select,
                ),
                2,
                styles["color"],
                COLOR_COL,
            ),
            column(
                "Others",
                dbc.Select(
                    id=AGG,
                    options=[
                        {"label": "max", "value": "max"},
                        {"label": "mean", "value": "mean"},
                    ],
                    value="max",
                    **select,
                ),
                2,
                styles["agg"],
                AGG_COL,
            ),
        ],
        className="g-2 mb-2",
    )
