"""Layout of the Runner Manager page: its header, the engine-offline alert, the delete
confirmation text and the create form's feedback values. Pure builders (ids are passed in by
the page).
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from components import runner_form as form


def make_runners_header(new_id: str) -> html.Div:
    """Title, subtitle and the ``+ New runner`` button (id ``new_id``)."""
    return html.Div(
        [
            html.H3("Runners", className="page-title mb-0"),
            html.Span("live paper trading", className="page-subtitle"),
            dbc.Button("+ New runner", id=new_id, color="success", className="ms-auto"),
        ],
        className="page-header",
    )


def make_offline_alert(alert_id: str, *, is_open: bool) -> dbc.Alert:
    """ "Engine offline" banner (shown while ``is_open``)."""
    return dbc.Alert(
        "Engine offline: showing the last state it published. Start it with "
        "`tradesim up`; actions are disabled until it is back.",
        id=alert_id,
        color="danger",
        is_open=is_open,
        className="py-2",
    )


def make_delete_confirm_text(ids: list[str]) -> list[Any]:
    """Body of the delete confirmation for runners ``ids`` (the first eight named)."""
    shown = ", ".join(ids[:8]) + (f" and {len(ids) - 8} more" if len(ids) > 8 else "")
    return [
        html.P(["Delete ", html.B(shown), "?"]),
        html.P(
            "Their configuration, state, decision log and position history are removed. "
            "This cannot be undone.",
            className="text-muted small mb-0",
        ),
    ]


def form_feedback(problems: dict[str, str], general: str | None, names: list[str]) -> list[Any]:
    """The create form's error outputs: the general message and whether it shows, then each
    field's message and invalid flag, and the parameters' (``names``) messages and flags."""
    return [
        general or "",
        general is not None,
        *[problems.get(f, "") for f in form.FIELDS],
        "runner_id" in problems,
        "window_size" in problems,
        [problems.get(f"param:{n}", "") for n in names],
        [f"param:{n}" in problems for n in names],
    ]
