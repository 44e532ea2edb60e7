"""Charts of a backtest result as Plotly figure dicts (the fast style of ``runner_chart``).

Pure functions of the result JSON (``GET /api/backtest/<id>/results``) and, for the candles,
the bars as columns. Equity is down-sampled by the engine; 10,000 trades stay interactive
(SVG traces only — WebGL warns in headless browsers; histograms binned here; at most
``MAX_MARKED_TRADES`` markers on the candles and ``MAX_SCATTER_TRADES`` in the scatter).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

import numpy as np

from components.runner_chart import DOWN, GRID, PAPER, PLOT, TEXT, UP
from engine.data.bars import BarSeries, resample
from engine.data.timeframes import Timeframe

ACCENT, AVERAGE, MUTED = "#3498db", "#f39c12", "rgba(52, 152, 219, 0.28)"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
PALETTE_COMPARE = ("#3498db", "#f39c12", "#00bc8c", "#c678dd", "#e74c3c", "#56b6c2")
AVERAGE_POINTS = 300
MAX_CANDLES = 1_500
MAX_MARKED_TRADES = 500
"""Trades marked on the candles at most (evenly chosen; a focused chart marks all in view)."""
MAX_SCATTER_TRADES = 2_000
"""Trades in the hold-time scatter at most (SVG markers cost ~60 µs each to draw)."""
HISTOGRAM_BINS = 60

Figure = dict[str, Any]


def base_layout(title: str, **extra: Any) -> dict[str, Any]:
    """The dark layout every backtest chart shares."""
    axis = {"gridcolor": GRID, "zerolinecolor": GRID, "linecolor": GRID}
    layout: dict[str, Any] = {
        "title": {"text": title, "x": 0.01, "font": {"size": 14}},
        "paper_bgcolor": PAPER,
        "plot_bgcolor": PLOT,
        "font": {"color": TEXT, "size": 12},
        "margin": {"l": 56, "r": 16, "t": 40, "b": 40},
        "xaxis": dict(axis),
        "yaxis": dict(axis),
        "legend": {"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"},
        "hovermode": "closest",
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(layout.get(key), dict):
            layout[key] = {**layout[key], **value}
        else:
            layout[key] = value
    return layout


def _ms(iso: Sequence[str]) -> np.ndarray:
    return np.array([s.removesuffix("Z") for s in iso], dtype="datetime64[ms]").astype(np.int64)


def average_curve(runs: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """Mean equity of all runs against days since each run's start (runs may differ in
    length: each is resampled onto fractions 0..1 of its own span)."""
    grid = np.linspace(0.0, 1.0, AVERAGE_POINTS)
    curves, spans = [], []
    for run in runs:
        t = _ms(run["time"])
        if len(t) < 2:
            continue
        frac = (t - t[0]) / max(1, t[-1] - t[0])
        curves.append(np.interp(grid, frac, np.asarray(run["equity"], dtype=float)))
        spans.append((t[-1] - t[0]) / 86_400_000)
    if not curves:
        return np.zeros(0), np.zeros(0)
    return grid * float(np.mean(spans)), np.mean(curves, axis=0)


def equity_figure(result: Mapping[str, Any]) -> Figure:
    """All runs' equity overlaid (days since start when randomized) with the average on top;
    one run is drawn against real time."""
    runs = result.get("run_equity") or []
    capital = float(result["config"]["initial_capital"])
    if len(runs) == 1:
        run = runs[0]
        traces = [
            {
                "type": "scatter",
                "mode": "lines",
                "x": run["time"],
                "y": run["equity"],
                "name": "equity",
                "line": {"color": ACCENT, "width": 2},
                "fill": "tozeroy",
                "fillcolor": "rgba(52, 152, 219, 0.08)",
                "hovertemplate": "%{x}<br>%{y:,.2f}<extra></extra>",
            }
        ]
        xaxis: dict[str, Any] = {"type": "date"}
    else:
        traces = []
        for i, run in enumerate(runs):
            t = _ms(run["time"])
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "x": ((t - t[0]) / 86_400_000).round(4).tolist(),
                    "y": run["equity"],
                    "name": "runs",
                    "legendgroup": "runs",
                    "showlegend": i == 0,
                    "line": {"color": MUTED, "width": 1},
                    "hovertemplate": f"run {run['run_id']}<br>day %{{x:.1f}}<br>"
                    "%{y:,.2f}<extra></extra>",
                }
            )
        days, mean = average_curve(runs)
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": days.round(4).tolist(),
                "y": mean.round(4).tolist(),
                "name": f"average of {len(runs)} runs",
                "line": {"color": AVERAGE, "width": 3},
            }
        )
        xaxis = {"title": {"text": "days since run start"}}
    shapes = [
        {
            "type": "line",
            "xref": "paper",
            "x0": 0,
            "x1": 1,
            "y0": capital,
            "y1": capital,
            "line": {"color": "#6c757d", "dash": "dot", "width": 1},
        }
    ]
    return {
        "data": traces,
        "layout": base_layout("Equity", xaxis=xaxis, yaxis={"tickformat": ",.0f"}, shapes=shapes),
    }


def main_curve(result: Mapping[str, Any]) -> tuple[list[Any], np.ndarray]:
    """The curve drawdown is measured on: the run itself, or the average of the runs."""
    runs = result.get("run_equity") or []
    if len(runs) == 1:
        return list(runs[0]["time"]), np.asarray(runs[0]["equity"], dtype=float)
    days, mean = average_curve(runs)
    return days.round(4).tolist(), mean


def drawdown_figure(result: Mapping[str, Any]) -> Figure:
    """Underwater curve: % below the running peak of the main curve."""
    x, equity = main_curve(result)
    peak = np.maximum.accumulate(equity) if len(equity) else equity
    dd = np.where(peak > 0, (equity / np.where(peak > 0, peak, 1) - 1) * 100, 0.0)
    trace = {
        "type": "scatter",
        "mode": "lines",
        "x": x,
        "y": dd.round(4).tolist(),
        "name": "drawdown",
        "fill": "tozeroy",
        "line": {"color": DOWN, "width": 1},
        "fillcolor": "rgba(231, 76, 60, 0.35)",
        "hovertemplate": "%{x}<br>%{y:.2f}%<extra></extra>",
    }
    multi = len(result.get("run_equity") or []) > 1
    xaxis = {"title": {"text": "days since run start"}} if multi else {"type": "date"}
    title = "Drawdown (average of runs)" if multi else "Drawdown"
    return {
        "data": [trace],
        "layout": base_layout(title, xaxis=xaxis, yaxis={"ticksuffix": "%"}, showlegend=False),
    }


def returns_histogram(trades: Sequence[Mapping[str, Any]]) -> Figure:
    """Distribution of trade returns (%), wins and losses in their colours. Binned here (60
    bins): the page sends 120 bar heights, not one value per trade."""
    pct = np.array([float(t["pnl_pct"]) for t in trades], dtype=float)
    lo, hi = (float(pct.min()), float(pct.max())) if len(pct) else (0.0, 1.0)
    size = max((hi - lo) / HISTOGRAM_BINS, 1e-6)
    edges = lo + size * np.arange(HISTOGRAM_BINS + 1)
    centers = ((edges[:-1] + edges[1:]) / 2).round(4).tolist()
    traces = []
    for name, color, mask in (("wins", UP, pct > 0), ("losses", DOWN, pct <= 0)):
        counts, _ = np.histogram(pct[mask], bins=edges)
        traces.append(
            {
                "type": "bar",
                "x": centers,
                "y": counts.tolist(),
                "width": size,
                "name": name,
                "marker": {"color": color},
                "opacity": 0.85,
                "customdata": [
                    [round(float(a), 2), round(float(b), 2)] for a, b in pairwise(edges)
                ],
                "hovertemplate": "%{customdata[0]}% to %{customdata[1]}%<br>%{y} trades"
                "<extra></extra>",
            }
        )
    return {
        "data": traces,
        "layout": base_layout(
            "Trade returns",
            barmode="overlay",
            bargap=0,
            xaxis={"ticksuffix": "%", "title": {"text": "return per trade"}},
            yaxis={"title": {"text": "trades"}},
        ),
    }


def monthly_returns(result: Mapping[str, Any]) -> dict[tuple[int, int], float]:
    """(year, month) -> return %: from the equity curve for one run, else the P&L of trades
    closed that month as % of the initial capital (runs overlap in time)."""
    runs = result.get("run_equity") or []
    out: dict[tuple[int, int], float] = {}
    if len(runs) == 1:
        times, equity = runs[0]["time"], runs[0]["equity"]
        last: dict[tuple[int, int], float] = {}
        for t, e in zip(times, equity, strict=True):
            last[(int(t[:4]), int(t[5:7]))] = float(e)
        previous = float(equity[0]) if equity else 0.0
        for key in sorted(last):
            out[key] = (last[key] / previous - 1) * 100 if previous else 0.0
            previous = last[key]
        return out
    capital = float(result["config"]["initial_capital"])
    sums: dict[tuple[int, int], float] = defaultdict(float)
    for trade in result.get("trades") or []:
        t = trade["exit_time"]
        sums[(int(t[:4]), int(t[5:7]))] += float(trade["pnl"])
    return {k: v / capital * 100 / max(1, len(runs)) for k, v in sorted(sums.items())}


def heat_color(value: float | None, bound: float) -> str:
    """Cell colour: red below zero, green above, stronger with size (``bound`` = full)."""
    if value is None:
        return "transparent"
    alpha = 0.15 + 0.75 * min(1.0, abs(value) / bound) if bound else 0.15
    rgb = "0, 188, 140" if value > 0 else "231, 76, 60"
    return f"rgba({rgb}, {alpha:.2f})"


def monthly_table(result: Mapping[str, Any]) -> dict[str, Any]:
    """Year × month grid of :func:`monthly_returns` (plus the year's compounded total) as
    ``{"title", "header", "rows": [[(text, colour), ...]]}``; the page renders it as an HTML
    table (a canvas heatmap would need WebGL/ReadPixels in the browser)."""
    months = monthly_returns(result)
    years = sorted({y for y, _m in months})
    bound = max([abs(v) for v in months.values()] or [1.0])
    rows = []
    for year in years:
        cells: list[tuple[str, str]] = [(str(year), "transparent")]
        total = 1.0
        for month in range(1, 13):
            value = months.get((year, month))
            if value is not None:
                total *= 1 + value / 100
            cells.append(("" if value is None else f"{value:+.1f}%", heat_color(value, bound)))
        year_pct = (total - 1) * 100
        cells.append((f"{year_pct:+.1f}%", heat_color(year_pct, max(bound, abs(year_pct)))))
        rows.append(cells)
    multi = len(result.get("run_equity") or []) > 1
    title = "Monthly returns" + (" (P&L of trades closed, mean per run)" if multi else "")
    return {"title": title, "header": ["", *MONTHS, "Year"], "rows": rows}


def scatter_sample(hours: np.ndarray, pnl: np.ndarray, limit: int) -> np.ndarray:
    """Indices of at most ``limit`` trades to plot, in trade order: the extremes always (the
    largest wins and losses, the longest holds), the rest evenly spread over the trades."""
    n = len(pnl)
    if n <= limit:
        return np.arange(n)
    k = limit // 8
    keep = set(np.argsort(pnl)[:k].tolist()) | set(np.argsort(pnl)[-k:].tolist())
    keep |= set(np.argsort(hours)[-k:].tolist())
    rest = np.setdiff1d(np.arange(n), np.fromiter(keep, dtype=np.int64))
    spread = rest[np.linspace(0, len(rest) - 1, limit - len(keep)).round().astype(np.int64)]
    return np.union1d(np.fromiter(keep, dtype=np.int64), spread)


def hold_scatter(trades: Sequence[Mapping[str, Any]]) -> Figure:
    """Hold time (hours) against P&L per trade; past ``MAX_SCATTER_TRADES`` trades a sample
    that keeps every extreme (the title says how many are shown)."""
    entry = _ms([t["entry_time"] for t in trades])
    hours = (_ms([t["exit_time"] for t in trades]) - entry) / 3_600_000
    pnl = np.array([float(t["pnl"]) for t in trades], dtype=float)
    shown = scatter_sample(hours, pnl, MAX_SCATTER_TRADES)
    hours, pnl = hours[shown], pnl[shown]
    traces = [
        {
            "type": "scatter",
            "mode": "markers",
            "x": hours[mask].round(3).tolist(),
            "y": pnl[mask].round(2).tolist(),
            "name": name,
            "marker": {"color": color, "size": 6, "opacity": 0.7},
            "hovertemplate": "held %{x:.1f} h<br>P&L %{y:,.2f}<extra></extra>",
        }
        for name, color, mask in (("wins", UP, pnl > 0), ("losses", DOWN, pnl <= 0))
    ]
    title = "Hold time vs P&L"
    if len(shown) < len(trades):
        title += f" ({len(shown):,} of {len(trades):,} trades, extremes kept)"
    return {
        "data": traces,
        "layout": base_layout(
            title,
            xaxis={"title": {"text": "hours held"}},
            yaxis={"title": {"text": "P&L"}, "tickformat": ",.0f"},
        ),
    }


def hour_bars(trades: Sequence[Mapping[str, Any]]) -> Figure:
    """Winning and losing trades by hour of the entry (UTC)."""
    wins, losses = [0] * 24, [0] * 24
    for trade in trades:
        hour = int(trade["entry_time"][11:13])
        if float(trade["pnl"]) > 0:
            wins[hour] += 1
        else:
            losses[hour] += 1
    traces = [
        {"type": "bar", "x": list(range(24)), "y": wins, "name": "wins", "marker": {"color": UP}},
        {
            "type": "bar",
            "x": list(range(24)),
            "y": losses,
            "name": "losses",
            "marker": {"color": DOWN},
        },
    ]
    return {
        "data": traces,
        "layout": base_layout(
            "Wins and losses by hour of entry (UTC)",
            barmode="group",
            xaxis={"dtick": 2, "title": {"text": "hour"}},
            yaxis={"title": {"text": "trades"}},
        ),
    }


def candles_figure(
    bars: Mapping[str, Sequence[Any]],
    trades: Sequence[Mapping[str, Any]],
    *,
    focus: Mapping[str, Any] | None = None,
    title: str = "Price",
) -> Figure:
    """Candles (``bars``: ``time`` ISO, open, high, low, close) with entry ▲/▼ and exit ✕
    markers; ``focus`` (a trade) zooms the x axis onto it."""
    candle = {
        "type": "candlestick",
        "x": list(bars["time"]),
        "open": list(bars["open"]),
        "high": list(bars["high"]),
        "low": list(bars["low"]),
        "close": list(bars["close"]),
        "name": "price",
        "increasing": {"line": {"color": UP}},
        "decreasing": {"line": {"color": DOWN}},
        "showlegend": False,
    }
    entries: dict[str, list[Any]] = {"x": [], "y": [], "symbol": [], "color": [], "text": []}
    exits: dict[str, list[Any]] = {"x": [], "y": [], "text": []}
    if focus is not None:
        lo, hi = focus_range(focus)
        trades = [t for t in trades if t["exit_time"] >= lo and t["entry_time"] <= hi + "Z"]
    if len(trades) > MAX_MARKED_TRADES:
        step = len(trades) / MAX_MARKED_TRADES
        trades = [trades[int(i * step)] for i in range(MAX_MARKED_TRADES)]
    for trade in trades:
        long = trade["side"] == "long"
        entries["x"].append(trade["entry_time"])
        entries["y"].append(trade["entry_price"])
        entries["symbol"].append("triangle-up" if long else "triangle-down")
        entries["color"].append("#2ecc71" if long else "#ff6b6b")
        entries["text"].append(f"{trade['side']} run {trade.get('run_id', 0)}")
        exits["x"].append(trade["exit_time"])
        exits["y"].append(trade["exit_price"])
        exits["text"].append(f"{trade['exit_reason']} · P&L {float(trade['pnl']):,.2f}")
    markers = [
        {
            "type": "scatter",
            "mode": "markers",
            "x": entries["x"],
            "y": entries["y"],
            "name": "entry",
            "text": entries["text"],
            "marker": {
                "symbol": entries["symbol"],
                "color": entries["color"],
                "size": 10,
                "line": {"color": "#111", "width": 1},
            },
            "hovertemplate": "entry %{text}<br>%{x}<br>%{y}<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "markers",
            "x": exits["x"],
            "y": exits["y"],
            "name": "exit",
            "text": exits["text"],
            "marker": {
                "symbol": "x-thin",
                "color": "#f1f1f1",
                "size": 8,
                "line": {"color": "#f1f1f1", "width": 2},
            },
            "hovertemplate": "exit %{text}<br>%{x}<br>%{y}<extra></extra>",
        },
    ]
    xaxis: dict[str, Any] = {"type": "date", "rangeslider": {"visible": False}}
    if focus is not None:
        xaxis["range"] = focus_range(focus)
        xaxis["autorange"] = False
    return {
        "data": [candle, *markers],
        "layout": base_layout(title, xaxis=xaxis, yaxis={"fixedrange": False}, uirevision=title),
    }


def focus_range(trade: Mapping[str, Any]) -> list[str]:
    """An x range around a trade: its span plus as much again on each side (min 2 h)."""
    start, end = _ms([trade["entry_time"], trade["exit_time"]])
    pad = max(int(end - start), 2 * 3_600_000)
    return [_iso(int(start) - pad), _iso(int(end) + pad)]


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")


def chart_bars(series: BarSeries, focus: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Bars for :func:`candles_figure`: the whole range in the smallest timeframe that keeps
    it under ``MAX_CANDLES`` candles, or (``focus``) the native bars around that trade."""
    if focus is not None:
        lo, hi = _ms(focus_range(focus))
        a, b = np.searchsorted(series.timestamp, [lo, hi])
        series = series.slice(int(a), int(b))
    if len(series) > MAX_CANDLES and series.timeframe:
        native = Timeframe(series.timeframe).ms
        span = int(series.timestamp[-1] - series.timestamp[0]) + native
        coarse = [tf for tf in Timeframe if tf.ms >= native and span / tf.ms <= MAX_CANDLES]
        series = resample(series, coarse[0] if coarse else list(Timeframe)[-1])
    text = np.datetime_as_string(series.timestamp.astype("datetime64[ms]"), unit="s")
    return {
        "time": text.tolist(),
        "open": series.open.tolist(),
        "high": series.high.tolist(),
        "low": series.low.tolist(),
        "close": series.close.tolist(),
        "timeframe": series.timeframe,
    }
