"""Strategy validation shown in the UI: kind/validity badges, chips, the problems list and
its counts, and the ace gutter annotations and squiggly markers.

Pure functions of their arguments (no file, network or database access).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

SEVERITY_ICON = {"error": "✖", "warning": "▲", "info": "ℹ"}
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\S")


# -- badges ------------------------------------------------------------------------------------
def kind_badge(kind: str) -> dbc.Badge:
    """``example`` (read-only) or ``user`` badge."""
    if kind == "example":
        return dbc.Badge("example", color="info", className="kind-badge", pill=True)
    return dbc.Badge("mine", color="secondary", className="kind-badge", pill=True)


def validity_badge(is_valid: bool, errors: int = 0, warnings: int = 0) -> dbc.Badge:
    """Green ``valid`` (with a warning count) or red ``N errors``."""
    if not is_valid:
        label = f"{errors} error{'s' if errors != 1 else ''}" if errors else "invalid"
        return dbc.Badge(f"✖ {label}", color="danger", className="validity-badge")
    text = "✓ valid" + (f" · {warnings} warning{'s' if warnings != 1 else ''}" if warnings else "")
    return dbc.Badge(text, color="warning" if warnings else "success", className="validity-badge")


def chips(items: Iterable[str], class_name: str = "chip") -> list[html.Span]:
    """Small inline labels (indicators, symbols)."""
    return [html.Span(item, className=class_name) for item in items]


# -- diagnostics -------------------------------------------------------------------------------
def diagnostic_counts(diagnostics: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """``{"error": n, "warning": n, "info": n}``."""
    counts = {"error": 0, "warning": 0, "info": 0}
    for d in diagnostics:
        counts[str(d["severity"])] = counts.get(str(d["severity"]), 0) + 1
    return counts


def problems_list(diagnostics: Sequence[Mapping[str, Any]]) -> list[Any]:
    """One clickable row per diagnostic (``data-jump-line`` makes assets/editor.js move the
    cursor there), or a quiet "no problems" line."""
    if not diagnostics:
        return [html.Div("✓ No problems found", className="problems-empty")]
    return [
        html.Div(
            [
                html.Span(SEVERITY_ICON[d["severity"]], className=f"diag-icon {d['severity']}"),
                html.Span(d["message"], className="diag-message"),
                html.Span(f"Ln {d['line']}, Col {d['column']}", className="diag-where"),
            ],
            className=f"diag-item diag-{d['severity']}",
            title="Go to line",
            role="button",
            **jump_attrs(d["line"], d["column"]),
        )
        for d in diagnostics
    ]


def jump_attrs(line: object, column: object) -> dict[str, Any]:
    """``data-*`` attributes that make a click jump to that place in the editor."""
    return {"data-jump-line": str(line), "data-jump-column": str(column)}


def problems_summary(diagnostics: Sequence[Mapping[str, Any]]) -> list[Any]:
    """Counts for the Problems header: ``✖ 1  ▲ 2  ℹ 0``."""
    counts = diagnostic_counts(diagnostics)
    return [
        html.Span(f"{SEVERITY_ICON[s]} {counts[s]}", className=f"count count-{s}")
        for s in ("error", "warning", "info")
    ]


def ace_annotations(diagnostics: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Gutter annotations (0-based rows) for dash-ace."""
    return [
        {
            "row": int(d["line"]) - 1,
            "column": max(0, int(d["column"]) - 1),
            "type": d["severity"],
            "text": d["message"],
        }
        for d in diagnostics
    ]


def ace_markers(diagnostics: Sequence[Mapping[str, Any]], code: str) -> list[dict[str, Any]]:
    """Squiggly underlines under the token each error/warning points at."""
    lines = code.split("\n")
    markers = []
    for d in diagnostics:
        if d["severity"] == "info":
            continue
        row, col = int(d["line"]) - 1, max(0, int(d["column"]) - 1)
        text = lines[row] if 0 <= row < len(lines) else ""
        match = _WORD.match(text, col) if col < len(text) else None
        end = match.end() if match else col + 1
        markers.append(
            {
                "startRow": row,
                "startCol": col,
                "endRow": row,
                "endCol": end,
                "className": f"ace-diag-{d['severity']}",
                "type": "text",
                "inFront": True,
            }
        )
    return markers
