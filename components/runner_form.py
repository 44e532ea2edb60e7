"""The create-runner form: symbol/strategy options, the strategy's ``@param`` inputs, the checks
made before the engine is asked, and mapping the engine's refusals onto form fields.

Pure functions of their arguments (no Redis, file or network access); the page passes in the
strategy infos and code it read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from engine.data.symbols import symbols_by_category
from engine.data.timeframes import Timeframe
from engine.errors import ConfigError
from engine.live.runner import RUNNER_ID
from engine.strategy.metadata import ParamSpec
from engine.strategy.store import StrategyInfo

P = "runners-create"
MODAL = f"{P}-modal"
RUNNER_ID_INPUT = f"{P}-runner-id"
SYMBOL = f"{P}-symbol"
STRATEGY = f"{P}-strategy"
TIMEFRAME = f"{P}-timeframe"
WINDOW = f"{P}-window"
STRATEGY_INFO = f"{P}-strategy-info"
PARAMS = f"{P}-params"
SUBMIT = f"{P}-submit"
CANCEL = f"{P}-cancel"
GENERAL_ERROR = f"{P}-error"
AUTO_ID = f"{P}-auto-id"
PREFILL = f"{P}-prefill"
"""Store of the link's checked param values: ``{"strategy": path, "params": {...}}``."""
PREFILL_NOTE = f"{P}-prefill-note"
#: Fields with an inline message (``feedback_id(field)``); params use ``param_id``.
FIELDS = ("runner_id", "symbol", "strategy", "timeframe", "window_size")
FIELD_INPUT = {
    "runner_id": RUNNER_ID_INPUT,
    "symbol": SYMBOL,
    "strategy": STRATEGY,
    "timeframe": TIMEFRAME,
    "window_size": WINDOW,
}
RUNNER_ID_RULE = "1-64 letters, digits, '_', '-' or '.', starting with a letter or digit"


def feedback_id(field: str) -> str:
    """Id of the inline message under ``field``."""
    return f"{P}-{field.replace('_', '-')}-feedback"


def param_id(name: str) -> dict[str, str]:
    """Pattern-matching id of the numeric input for the strategy parameter ``name``."""
    return {"type": f"{P}-param", "name": name}


def param_feedback_id(name: str) -> dict[str, str]:
    """Pattern-matching id of the inline message under parameter ``name``."""
    return {"type": f"{P}-param-feedback", "name": name}


def symbol_options() -> list[dict[str, Any]]:
    """The curated symbols grouped by category (a disabled header row per category)."""
    options: list[dict[str, Any]] = []
    for category, specs in symbols_by_category().items():
        options.append(
            {
                "label": html.Span(category, className="dd-group"),
                "value": f"__group__{category}",
                "disabled": True,
                "search": category,
            }
        )
        for spec in specs:
            options.append(
                {
                    "label": html.Span(
                        [spec.symbol, html.Span(spec.display, className="dd-hint")],
                        className="dd-option",
                    ),
                    "value": spec.symbol,
                    "search": f"{spec.symbol} {spec.display} {category}",
                }
            )
    return options


def strategy_options(infos: Iterable[StrategyInfo]) -> list[dict[str, Any]]:
    """One option per strategy: title and description (value: its relative path)."""
    return [
        {
            "label": html.Div(
                [
                    html.Span(info.title or info.name, className="dd-title"),
                    html.Span(f" {info.name}.lua", className="dd-hint"),
                    html.Div(info.description, className="dd-desc") if info.description else None,
                ],
                className="dd-strategy",
            ),
            "value": info.path,
            "search": f"{info.title} {info.name} {info.description}",
        }
        for info in infos
    ]


def timeframe_options() -> list[dict[str, str]]:
    """Every supported timeframe."""
    return [{"label": tf.value, "value": tf.value} for tf in Timeframe]


def make_strategy_info(info: StrategyInfo | None, code: str | None) -> list[Any]:
    """Description, indicators, risk and a collapsible code preview of the chosen strategy."""
    if info is None:
        return [html.Div("Choose a strategy to see its description and code.", className="hint")]
    facts = [f"indicators: {', '.join(info.indicators_used) or 'none'}"]
    if info.risk:
        facts.append(f"risk: {info.risk}")
    if info.symbols:
        facts.append(f"suggested: {', '.join(info.symbols)}")
    return [
        html.Div(info.description or "No description.", className="strategy-desc-text"),
        html.Div(" · ".join(facts), className="hint"),
        html.Details(
            [
                html.Summary(f"Code preview ({info.path})"),
                html.Pre(code or "", className="code-preview runner-code-preview"),
            ],
            className="code-details",
        ),
    ]


def make_param_inputs(
    params: Sequence[Mapping[str, Any]], values: Mapping[str, Any] | None = None
) -> list[Any]:
    """A numeric input per declared ``@param`` with its default, range and inline message."""
    if not params:
        return [html.Div("This strategy declares no parameters.", className="hint")]
    values = values or {}
    cols = []
    for spec in params:
        name = str(spec["name"])
        low, high, kind = spec.get("minimum"), spec.get("maximum"), spec.get("kind")
        span = f"{low}..{high}" if low is not None else "any value"
        cols.append(
            dbc.Col(
                [
                    dbc.Label(name, html_for=f"{P}-param-{name}", className="param-label"),
                    dbc.Input(
                        id=param_id(name),
                        type="number",
                        value=values.get(name, spec.get("default")),
                        min=low,
                        max=high,
                        step=1 if kind == "int" else "any",
                        size="sm",
                        className="num",
                    ),
                    dbc.FormText(f"{kind} · {span} · default {spec.get('default')}"),
                    dbc.FormFeedback(id=param_feedback_id(name), type="invalid"),
                ],
                xs=6,
                md=4,
                className="mb-2",
            )
        )
    return [dbc.Row(cols, className="g-2")]


def check_runner_id(runner_id: str | None, taken: Iterable[str] = ()) -> str | None:
    """Why ``runner_id`` cannot be used, or None (format and duplicates)."""
    text = (runner_id or "").strip()
    if not text:
        return "Give the runner an id, e.g. btc-ema."
    if not RUNNER_ID.fullmatch(text):
        return f"Use {RUNNER_ID_RULE}."
    if text in set(taken):
        return f"A runner called '{text}' already exists; choose another id."
    return None


def validate_form(
    values: Mapping[str, Any],
    params: Sequence[Mapping[str, Any]],
    param_values: Mapping[str, Any],
    taken: Iterable[str] = (),
) -> dict[str, str]:
    """Checks made before the engine is asked: ``{field or "param:NAME": message}``."""
    problems: dict[str, str] = {}
    id_problem = check_runner_id(values.get("runner_id"), taken)
    if id_problem:
        problems["runner_id"] = id_problem
    if not values.get("symbol"):
        problems["symbol"] = "Choose a symbol."
    if not values.get("strategy"):
        problems["strategy"] = "Choose a strategy."
    if values.get("timeframe") not in {tf.value for tf in Timeframe}:
        problems["timeframe"] = "Choose a timeframe."
    window = values.get("window_size")
    if not isinstance(window, int | float) or window != int(window) or not 2 <= window <= 10_000:
        problems["window_size"] = "Use a whole number of bars from 2 to 10000."
    for spec in params:
        name = str(spec["name"])
        value = param_values.get(name)
        if value is None or value == "":
            problems[f"param:{name}"] = "Enter a number (or clear the form to use defaults)."
            continue
        try:
            param_spec(spec).validate(value)
        except ConfigError as exc:
            problems[f"param:{name}"] = _sentence(str(exc), f"param {name}: ")
    return problems


def coerce_params(
    params: Sequence[Mapping[str, Any]], param_values: Mapping[str, Any]
) -> dict[str, int | float]:
    """The form's parameter values as the declared kinds (call after :func:`validate_form`)."""
    return {str(s["name"]): param_spec(s).validate(param_values[str(s["name"])]) for s in params}


def engine_error_field(
    code: str, message: str, details: Any, param_names: Iterable[str]
) -> str | None:
    """Which form field an engine refusal is about (``param:NAME``), or None for the form."""
    text = message.lower()
    if code == "conflict" or text.startswith("runner_id"):
        return "runner_id"
    for name in param_names:
        if f"param {name.lower()}:" in text or f"param '{name.lower()}'" in text:
            return f"param:{name}"
    for field, needle in (
        ("symbol", "symbol"),
        ("window_size", "window_size"),
        ("timeframe", "timeframe"),
        ("strategy", "strategy"),
    ):
        if needle in text:
            return field
    if code == "strategy_error":
        return "strategy"
    return None


def suggest_runner_id(symbol: str | None, strategy_path: str | None, taken: Iterable[str]) -> str:
    """``btcusdt-ema_crossover`` (``-2``, ``-3``... if taken); empty until both are chosen."""
    if not symbol or not strategy_path:
        return ""
    stem = strategy_path.rsplit("/", 1)[-1].removesuffix(".lua")
    base = f"{symbol.lower()}-{stem}"[:60]
    used = set(taken)
    candidate, n = base, 2
    while candidate in used:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def make_create_form(
    strategy_opts: list[dict[str, Any]],
    strategy: str | None = None,
    prefill: Mapping[str, Any] | None = None,
) -> list[Any]:
    """The form body (ids from this module), ``strategy`` preselected and ``symbol``,
    ``timeframe``, ``window`` from ``prefill`` (its ``ignored`` values named in a note); the
    page's callbacks fill in the strategy's description and parameters."""
    given = prefill or {}
    ignored = given.get("ignored") or []

    def field(label: str, control: Any, name: str, width: int) -> dbc.Col:
        return dbc.Col(
            [
                dbc.Label(label, html_for=FIELD_INPUT[name]),
                control,
                html.Div(id=feedback_id(name), className="invalid-feedback d-block"),
            ],
            md=width,
            className="mb-3",
        )

    return [
        dbc.Alert(id=GENERAL_ERROR, color="danger", is_open=False, className="py-2"),
        dbc.Alert(
            ["Left out from the link: ", "; ".join(ignored), "."],
            id=PREFILL_NOTE,
            color="warning",
            className="py-2 small",
        )
        if ignored
        else None,
        dbc.Row(
            [
                field(
                    "Runner ID",
                    dbc.Input(id=RUNNER_ID_INPUT, placeholder="e.g. btc-ema", debounce=300),
                    "runner_id",
                    6,
                ),
                field(
                    "Symbol",
                    dcc.Dropdown(
                        id=SYMBOL,
                        options=symbol_options(),
                        value=given.get("symbol"),
                        placeholder="Choose a symbol",
                        search_order="original",
                        maxHeight=320,
                        className="dark-dropdown",
                    ),
                    "symbol",
                    6,
                ),
            ]
        ),
        dbc.Row(
            field(
                "Strategy",
                dcc.Dropdown(
                    id=STRATEGY,
                    options=strategy_opts,
                    value=strategy,
                    placeholder="Choose a strategy",
                    search_order="original",
                    optionHeight=52,
                    maxHeight=330,
                    className="dark-dropdown",
                ),
                "strategy",
                12,
            )
        ),
        html.Div(id=STRATEGY_INFO, className="strategy-info mb-3"),
        dbc.Row(
            [
                field(
                    "Timeframe",
                    dbc.Select(
                        id=TIMEFRAME,
                        options=timeframe_options(),
                        value=given.get("timeframe") or "1m",
                    ),
                    "timeframe",
                    6,
                ),
                field(
                    "Window size (bars)",
                    dbc.Input(
                        id=WINDOW,
                        type="number",
                        value=given.get("window") or 100,
                        min=2,
                        max=10_000,
                        step=1,
                    ),
                    "window_size",
                    6,
                ),
            ]
        ),
        html.H6("Parameters", className="section-title"),
        html.Div(id=PARAMS),
    ]


def make_create_modal(
    strategy_opts: list[dict[str, Any]],
    strategy: str | None,
    is_open: bool,
    prefill: Mapping[str, Any] | None = None,
) -> dbc.Modal:
    """The "New runner" modal around :func:`make_create_form`."""
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("New runner")),
            dbc.ModalBody(make_create_form(strategy_opts, strategy, prefill)),
            dbc.ModalFooter(
                [
                    dbc.Button("Cancel", id=CANCEL, color="light", outline=True),
                    dbc.Button("Create runner", id=SUBMIT, color="success"),
                ]
            ),
        ],
        id=MODAL,
        is_open=is_open,
        size="lg",
        backdrop="static",
        className="create-runner-modal",
    )


def param_spec(spec: Mapping[str, Any]) -> ParamSpec:
    """The :class:`ParamSpec` of a declared param's JSON form (checks values)."""
    return ParamSpec(
        name=str(spec["name"]),
        default=spec["default"],
        minimum=spec.get("minimum"),
        maximum=spec.get("maximum"),
        kind=spec.get("kind", "float"),
    )


def _sentence(message: str, prefix: str) -> str:
    text = message.removeprefix(prefix)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def form_feedback(problems: dict[str, str], general: str | None, names: list[str]) -> list[Any]:
    """The create form's error outputs: the general message and whether it shows, then each
    field's message and invalid flag, and the parameters' (``names``) messages and flags."""
    return [
        general or "",
        general is not None,
        *[problems.get(f, "") for f in FIELDS],
        "runner_id" in problems,
        "window_size" in problems,
        [problems.get(f"param:{n}", "") for n in names],
        [f"param:{n}" in problems for n in names],
    ]
