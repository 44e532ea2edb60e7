"""The runner chart: one Plotly figure with a shared time axis — candlesticks with overlays,
entry/exit markers and the open position's stop/target, volume, and an oscillator pane.

The figure is built as a plain dict (``go.Figure(figure)`` validates it): constructing graph
objects and subplots costs ~60 ms per refresh, the dict a few. Times are epoch ms on ``date``
axes. Pure functions of their arguments (the page reads the bars, trades and snapshot).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import plotly.io as pio

from components import runner_chart_traces as traces
from components.runner_chart_traces import DOWN, PALETTE, UP, Trace
from engine.data.bars import BarSeries, resample
from engine.data.timeframes import Timeframe, parse_timeframe
from engine.errors import TradeSimError

OVERLAY_PRESETS = ("ema(20)", "ema(50)", "sma(20)", "sma(50)", "bollinger(20, 2)")
OSCILLATOR_PRESETS = ("rsi(14)", "macd(12, 26, 9)", "stoch(14, 3)")
PAPER, PLOT, GRID, TEXT = "#303030", "#282828", "#3a3f44", "#c9d1d9"
_OHLCV = ("open", "high", "low", "close", "volume")


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
        data += traces.overlay_traces(x, columns, call, PALETTE[n % len(PALETTE)])
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
        data += traces.oscillator_traces(layout, x, columns, oscillator)
    span = (int(series.timestamp[0]), int(series.timestamp[-1]) + step)
    data += traces.trade_markers(trades, position, span, step, decimals)
    if position:
        data += traces.position_lines(position, span, step, decimals)
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
