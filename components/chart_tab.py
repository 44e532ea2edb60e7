"""The chart tab's figure: candles with overlay indicators, signal markers, volume, and one pane
per oscillator-type indicator (RSI, MACD, ...), on a shared time axis.

Built as a plain dict (graph objects cost tens of ms). :func:`chart_figure` also returns the
trace map the live poll needs: which trace holds which column, so :func:`tail_update` can say
what to append (new bars, new indicator values, new signals) without resending the figure.
Pure functions of their arguments: the page reads the candles and signals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import plotly.io as pio

from components.runner_chart_traces import DOWN, PALETTE, UP
from engine.data.bars import BarSeries
from engine.indicators.registry import compute_indicator
from engine.setups.spec import IndicatorCall

PAPER, PLOT, GRID, TEXT = "#303030", "#282828", "#3a3f44", "#c9d1d9"
PANE_COLORS = ("#56b6c2", "#f39c12", "#c678dd")
_LEVELS = {"rsi": (30, 70), "stoch": (20, 80), "macd": (0,), "adx": (25,)}
Figure = dict[str, Any]


@lru_cache(maxsize=1)
def _template() -> dict[str, Any]:
    template: dict[str, Any] = pio.templates["plotly_dark"].to_plotly_json()
    return template


def _columns(series: BarSeries) -> dict[str, np.ndarray]:
    return {k: getattr(series, k) for k in ("open", "high", "low", "close", "volume")}


def _outputs(series: BarSeries, call: IndicatorCall) -> dict[str, np.ndarray]:
    return compute_indicator(call.name, _columns(series), *call.args)


def _clean(values: np.ndarray) -> list[float | None]:
    return [None if v != v else round(float(v), 6) for v in values.tolist()]


def _axes(panes: int) -> dict[str, Any]:
    """Price 60 % (less with many panes), volume, then equal indicator panes."""
    extra = panes - 2
    price = 0.62 if extra <= 1 else 0.5
    volume = 0.12
    rest = (1 - price - volume - 0.02 * (panes - 1)) / extra if extra else 0
    heights = [price + (0 if extra else 1 - price - volume - 0.02), volume] + [rest] * extra
    layout: dict[str, Any] = {}
    top = 1.0
    for row, height in enumerate(heights, start=1):
        suffix = "" if row == 1 else str(row)
        layout[f"xaxis{suffix}"] = {
            "type": "date",
            "gridcolor": GRID,
            "anchor": f"y{suffix}",
            "showticklabels": row == panes,
            "rangeslider": {"visible": False},
            **({"matches": "x"} if row > 1 else {}),
        }
        layout[f"yaxis{suffix}"] = {
            "anchor": f"x{suffix}",
            "domain": [max(0.0, top - height), top],
            "gridcolor": GRID,
            "side": "right",
            "zeroline": False,
            "nticks": 8 if row == 1 else 4,
            **({"tickformat": "~s"} if row == 2 else {}),
        }
        top -= height + 0.02
    return layout


def _line(x: Any, y: Any, name: str, color: str, row: int, **extra: Any) -> dict[str, Any]:
    suffix = "" if row == 1 else str(row)
    return {
        "type": "scatter",
        "mode": "lines",
        "x": x,
        "y": y,
        "name": name,
        "line": {"color": color, "width": 1.3, "dash": extra.pop("dash", "solid")},
        "xaxis": f"x{suffix}",
        "yaxis": f"y{suffix}",
        "hovertemplate": "%{y:.4~f}",
        **extra,
    }


def signal_text(signal: Mapping[str, Any], decimals: int) -> str:
    """Hover text of one signal: strategy, side, price, confidence, reason, indicators."""
    confidence = signal.get("confidence")
    lines = [
        f"<b>{signal['signal']}</b> · {signal['strategy']}",
        f"price {signal['price']:,.{decimals}f}",
        "confidence " + ("—" if confidence is None else f"{confidence:.2f}"),
    ]
    if signal.get("reason"):
        lines.append(str(signal["reason"])[:80])
    for key, value in (signal.get("indicators") or {}).items():
        lines.append(f"{key} {'—' if value is None else f'{value:,.4g}'}")
    return "<br>".join(lines)


def signal_points(
    signals: Sequence[Mapping[str, Any]], side: str, decimals: int
) -> dict[str, list[Any]]:
    """``x``, ``y``, ``hovertext`` of the BUY or SELL markers (at the signal price)."""
    chosen = [s for s in signals if s["signal"] == side]
    return {
        "x": [int(s["time"]) for s in chosen],
        "y": [float(s["price"]) for s in chosen],
        "hovertext": [signal_text(s, decimals) for s in chosen],
    }


def _markers(signals: Sequence[Mapping[str, Any]], decimals: int) -> list[dict[str, Any]]:
    out = []
    for side, symbol, color in (("BUY", "triangle-up", UP), ("SELL", "triangle-down", DOWN)):
        out.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": side,
                **signal_points(signals, side, decimals),
                "hoverinfo": "text",
                "marker": {
                    "symbol": symbol,
                    "color": color,
                    "size": 13,
                    "line": {"color": "#f5f5f5", "width": 1},
                },
            }
        )
    return out


def chart_figure(
    series: BarSeries,
    calls: Sequence[IndicatorCall],
    signals: Sequence[Mapping[str, Any]] = (),
    *,
    decimals: int = 2,
    uirevision: str = "chart",
) -> tuple[Figure, list[list[Any]]]:
    """The figure and its trace map ``[[trace index, column], ...]`` where a column is
    ``"volume"`` or ``[indicator token, output]`` (candles are trace 0, the BUY/SELL markers
    the last two traces)."""
    panes = [c for c in calls if not c.overlay]
    rows = 2 + len(panes)
    layout: dict[str, Any] = {
        "template": _template(),
        "paper_bgcolor": PAPER,
        "plot_bgcolor": PLOT,
        "font": {"color": TEXT, "size": 11},
        "margin": {"l": 8, "r": 8, "t": 64, "b": 8},
        "hovermode": "closest",
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
        "shapes": [],
        **_axes(rows),
    }
    x = series.timestamp.tolist()
    data: list[dict[str, Any]] = [
        {
            "type": "candlestick",
            "x": x,
            "open": series.open.tolist(),
            "high": series.high.tolist(),
            "low": series.low.tolist(),
            "close": series.close.tolist(),
            "name": series.symbol,
            "increasing": {"line": {"color": UP, "width": 1}, "fillcolor": UP},
            "decreasing": {"line": {"color": DOWN, "width": 1}, "fillcolor": DOWN},
        }
    ]
    trace_map: list[list[Any]] = []
    for n, call in enumerate(c for c in calls if c.overlay):
        color = PALETTE[n % len(PALETTE)]
        for out, values in _outputs(series, call).items():
            name = call.label if out == "value" else f"{call.label} {out}"
            dash = "dot" if out == "middle" else "solid"
            trace_map.append([len(data), [call.token, out]])
            data.append(_line(x, _clean(values), name, color, 1, dash=dash))
    trace_map.append([len(data), "volume"])
    data.append(
        {
            "type": "bar",
            "x": x,
            "y": series.volume.tolist(),
            "name": "volume",
            "opacity": 0.55,
            "marker": {"color": np.where(series.close >= series.open, UP, DOWN).tolist()},
            "xaxis": "x2",
            "yaxis": "y2",
            "showlegend": False,
        }
    )
    for row, call in enumerate(panes, start=3):
        for k, (out, values) in enumerate(_outputs(series, call).items()):
            name = call.label if out == "value" else f"{call.label} {out}"
            trace_map.append([len(data), [call.token, out]])
            color = PANE_COLORS[k % len(PANE_COLORS)]
            trace = _line(x, _clean(values), name, color, row)
            if out == "histogram":
                trace = {**trace, "type": "bar", "marker": {"color": "#6c8ebf"}, "opacity": 0.6}
                trace.pop("mode"), trace.pop("line")
            data.append(trace)
        for level in _LEVELS.get(call.name, ()):
            layout["shapes"].append(
                {
                    "type": "line",
                    "xref": f"x{row} domain",
                    "yref": f"y{row}",
                    "x0": 0,
                    "x1": 1,
                    "y0": level,
                    "y1": level,
                    "line": {"color": "#777", "width": 1, "dash": "dot"},
                }
            )
    data += _markers(signals, decimals)
    if not len(series):
        layout["annotations"] = [
            {
                "text": "No candles stored yet: collection is on its way…",
                "showarrow": False,
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 0.6,
            }
        ]
    return {"data": data, "layout": layout}, trace_map


def tail_update(
    series: BarSeries,
    calls: Sequence[IndicatorCall],
    trace_map: Sequence[Sequence[Any]],
    shown: int,
) -> dict[str, Any]:
    """What changed since the tab showed ``shown`` bars of ``series`` (the same first bar):
    ``{"last": {index, open, high, low, close, volume, ...trace values}, "new": {...}}`` where
    ``new`` maps ``"candle"`` / trace indices to the values to append."""
    by_token = {c.token: c for c in calls}
    outputs = {token: _outputs(series, call) for token, call in by_token.items()}
    start = max(0, shown - 1)
    x = series.timestamp[start:].tolist()
    out: dict[str, Any] = {"x": x, "start": start, "candle": {}, "traces": {}}
    for key in ("open", "high", "low", "close"):
        out["candle"][key] = getattr(series, key)[start:].tolist()
    for index, column in trace_map:
        if column == "volume":
            colors = np.where(series.close >= series.open, UP, DOWN)[start:].tolist()
            out["traces"][str(index)] = {"y": series.volume[start:].tolist(), "color": colors}
        else:
            token, name = column
            out["traces"][str(index)] = {"y": _clean(outputs[token][name][start:])}
    return out
