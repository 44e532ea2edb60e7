"""Strategy editor ``/strategies/<name>``: ace in Lua mode, metadata form kept in sync with the
``-- @`` header, live validation, save (button or Ctrl/Cmd+S) and a quick test.

Ace itself is configured in ``assets/editor.js`` (mode, completions, shortcuts, the
unsaved-changes guard); the Lua mode and dark theme are vendored in ``assets/ace-*.js``.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any
from urllib.parse import quote

import dash
import dash_ace
import dash_bootstrap_components as dbc
import redis
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
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job

from components import strategy_completions as sc
from components import strategy_diagnostics as sd
from components import strategy_editor_layout as le
from components import strategy_metadata_form as mf
from components import strategy_quick_test as w  # `w.` keeps the quick-test callback as it was
from engine.backtest.quick_test import QUICK_BARS, QUICK_TIMEFRAME
from engine.errors import ConfigError
from engine.strategy.metadata import parse_metadata, replace_header
from engine.strategy.store import StrategyNameError, StrategyNotFound, StrategyStore
from engine.strategy.validator import validate_strategy
from jobs.quick_test import QUEUE as QUICK_QUEUE
from jobs.quick_test import TIMEOUT_S as QUICK_TIMEOUT_S
from jobs.quick_test import quick_test_job
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
QUICK_JOB = f"{P}-quick-job"
QUICK_POLL = f"{P}-quick-poll"
#: The page stops waiting for a quick-test job after this long (the job kills itself at 10 s).
QUICK_GIVE_UP_S = 30
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
META_IDS = mf.MetaFormIds(
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


EDITOR_IDS = le.EditorIds(
    editor=EDITOR,
    not_found=f"{P}-not-found",
    filename=f"{P}-filename",
    validity=VALIDITY,
    dirty=DIRTY,
    save_status=SAVE_STATUS,
    save=SAVE,
    runner=f"{P}-runner",
    quick=QUICK,
    backtest=f"{P}-backtest",
    optimize=f"{P}-optimize",
    quick_symbol=QUICK_SYMBOL,
    quick_out=QUICK_OUT,
    problems=PROBLEMS,
    problem_counts=PROBLEM_COUNTS,
    meta_toggle=META_TOGGLE,
    meta_collapse=META_COLLAPSE,
    meta_error=META_ERROR,
    meta=META_IDS,
)


def _store() -> StrategyStore:
    return StrategyStore(services().settings.strategy_dir)


def layout(name: str | None = None, **_query: str) -> html.Div:
    """The editor for ``name``, or a friendly "not found" page."""
    try:
        info, code = _store().get(name or "")
    except (StrategyNotFound, StrategyNameError):
        return le.make_not_found(name or "", EDITOR_IDS)
    except ConfigError as exc:  # unreadable file
        return le.make_not_found(name or "", EDITOR_IDS, str(exc))
    diagnostics = [d.to_dict() for d in validate_strategy(code, f"{info.name}.lua")]
    meta, _problems = parse_metadata(code)
    read_only = info.read_only
    runner_href = f"/?create=1&strategy={quote(info.path, safe='')}"
    quick_hint = f"{QUICK_BARS:,} × {QUICK_TIMEFRAME} simulated bars"
    return html.Div(
        [
            dcc.Store(id=INFO, data={**info.to_dict(), "runner_href": runner_href}),
            dcc.Store(id=SAVED, data=code),
            dcc.Store(id=CATALOG, data=sc.completion_catalog()),
            dcc.Store(id=SAVE_REQUEST),
            dcc.Store(id=QUICK_REQUEST),
            dcc.Store(id=QUICK_JOB),
            dcc.Interval(id=QUICK_POLL, interval=300, disabled=True),
            dcc.Store(id=CODE, data=code),
            dcc.Store(id=PENDING),
            html.Div(id=APPLIED, hidden=True),
            html.Div(id=SETUP, hidden=True),
            le.make_editor_toolbar(
                info.name, info.title, info.kind, read_only, diagnostics, runner_href, EDITOR_IDS
            ),
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
            le.make_metadata_card(meta, read_only, EDITOR_IDS),
            dbc.Row(
                [
                    dbc.Col(
                        le.make_editor_frame(code, read_only, diagnostics, EDITOR_IDS),
                        lg=8,
                        className="mb-3",
                    ),
                    dbc.Col(le.make_side_panel(diagnostics, quick_hint, EDITOR_IDS), lg=4),
                ],
                className="g-3",
            ),
        ],
        className="strategy-editor-page",
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
    counts = sd.diagnostic_counts(diagnostics)
    return (
        sd.problems_list(diagnostics),
        sd.problems_summary(diagnostics),
        sd.validity_badge(not counts["error"], counts["error"], counts["warning"]),
        sd.ace_annotations(diagnostics),
        sd.ace_markers(diagnostics, code),
    )


@callback(
    Output(PENDING, "data"),
    *(Output(field, "value") for field in META_FIELDS),
    Output(META_PARAMS, "children"),
    Output(META_ERROR, "children"),
    Input(CODE, "data"),
    *(Input(field, "value") for field in META_FIELDS),
    *(Input(param_id(field, ALL), "value") for field in mf.PARAM_FIELDS),
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
    rows = [dict(zip(mf.PARAM_FIELDS, cells, strict=True)) for cells in zip(*columns, strict=True)]
    trigger = ctx.triggered_id
    skip = (dash.no_update,) * n
    if trigger == CODE:
        meta, _problems = parse_metadata(code)
        values = mf.form_values(meta)
        changed = [
            dash.no_update if mf.same_value(v, c) else v for v, c in zip(values, form, strict=True)
        ]
        new_rows = mf.params_to_rows(meta.params)
        same = mf.row_texts(new_rows) == mf.row_texts(rows)
        params = dash.no_update if same else mf.param_rows(new_rows, info["read_only"], META_IDS)
        return (dash.no_update, *changed, params, None)
    if info["read_only"]:
        raise PreventUpdate
    rerender = False
    if trigger == META_ADD_PARAM:
        taken = [str(r["name"]) for r in rows]
        rows.append({"name": mf.unique_name("param", taken), "default": 1, "min": "", "max": ""})
        rerender = True
    elif isinstance(trigger, dict) and trigger["type"] == param_id("delete", 0)["type"]:
        if not any(deletes):
            raise PreventUpdate  # a newly rendered row, not a click
        del rows[trigger["index"]]
        rerender = True
    params = mf.param_rows(rows, False, META_IDS) if rerender else dash.no_update
    _meta, problems = parse_metadata(code)
    bad = [str(p.line) for p in problems if p.severity == "error"]
    if bad:
        message = f"Fix the header in the code first (line {', '.join(bad)}); the form is paused."
        return (dash.no_update, *skip, params, mf.make_form_error(message))
    name, description, author, risk, indicators, context, symbols = form
    try:
        meta = mf.form_metadata(
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
        return (dash.no_update, *skip, params, mf.make_form_error(str(exc)))
    pending = {"code": new_code, "base": code} if new_code != code else dash.no_update
    return (pending, *skip, params, None)


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
    Output(QUICK_JOB, "data"),
    Output(QUICK_POLL, "disabled"),
    Output(QUICK_OUT, "children"),
    Input(QUICK_REQUEST, "data"),
    State(QUICK_SYMBOL, "value"),
    State(INFO, "data"),
    prevent_initial_call=True,
)
def _quick_test(request: dict[str, Any] | None, symbol: str, info: dict[str, Any]) -> Any:
    """Queue the quick test of the code in the editor as an RQ job; the poll shows it."""
    if not request:
        raise PreventUpdate
    queue = Queue(QUICK_QUEUE, connection=services().redis)
    try:
        job = queue.enqueue(
            quick_test_job,
            request["code"],
            info["name"],
            symbol or "BTCUSDT",
            job_timeout=QUICK_TIMEOUT_S + 5,
            result_ttl=300,
            failure_ttl=300,
        )
    except redis.RedisError as exc:
        return None, True, w.quick_test_error(f"cannot queue the quick test: {exc}", None)
    started = {"id": job.id, "started": time.time()}
    return started, False, w.quick_test_pending("queued")


@callback(
    Output(QUICK_OUT, "children", allow_duplicate=True),
    Output(QUICK_POLL, "disabled", allow_duplicate=True),
    Input(QUICK_POLL, "n_intervals"),
    State(QUICK_JOB, "data"),
    prevent_initial_call=True,
)
def _quick_test_poll(_n: int, job_info: dict[str, Any] | None) -> Any:
    """Show the quick-test job's state; its result or error once it has ended."""
    if not job_info:
        return dash.no_update, True
    try:
        job = Job.fetch(job_info["id"], connection=services().redis)
    except (NoSuchJobError, redis.RedisError) as exc:
        return w.quick_test_error(f"quick test lost: {exc}", None), True
    status = job.get_status(refresh=False)
    if job.is_finished:
        result = job.return_value()
        if not result["ok"]:
            return w.quick_test_error(result["message"], result["line"]), True
        return w.quick_test_result(
            result["metrics"], result["trades"], result["bars"], result["label"]
        ), True
    if job.is_failed or job.is_stopped or job.is_canceled:
        return w.quick_test_error(
            f"quick test stopped: it ran longer than {QUICK_TIMEOUT_S} s (look for a loop or "
            "a huge string/table operation)",
            None,
        ), True
    if time.time() - job_info["started"] > QUICK_GIVE_UP_S:
        return w.quick_test_error(
            "no worker picked up the quick test: is `tradesim up` (or `tradesim worker`) running?",
            None,
        ), True
    return w.quick_test_pending("running" if status == "started" else "queued"), False
