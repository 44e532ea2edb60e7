"""Formatting and small rules shared by the runner pages: numbers, times, status colours and
which actions make sense in which status.

Pure functions of their arguments (no Redis, file or network access).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import dash_bootstrap_components as dbc

from components.shell import format_duration
from engine.data.symbols import get_symbol
from engine.data.timeframes import parse_timeframe
from engine.errors import ConfigError

STATUSES: tuple[str, ...] = ("running", "paused", "stopped", "error")
STATES: tuple[str, ...] = ("Idle", "Analyzing", "InPosition")
STATUS_COLOR = {"running": "success", "paused": "warning", "stopped": "danger", "error": "dark"}
STATUS_LABEL = {"running": "Running", "paused": "Paused", "stopped": "Stopped", "error": "Error"}
STATE_COLOR = {"Idle": "secondary", "Analyzing": "info", "InPosition": "primary"}

#: Actions per status, in button order ("view" is a link, "delete" asks first).
ACTIONS_BY_STATUS: dict[str, tuple[str, ...]] = {
    "running": ("view", "pause", "stop", "delete"),
    "paused": ("view", "resume", "stop", "delete"),
    "stopped": ("view", "start", "delete"),
    "error": ("view", "start", "delete"),
}
ACTION_LABEL = {
    "view": "View",
    "pause": "Pause",
    "resume": "Resume",
    "start": "Start",
    "stop": "Stop",
    "delete": "Delete",
    "close_position": "Close position",
}
#: Past tense for toasts ("Paused btc-ema").
ACTION_DONE = {
    "pause": "Paused",
    "resume": "Resumed",
    "start": "Started",
    "stop": "Stopped",
    "delete": "Deleted",
    "close_position": "Closed the position of",
}


def allowed_actions(status: str | None) -> tuple[str, ...]:
    """The actions that make sense for a runner in ``status`` (unknown: view and delete)."""
    return ACTIONS_BY_STATUS.get(status or "", ("view", "delete"))


def price_decimals(symbol: str | None, value: float | None = None) -> int:
    """Decimals to show prices of ``symbol`` with (from the curated list, else by magnitude)."""
    try:
        return get_symbol(symbol or "").price_decimals
    except ConfigError:
        magnitude = abs(value or 0.0)
        return 2 if magnitude >= 10 else 4 if magnitude >= 0.1 else 6


def fmt_price(value: float | None, decimals: int = 2) -> str:
    """``42,512.10`` (``—`` for missing or non-finite values)."""
    v = as_number(value)
    return "—" if v is None else f"{v:,.{decimals}f}"


def fmt_qty(value: float | None) -> str:
    """A quantity with sensible precision: ``16,129``, ``4.439``, ``0.02353``."""
    v = as_number(value)
    if v is None:
        return "—"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 1:
        return f"{v:.3f}"
    return f"{v:.4g}"


def fmt_pnl(value: float | None, decimals: int = 2) -> str:
    """Signed money: ``+12.34`` / ``−3.21`` / ``0.00``."""
    v = as_number(value)
    if v is None:
        return "—"
    if round(v, decimals) == 0:
        return f"{0:.{decimals}f}"
    sign = "+" if v > 0 else "−"
    return f"{sign}{abs(v):,.{decimals}f}"


def fmt_pct(value: float | None) -> str:
    """Signed percent: ``+0.25%``."""
    return "—" if as_number(value) is None else f"{fmt_pnl(value)}%"


def pnl_class(value: float | None) -> str:
    """CSS class colouring a P&L: ``pnl-pos``, ``pnl-neg`` or ``pnl-flat``."""
    v = as_number(value)
    if v is None or round(v, 2) == 0:
        return "pnl-flat"
    return "pnl-pos" if v > 0 else "pnl-neg"


def fmt_number(value: float | None, decimals: int = 2) -> str:
    """A plain number; large values compact (``12.3k``, ``4.56M``)."""
    v = as_number(value)
    if v is None:
        return "—"
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e4, "k")):
        if abs(v) >= limit:
            return f"{v / limit:.2f}{suffix}"
    return f"{v:,.{decimals}f}"


def fmt_time(ms: float | None, seconds: bool = False) -> str:
    """UTC ``2024-01-02 13:45`` (with ``:ss`` when ``seconds``)."""
    v = as_number(ms)
    if v is None:
        return "—"
    moment = datetime.fromtimestamp(v / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def hold_time(bars_held: int | None, timeframe: str | None) -> str:
    """``bars_held`` bars of ``timeframe`` as a duration (``5 bars · 5m 00s``)."""
    if bars_held is None:
        return "—"
    try:
        span = format_duration(bars_held * parse_timeframe(timeframe or "").ms / 1000)
    except ConfigError:
        return f"{bars_held} bars"
    return f"{bars_held} bar{'s' if bars_held != 1 else ''} · {span}"


def error_text(error: Mapping[str, Any] | None) -> str:
    """A runner error as ``file:line: message`` (empty when there is none)."""
    if not error:
        return ""
    where = ":".join(str(error[k]) for k in ("file", "line") if error.get(k) not in (None, ""))
    message = str(error.get("message") or "strategy error")
    return f"{where}: {message}" if where else message


def position_text(position: Mapping[str, Any] | None, decimals: int = 2) -> str:
    """``LONG 4.439 @ 2,246.99`` or ``—`` when flat."""
    if not position:
        return "—"
    side = str(position.get("side", "")).upper()
    qty = fmt_qty(position.get("quantity"))
    return f"{side} {qty} @ {fmt_price(position.get('entry_price'), decimals)}"


def status_badge(status: str | None, error: Mapping[str, Any] | None = None) -> dbc.Badge:
    """Green Running, yellow Paused, red Stopped, black Error (message in the tooltip)."""
    key = status or "unknown"
    return dbc.Badge(
        STATUS_LABEL.get(key, key.capitalize()),
        color=STATUS_COLOR.get(key, "secondary"),
        className=f"runner-status status-{key}",
        title=error_text(error) or None,
    )


def state_badge(state: str | None) -> dbc.Badge:
    """The strategy's FSM state."""
    text = state or "—"
    return dbc.Badge(text, color=STATE_COLOR.get(text, "secondary"), className="state-badge")


def as_number(value: Any) -> float | None:
    """``value`` as a finite float, or None."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def make_toast(header: str, message: str, ok: bool = True) -> dbc.Toast:
    """A command result: green and short-lived on success, red and longer on failure."""
    return dbc.Toast(
        message,
        header=header,
        icon="success" if ok else "danger",
        duration=4_000 if ok else 12_000,
        dismissable=True,
        is_open=True,
        className=f"command-toast {'toast-ok' if ok else 'toast-error'}",
    )
