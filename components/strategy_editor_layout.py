"""Layout of the strategy editor page: the "not found" card, the toolbar, the metadata card,
the ace editor frame and the side panel (problems and quick test).

Pure functions of their arguments (no file, network or database access).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dash_ace
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.strategy_diagnostics import (
    ace_annotations,
    ace_markers,
    diagnostic_counts,
    kind_badge,
    problems_list,
    problems_summary,
    validity_badge,
)
from components.strategy_metadata_form import MetaFormIds, metadata_form
from engine.data.symbols import SYMBOLS
from engine.strategy.metadata import StrategyMetadata


@dataclass(frozen=True)
class EditorIds:
    """Component ids of the strategy editor's layout (``meta``: the metadata form's)."""

    editor: str
    not_found: str
    filename: str
    validity: str
    dirty: str
    save_status: str
    save: str
    runner: str
    quick: str
    backtest: str
    optimize: str
    quick_symbol: str
    quick_out: str
    problems: str
    problem_counts: str
    meta_toggle: str
    meta_collapse: str
    meta_error: str
    meta: MetaFormIds


def make_not_found(name: str, ids: EditorIds, problem: str | None = None) -> html.Div:
    """A friendly page for a strategy that is missing (or unreadable: ``problem``)."""
    title = "Strategy cannot be opened" if problem else "Strategy not found"
    text = problem or [
        "There is no strategy called ",
        html.Code(name or "(empty)"),
        ". It may have been deleted or renamed.",
    ]
    return html.Div(
        dbc.Card(
            dbc.CardBody(
                [
                    html.H4(title, className="card-title"),
                    html.P(text),
                    dbc.Button("Back to strategies", href="/strategies", color="primary"),
                ]
            ),
            className="not-found-card",
        ),
        className="coming-soon",
        id=ids.not_found,
    )


def make_editor_toolbar(
    name: str,
    title: str,
    kind: str,
    read_only: bool,
    diagnostics: list[dict[str, Any]],
    runner_href: str,
    ids: EditorIds,
) -> html.Div:
    """Breadcrumb, badges, unsaved/save status, and the quick-test, backtest, optimize,
    runner, duplicate and save buttons."""
    counts = diagnostic_counts(diagnostics)
    symbols = [{"label": s.display, "value": s.symbol} for s in SYMBOLS]
    return html.Div(
        [
            html.Div(
                [
                    dcc.Link("Strategies", href="/strategies", className="crumb"),
                    html.Span("/", className="crumb-sep"),
                    html.Span(f"{name}.lua", className="crumb-file", id=ids.filename),
                    kind_badge(kind),
                    html.Span(
                        validity_badge(not counts["error"], counts["error"], counts["warning"]),
                        id=ids.validity,
                    ),
                    html.Span(id=ids.dirty, className="unsaved-indicator"),
                    html.Span(id=ids.save_status, className="save-status"),
                ],
                className="toolbar-left",
                title=title,
            ),
            html.Div(
                [
                    dbc.Select(
                        id=ids.quick_symbol,
                        options=symbols,
                        value="BTCUSDT",
                        size="sm",
                        className="quick-symbol",
                    ),
                    dbc.Button("▶ Quick test", id=ids.quick, color="secondary", size="sm"),
                    dbc.Button(
                        "Backtest this",
                        href=f"/backtest?strategy={name}",
                        color="success",
                        size="sm",
                        outline=True,
                        id=ids.backtest,
                    ),
                    dbc.Button(
                        "Optimize",
                        href=f"/optimize?strategy={name}",
                        color="success",
                        size="sm",
                        outline=True,
                        id=ids.optimize,
                        title="Sweep this strategy's @params",
                    ),
                    dbc.Button(
                        "Run as runner",
                        href=runner_href,
                        color="info",
                        size="sm",
                        outline=True,
                        id=ids.runner,
                    ),
                    dbc.Button(
                        "Duplicate",
                        href=f"/strategies?duplicate={name}",
                        color="success",
                        size="sm",
                        title="Make an editable copy of this example",
                    )
                    if read_only
                    else None,
                    dbc.Button(
                        ["Save ", html.Kbd("Ctrl+S", className="kbd-hint")],
                        id=ids.save,
                        color="secondary" if read_only else "success",
                        outline=read_only,
                        size="sm",
                        disabled=read_only,
                        className="save-button",
                        title="Examples are read-only" if read_only else "Save (Ctrl/Cmd+S)",
                    ),
                ],
                className="toolbar-right",
            ),
        ],
        className="editor-toolbar",
    )


def make_metadata_card(meta: StrategyMetadata, read_only: bool, ids: EditorIds) -> dbc.Card:
    """The collapsible metadata form above the editor."""
    return dbc.Card(
        [
            dbc.CardHeader(
                html.Button(
                    ["▾ Metadata ", html.Span("synced with the -- @ header", className="hint")],
                    id=ids.meta_toggle,
                    className="meta-toggle",
                )
            ),
            dbc.Collapse(
                dbc.CardBody(
                    [
                        metadata_form(meta, read_only, ids.meta),
                        html.Div(id=ids.meta_error, className="meta-error"),
                    ]
                ),
                id=ids.meta_collapse,
                is_open=True,
            ),
        ],
        className="meta-card mb-3",
    )


def make_editor_frame(
    code: str, read_only: bool, diagnostics: list[dict[str, Any]], ids: EditorIds
) -> html.Div:
    """The ace editor with the code and its diagnostics (assets/editor.js configures it)."""
    return html.Div(
        [
            dash_ace.DashAceEditor(
                id=ids.editor,
                value=code,
                mode="python",  # replaced by ace/mode/lua in assets/editor.js (setup)
                theme="tomorrow_night",
                fontSize=13,
                tabSize=2,
                width="100%",
                height="100%",
                showPrintMargin=False,
                showGutter=True,
                highlightActiveLine=True,
                readOnly=read_only,
                enableBasicAutocompletion=True,
                enableLiveAutocompletion=True,
                enableSnippets=False,  # snippet files would be fetched from a guessed path
                placeholder="-- write your strategy here",
                setOptions={"useWorker": False, "scrollPastEnd": 0.25},
                annotations=ace_annotations(diagnostics),
                markers=ace_markers(diagnostics, code),
                className="strategy-ace",
            ),
        ],
        className="editor-frame",
    )


def make_side_panel(diagnostics: list[dict[str, Any]], quick_hint: str, ids: EditorIds) -> html.Div:
    """The Problems card and the Quick test card (``quick_hint`` describes its data)."""
    return html.Div(
        [
            dbc.Card(
                [
                    dbc.CardHeader(
                        [
                            html.Span("Problems", className="panel-title"),
                            html.Span(problems_summary(diagnostics), id=ids.problem_counts),
                        ],
                        className="panel-header",
                    ),
                    html.Div(problems_list(diagnostics), id=ids.problems, className="problems"),
                ],
                className="panel mb-3",
            ),
            dbc.Card(
                [
                    dbc.CardHeader(
                        [
                            html.Span("Quick test", className="panel-title"),
                            html.Span(
                                quick_hint,
                                className="panel-hint",
                            ),
                        ],
                        className="panel-header",
                    ),
                    html.Div(
                        "Run ▶ Quick test to backtest the code in the editor on simulated data.",
                        id=ids.quick_out,
                        className="quick-out text-muted small",
                    ),
                ],
                className="panel",
            ),
        ]
    )
