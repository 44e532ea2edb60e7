"""Runner Manager ``/``: summary cards, the runners grid with filters, per-row and bulk actions,
and the create-runner form (``/?create=1&strategy=<path>`` opens it prefilled; also
``symbol``, ``timeframe``, ``window`` and ``params``, e.g. from a sweep's "Run as runner").

Every read goes through ``services().engine`` (snapshots are one MGET) and never raises when
the engine or Redis is down: the page says "engine offline" and keeps the last known state.
"""

from __future__ import annotations

import time
from typing import Any

import dash
import dash_bootstrap_components as dbc
import redis
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from components import runner_form as form
from components.runner_format import ACTION_DONE, make_toast
from components.runner_layout import make_confirm_modal, make_offline_alert, make_runners_header
from components.runner_prefill import prefill
from components.runner_table import (
    BULK_DELETE,
    BULK_START,
    BULK_STOP,
    F_STATE,
    F_STATUS,
    F_STRATEGY,
    F_SYMBOL,
    ROW_ACTION,
    SEARCH,
    filter_options,
    filter_snapshots,
    make_filter_bar,
    make_runner_grid,
    make_summary_cards,
    runner_rows,
    summarize,
)
from engine.errors import CommandError, EngineUnavailable, TradeSimError
from engine.live.client import EngineClient
from engine.strategy.store import StrategyStore
from pages._services import services

dash.register_page(__name__, path="/", name="Runners", title="Runners · Trading Simulator")

P = "runners"
GRID = f"{P}-grid"
INTERVAL = f"{P}-interval"
SUMMARY = f"{P}-summary"
OFFLINE = f"{P}-offline"
NEW = f"{P}-new"
TOASTS = f"{P}-toasts"
ACKS = f"{P}-acks"
CONFIRM = f"{P}-confirm"
CONFIRM_BODY = f"{P}-confirm-body"
CONFIRM_OK = f"{P}-confirm-ok"
CONFIRM_CANCEL = f"{P}-confirm-cancel"
PENDING = f"{P}-pending"
"""Store of the action waiting for confirmation: ``{"action": "delete"|"stop", "ids": [...]}``."""
CONFIRM_TITLE = f"{P}-confirm-title"
PAGE = f"{P}-page"
REFRESH_MS = 2_000
FILTERS = [Input(SEARCH, "value"), Input(F_SYMBOL, "value"), Input(F_STRATEGY, "value")]
FILTERS += [Input(F_STATE, "value"), Input(F_STATUS, "value")]
READ_ERRORS = (redis.RedisError, OSError, ValueError)


def refresh_view(
    engine: EngineClient,
    filters: tuple[Any, ...] = (None, None, None, None, None),
    acks: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Grid rows, summary cards, filter options and the offline flag, from one snapshot read."""
    try:
        online = engine.heartbeat() is not None
        snapshots = engine.snapshots()
    except READ_ERRORS:
        online, snapshots = False, []
    search, symbols, strategies, states, statuses = filters
    shown = filter_snapshots(
        snapshots,
        search=search,
        symbols=symbols,
        strategies=strategies,
        states=states,
        statuses=statuses,
    )
    symbol_opts, strategy_opts = filter_options(snapshots)
    return {
        "rows": runner_rows(shown, acks, offline=not online),
        "summary": make_summary_cards(summarize(snapshots)),
        "offline": not online,
        "symbols": symbol_opts,
        "strategies": strategy_opts,
    }


def send(name: str, **args: Any) -> tuple[Any, str | None, CommandError | None]:
    """Run an engine command: ``(data, None, None)``, or ``(None, message, CommandError?)``."""
    try:
        return services().engine.command(name, **args), None, None
    except CommandError as exc:
        return None, exc.message, exc
    except EngineUnavailable as exc:
        return None, str(exc), None
    except READ_ERRORS as exc:
        return None, f"Redis unavailable: {exc}", None


def _strategies() -> StrategyStore:
    return StrategyStore(services().settings.strategy_dir)


def layout(
    create: str | None = None,
    strategy: str | None = None,
    deleted: str | None = None,
    **query: Any,
) -> html.Div:
    """The manager; ``?create=1&strategy=<name or path>`` opens the form prefilled (also
    ``symbol``, ``timeframe``, ``window`` and ``params``: JSON or ``name=value,...``; bad
    values are left out with a note) and ``?deleted=<id>`` (from the detail page) confirms a
    deletion."""
    view = refresh_view(services().engine)
    store = _strategies()
    try:
        infos = store.list()
    except TradeSimError:
        infos = []
    chosen, specs = _chosen(store, strategy)
    values = prefill(query, specs)
    if strategy and chosen is None:
        values["ignored"].insert(0, f"strategy {strategy!r} (not found)")
    return html.Div(
        [
            dcc.Interval(id=INTERVAL, interval=REFRESH_MS),
            dcc.Store(id=ACKS, data={}),
            dcc.Store(id=PENDING),
            dcc.Store(id=ROW_ACTION),
            dcc.Store(id=form.AUTO_ID, data=""),
            dcc.Store(id=form.PREFILL, data={"strategy": chosen, "params": values["params"]}),
            html.Div(
                make_toast("Deleted", f"Deleted {deleted}.") if deleted else None,
                id=TOASTS,
                className="toast-stack",
            ),
            make_runners_header(NEW),
            make_offline_alert(OFFLINE, is_open=view["offline"]),
            dbc.Row(view["summary"], id=SUMMARY, className="g-2 mb-3 summary-row"),
            make_filter_bar(view["symbols"], view["strategies"]),
            html.Div(make_runner_grid(GRID, view["rows"]), className="grid-frame"),
            form.make_create_modal(form.strategy_options(infos), chosen, create == "1", values),
            make_confirm_modal(
                CONFIRM,
                CONFIRM_OK,
                CONFIRM_CANCEL,
                "Delete runners?",
                body_id=CONFIRM_BODY,
                title_id=CONFIRM_TITLE,
            ),
        ],
        id=PAGE,
        className=_page_class(view["offline"]),
    )


def _chosen(store: StrategyStore, strategy: Any) -> tuple[str | None, list[Any] | None]:
    """(relative path, declared params) of the link's strategy, or (None, None)."""
    if not isinstance(strategy, str) or not strategy:
        return None, None
    try:
        path = store.resolve(strategy)
        info, _code = store.get(path.stem)
    except (TradeSimError, ValueError):
        return None, None
    return path.relative_to(store.root).as_posix(), list(info.params)


def _page_class(offline: bool) -> str:
    """While the engine is offline the page's action buttons look (and are) inert."""
    return "runners-page is-offline" if offline else "runners-page"


def _ack(acks: dict[str, Any] | None, ids: list[str]) -> dict[str, Any]:
    """The acks store with a fresh nonce for ``ids`` (clears their buttons' spinners)."""
    nonce = time.time()
    return {**(acks or {}), **{i: nonce for i in ids}, "__refresh__": nonce}


# -- refresh ---------------------------------------------------------------------------------
@callback(
    Output(GRID, "rowData"),
    Output(SUMMARY, "children"),
    Output(OFFLINE, "is_open"),
    Output(F_SYMBOL, "options"),
    Output(F_STRATEGY, "options"),
    Output(PAGE, "className"),
    Input(INTERVAL, "n_intervals"),
    *FILTERS,
    Input(ACKS, "data"),
    prevent_initial_call=True,
)
def _refresh(_n: int | None, *args: Any) -> tuple[Any, ...]:
    view = refresh_view(services().engine, args[:5], args[5])
    return (
        view["rows"],
        view["summary"],
        view["offline"],
        view["symbols"],
        view["strategies"],
        _page_class(view["offline"]),
    )


@callback(
    Output(BULK_START, "children"),
    Output(BULK_STOP, "children"),
    Output(BULK_DELETE, "children"),
    Output(BULK_DELETE, "disabled"),
    Input(GRID, "selectedRows"),
)
def _bulk_labels(selected: list[dict[str, Any]] | None) -> tuple[str, str, str, bool]:
    n = len(selected or [])
    if not n:
        return "Start all", "Stop all", "Delete selected", True
    return f"Start {n} selected", f"Stop {n} selected", f"Delete {n} selected", False


# -- actions ---------------------------------------------------------------------------------
@callback(
    Output(TOASTS, "children", allow_duplicate=True),
    Output(ACKS, "data", allow_duplicate=True),
    Output(CONFIRM, "is_open", allow_duplicate=True),
    Output(CONFIRM_TITLE, "children", allow_duplicate=True),
    Output(CONFIRM_BODY, "children", allow_duplicate=True),
    Output(CONFIRM_OK, "children", allow_duplicate=True),
    Output(PENDING, "data", allow_duplicate=True),
    Input(ROW_ACTION, "data"),
    State(ACKS, "data"),
    prevent_initial_call=True,
)
def _row_action(clicked: dict[str, Any] | None, acks: dict[str, Any]) -> tuple[Any, ...]:
    value = clicked or {}
    action, runner_id = value.get("action"), value.get("runner_id")
    if not action or not runner_id:
        raise PreventUpdate
    if action in CONFIRMED:
        return no_update, no_update, *_confirm(action, [runner_id])
    _data, error, _exc = send(action, runner_id=runner_id)
    if error:
        toast = make_toast(f"Could not {action} {runner_id}", error, ok=False)
    else:
        toast = make_toast("Done", f"{ACTION_DONE.get(action, action)} {runner_id}.")
    return toast, _ack(acks, [runner_id]), *(no_update,) * 5


@callback(
    Output(TOASTS, "children", allow_duplicate=True),
    Output(ACKS, "data", allow_duplicate=True),
    Output(CONFIRM, "is_open", allow_duplicate=True),
    Output(CONFIRM_TITLE, "children", allow_duplicate=True),
    Output(CONFIRM_BODY, "children", allow_duplicate=True),
    Output(CONFIRM_OK, "children", allow_duplicate=True),
    Output(PENDING, "data", allow_duplicate=True),
    Input(BULK_START, "n_clicks"),
    Input(BULK_STOP, "n_clicks"),
    Input(BULK_DELETE, "n_clicks"),
    State(GRID, "selectedRows"),
    State(GRID, "rowData"),
    State(ACKS, "data"),
    prevent_initial_call=True,
    running=[
        (Output(BULK_START, "disabled"), True, False),
        (Output(BULK_STOP, "disabled"), True, False),
    ],
)
def _bulk(*args: Any) -> tuple[Any, ...]:
    selected, rows, acks = args[3] or [], args[4] or [], args[5]
    ids = [r["runner_id"] for r in (selected or rows)]
    if not ids:
        raise PreventUpdate
    if ctx.triggered_id == BULK_DELETE:
        return no_update, no_update, *_confirm("delete", ids)
    if ctx.triggered_id == BULK_STOP:
        return no_update, no_update, *_confirm("stop", ids)
    done, error, _exc = send("start_all", runner_ids=ids)
    if error:
        toast = make_toast("Bulk start all failed", error, ok=False)
    else:
        toast = make_toast("Done", f"Started {len(done or [])} runner(s).")
    return toast, _ack(acks, ids), *(no_update,) * 5


CONFIRMED = {
    "delete": (
        "Delete runners?",
        "Delete",
        "Their configuration, state, decision log and trade history are removed. "
        "This cannot be undone.",
    ),
    "stop": (
        "Stop runners?",
        "Stop",
        "An open position is closed at the last price (exit reason: manual) and recorded as "
        "a trade. Pause instead to keep the position.",
    ),
}
"""Actions that ask first: (dialog title, OK button, what happens)."""


def _confirm(action: str, ids: list[str]) -> tuple[Any, ...]:
    """Open the confirmation for ``action`` on ``ids``: is_open, title, body, OK, pending."""
    title, button, consequence = CONFIRMED[action]
    shown = ", ".join(ids[:8]) + (f" and {len(ids) - 8} more" if len(ids) > 8 else "")
    body = [
        html.P([f"{button} ", html.B(shown), "?"]),
        html.P(consequence, className="text-muted small mb-0"),
    ]
    return True, title, body, button, {"action": action, "ids": ids}


@callback(
    Output(TOASTS, "children", allow_duplicate=True),
    Output(ACKS, "data", allow_duplicate=True),
    Output(CONFIRM, "is_open", allow_duplicate=True),
    Output(GRID, "selectedRows", allow_duplicate=True),
    Input(CONFIRM_OK, "n_clicks"),
    Input(CONFIRM_CANCEL, "n_clicks"),
    State(PENDING, "data"),
    State(ACKS, "data"),
    prevent_initial_call=True,
    running=[(Output(CONFIRM_OK, "disabled"), True, False)],
)
def _confirmed(_ok: int | None, _cancel: int | None, pending: Any, acks: Any) -> Any:
    """Run the confirmed delete or stop (Cancel only clears the buttons' spinners)."""
    action, ids = (pending or {}).get("action"), (pending or {}).get("ids") or []
    if ctx.triggered_id != CONFIRM_OK or not ids:
        return no_update, _ack(acks, ids), False, no_update
    if action == "stop":
        done, error, _exc = send("stop_all", runner_ids=ids)
        if error:
            return make_toast("Stop failed", error, ok=False), _ack(acks, ids), False, no_update
        return (
            make_toast("Done", f"Stopped {len(done or [])} runner(s)."),
            _ack(acks, ids),
            False,
            [],
        )
    if len(ids) == 1:
        _data, error, _exc = send("delete", runner_id=ids[0])
    else:
        _data, error, _exc = send("delete_many", runner_ids=ids)
    if error:
        return make_toast("Delete failed", error, ok=False), _ack(acks, ids), False, no_update
    return make_toast("Deleted", f"Deleted {', '.join(ids)}."), _ack(acks, ids), False, []


# -- create form -----------------------------------------------------------------------------
def _runner_ids() -> list[str]:
    try:
        return services().engine.runner_ids()
    except READ_ERRORS:
        return []


def _param_specs(path: str | None) -> tuple[Any, str | None]:
    """(StrategyInfo, code) of the strategy at ``path``, or (None, error message)."""
    if not path:
        return None, None
    try:
        return _strategies().get(path.rsplit("/", 1)[-1].removesuffix(".lua")), None
    except TradeSimError as exc:
        return None, str(exc)


@callback(
    Output(form.MODAL, "is_open", allow_duplicate=True),
    Input(NEW, "n_clicks"),
    Input(form.CANCEL, "n_clicks"),
    prevent_initial_call=True,
)
def _toggle_form(_new: int | None, _cancel: int | None) -> bool:
    return ctx.triggered_id == NEW


@callback(
    Output(form.STRATEGY_INFO, "children"),
    Output(form.PARAMS, "children"),
    Input(form.STRATEGY, "value"),
    State(form.PREFILL, "data"),
)
def _strategy_chosen(path: str | None, given: dict[str, Any] | None) -> tuple[Any, Any]:
    """Description and param inputs of the chosen strategy (a link's params for its own)."""
    found, error = _param_specs(path)
    if found is None:
        message = error or "Choose a strategy to set its parameters."
        return form.make_strategy_info(None, None), [html.Div(message, className="hint")]
    info, code = found
    values = (given or {}).get("params") if path == (given or {}).get("strategy") else None
    return form.make_strategy_info(info, code), form.make_param_inputs(info.params, values)


@callback(
    Output(form.RUNNER_ID_INPUT, "value"),
    Output(form.AUTO_ID, "data"),
    Input(form.SYMBOL, "value"),
    Input(form.STRATEGY, "value"),
    State(form.RUNNER_ID_INPUT, "value"),
    State(form.AUTO_ID, "data"),
)
def _suggest_id(symbol: str | None, path: str | None, current: str | None, auto: str) -> Any:
    if current and current != auto:
        raise PreventUpdate  # the user typed their own id
    suggestion = form.suggest_runner_id(symbol, path, _runner_ids())
    return suggestion, suggestion


@callback(
    Output(form.RUNNER_ID_INPUT, "invalid"),
    Output(form.feedback_id("runner_id"), "children"),
    Input(form.RUNNER_ID_INPUT, "value"),
    Input(form.MODAL, "is_open"),
    prevent_initial_call=True,
)
def _check_id(value: str | None, is_open: bool) -> tuple[bool, str]:
    if not value or not is_open:
        return False, ""
    problem = form.check_runner_id(value, _runner_ids())
    return bool(problem), problem or ""


PARAM_INPUTS = {"type": f"{form.P}-param", "name": ALL}


@callback(
    Output(form.MODAL, "is_open", allow_duplicate=True),
    Output(form.GENERAL_ERROR, "children"),
    Output(form.GENERAL_ERROR, "is_open"),
    [Output(form.feedback_id(f), "children", allow_duplicate=True) for f in form.FIELDS],
    Output(form.RUNNER_ID_INPUT, "invalid", allow_duplicate=True),
    Output(form.WINDOW, "invalid"),
    Output({"type": f"{form.P}-param-feedback", "name": ALL}, "children"),
    Output(PARAM_INPUTS, "invalid"),
    Output(TOASTS, "children", allow_duplicate=True),
    Output(ACKS, "data", allow_duplicate=True),
    Output(form.RUNNER_ID_INPUT, "value", allow_duplicate=True),
    Input(form.SUBMIT, "n_clicks"),
    [State(form.FIELD_INPUT[f], "value") for f in form.FIELDS],
    State(PARAM_INPUTS, "value"),
    State(PARAM_INPUTS, "id"),
    State(ACKS, "data"),
    prevent_initial_call=True,
    running=[
        (Output(form.SUBMIT, "disabled"), True, False),
        (Output(form.SUBMIT, "children"), "Creating…", "Create runner"),
    ],
)
def _submit(_n: int | None, *args: Any) -> tuple[Any, ...]:
    fields, (param_values, param_ids, acks) = args[: len(form.FIELDS)], args[len(form.FIELDS) :]
    values = dict(zip(form.FIELDS, fields, strict=True))
    values["runner_id"] = (values["runner_id"] or "").strip()
    names = [i["name"] for i in param_ids]
    given = dict(zip(names, param_values, strict=True))
    found, _error = _param_specs(values["strategy"])
    specs = found[0].params if found else []
    problems = form.validate_form(values, specs, given, _runner_ids())
    general = None
    if not problems:
        _data, message, exc = send(
            "create",
            runner_id=values["runner_id"],
            symbol=values["symbol"],
            strategy_path=values["strategy"],
            timeframe=values["timeframe"],
            window_size=int(values["window_size"]),
            params=form.coerce_params(specs, given),
        )
        if message is None:
            toast = make_toast("Runner created", f"{values['runner_id']} is running.")
            cleared = form.form_feedback({}, None, names)
            return (False, *cleared, toast, _ack(acks, [values["runner_id"]]), "")
        field = form.engine_error_field(exc.code, message, exc.details, names) if exc else None
        if field:
            problems[field] = message
        else:
            general = message
    return (True, *form.form_feedback(problems, general, names), no_update, no_update, no_update)
