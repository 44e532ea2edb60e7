"""Strategy editor ``/strategies/<name>``: ace in Lua mode, metadata form kept in sync with the
``-- @`` header, live validation, save (button or Ctrl/Cmd+S) and a quick test.

Ace itself is configured in ``assets/editor.js`` (mode, completions, shortcuts, the
unsaved-changes guard); the Lua mode and dark theme are vendored in ``assets/ace-*.js``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

import dash
import dash_ace
import dash_bootstrap_components as dbc
from dash import (
    ALL,
    ClientsideFunction,
    Input,
    Output,
    State,
    callback,
    clientside_callback,
    ctx,
    dcc,
    html,
)
from dash.exceptions import PreventUpdate

from components import strategy_widgets as w
from engine.backtest.run import run_backtest
from engine.data.simulated import generate_history
from engine.data.symbols import SYMBOLS
from engine.errors import ConfigError, StrategyError, TradeSimError
from engine.strategy.fills import SimConfig
from engine.strategy.instance import StrategySource
from engine.strategy.metadata import StrategyMetadata, parse_metadata, replace_header
from engine.strategy.store import StrategyNameError, StrategyNotFound, StrategyStore
from engine.strategy.validator import validate_strategy
from pages._services import services

# dash-ace lists its source map as a script; a dynamic entry is served but never put in a
# <script> tag (which would log a syntax error on every page).
for _resource in dash_ace._js_dist:
    if _resource.get("relative_package_path", "").endswith(".map"):
        _resource["dynamic"] = True

dash.register_page(
    __name__,
    path_template="/strategies/<name>",
    title=lambda name=None, **_: f"{name} · Strategy editor" if name else "Strategy editor",
)

QUICK_BARS = 3_000
QUICK_TIMEFRAME = "1h"
P = "strategy-editor"
EDITOR = f"{P}-ace"
INFO = f"{P}-info"
SAVED = f"{P}-saved"
CODE = f"{P}-code"  # the editor's text, 250 ms after the last keystroke
PENDING = f"{P}-pending"  # header rewritten by the form, applied to ace in the browser
APPLIED = f"{P}-applied"
CATALOG = f"{P}-catalog"
SETUP = f"{P}-setup"
DIRTY = f"{P}-dirty"
VALIDITY = f"{P}-validity"
SAVE = f"{P}-save"
SAVE_REQUEST = f"{P}-save-request"
SAVE_STATUS = f"{P}-save-status"
PROBLEMS = f"{P}-problems"
PROBLEM_COUNTS = f"{P}-problem-counts"
QUICK = f"{P}-quick"
QUICK_REQUEST = f"{P}-quick-request"
QUICK_SYMBOL = f"{P}-quick-symbol"
QUICK_OUT = f"{P}-quick-out"
META_TOGGLE = f"{P}-meta-toggle"
META_COLLAPSE = f"{P}-meta-collapse"
META_ERROR = f"{P}-meta-error"
META_NAME = f"{P}-meta-name"
META_DESCRIPTION = f"{P}-meta-description"
META_AUTHOR = f"{P}-meta-author"
META_RISK = f"{P}-meta-risk"
META_INDICATORS = f"{P}-meta-indicators"
META_CONTEXT = f"{P}-meta-context"
META_SYMBOLS = f"{P}-meta-symbols"
META_PARAMS = f"{P}-meta-params"
META_ADD_PARAM = f"{P}-meta-add-param"


def param_id(field: str, index: Any) -> dict[str, Any]:
    """Pattern-matching id of a parameter cell (field: name, default, min, max, delete)."""
    return {"type": f"{P}-param-{field}", "index": index}


META_FIELDS = (
    META_NAME,
    META_DESCRIPTION,
    META_AUTHOR,
    META_RISK,
    META_INDICATORS,
    META_CONTEXT,
    META_SYMBOLS,
)
META_IDS = w.MetaFormIds(
    name=META_NAME,
    description=META_DESCRIPTION,
    author=META_AUTHOR,
    risk=META_RISK,
    indicators=META_INDICATORS,
    context=META_CONTEXT,
    symbols=META_SYMBOLS,
    params=META_PARAMS,
    add_param=META_ADD_PARAM,
    param=param_id,
)


def _store() -> StrategyStore:
    return StrategyStore(services().settings.strategy_dir)


def layout(name: str | None = None, **_query: str) -> html.Div:
    """The editor for ``name``, or a friendly "not found" page."""
    try:
        info, code = _store().get(name or "")
    except (StrategyNotFound, StrategyNameError):
        return _not_found(name or "")
    except ConfigError as exc:  # unreadable file
        return _not_found(name or "", str(exc))
    diagnostics = [d.to_dict() for d in validate_strategy(code, f"{info.name}.lua")]
    meta, _problems = parse_metadata(code)
    read_only = info.read_only
    runner_href = f"/?create=1&strategy={quote(info.path, safe='')}"
    return html.Div(
        [
            dcc.Store(id=INFO, data={**info.to_dict(), "runner_href": runner_href}),
            dcc.Store(id=SAVED, data=code),
            dcc.Store(id=CATALOG, data=w.completion_catalog()),
            dcc.Store(id=SAVE_REQUEST),
            dcc.Store(id=QUICK_REQUEST),
            dcc.Store(id=CODE, data=code),
            dcc.Store(id=PENDING),
            html.Div(id=APPLIED, hidden=True),
            html.Div(id=SETUP, hidden=True),
            _toolbar(info.name, info.title, info.kind, read_only, diagnostics, runner_href),
            dbc.Alert(
                [
                    "Examples are read-only. ",
                    dcc.Link("Duplicate it", href=f"/strategies?duplicate={info.name}"),
                    " to make your own editable copy.",
                ],
                color="info",
                className="readonly-note py-2",
            )
            if read_only
            else None,
            _metadata_card(meta, read_only),
            dbc.Row(
                [
                    dbc.Col(_editor_frame(code, read_only, diagnostics), lg=8, className="mb-3"),
                    dbc.Col(_side_panel(diagnostics), lg=4),
                ],
                className="g-3",
            ),
        ],
        className="strategy-editor-page",
    )


def _not_found(name: str, problem: str | None = None) -> html.Div:
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
        id=f"{P}-not-found",
    )


def _toolbar(
    name: str,
    title: str,
    kind: str,
    read_only: bool,
    diagnostics: list[dict[str, Any]],
    runner_href: str,
) -> html.Div:
    counts = w.diagnostic_counts(diagnostics)
    symbols = [{"label": s.display, "value": s.symbol} for s in SYMBOLS]
    return html.Div(
        [
            html.Div(
                [
                    dcc.Link("Strategies", href="/strategies", className="crumb"),
                    html.Span("/", className="crumb-sep"),
                    html.Span(f"{name}.lua", className="crumb-file", id=f"{P}-filename"),
                    w.kind_badge(kind),
                    html.Span(
                        w.validity_badge(not counts["error"], counts["error"], counts["warning"]),
                        id=VALIDITY,
                    ),
                    html.Span(id=DIRTY, className="unsaved-indicator"),
                    html.Span(id=SAVE_STATUS, className="save-status"),
                ],
                className="toolbar-left",
                title=title,
            ),
            html.Div(
                [
                    dbc.Select(
                        id=QUICK_SYMBOL,
                        options=symbols,
                        value="BTCUSDT",
                        size="sm",
                        className="quick-symbol",
                    ),
                    dbc.Button("▶ Quick test", id=QUICK, color="secondary", size="sm"),
                    dbc.Button(
                        "Backtest this",
                        href=f"/backtest?strategy={name}",
                        color="success",
                        size="sm",
                        outline=True,
                        id=f"{P}-backtest",
                    ),
                    dbc.Button(
                        "Run as runner",
                        href=runner_href,
                        color="info",
                        size="sm",
                        outline=True,
                        id=f"{P}-runner",
                    ),
                    dbc.Button(
                        "Duplicate",
                        href=f"/strategies?duplicate={name}",
                        color="secondary",
                        outline=True,
                        size="sm",
                    )
                    if read_only
                    else None,
                    dbc.Button(
                        ["Save ", html.Kbd("Ctrl+S", className="kbd-hint")],
                        id=SAVE,
                        color="success",
                        size="sm",
                        disabled=read_only,
                        title="Examples are read-only" if read_only else "Save (Ctrl/Cmd+S)",
                    ),
                ],
                className="toolbar-right",
            ),
        ],
        className="editor-toolbar",
    )


def _metadata_card(meta: StrategyMetadata, read_only: bool) -> dbc.Card:
    return dbc.Card(
        [
            dbc.CardHeader(
                html.Button(
                    ["▾ Metadata ", html.Span("synced with the -- @ header", className="hint")],
                    id=META_TOGGLE,
                    className="meta-toggle",
                )
            ),
            dbc.Collapse(
                dbc.CardBody(
                    [
                        w.metadata_form(meta, read_only, META_IDS),
                        html.Div(id=META_ERROR, className="meta-error"),
                    ]
                ),
                id=META_COLLAPSE,
                is_open=True,
            ),
        ],
        className="meta-card mb-3",
    )


def _editor_frame(code: str, read_only: bool, diagnostics: list[dict[str, Any]]) -> html.Div:
    return html.Div(
        [
            dash_ace.DashAceEditor(
                id=EDITOR,
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
                annotations=w.ace_annotations(diagnostics),
                markers=w.ace_markers(diagnostics, code),
                className="strategy-ace",
            ),
        ],
        className="editor-frame",
    )


def _side_panel(diagnostics: list[dict[str, Any]]) -> html.Div:
    return html.Div(
        [
            dbc.Card(
                [
                    dbc.CardHeader(
                        [
                            html.Span("Problems", className="panel-title"),
                            html.Span(w.problems_summary(diagnostics), id=PROBLEM_COUNTS),
                        ],
                        className="panel-header",
                    ),
                    html.Div(w.problems_list(diagnostics), id=PROBLEMS, className="problems"),
                ],
                className="panel mb-3",
            ),
            dbc.Card(
                [
                    dbc.CardHeader(
                        [
                            html.Span("Quick test", className="panel-title"),
                            html.Span(
                                f"{QUICK_BARS:,} × {QUICK_TIMEFRAME} simulated bars",
                                className="panel-hint",
                            ),
                        ],
                        className="panel-header",
                    ),
                    dcc.Loading(
                        html.Div(
                            "Run ▶ Quick test to backtest the code in the editor on simulated "
                            "data.",
                            id=QUICK_OUT,
                            className="quick-out text-muted small",
                        ),
                        type="dot",
                        color="#00bc8c",
                    ),
                ],
                className="panel",
            ),
        ]
    )


# -- callbacks ---------------------------------------------------------------------------------
clientside_callback(
    ClientsideFunction("strategy_editor", "setup"),
    Output(SETUP, "children"),
    Input(EDITOR, "id"),
    State(CATALOG, "data"),
    State(INFO, "data"),
)

clientside_callback(
    ClientsideFunction("strategy_editor", "trackSaved"),
    Output(DIRTY, "children"),
    Output(DIRTY, "className"),
    Input(EDITOR, "value"),
    Input(SAVED, "data"),
    State(INFO, "data"),
)

# Typing updates the editor's `value` on every keystroke (cheap, clientside); the server
# callbacks listen to CODE, which follows 250 ms after the last change. (dash-ace's own
# debounce can fire after the editor unmounted and throw in react-ace.)
clientside_callback(
    ClientsideFunction("strategy_editor", "debounce"),
    Output(CODE, "data"),
    Input(EDITOR, "value"),
    prevent_initial_call=True,
)

# The form's header rewrite is applied as an ace edit (keeps cursor and undo history).
clientside_callback(
    ClientsideFunction("strategy_editor", "applyCode"),
    Output(APPLIED, "children"),
    Input(PENDING, "data"),
    prevent_initial_call=True,
)

# Save and quick test read the code straight from ace.
for _button, _request in ((SAVE, SAVE_REQUEST), (QUICK, QUICK_REQUEST)):
    clientside_callback(
        ClientsideFunction("strategy_editor", "snapshot"),
        Output(_request, "data"),
        Input(_button, "n_clicks"),
        State(EDITOR, "value"),
        prevent_initial_call=True,
    )

clientside_callback(
    "function (n, open) { return n ? !open : open; }",
    Output(META_COLLAPSE, "is_open"),
    Input(META_TOGGLE, "n_clicks"),
    State(META_COLLAPSE, "is_open"),
    prevent_initial_call=True,
)


@callback(
    Output(PROBLEMS, "children"),
    Output(PROBLEM_COUNTS, "children"),
    Output(VALIDITY, "children"),
    Output(EDITOR, "annotations"),
    Output(EDITOR, "markers"),
    Input(CODE, "data"),
    State(INFO, "data"),
    prevent_initial_call=True,
)
def _validate(code: str | None, info: dict[str, Any]) -> tuple[Any, ...]:
    """Live validation, 250 ms after the last keystroke."""
    code = code or ""
    diagnostics = [d.to_dict() for d in validate_strategy(code, f"{info['name']}.lua")]
    counts = w.diagnostic_counts(diagnostics)
    return (
        w.problems_list(diagnostics),
        w.problems_summary(diagnostics),
        w.validity_badge(not counts["error"], counts["error"], counts["warning"]),
        w.ace_annotations(diagnostics),
        w.ace_markers(diagnostics, code),
    )


@callback(
    Output(PENDING, "data"),
    *(Output(field, "value") for field in META_FIELDS),
    Output(META_PARAMS, "children"),
    Output(META_ERROR, "children"),
    Input(CODE, "data"),
    *(Input(field, "value") for field in META_FIELDS),
    *(Input(param_id(field, ALL), "value") for field in w.PARAM_FIELDS),
    Input(param_id("delete", ALL), "n_clicks"),
    Input(META_ADD_PARAM, "n_clicks"),
    State(INFO, "data"),
    State(EDITOR, "value"),
    prevent_initial_call=True,
)
def _sync(settled: str | None, *args: Any) -> tuple[Any, ...]:
    """Two-way sync: a code edit refills the form; a form edit rewrites the header."""
    n = len(META_FIELDS)
    form, columns, deletes = list(args[:n]), args[n : n + 4], args[n + 4]
    info, current = args[-2], args[-1]
    code = current if current is not None else settled or ""
    rows = [dict(zip(w.PARAM_FIELDS, cells, strict=True)) for cells in zip(*columns, strict=True)]
    trigger = ctx.triggered_id
    skip = (dash.no_update,) * n
    if trigger == CODE:
        meta, _problems = parse_metadata(code)
        values = _form_values(meta)
        changed = [dash.no_update if _same(v, c) else v for v, c in zip(values, form, strict=True)]
        new_rows = w.params_to_rows(meta.params)
        same = _row_texts(new_rows) == _row_texts(rows)
        params = dash.no_update if same else w.param_rows(new_rows, info["read_only"], META_IDS)
        return (dash.no_update, *changed, params, None)
    if info["read_only"]:
        raise PreventUpdate
    rerender = False
    if trigger == META_ADD_PARAM:
        taken = [str(r["name"]) for r in rows]
        rows.append({"name": w.unique_name("param", taken), "default": 1, "min": "", "max": ""})
        rerender = True
    elif isinstance(trigger, dict) and trigger["type"] == param_id("delete", 0)["type"]:
        if not any(deletes):
            raise PreventUpdate  # a newly rendered row, not a click
        del rows[trigger["index"]]
        rerender = True
    params = w.param_rows(rows, False, META_IDS) if rerender else dash.no_update
    _meta, problems = parse_metadata(code)
    bad = [str(p.line) for p in problems if p.severity == "error"]
    if bad:
        message = f"Fix the header in the code first (line {', '.join(bad)}); the form is paused."
        return (dash.no_update, *skip, params, _error(message))
    name, description, author, risk, indicators, context, symbols = form
    try:
        meta = w.form_metadata(
            name=name,
            description=description,
            author=author,
            risk=risk,
            indicators=indicators,
            context=context,
            symbols=symbols,
            params=rows,
        )
        new_code = replace_header(code, meta)
    except ConfigError as exc:
        return (dash.no_update, *skip, params, _error(str(exc)))
    pending = {"code": new_code, "base": code} if new_code != code else dash.no_update
    return (pending, *skip, params, None)


def _form_values(meta: StrategyMetadata) -> tuple[Any, ...]:
    """The form's field values (in META_FIELDS order) for ``meta``."""
    return (
        meta.name,
        meta.description,
        meta.author,
        meta.risk or "",
        list(meta.indicators),
        ",".join(meta.context_fields),
        list(meta.symbols),
    )


def _same(value: Any, shown: Any) -> bool:
    """Whether the form already shows ``value`` (None, "" and [] all mean empty)."""
    return bool(value == shown or (not value and not shown))


def _row_texts(rows: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    return [tuple("" if r.get(f) is None else str(r[f]) for f in w.PARAM_FIELDS) for r in rows]


def _error(message: str) -> html.Div:
    return html.Div(["✖ ", message], className="text-danger small")


@callback(
    Output(SAVED, "data"),
    Output(SAVE_STATUS, "children"),
    Input(SAVE_REQUEST, "data"),
    State(INFO, "data"),
    prevent_initial_call=True,
)
def _save(request: dict[str, Any] | None, info: dict[str, Any]) -> tuple[Any, Any]:
    """Write the editor's code to the user's strategy file."""
    if not request or info.get("read_only"):
        raise PreventUpdate
    try:
        _store().update(info["name"], request["code"])
    except ConfigError as exc:
        return dash.no_update, html.Span(f"✖ {exc}", className="text-danger")
    return request["code"], html.Span(f"Saved {datetime.now():%H:%M:%S}", className="saved-ok")


@callback(
    Output(QUICK_OUT, "children"),
    Input(QUICK_REQUEST, "data"),
    State(QUICK_SYMBOL, "value"),
    State(INFO, "data"),
    prevent_initial_call=True,
)
def _quick_test(request: dict[str, Any] | None, symbol: str, info: dict[str, Any]) -> Any:
    """Backtest the code in the editor on generated bars: trades, P&L, or the first error."""
    if not request:
        raise PreventUpdate
    try:
        source = StrategySource.from_code(request["code"], f"{info['name']}.lua")
        series = generate_history(symbol or "BTCUSDT", QUICK_TIMEFRAME, QUICK_BARS)
        # a tighter per-call budget bounds a quick test to a few seconds of one web thread
        result = run_backtest(source, series, config=SimConfig(instruction_budget=100_000))
    except StrategyError as exc:
        return w.quick_test_error(str(exc), exc.line)
    except TradeSimError as exc:
        return w.quick_test_error(str(exc), None)
    trades = [t.to_dict() for t in result.trades]
    label = f"{series.symbol} · {QUICK_TIMEFRAME} · {result.timing.get('total_s', 0) * 1000:.0f} ms"
    return w.quick_test_result(result.metrics, trades, len(series), label)
