"""The strategy editor's autocompletion catalog (keywords, API globals, members, actions,
snippets), derived from :mod:`engine.strategy.contract` and the indicator registry.

Pure functions of their arguments (no file, network or database access).
"""

from __future__ import annotations

from typing import Any

from engine.indicators.registry import REGISTRY
from engine.strategy import contract

LUA_KEYWORDS: tuple[str, ...] = (
    *("and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto"),
    *("if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true"),
    *("until", "while"),
)
_FUNCTION_ARGS = "market_data, context, indicators, position"
_FIELD_DOCS = {
    "market_data": "bar field",
    "position": "open position field (position is nil when flat)",
}


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
