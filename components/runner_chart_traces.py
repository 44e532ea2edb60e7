"""Traces of the runner chart: indicator calls (``"ema(20)"``) parsed and drawn as overlay or
oscillator lines, entry/exit markers and the open position's stop/target lines.

Traces are plain dicts (see :mod:`components.runner_chart`). Pure functions of their arguments.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from components.runner_format import fmt_pct, fmt_pnl, fmt_price, fmt_qty
from engine.errors import TradeSimError
from engine.indicators.registry import REGISTRY, compute_indicator

OVERLAY_NAMES = ("sma", "ema", "wma", "bollinger", "highest", "lowest")
OSCILLATOR_NAMES = ("rsi", "macd", "stoch")
UP, DOWN = "#00bc8c", "#e74c3c"
PALETTE = ("#f39c12", "#3498db", "#c678dd", "#56b6c2", "#e5c07b", "#ff7f50")
_CALL = re.compile(r"^\s*([a-z_]+)\s*(?:\(([^)]*)\))?\s*(?:\.([a-z_]+))?\s*$")

Trace = dict[str, Any]


def parse_call(key: str) -> tuple[str, tuple[float, ...], str | None] | None:
    """``"bollinger(20, 2).upper"`` → ``("bollinger", (20.0, 2.0), "upper")``, or None."""
    match = _CALL.match(key)
    if not match:
        return None
    name, args, output = match.groups()
    try:
        values = tuple(float(a) for a in args.split(",")) if args and args.strip() else ()
    except ValueError:
        return None
    return name, values, output


def call_label(name: str, args: Sequence[float]) -> str:
    """``ema(20)``, ``bollinger(20, 2)`` (integers without ``.0``)."""
    text = ", ".join(str(int(a)) if float(a).is_integer() else str(a) for a in args)
    return f"{name}({text})"


def strategy_indicators(keys: Iterable[str]) -> tuple[list[str], str | None]:
    """The overlays and the oscillator the strategy itself uses (from snapshot indicator keys)."""
    overlays: list[str] = []
    oscillator = None
    for key in keys:
        parsed = parse_call(key)
        if parsed is None or parsed[0] not in REGISTRY:
            continue
        label = call_label(parsed[0], parsed[1])
        if parsed[0] in OVERLAY_NAMES and label not in overlays:
            overlays.append(label)
        elif parsed[0] in OSCILLATOR_NAMES and oscillator is None:
            oscillator = label
    return overlays, oscillator


def _compute(columns: Mapping[str, np.ndarray], call: str) -> tuple[str, dict[str, np.ndarray]]:
    parsed = parse_call(call)
    if parsed is None or parsed[0] not in REGISTRY:
        return call, {}
    try:
        return call_label(parsed[0], parsed[1]), compute_indicator(parsed[0], columns, *parsed[1])
    except TradeSimError:
        return call, {}


def _line(x: Any, y: np.ndarray, name: str, color: str, row: int = 1, **extra: Any) -> Trace:
    suffix = "" if row == 1 else str(row)
    line = {"color": color, "width": 1.3, "dash": extra.pop("dash", "solid")}
    return {
        "type": "scatter",
        "mode": "lines",
        "x": x,
        "y": y,
        "name": name,
        "line": line,
        "xaxis": f"x{suffix}",
        "yaxis": f"y{suffix}",
        **extra,
    }


def overlay_traces(x: Any, columns: Mapping[str, np.ndarray], call: str, color: str) -> list[Trace]:
    """Price-pane lines of an indicator call (Bollinger: a shaded band); none if unknown."""
    label, out = _compute(columns, call)
    if "upper" in out:  # Bollinger: shaded band with a dashed middle
        band = "#6c8ebf"
        return [
            _line(x, out["upper"], f"{label} upper", band),
            _line(
                x,
                out["lower"],
                f"{label} lower",
                band,
                fill="tonexty",
                fillcolor="rgba(108, 142, 191, 0.08)",
            ),
            _line(x, out["middle"], f"{label} mid", band, dash="dot"),
        ]
    return [_line(x, out["value"], label, color)] if "value" in out else []


def _hline(layout: dict[str, Any], level: float, dash: str = "dot") -> None:
    layout["shapes"].append(
        {
            "type": "line",
            "xref": "x3 domain",
            "yref": "y3",
            "x0": 0,
            "x1": 1,
            "y0": level,
            "y1": level,
            "line": {"color": "#777", "width": 1, "dash": dash},
        }
    )


def oscillator_traces(
    layout: dict[str, Any], x: Any, columns: Mapping[str, np.ndarray], call: str
) -> list[Trace]:
    """Lines (MACD: and histogram) of the oscillator pane; adds its reference levels to
    ``layout``."""
    label, out = _compute(columns, call)
    if "histogram" in out:
        hist = out["histogram"]
        colors = np.where(np.nan_to_num(hist) >= 0, UP, DOWN)
        _hline(layout, 0, "solid")
        return [
            {
                "type": "bar",
                "x": x,
                "y": hist,
                "name": f"{label} hist",
                "opacity": 0.6,
                "marker": {"color": colors},
                "xaxis": "x3",
                "yaxis": "y3",
            },
            _line(x, out["macd"], "MACD", "#3498db", row=3),
            _line(x, out["signal"], "signal", "#f39c12", row=3),
        ]
    if "k" in out:
        lines = [("k", f"{label} %K", "#3498db"), ("d", f"{label} %D", "#f39c12")]
        levels = (20, 80)
    elif "value" in out:
        lines, levels = [("value", label, "#f39c12")], (30, 70)
    else:
        return []
    for level in levels:
        _hline(layout, level)
    layout["yaxis3"]["range"] = [0, 100]
    return [_line(x, out[key], name, color, row=3) for key, name, color in lines]


def _snap(ms: Any, step: int) -> int:
    return int(ms) // step * step


def trade_markers(
    trades: Sequence[Mapping[str, Any]],
    position: Mapping[str, Any] | None,
    span: tuple[int, int],
    step: int,
    decimals: int,
) -> list[Trace]:
    """Entry and exit markers (with hover text) of the trades and the open position."""
    entries: dict[str, list[Any]] = {"x": [], "y": [], "text": [], "symbol": [], "color": []}
    exits: dict[str, list[Any]] = {"x": [], "y": [], "text": [], "color": []}
    opened = [*trades, *([{**position, "open": True}] if position else [])]
    for trade in opened:
        side = str(trade.get("side", ""))
        qty = fmt_qty(trade.get("quantity"))
        entry_t = trade.get("entry_time")
        if entry_t is not None and span[0] <= int(entry_t) < span[1]:
            outcome = "open" if trade.get("open") else f"P&L {fmt_pnl(trade.get('pnl'))}"
            entries["x"].append(_snap(entry_t, step))
            entries["y"].append(trade.get("entry_price"))
            entries["symbol"].append("triangle-up" if side == "long" else "triangle-down")
            entries["color"].append(UP if side == "long" else DOWN)
            entries["text"].append(
                f"<b>Entry {side}</b> {qty} @ {fmt_price(trade.get('entry_price'), decimals)}"
                f"<br>{outcome}"
            )
        exit_t = trade.get("exit_time")
        if exit_t is not None and span[0] <= int(exit_t) < span[1]:
            pnl = trade.get("pnl") or 0.0
            exits["x"].append(_snap(exit_t, step))
            exits["y"].append(trade.get("exit_price"))
            exits["color"].append(UP if pnl > 0 else DOWN)
            exits["text"].append(
                f"<b>Exit {side}</b> @ {fmt_price(trade.get('exit_price'), decimals)}"
                f"<br>P&L {fmt_pnl(pnl)} ({fmt_pct(trade.get('pnl_pct'))})"
                f"<br>reason: {trade.get('exit_reason', '?')}"
            )
    outline = {"color": "#f5f5f5", "width": 1}
    return [
        {
            "type": "scatter",
            "mode": "markers",
            "name": "entries",
            "x": entries["x"],
            "y": entries["y"],
            "hovertext": entries["text"],
            "hoverinfo": "text",
            "marker": {
                "symbol": entries["symbol"],
                "color": entries["color"],
                "size": 12,
                "line": outline,
            },
        },
        {
            "type": "scatter",
            "mode": "markers",
            "name": "exits",
            "x": exits["x"],
            "y": exits["y"],
            "hovertext": exits["text"],
            "hoverinfo": "text",
            "marker": {"symbol": "x", "color": exits["color"], "size": 11, "line": outline},
        },
    ]


def position_lines(
    position: Mapping[str, Any], span: tuple[int, int], step: int, decimals: int
) -> list[Trace]:
    """Dashed stop-loss and take-profit lines of the open position, from its entry on."""
    start = max(_snap(position.get("entry_time") or span[0], step), span[0])
    out = []
    for key, name, color in (("stop_loss", "SL", DOWN), ("take_profit", "TP", UP)):
        level = position.get(key)
        if level is None:
            continue
        label = f"{name} {fmt_price(level, decimals)}"
        out.append(
            {
                "type": "scatter",
                "mode": "lines+text",
                "name": label,
                "x": [start, span[1]],
                "y": [level, level],
                "line": {"color": color, "width": 1.2, "dash": "dash"},
                "text": ["", label],
                "textposition": "top left",
                "textfont": {"color": color, "size": 10},
                "hoverinfo": "name",
            }
        )
    return out
