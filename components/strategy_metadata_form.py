"""The strategy metadata form: conversions between the form's values and the ``-- @``
header (:class:`StrategyMetadata`), and the form itself with its parameter rows.

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
from engine.strategy import contract
from engine.strategy.metadata import RISK_LEVELS, ParamSpec, StrategyMetadata

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


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


def form_values(meta: StrategyMetadata) -> tuple[Any, ...]:
    """The form's field values for ``meta``: name, description, author, risk, indicators,
    context fields, symbols."""
    return (
        meta.name,
        meta.description,
        meta.author,
        meta.risk or "",
        list(meta.indicators),
        ",".join(meta.context_fields),
        list(meta.symbols),
    )


def same_value(value: Any, shown: Any) -> bool:
    """Whether the form already shows ``value`` (None, "" and [] all mean empty)."""
    return bool(value == shown or (not value and not shown))


def row_texts(rows: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """Parameter rows as text tuples (to tell whether the shown rows changed)."""
    return [tuple("" if r.get(f) is None else str(r[f]) for f in PARAM_FIELDS) for r in rows]


def make_form_error(message: str) -> html.Div:
    """A form-level error line under the metadata form."""
    return html.Div(["✖ ", message], className="text-danger small")


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
                    7,
                ),
                field(
                    "Context fields",
                    dbc.Input(
                        id=ids.context,
                        value=",".join(meta.context_fields),
                        placeholder="prev_fast, prev_slow",
                        **text,
                    ),
                    5,
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
                    12,
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
