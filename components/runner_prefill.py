"""The create-runner form's prefill from a link: ``/?create=1&strategy=..&symbol=..
&timeframe=..&window=..&params=..`` (the Sweep page's "Run as runner", the editor's button):
:func:`runner_link` writes one, :func:`prefill` reads it.

Every value is checked the way the form checks it; a bad one is left out (the form keeps its
default) and named in ``ignored``, so a hand-edited link never breaks the page. Pure functions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from components.runner_form import param_spec
from engine.data.symbols import get_symbol
from engine.data.timeframes import Timeframe
from engine.errors import ConfigError

WINDOW_RANGE = (2, 10_000)


def runner_link(backtest: Mapping[str, Any], params: Mapping[str, Any]) -> str:
    """``/?create=1&...``: the runner form with a stored backtest config's strategy, symbol,
    timeframe and window, and its params overlaid with ``params`` (a sweep's row)."""
    query = {
        "create": "1",
        "strategy": backtest["strategy_file"],
        "symbol": backtest["data"]["symbol"],
        "timeframe": backtest["data"]["timeframe"],
        "window": str(backtest["sim"]["window_size"]),
        "params": json.dumps({**backtest["params"], **params}, separators=(",", ":")),
    }
    return "/?" + urlencode(query)


def parse_params(text: str | None) -> tuple[dict[str, Any], list[str]]:
    """``params`` of a link: a JSON object (``{"fast": 8}``) or ``name=value`` pairs separated
    by ``,`` or ``;`` (``fast=8,slow=20``) → (values as given, problems)."""
    text = (text or "").strip()
    if not text:
        return {}, []
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError:
            return {}, ["params (not valid JSON)"]
        if not isinstance(value, dict):
            return {}, ["params (not a JSON object)"]
        return {str(k): v for k, v in value.items()}, []
    values: dict[str, Any] = {}
    problems = []
    for item in text.replace(";", ",").split(","):
        name, sep, raw = item.partition("=")
        if not item.strip():
            continue
        if not sep or not name.strip():
            problems.append(f"params item {item.strip()!r} (use name=value)")
            continue
        values[name.strip()] = raw.strip()
    return values, problems


def check_params(
    given: Mapping[str, Any], specs: Sequence[Mapping[str, Any]]
) -> tuple[dict[str, int | float], list[str]]:
    """The ``given`` values the strategy declares and accepts, as their kinds, and why the
    others were left out."""
    declared = {str(s["name"]): s for s in specs}
    values: dict[str, int | float] = {}
    problems = []
    for name, value in given.items():
        spec = declared.get(name)
        if spec is None:
            problems.append(f"param {name} (not declared by the strategy)")
            continue
        try:
            values[name] = param_spec(spec).validate(value)
        except ConfigError as exc:
            problems.append(str(exc))
    return values, problems


def prefill(query: Mapping[str, Any], specs: Sequence[Mapping[str, Any]] | None) -> dict[str, Any]:
    """``symbol``, ``timeframe``, ``window`` (None when absent or bad), ``params`` (checked
    against ``specs``, the chosen strategy's params; None: no strategy) and ``ignored``."""
    ignored: list[str] = []
    symbol = _text(query, "symbol")
    if symbol:
        try:
            symbol = get_symbol(symbol).symbol
        except ConfigError:
            ignored.append(f"symbol {symbol!r} (not a listed symbol)")
            symbol = None
    timeframe = _text(query, "timeframe")
    if timeframe and timeframe not in {tf.value for tf in Timeframe}:
        ignored.append(f"timeframe {timeframe!r} (not a supported timeframe)")
        timeframe = None
    window = _window(_text(query, "window"))
    if _text(query, "window") and window is None:
        ignored.append(f"window {query['window']!r} (use 2 to 10000 bars)")
    given, problems = parse_params(_text(query, "params"))
    ignored += problems
    params: dict[str, int | float] = {}
    if given and specs is None:
        ignored.append("params (no strategy chosen)")
    elif given and specs is not None:
        params, problems = check_params(given, specs)
        ignored += problems
    return {
        "symbol": symbol or None,
        "timeframe": timeframe or None,
        "window": window,
        "params": params,
        "ignored": ignored,
    }


def _text(query: Mapping[str, Any], key: str) -> str | None:
    """The query value as stripped text (a key given twice counts as its first value)."""
    value = query.get(key)
    if isinstance(value, list):
        value = value[0] if value else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def _window(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    low, high = WINDOW_RANGE
    return int(number) if number.is_integer() and low <= number <= high else None
