"""Building blocks of the strategy pages: badges, the problems list, ace annotations and
markers, the quick-test summary, the completion catalog and metadata-form conversions.

Pure functions of their arguments (no file, network or database access).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from engine.data.symbols import SYMBOLS
from engine.errors import ConfigError
from engine.indicators.registry import REGISTRY
from engine.strategy import contract
from engine.strategy.metadata import RISK_LEVELS, ParamSpec, StrategyMetadata

LUA_KEYWORDS: tuple[str, ...] = (
    *("and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto"),
    *("if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true"),
    *("until", "while"),
)
SEVERITY_ICON = {"error": "✖", "warning": "▲", "info": "ℹ"}
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\S")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_FUNCTION_ARGS = "market_data, context, indicators, position"
_FIELD_DOCS = {
    "market_data": "bar field",
    "position": "open position field (position is nil when flat)",
}


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
            **_jump(d["line"], d["column"]),
        )
        for d in diagnostics
    ]


def _jump(line: object, column: object) -> dict[str, Any]:
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


# -- quick test --------------------------------------------------------------------------------
def _money(value: float) -> str:
    return f"{value:+,.2f}"


def quick_test_result(
    metrics: Mapping[str, Any], trades: Sequence[Mapping[str, Any]], bars: int, label: str
) -> html.Div:
    """Trades, P&L and the main metrics of a quick test, plus its first trades."""
    pnl = float(metrics.get("net_pnl", 0.0))
    cls = "pnl-pos" if pnl > 0 else "pnl-neg" if pnl < 0 else ""
    stats = [
        ("Trades", f"{metrics.get('num_trades', 0)}", ""),
        ("Net P&L", _money(pnl), cls),
        ("Return", f"{metrics.get('total_return_pct', 0.0):+.2f}%", cls),
        ("Win rate", f"{metrics.get('win_rate_pct', 0.0):.0f}%", ""),
        ("Max DD", f"{metrics.get('max_drawdown_pct', 0.0):.1f}%", ""),
        ("Profit factor", _finite(metrics.get("profit_factor")), ""),
    ]
    head = html.Tr([html.Th(h) for h in ("#", "Side", "Entry", "Exit", "P&L", "Why")])
    rows = [
        html.Tr(
            [
                html.Td(i + 1),
                html.Td(t["side"]),
                html.Td(f"{t['entry_price']:,.2f}", className="num"),
                html.Td(f"{t['exit_price']:,.2f}", className="num"),
                html.Td(
                    _money(t["pnl"]),
                    className="num " + ("pnl-pos" if t["pnl"] > 0 else "pnl-neg"),
                ),
                html.Td(t["exit_reason"]),
            ]
        )
        for i, t in enumerate(trades[:8])
    ]
    table = (
        dbc.Table([html.Thead(head), html.Tbody(rows)], size="sm", className="quick-trades mb-0")
        if rows
        else html.Div("No trades: the strategy never entered.", className="text-muted small")
    )
    return html.Div(
        [
            html.Div(label, className="quick-label"),
            html.Div(
                [
                    html.Div(
                        [html.Div(k, className="stat-k"), html.Div(v, className=f"stat-v {c}")]
                    )
                    for k, v, c in stats
                ],
                className="quick-stats",
            ),
            table,
            html.Div(
                f"{bars:,} bars"
                + (f" · first {len(rows)} of {len(trades)} trades" if rows else ""),
                className="quick-foot",
            ),
        ]
    )


def _finite(value: Any) -> str:
    if value is None:
        return "–"
    number = float(value)
    return "∞" if number == float("inf") else f"{number:.2f}"


def quick_test_error(message: str, line: int | None, column: int = 1) -> html.Div:
    """The strategy's error, clickable to its line when known."""
    attrs = _jump(line, column) if line else {}
    return html.Div(
        [
            html.Span("✖", className="diag-icon error"),
            html.Span(message, className="diag-message"),
            html.Span(f"Ln {line}", className="diag-where") if line else None,
        ],
        className="diag-item diag-error quick-error",
        role="button" if line else None,
        **attrs,
    )


# -- completions -------------------------------------------------------------------------------
def completion_catalog() -> dict[str, Any]:
    """Names for the editor's autocompletion, all taken from :mod:`engine.strategy.contract`
    (and the indicator registry for signatures): see assets/editor.js for how they are offered."""
    indicators = []
    for name in contract.INDICATOR_FUNCTIONS:
        spec = REGISTRY[name]
        args = ", ".join(f"${{{i + 1}:{p.name}}}" for i, p in enumerate(spec.params))
        outputs = "" if spec.outputs == ("value",) else f" → {{{', '.join(spec.outputs)}}}"
        indicators.append(
            {
                "name": name,
                "caption": spec.signature,
                "snippet": f"{name}({args})",
                "meta": "indicator",
                "doc": f"{spec.signature}{outputs}: {spec.description} nil until enough bars.",
            }
        )
    indicators += [
        {"name": f, "meta": "window", "doc": f"indicators.{f}: over the runner's window"}
        for f in contract.INDICATOR_FIELDS
    ]
    members = {
        "indicators": indicators,
        "market_data": [
            {"name": f, "meta": "bar", "doc": f"market_data.{f}"}
            for f in contract.MARKET_DATA_FIELDS
        ],
        "position": [
            {"name": f, "meta": "position", "doc": f"position.{f} ({_FIELD_DOCS['position']})"}
            for f in contract.POSITION_FIELDS
        ],
    }
    for table, names in _LIBRARIES.items():
        members[table] = [{"name": n, "meta": table} for n in names]
    actions = [
        {"name": a, "meta": "action", "doc": "fields: " + ", ".join(fields)}
        for a, fields in contract.ACTIONS.items()
    ]
    fields = sorted({f for spec in contract.ACTIONS.values() for f in spec} | {"action"})
    globals_ = [
        {"name": "indicators", "meta": "api", "doc": "indicator functions and window fields"},
        {"name": "market_data", "meta": "api", "doc": "the current bar"},
        {"name": "context", "meta": "api", "doc": "persists across calls (@context fields)"},
        {"name": "position", "meta": "api", "doc": "nil when flat"},
        {"name": "params", "meta": "api", "doc": "declared @param values"},
        {"name": "log", "snippet": 'log("${1}")', "meta": "api", "doc": "append to the log"},
    ] + [{"name": g, "meta": "lua"} for g in contract.SANDBOX_GLOBALS if g not in {"params", "log"}]
    snippets = [
        {
            "name": fn,
            "caption": f"function {fn}",
            "snippet": f"function {fn}({_FUNCTION_ARGS})\n\t${{1:return nil}}\nend",
            "meta": "function",
            "doc": f"required: called while {state}",
        }
        for fn, state in zip(
            contract.REQUIRED_FUNCTIONS, ("Idle", "Analyzing", "InPosition"), strict=True
        )
    ] + [
        {
            "name": f"return_{a}",
            "caption": f'return {{action = "{a}"}}',
            "snippet": 'return {action = "'
            + a
            + '"'
            + "".join(f", {f} = ${{{i + 1}}}" for i, f in enumerate(_SNIPPET_FIELDS.get(a, ())))
            + "}",
            "meta": "action",
            "doc": "fields: " + ", ".join(contract.ACTIONS[a]),
        }
        for a in contract.ACTION_NAMES
    ]
    return {
        "keywords": list(LUA_KEYWORDS),
        "globals": globals_,
        "members": members,
        "actions": actions,
        "fields": [{"name": f, "meta": "field"} for f in fields],
        "snippets": snippets,
    }


_SNIPPET_FIELDS: dict[str, tuple[str, ...]] = {
    "enter_long": ("stop_loss", "take_profit", "reason"),
    "enter_short": ("stop_loss", "take_profit", "reason"),
    "exit": ("reason",),
    "update_stop_loss": ("new_stop",),
    "update_take_profit": ("new_target",),
    "start_analyzing": ("reason",),
    "cancel_analysis": ("reason",),
}
_LIBRARIES: dict[str, tuple[str, ...]] = {
    "math": ("abs", "ceil", "exp", "floor", "huge", "log", "max", "min", "pi", "sqrt", "fmod"),
    "string": ("format", "len", "lower", "upper", "sub", "find", "rep", "gsub", "match"),
    "table": ("insert", "remove", "concat", "sort", "unpack"),
}


# -- metadata form <-> header ------------------------------------------------------------------
def params_to_rows(params: Iterable[ParamSpec]) -> list[dict[str, Any]]:
    """Rows for the parameters table."""
    return [
        {
            "name": p.name,
            "default": p.default,
            "min": "" if p.minimum is None else p.minimum,
            "max": "" if p.maximum is None else p.maximum,
        }
        for p in params
    ]


def rows_to_params(rows: Sequence[Mapping[str, Any]]) -> tuple[ParamSpec, ...]:
    """Parameter specs from table rows; ConfigError naming the row that is wrong."""
    specs = []
    for index, row in enumerate(rows, start=1):
        name = str(row.get("name") or "").strip()
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ConfigError(f"parameter {index}: the name must be a Lua identifier")
        raw = [_cell(row.get(k)) for k in ("default", "min", "max")]
        for label, text in zip(("default", "min", "max"), raw, strict=True):
            if text and not _NUMBER.fullmatch(text):
                raise ConfigError(f"parameter {name}: {label} {text!r} is not a number")
        if not raw[0]:
            raise ConfigError(f"parameter {name}: a default value is required")
        if bool(raw[1]) != bool(raw[2]):
            raise ConfigError(f"parameter {name}: give both min and max, or neither")
        whole = all(not t or re.fullmatch(r"[+-]?\d+", t) for t in raw)
        number = int if whole else float
        specs.append(
            ParamSpec(
                name=name,
                default=number(raw[0]),
                minimum=number(raw[1]) if raw[1] else None,
                maximum=number(raw[2]) if raw[2] else None,
                kind="int" if whole else "float",
            )
        )
    return tuple(specs)


def _cell(value: Any) -> str:
    return "" if value is None else str(value).strip()


def split_list(text: str | None) -> tuple[str, ...]:
    """``"a, b c"`` → ``("a", "b", "c")``."""
    return tuple(item for item in re.split(r"[,\s]+", text or "") if item)


def form_metadata(
    *,
    name: str | None,
    description: str | None,
    author: str | None,
    risk: str | None,
    indicators: Sequence[str] | None,
    context: str | None,
    symbols: Sequence[str] | None,
    params: Sequence[Mapping[str, Any]] | None,
) -> StrategyMetadata:
    """The metadata a form declares (ConfigError for a bad field)."""
    return StrategyMetadata(
        name=(name or "").strip(),
        description=(description or "").strip(),
        author=(author or "").strip(),
        indicators=tuple(indicators or ()),
        context_fields=split_list(context),
        symbols=tuple(symbols or ()),
        risk=risk or None,
        params=rows_to_params(params or []),
    )


def unique_name(base: str, taken: Iterable[str]) -> str:
    """``base``, or ``base_2``, ``base_3``... whichever is not taken (case-insensitive)."""
    used = {t.lower() for t in taken}
    base = base[:56]
    if base.lower() not in used:
        return base
    n = 2
    while f"{base}_{n}".lower() in used:
        n += 1
    return f"{base}_{n}"


# -- metadata form -----------------------------------------------------------------------------
PARAM_FIELDS: tuple[str, ...] = ("name", "default", "min", "max")


@dataclass(frozen=True)
class MetaFormIds:
    """Component ids of the metadata form; ``param(field, index)`` gives a parameter cell's
    pattern-matching id (fields: name, default, min, max, delete)."""

    name: str
    description: str
    author: str
    risk: str
    indicators: str
    context: str
    symbols: str
    params: str
    add_param: str
    param: Callable[[str, Any], dict[str, Any]]


def param_rows(
    rows: Sequence[Mapping[str, Any]], read_only: bool, ids: MetaFormIds
) -> list[html.Div]:
    """One line of inputs (name, default, min, max, delete) per parameter."""
    out = [
        html.Div(
            [html.Span(f) for f in PARAM_FIELDS] + [html.Span("")], className="param-row param-head"
        )
    ]
    placeholders = {"name": "name", "default": "10", "min": "min", "max": "max"}
    for index, row in enumerate(rows):
        cells = [
            dbc.Input(
                id=ids.param(field, index),
                value=_cell(row.get(field)),
                placeholder=placeholders[field],
                size="sm",
                debounce=500,
                disabled=read_only,
                className=f"param-{field}",
            )
            for field in PARAM_FIELDS
        ]
        delete = html.Button(
            "×",
            id=ids.param("delete", index),
            className="param-delete",
            title="Remove",
            disabled=read_only,
        )
        out.append(html.Div([*cells, delete], className="param-row"))
    if not rows:
        out.append(html.Div("No parameters declared.", className="params-empty"))
    return out


def metadata_form(meta: StrategyMetadata, read_only: bool, ids: MetaFormIds) -> dbc.Row:
    """The form above the editor: text fields, risk, indicator chips, context fields,
    recommended symbols and the parameters."""
    known = list(contract.INDICATOR_FUNCTIONS)
    indicators = known + [i for i in meta.indicators if i not in known]
    listed = {s.symbol for s in SYMBOLS}
    symbol_options = [{"label": s.display, "value": s.symbol} for s in SYMBOLS] + [
        {"label": s, "value": s} for s in meta.symbols if s not in listed
    ]
    risks = [{"label": "—", "value": ""}] + [
        {"label": r.capitalize(), "value": r} for r in RISK_LEVELS
    ]
    text: dict[str, Any] = {"size": "sm", "debounce": 500, "disabled": read_only}

    def field(label: str, control: Any, width: int) -> dbc.Col:
        return dbc.Col([dbc.Label(label, className="meta-label"), control], md=width)

    grid = [
        dbc.Row(
            [
                field("Name", dbc.Input(id=ids.name, value=meta.name, **text), 3),
                field(
                    "Description", dbc.Input(id=ids.description, value=meta.description, **text), 5
                ),
                field("Author", dbc.Input(id=ids.author, value=meta.author, **text), 2),
                field(
                    "Risk",
                    dbc.Select(
                        id=ids.risk,
                        options=risks,
                        value=meta.risk or "",
                        size="sm",
                        disabled=read_only,
                    ),
                    2,
                ),
            ],
            className="g-2 mb-2",
        ),
        dbc.Row(
            [
                field(
                    "Indicators",
                    dbc.Checklist(
                        id=ids.indicators,
                        options=[
                            {"label": i, "value": i, "disabled": read_only} for i in indicators
                        ],
                        value=list(meta.indicators),
                        inline=True,
                        className="chip-checklist",
                        input_class_name="btn-check",
                        label_class_name="btn btn-outline-secondary btn-xs",
                        label_checked_class_name="active",
                    ),
                    6,
                ),
                field(
                    "Context fields",
                    dbc.Input(
                        id=ids.context,
                        value=",".join(meta.context_fields),
                        placeholder="prev_fast, prev_slow",
                        **text,
                    ),
                    3,
                ),
                field(
                    "Recommended symbols",
                    dcc.Dropdown(
                        id=ids.symbols,
                        options=symbol_options,
                        value=list(meta.symbols),
                        multi=True,
                        disabled=read_only,
                        className="symbols-dropdown",
                    ),
                    3,
                ),
            ],
            className="g-2",
        ),
    ]
    params = html.Div(
        [
            html.Div(
                [
                    dbc.Label("Parameters", className="meta-label mb-0"),
                    dbc.Button(
                        "+ Add",
                        id=ids.add_param,
                        size="sm",
                        color="link",
                        className="add-param",
                        disabled=read_only,
                    ),
                ],
                className="d-flex justify-content-between align-items-center",
            ),
            html.Div(
                param_rows(params_to_rows(meta.params), read_only, ids),
                id=ids.params,
                className="param-rows",
            ),
        ],
        className="params-editor",
    )
    return dbc.Row([dbc.Col(grid, xl=8), dbc.Col(params, xl=4)], className="g-3")
