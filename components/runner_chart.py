"""The runner chart: one Plotly figure with a shared time axis — candlesticks with overlays,
entry/exit markers and the open position's stop/target, volume, and an oscillator pane.

The figure is built as a plain dict (``go.Figure(figure)`` validates it): constructing graph
objects and subplots costs ~60 ms per refresh, the dict a few. Times are epoch ms on ``date``
axes. Pure functions of their arguments (the page reads the bars, trades and snapshot).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import plotly.io as pio

from components.runner_format import fmt_pct, fmt_pnl, fmt_price, fmt_qty
from engine.data.bars import BarSeries, resample
from engine.data.timeframes import Timeframe, parse_timeframe
from engine.errors import TradeSimError
from engine.indicators.registry import REGISTRY, compute_indicator

OVERLAY_NAMES = ("sma", "ema", "wma", "bollinger", "highest", "lowest")
OSCILLATOR_NAMES = ("rsi", "macd", "stoch")
OVERLAY_PRESETS = ("ema(20)", "ema(50)", "sma(20)", "sma(50)", "bollinger(20, 2)")
OSCILLATOR_PRESETS = ("rsi(14)", "macd(12, 26, 9)", "stoch(14, 3)")
UP, DOWN = "#00bc8c", "#e74c3c"
PAPER, PLOT, GRID, TEXT = "#303030", "#282828", "#3a3f44", "#c9d1d9"
PALETTE = ("#f39c12", "#3498db", "#c678dd", "#56b6c2", "#e5c07b", "#ff7f50")
_OHLCV = ("open", "high", "low", "close", "volume")
_CALL = re.compile(r"^\s*([a-z_]+)\s*(?:\(([^)]*)\))?\s*(?:\.([a-z_]+))?\s*$")


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


def chart_timeframes(base: str | None) -> list[str]:
    """The runner's timeframe and every larger one (the chart can only aggregate)."""
    try:
        start = parse_timeframe(base or "1m").ms
    except TradeSimError:
        start = 0
    return [tf.value for tf in Timeframe if tf.ms >= start]


def bars_to_series(bars: Sequence[Mapping[str, Any]], symbol: str, timeframe: str) -> BarSeries:
    """Bars as stored in Redis (oldest first) → a BarSeries (duplicate times dropped)."""
    times = np.array([int(b["time"]) for b in bars], dtype=np.int64)
    keep = np.r_[True, times[1:] > times[:-1]] if len(times) else np.zeros(0, bool)
    cols = {k: np.array([float(b[k]) for b in bars], dtype=np.float64)[keep] for k in _OHLCV}
    return BarSeries(
        symbol=symbol,
        timeframe=timeframe,
        timestamp=times[keep],
        bid=cols["close"],
        ask=cols["close"],
        **cols,
    )


Figure = dict[str, Any]
Trace = dict[str, Any]


def runner_figure(
    bars: Sequence[Mapping[str, Any]],
    *,
    symbol: str,
    base_timeframe: str,
    timeframe: str | None = None,
    overlays: Sequence[str] = (),
    oscillator: str | None = None,
    trades: Sequence[Mapping[str, Any]] = (),
    position: Mapping[str, Any] | None = None,
    decimals: int = 2,
    uirevision: str = "chart",
) -> Figure:
    """Candles (resampled to ``timeframe``), overlays, markers, SL/TP, volume and oscillator."""
    rows = 3 if oscillator else 2
    layout = _layout(rows, uirevision)
    data: list[Trace] = []
    fig: Figure = {"data": data, "layout": layout}
    series = bars_to_series(bars, symbol, base_timeframe) if bars else None
    if series is None or not len(series):
        layout["annotations"] = [
            {
                "text": "Waiting for bars…",
                "showarrow": False,
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 0.6,
                "font": {"size": 14},
            }
        ]
        return fig
    shown = timeframe or base_timeframe
    if shown != series.timeframe:
        series = resample(series, Timeframe(shown))
    step = Timeframe(series.timeframe).ms
    x = series.timestamp
    data.append(
        {
            "type": "candlestick",
            "x": x,
            "open": series.open,
            "high": series.high,
            "low": series.low,
            "close": series.close,
            "name": symbol,
            "increasing": {"line": {"color": UP, "width": 1}, "fillcolor": UP},
            "decreasing": {"line": {"color": DOWN, "width": 1}, "fillcolor": DOWN},
        }
    )
    columns = {k: getattr(series, k) for k in _OHLCV}
    for n, call in enumerate(overlays):
        data += _overlay(x, columns, call, PALETTE[n % len(PALETTE)])
    colors = np.where(series.close >= series.open, UP, DOWN)
    data.append(
        {
            "type": "bar",
            "x": x,
            "y": series.volume,
            "name": "volume",
            "opacity": 0.55,
            "marker": {"color": colors},
            "xaxis": "x2",
            "yaxis": "y2",
        }
    )
    if oscillator:
        data += _oscillator(layout, x, columns, oscillator)
    span = (int(series.timestamp[0]), int(series.timestamp[-1]) + step)
    data += _trade_markers(trades, position, span, step, decimals)
    if position:
        data += _position_lines(position, span, step, decimals)
    return fig


def _layout(rows: int, uirevision: str) -> dict[str, Any]:
    heights = [0.62, 0.13, 0.25] if rows == 3 else [0.8, 0.2]
    gap = 0.025
    usable = 1 - gap * (rows - 1)
    top = 1.0
    axis = {
        "gridcolor": GRID,
        "type": "date",
        "showspikes": True,
        "spikemode": "across",
        "spikesnap": "cursor",
        "spikethickness": 1,
        "spikedash": "dot",
        "spikecolor": "#8b949e",
        "rangeslider": {"visible": False},
    }
    layout: dict[str, Any] = {
        "template": _template(),
        "paper_bgcolor": PAPER,
        "plot_bgcolor": PLOT,
        "font": {"color": TEXT, "size": 11},
        "margin": {"l": 8, "r": 8, "t": 28, "b": 8},
        "hovermode": "x unified",
        "hoverlabel": {"bgcolor": "#1e1e1e", "bordercolor": "#555", "font": {"size": 11}},
        "legend": {
            "orientation": "h",
            "x": 0,
            "y": 1.01,
            "yanchor": "bottom",
            "font": {"size": 10},
        },
        "uirevision": uirevision,
        "bargap": 0.15,
        "showlegend": True,
        "shapes": [],
    }
    bottom = f"x{rows}"
    for row in range(1, rows + 1):
        suffix = "" if row == 1 else str(row)
        height = heights[row - 1] * usable
        domain = [max(0.0, top - height), top]
        top -= height + gap
        layout[f"xaxis{suffix}"] = {
            **axis,
            "anchor": f"y{suffix}",
            "domain": [0.0, 1.0],
            "showticklabels": row == rows,
            **({"matches": bottom} if row != rows else {}),
        }
        layout[f"yaxis{suffix}"] = {
            "anchor": f"x{suffix}",
            "domain": domain,
            "gridcolor": GRID,
            "side": "right",
            "zeroline": False,
            "nticks": 8 if row == 1 else 4,
            **(
                {"tickformat": "~s", "title": {"text": "vol", "font": {"size": 10}}}
                if row == 2
                else {}
            ),
        }
    return layout


@lru_cache(maxsize=1)
def _template() -> dict[str, Any]:
    """Plotly's ``plotly_dark`` template as plain data (built once)."""
    template: dict[str, Any] = pio.templates["plotly_dark"].to_plotly_json()
    return template


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


def _overlay(x: Any, columns: Mapping[str, np.ndarray], call: str, color: str) -> list[Trace]:
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


def _oscillator(
    layout: dict[str, Any], x: Any, columns: Mapping[str, np.ndarray], call: str
) -> list[Trace]:
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


def _trade_markers(
    trades: Sequence[Mapping[str, Any]],
    position: Mapping[str, Any] | None,
    span: tuple[int, int],
    step: int,
    decimals: int,
) -> list[Trace]:
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


def _position_lines(
    position: Mapping[str, Any], span: tuple[int, int], step: int, decimals: int
) -> list[Trace]:
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
