"""Layout of the strategy list page: the table and its rows, the New (template picker),
Duplicate and Delete dialogs.

Pure functions of their arguments (no file, network or database access).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.strategy_diagnostics import chips, kind_badge, validity_badge
from components.strategy_metadata_form import unique_name
from engine.strategy.store import EMPTY_TEMPLATE, StrategyInfo, TemplateInfo


@dataclass(frozen=True)
class StrategyListIds:
    """Component ids of the strategy list; ``row(action, name)`` gives a row button's
    pattern-matching id (actions: duplicate, delete) and ``row_prefix`` starts each row's id."""

    row: Callable[[str, Any], dict[str, Any]]
    row_prefix: str
    new_modal: str
    new_template: str
    new_preview: str
    new_name: str
    new_error: str
    new_create: str
    dup_modal: str
    dup_name: str
    dup_error: str
    dup_create: str
    del_modal: str
    del_text: str
    del_confirm: str
    del_cancel: str


def make_count(n: int) -> html.Span:
    """``N strategies`` next to the title."""
    return html.Span(f"{n} strateg{'y' if n == 1 else 'ies'}", className="text-muted small")


def make_table(infos: list[StrategyInfo], ids: StrategyListIds) -> Any:
    """The strategies table, or a quiet "no match" line."""
    if not infos:
        return html.Div("No strategies match.", className="text-muted empty-list")
    head = html.Thead(
        html.Tr(
            [
                html.Th("Strategy"),
                html.Th("Indicators"),
                html.Th("Params", className="num"),
                html.Th("Status"),
                html.Th("Modified"),
                html.Th(""),
            ]
        )
    )
    return dbc.Table(
        [head, html.Tbody([make_row(i, ids) for i in infos])],
        hover=True,
        size="sm",
        className="strategies-table align-middle",
    )


def make_row(info: StrategyInfo, ids: StrategyListIds) -> html.Tr:
    """One strategy: name, badges, description, indicators, validity and its actions."""
    actions = [
        dbc.Button(
            "Open",
            href=f"/strategies/{info.name}",
            size="sm",
            color="primary",
            outline=True,
            className="me-1",
        ),
        dbc.Button(
            "Duplicate",
            id=ids.row("duplicate", info.name),
            size="sm",
            color="secondary",
            outline=True,
            className="me-1",
        ),
    ]
    if not info.read_only:
        actions.append(
            dbc.Button(
                "Delete", id=ids.row("delete", info.name), size="sm", color="danger", outline=True
            )
        )
    return html.Tr(
        [
            html.Td(
                [
                    html.Div(
                        [
                            dcc.Link(
                                info.name,
                                href=f"/strategies/{info.name}",
                                className="strategy-link",
                            ),
                            kind_badge(info.kind),
                            html.Span(info.title, className="strategy-title")
                            if info.title and info.title != info.name
                            else None,
                        ],
                        className="d-flex align-items-center gap-2",
                    ),
                    html.Div(info.description or "—", className="strategy-desc"),
                ]
            ),
            html.Td(chips(info.indicators_used)),
            html.Td(len(info.params), className="num"),
            html.Td(validity_badge(info.is_valid, info.errors, info.warnings)),
            html.Td(
                info.modified.replace("T", " ").removesuffix("Z"), className="text-muted small"
            ),
            html.Td(actions, className="text-end text-nowrap"),
        ],
        className=f"strategy-row kind-{info.kind}",
        id=f"{ids.row_prefix}-{info.name}",
    )


def make_new_modal(
    templates: list[TemplateInfo], chosen: str, name: str, is_open: bool, ids: StrategyListIds
) -> dbc.Modal:
    """The template picker (with a preview of ``chosen``) and the new strategy's name."""
    options = [
        {
            "label": html.Div(
                [
                    html.Div(t.title, className="tpl-title"),
                    html.Div(_about(t), className="tpl-desc"),
                ]
            ),
            "value": t.id,
        }
        for t in templates
    ]
    current = next(t for t in templates if t.id == chosen)
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("New strategy")),
            dbc.ModalBody(
                dbc.Row(
                    [
                        dbc.Col(
                            [
                                dbc.Label("Template", className="meta-label"),
                                dbc.RadioItems(
                                    id=ids.new_template,
                                    options=options,
                                    value=chosen,
                                    className="template-list",
                                    input_class_name="btn-check",
                                    label_class_name="template-option",
                                    label_checked_class_name="active",
                                ),
                                dbc.Label("Name", className="meta-label mt-3"),
                                dbc.Input(id=ids.new_name, value=name, size="sm", maxLength=64),
                                html.Div(id=ids.new_error, className="small text-danger mt-1"),
                            ],
                            md=4,
                        ),
                        dbc.Col(html.Div(make_template_preview(current), id=ids.new_preview), md=8),
                    ]
                )
            ),
            dbc.ModalFooter(dbc.Button("Create and open", id=ids.new_create, color="success")),
        ],
        id=ids.new_modal,
        is_open=is_open,
        size="xl",
        className="new-strategy-modal",
    )


def make_template_preview(template: TemplateInfo) -> list[Any]:
    """A template's title, description and code."""
    return [
        html.Div(template.title, className="preview-title"),
        html.Div(
            _about(template),
            className="preview-desc",
        ),
        html.Pre(template.code, className="code-preview"),
    ]


def _about(template: TemplateInfo) -> str:
    if template.id == EMPTY_TEMPLATE:
        return "A blank header and the three functions to fill in"
    return template.description


def make_duplicate_modal(source: str | None, taken: list[str], ids: StrategyListIds) -> dbc.Modal:
    """Asks for the copy's name (open when ``source`` is given)."""
    suggestion = unique_name(f"{source}_copy", taken) if source else ""
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("Duplicate strategy")),
            dbc.ModalBody(
                [
                    html.Div(id=f"{ids.dup_modal}-from", children=make_dup_from(source)),
                    dbc.Label("New name", className="meta-label mt-2"),
                    dbc.Input(id=ids.dup_name, value=suggestion, size="sm", maxLength=64),
                    html.Div(id=ids.dup_error, className="small text-danger mt-1"),
                ]
            ),
            dbc.ModalFooter(dbc.Button("Duplicate and open", id=ids.dup_create, color="success")),
        ],
        id=ids.dup_modal,
        is_open=source is not None,
    )


def make_dup_from(source: str | None) -> Any:
    """``Copy of NAME`` in the duplicate dialog."""
    return ["Copy of ", html.Code(source)] if source else None


def make_delete_modal(ids: StrategyListIds) -> dbc.Modal:
    """The delete confirmation (its text is filled by the page)."""
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("Delete strategy?")),
            dbc.ModalBody(id=ids.del_text),
            dbc.ModalFooter(
                [
                    dbc.Button("Cancel", id=ids.del_cancel, color="secondary", outline=True),
                    dbc.Button("Delete", id=ids.del_confirm, color="danger"),
                ]
            ),
        ],
        id=ids.del_modal,
    )
