"""Strategy list ``/strategies``: search, examples vs user strategies, validity, New (template
picker with preview), Duplicate and Delete (with confirmation).

Query strings open a dialog directly: ``?new=1[&template=ID]`` and ``?duplicate=NAME``.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html
from dash.exceptions import PreventUpdate

from components import strategy_list as sl
from components.strategy_metadata_form import unique_name
from engine.errors import ConfigError
from engine.strategy.store import EMPTY_TEMPLATE, StrategyInfo, StrategyStore
from pages._services import services

dash.register_page(__name__, path="/strategies", title="Strategies", name="Strategies")

P = "strategies"
SEARCH = f"{P}-search"
KIND = f"{P}-kind"
TABLE = f"{P}-table"
COUNT = f"{P}-count"
REFRESH = f"{P}-refresh"
REDIRECT = f"{P}-redirect"
NOTICE = f"{P}-notice"
NEW = f"{P}-new"
NEW_MODAL = f"{P}-new-modal"
NEW_TEMPLATE = f"{P}-new-template"
NEW_PREVIEW = f"{P}-new-preview"
NEW_NAME = f"{P}-new-name"
NEW_ERROR = f"{P}-new-error"
NEW_CREATE = f"{P}-new-create"
DUP_MODAL = f"{P}-dup-modal"
DUP_SOURCE = f"{P}-dup-source"
DUP_NAME = f"{P}-dup-name"
DUP_ERROR = f"{P}-dup-error"
DUP_CREATE = f"{P}-dup-create"
DEL_MODAL = f"{P}-del-modal"
DEL_TARGET = f"{P}-del-target"
DEL_TEXT = f"{P}-del-text"
DEL_CONFIRM = f"{P}-del-confirm"
DEL_CANCEL = f"{P}-del-cancel"


def row_id(action: str, name: Any) -> dict[str, Any]:
    """Pattern-matching id of a per-row button (``duplicate`` / ``delete``)."""
    return {"type": f"{P}-{action}", "name": name}


IDS = sl.StrategyListIds(
    row=row_id,
    row_prefix=f"{P}-row",
    new_modal=NEW_MODAL,
    new_template=NEW_TEMPLATE,
    new_preview=NEW_PREVIEW,
    new_name=NEW_NAME,
    new_error=NEW_ERROR,
    new_create=NEW_CREATE,
    dup_modal=DUP_MODAL,
    dup_name=DUP_NAME,
    dup_error=DUP_ERROR,
    dup_create=DUP_CREATE,
    del_modal=DEL_MODAL,
    del_text=DEL_TEXT,
    del_confirm=DEL_CONFIRM,
    del_cancel=DEL_CANCEL,
)


def _store() -> StrategyStore:
    return StrategyStore(services().settings.strategy_dir)


def layout(
    new: str | None = None,
    template: str | None = None,
    duplicate: str | None = None,
    name: str | None = None,
    **_query: str,
) -> html.Div:
    """The list with its dialogs (opened directly by ``?new=1`` or ``?duplicate=NAME``)."""
    store = _store()
    infos = _listing(store)
    taken = [i.name for i in infos]
    templates = store.templates()
    ids = [t.id for t in templates]
    chosen = template if template in ids else EMPTY_TEMPLATE
    dup_source = duplicate if duplicate in taken else None
    return html.Div(
        [
            dcc.Location(id=REDIRECT, refresh="callback-nav"),
            dcc.Store(id=REFRESH, data=0),
            dcc.Store(id=DUP_SOURCE, data=dup_source),
            dcc.Store(id=DEL_TARGET),
            html.Div(
                [
                    html.Div(
                        [
                            html.H3("Strategies", className="mb-0"),
                            html.Span(sl.make_count(len(infos)), id=COUNT),
                        ],
                        className="d-flex align-items-baseline gap-2",
                    ),
                    html.Div(
                        [
                            dbc.Input(
                                id=SEARCH,
                                placeholder="Search name, description, indicator…",
                                type="search",
                                size="sm",
                                debounce=200,
                                className="strategies-search",
                            ),
                            dbc.RadioItems(
                                id=KIND,
                                options=[
                                    {"label": "All", "value": "all"},
                                    {"label": "Examples", "value": "example"},
                                    {"label": "Mine", "value": "user"},
                                ],
                                value="all",
                                inline=True,
                                className="btn-group kind-filter",
                                input_class_name="btn-check",
                                label_class_name="btn btn-outline-secondary btn-sm",
                                label_checked_class_name="active",
                            ),
                            dbc.Button("+ New strategy", id=NEW, color="success", size="sm"),
                        ],
                        className="d-flex align-items-center gap-2",
                    ),
                ],
                className="list-toolbar",
            ),
            html.Div(id=NOTICE),
            html.Div(sl.make_table(infos, IDS), id=TABLE),
            sl.make_new_modal(
                templates, chosen, unique_name(name or "my_strategy", taken), bool(new), IDS
            ),
            sl.make_duplicate_modal(dup_source, taken, IDS),
            sl.make_delete_modal(IDS),
        ],
        className="strategies-page",
    )


def _listing(store: StrategyStore) -> list[StrategyInfo]:
    """The user's strategies first, then the examples."""
    return sorted(store.list(), key=lambda i: i.kind != "user")


# -- callbacks ---------------------------------------------------------------------------------
@callback(
    Output(TABLE, "children"),
    Output(COUNT, "children"),
    Input(SEARCH, "value"),
    Input(KIND, "value"),
    Input(REFRESH, "data"),
    prevent_initial_call=True,
)
def _filter(query: str | None, kind: str | None, _refresh: int) -> tuple[Any, Any]:
    """Re-read the folder and filter by the search text and kind."""
    text = (query or "").strip().lower()
    infos = [
        i
        for i in _listing(_store())
        if (kind in (None, "all") or i.kind == kind)
        and (
            not text
            or text in " ".join((i.name, i.title, i.description, *i.indicators_used)).lower()
        )
    ]
    return sl.make_table(infos, IDS), sl.make_count(len(infos))


@callback(
    Output(NEW_MODAL, "is_open"),
    Input(NEW, "n_clicks"),
    prevent_initial_call=True,
)
def _open_new(n: int | None) -> bool:
    """Open the template picker."""
    if not n:
        raise PreventUpdate
    return True


@callback(Output(NEW_PREVIEW, "children"), Input(NEW_TEMPLATE, "value"), prevent_initial_call=True)
def _show_template(template_id: str | None) -> list[Any]:
    """Preview the chosen template's description and code."""
    try:
        return sl.make_template_preview(_store().template(template_id or EMPTY_TEMPLATE))
    except ConfigError as exc:
        return [html.Div(str(exc), className="text-danger")]


@callback(
    Output(REDIRECT, "pathname", allow_duplicate=True),
    Output(NEW_ERROR, "children"),
    Input(NEW_CREATE, "n_clicks"),
    State(NEW_NAME, "value"),
    State(NEW_TEMPLATE, "value"),
    prevent_initial_call=True,
)
def _create(n: int | None, name: str | None, template_id: str | None) -> tuple[Any, Any]:
    """Create from the template and open the editor."""
    if not n:
        raise PreventUpdate
    try:
        info = _store().create((name or "").strip(), template=template_id or EMPTY_TEMPLATE)
    except ConfigError as exc:
        return dash.no_update, str(exc)
    return f"/strategies/{info.name}", None


@callback(
    Output(DUP_MODAL, "is_open"),
    Output(DUP_SOURCE, "data"),
    Output(DUP_NAME, "value"),
    Output(f"{DUP_MODAL}-from", "children"),
    Output(DUP_ERROR, "children"),
    Input(row_id("duplicate", ALL), "n_clicks"),
    prevent_initial_call=True,
)
def _open_duplicate(clicks: list[int | None]) -> tuple[Any, ...]:
    """Ask for the copy's name (suggesting ``NAME_copy``)."""
    if not ctx.triggered_id or not any(clicks):
        raise PreventUpdate
    source = ctx.triggered_id["name"]
    taken = [i.name for i in _store().list()]
    return True, source, unique_name(f"{source}_copy", taken), sl.make_dup_from(source), None


@callback(
    Output(REDIRECT, "pathname", allow_duplicate=True),
    Output(DUP_ERROR, "children", allow_duplicate=True),
    Input(DUP_CREATE, "n_clicks"),
    State(DUP_SOURCE, "data"),
    State(DUP_NAME, "value"),
    prevent_initial_call=True,
)
def _duplicate(n: int | None, source: str | None, name: str | None) -> tuple[Any, Any]:
    """Copy the source's code under the new name and open it."""
    if not n or not source:
        raise PreventUpdate
    store = _store()
    try:
        _info, code = store.get(source)
        info = store.create((name or "").strip(), code=code)
    except ConfigError as exc:
        return dash.no_update, str(exc)
    return f"/strategies/{info.name}", None


@callback(
    Output(DEL_MODAL, "is_open"),
    Output(DEL_TARGET, "data"),
    Output(DEL_TEXT, "children"),
    Input(row_id("delete", ALL), "n_clicks"),
    Input(DEL_CANCEL, "n_clicks"),
    prevent_initial_call=True,
)
def _ask_delete(clicks: list[int | None], _cancel: int | None) -> tuple[Any, ...]:
    """Confirm before deleting a user strategy."""
    if ctx.triggered_id == DEL_CANCEL:
        return False, None, dash.no_update
    if not ctx.triggered_id or not any(clicks):
        raise PreventUpdate
    name = ctx.triggered_id["name"]
    text = [
        "Delete ",
        html.Code(f"user/{name}.lua"),
        "? This cannot be undone. Runners already using it keep their loaded copy.",
    ]
    return True, name, text


@callback(
    Output(DEL_MODAL, "is_open", allow_duplicate=True),
    Output(REFRESH, "data"),
    Output(NOTICE, "children"),
    Input(DEL_CONFIRM, "n_clicks"),
    State(DEL_TARGET, "data"),
    State(REFRESH, "data"),
    prevent_initial_call=True,
)
def _delete(n: int | None, name: str | None, refresh: int) -> tuple[Any, ...]:
    """Delete the confirmed strategy and refresh the list."""
    if not n or not name:
        raise PreventUpdate
    try:
        _store().delete(name)
    except ConfigError as exc:
        notice = dbc.Alert(str(exc), color="danger", dismissable=True, className="py-2")
        return False, refresh, notice
    notice = dbc.Alert(
        f"Deleted {name}.", color="secondary", dismissable=True, duration=4000, className="py-2"
    )
    return False, (refresh or 0) + 1, notice
