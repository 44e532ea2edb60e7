"""Layout pieces of the runner pages: the manager's header and engine-offline alert, the detail
header, panel cards, the delete confirmation and the not-found card. Pure builders (ids are
passed in by the pages).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from components.runner_format import error_text, state_badge, status_badge
from components.shell import format_duration


def make_runner_header(snap: Mapping[str, Any]) -> list[Any]:
    """Status, id and FSM state; symbol, timeframe, strategy, uptime, window, params; the
    strategy error (``file:line: message``) when there is one."""
    status = str(snap.get("status"))
    params = ", ".join(f"{k}={v}" for k, v in (snap.get("params") or {}).items())
    uptime = format_duration(snap.get("uptime_s") or 0) if status in ("running", "paused") else "—"
    facts = [
        html.Span(snap.get("symbol"), className="fact-strong"),
        html.Span(snap.get("timeframe")),
        html.Span(snap.get("strategy"), title=snap.get("strategy_path")),
        html.Span(f"up {uptime}", className="num"),
        html.Span(f"window {snap.get('window_size')}", className="num"),
        html.Span(params or "no params", className="muted"),
    ]
    error = error_text(snap.get("error"))
    return [
        html.Div(
            [
                status_badge(status, snap.get("error")),
                html.H3(snap.get("runner_id"), className="runner-title"),
                state_badge(snap.get("state")),
            ],
            className="title-line",
        ),
        html.Div(facts, className="detail-facts"),
        html.Div(
            [html.Strong("Strategy error"), html.Pre(error, className="strategy-error-text")],
            className="strategy-error mt-2",
            role="alert",
        )
        if error
        else None,
    ]


def make_panel(title: str, body_id: str, children: Any, body_class: str = "") -> dbc.Card:
    """A titled card whose body (``body_id``) a refresh callback fills."""
    return dbc.Card(
        [
            dbc.CardHeader(title, className="panel-title"),
            dbc.CardBody(children, id=body_id, className=f"panel-body {body_class}".strip()),
        ],
        className="panel mb-3",
    )


def make_confirm_modal(
    modal_id: str,
    ok_id: str,
    cancel_id: str,
    title: str,
    body: Any = None,
    body_id: str = "",
    title_id: str = "",
) -> dbc.Modal:
    """A confirmation (Delete, or whatever the OK button is set to) that only its buttons
    close (no backdrop click, no Escape)."""
    body_kw = {"id": body_id} if body_id else {}
    title_kw = {"id": title_id} if title_id else {}
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle(title, **title_kw), close_button=False),
            dbc.ModalBody(body, **body_kw),
            dbc.ModalFooter(
                [
                    dbc.Button("Cancel", id=cancel_id, color="light", outline=True),
                    dbc.Button("Delete", id=ok_id, color="danger"),
                ]
            ),
        ],
        id=modal_id,
        is_open=False,
        backdrop="static",
        keyboard=False,
    )


def make_not_found(card_id: str, runner_id: str) -> html.Div:
    """A friendly "Runner not found" card with a way back to the manager."""
    return html.Div(
        dbc.Card(
            dbc.CardBody(
                [
                    html.H4("Runner not found", className="card-title"),
                    html.P(
                        [
                            "There is no runner called ",
                            html.Code(runner_id or "(empty)"),
                            ". It may have been deleted, or the engine has not published it yet.",
                        ]
                    ),
                    dbc.Button("Back to runners", href="/", color="primary"),
                ]
            ),
        ),
        className="coming-soon",
        id=card_id,
    )


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
