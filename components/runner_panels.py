"""Panels of the Runner Detail page: indicators with sparklines, the open position, context
values and runner stats (the logic log and closed positions are grids: ``runner_logs``).

Pure functions of their arguments (the page reads the snapshot, decisions and trades).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from dash import html

from components.runner_chart_traces import parse_call
from components.runner_format import (
    as_number,
    fmt_number,
    fmt_pnl,
    fmt_price,
    fmt_qty,
    fmt_time,
    hold_time,
    pnl_class,
)
from components.shell import format_duration

BIAS_COLOR = {"bullish": "#00bc8c", "bearish": "#e74c3c", "neutral": "#8b949e"}
_PRICE_LIKE = {"sma", "ema", "wma", "bollinger", "highest", "lowest", "atr"}
_MOMENTUM = {"rsi", "stoch"}
_PRICE_FIELDS = {"high", "low", "range"}


#: Moving averages are judged by their slope over this many bars.
SLOPE_BARS = 5
#: A slope smaller than this fraction of the value (0.01 %) is flat: neutral.
FLAT = 1e-4


def indicator_bias(
    key: str,
    value: float | None,
    previous: float | None,
    close: float | None,
    history: Sequence[Any] = (),
) -> str:
    """``bullish``, ``bearish`` or ``neutral`` for one indicator value.

    Moving averages (SMA, EMA, WMA, Bollinger middle): their slope over the last
    :data:`SLOPE_BARS` bars (``history``, oldest first, ending with ``value``; ``previous``
    when the history is shorter): rising is bullish, falling bearish, within :data:`FLAT` of
    the value neutral. The trend of the average, not one bar's close against it, so a fast
    and a slow average in an uptrend both read bullish while the position is long.
    RSI and stochastic: above 55 / below 45. MACD parts: sign. Bollinger bands: close
    outside the band. Others (ATR, volume, window fields, ADX): neutral.
    """
    parsed = parse_call(key)
    if parsed is None or value is None:
        return "neutral"
    name, _args, output = parsed
    if name in {"sma", "ema", "wma"} or (name == "bollinger" and output == "middle"):
        return _slope_bias(value, previous, history)
    if name == "bollinger" and close is not None:
        if output == "upper" and close > value:
            return "bullish"
        if output == "lower" and close < value:
            return "bearish"
        return "neutral"
    if name in _MOMENTUM:
        return "bullish" if value > 55 else "bearish" if value < 45 else "neutral"
    if name == "macd":
        return "bullish" if value > 0 else "bearish" if value < 0 else "neutral"
    return "neutral"


def _slope_bias(value: float, previous: float | None, history: Sequence[Any]) -> str:
    past = [v for v in (as_number(x) for x in history) if v is not None]
    base = past[-SLOPE_BARS - 1] if len(past) > SLOPE_BARS else previous
    if base is None:
        return "neutral"
    change = value - base
    if abs(change) <= abs(value) * FLAT:
        return "neutral"
    return "bullish" if change > 0 else "bearish"


def indicator_decimals(key: str, price_decimals: int) -> int:
    """Price-scale indicators use the symbol's decimals; oscillators two."""
    parsed = parse_call(key)
    if parsed is None:
        return 2
    name, _args, output = parsed
    if name in _PRICE_LIKE or name == "macd" or (name == "window" and output in _PRICE_FIELDS):
        return max(price_decimals, 2)
    return 2


def sparkline_svg(values: Sequence[Any], color: str, width: int = 96, height: int = 26) -> str:
    """A tiny line chart of ``values`` as an ``<img>``-ready SVG data URI."""
    points = [v for v in (as_number(x) for x in values) if v is not None]
    if len(points) < 2:
        return "data:image/svg+xml;utf8," + quote(
            f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}'/>"
        )
    low, high = min(points), max(points)
    scale = (high - low) or 1.0
    step = (width - 4) / (len(points) - 1)
    coords = " ".join(
        f"{2 + i * step:.1f},{height - 3 - (v - low) / scale * (height - 6):.1f}"
        for i, v in enumerate(points)
    )
    last_x, last_y = coords.rsplit(" ", 1)[-1].split(",")
    svg = (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}'><polyline fill='none' stroke='{color}' "
        f"stroke-width='1.5' stroke-linejoin='round' points='{coords}'/>"
        f"<circle cx='{last_x}' cy='{last_y}' r='2' fill='{color}'/></svg>"
    )
    return "data:image/svg+xml;utf8," + quote(svg)


def make_indicator_panel(
    indicators: Mapping[str, Mapping[str, Any]], close: float | None, price_decimals: int
) -> list[Any]:
    """One row per indicator: name, value, change vs previous, sparkline; coloured by bias."""
    if not indicators:
        return [html.Div("No indicator values yet (warming up).", className="hint p-2")]
    rows = []
    for key, item in indicators.items():
        value, previous = as_number(item.get("value")), as_number(item.get("previous"))
        bias = indicator_bias(key, value, previous, close, item.get("history") or ())
        decimals = indicator_decimals(key, price_decimals)
        change = None if value is None or previous is None else value - previous
        arrow = "▲" if change and change > 0 else "▼" if change and change < 0 else "•"
        change_text = "—" if change is None else f"{arrow} {fmt_pnl(change, decimals)}"
        fmt = fmt_number if "volume" in key else fmt_price
        rows.append(
            html.Div(
                [
                    html.Div(
                        [
                            html.Span(key, className="ind-name", title=key),
                            html.Span(bias, className="ind-bias"),
                        ],
                        className="ind-head",
                    ),
                    html.Div(fmt(value, decimals), className="ind-value num"),
                    html.Div(change_text, className="ind-change num"),
                    html.Img(
                        src=sparkline_svg(item.get("history") or [], BIAS_COLOR[bias]),
                        className="ind-spark",
                        alt=f"last {len(item.get('history') or [])} values",
                    ),
                ],
                className=f"ind-row bias-{bias}",
            )
        )
    return rows


def order_ticket_href(symbol: str, position: Mapping[str, Any]) -> str:
    """The Orders page's ticket prefilled to take the runner's position on the paper account
    (same side and quantity, a market order: the user reviews and confirms it there)."""
    side = "buy" if position.get("side") == "long" else "sell"
    quantity = as_number(position.get("quantity")) or 0.0
    return f"/orders?symbol={quote(symbol)}&side={side}&quantity={quantity:g}"


def make_position_panel(
    position: Mapping[str, Any] | None,
    last_bar: Mapping[str, Any] | None,
    timeframe: str,
    price_decimals: int,
    symbol: str = "",
) -> list[Any]:
    """The open position (entry, qty, side, unrealized P&L, SL/TP, hold time, MFE/MAE), with
    "Place order" opening the order ticket prefilled when the ``symbol`` is given."""
    if not position:
        return [html.Div("Flat: no open position.", className="hint p-2")]
    side = str(position.get("side", ""))
    pnl = as_number(position.get("unrealized_pnl"))
    held = hold_time(position.get("bars_held"), timeframe)
    if last_bar and position.get("entry_time") is not None:
        held_ms = max(0, int(last_bar.get("time", 0)) - int(position["entry_time"]))
        held = f"{position.get('bars_held', 0)} bars · {format_duration(held_ms / 1000)}"
    items = [
        ("Side", html.Span(side.upper(), className=f"side-{side}")),
        ("Quantity", fmt_qty(position.get("quantity"))),
        ("Entry", fmt_price(position.get("entry_price"), price_decimals)),
        ("Entry time", fmt_time(position.get("entry_time"))),
        ("Unrealized P&L", html.Span(fmt_pnl(pnl), className=pnl_class(pnl))),
        ("Stop-loss", fmt_price(position.get("stop_loss"), price_decimals)),
        ("Take-profit", fmt_price(position.get("take_profit"), price_decimals)),
        ("Held", held),
        ("MFE / MAE", f"{fmt_pnl(position.get('mfe'))} / {fmt_pnl(position.get('mae'))}"),
    ]
    if not symbol:
        return [_facts(items)]
    ticket = html.A(
        "Place order…",
        href=order_ticket_href(symbol, position),
        className="btn btn-outline-primary btn-sm mt-2",
        title="Open the order ticket prefilled with this position (paper by default)",
    )
    return [_facts(items), ticket]


def make_context_panel(context: Mapping[str, Any]) -> list[Any]:
    """The strategy's context values (numbers to 4 significant decimals)."""
    if not context:
        return [html.Div("The context is empty.", className="hint p-2")]
    return [_facts([(key, _context_value(value)) for key, value in sorted(context.items())])]


def make_stats_panel(stats: Mapping[str, Any]) -> list[Any]:
    """Bars processed, actions, trades and win rate, P&L split, tick durations, errors."""
    trades, wins = int(stats.get("trades") or 0), int(stats.get("wins") or 0)
    rate = f"{wins / trades:.0%}" if 0 <= wins <= trades and trades else "—"
    realized, unrealized = (
        as_number(stats.get("realized_pnl")),
        as_number(stats.get("unrealized_pnl")),
    )
    items = [
        ("Bars processed", f"{int(stats.get('bars_processed') or 0):,}"),
        ("Actions", f"{int(stats.get('actions') or 0):,}"),
        ("Trades · win rate", f"{trades} · {rate}"),
        ("Realized P&L", html.Span(fmt_pnl(realized), className=pnl_class(realized))),
        ("Unrealized P&L", html.Span(fmt_pnl(unrealized), className=pnl_class(unrealized))),
        (
            "Tick avg / max",
            f"{fmt_number(stats.get('avg_tick_ms'), 3)} / "
            f"{fmt_number(stats.get('max_tick_ms'), 3)} ms",
        ),
        ("Errors", str(int(stats.get("errors") or 0))),
    ]
    return [_facts(items)]


def _context_value(value: Any) -> str:
    number = as_number(value)
    if number is None:
        return str(value)
    if number.is_integer() and abs(number) < 1e12:
        return f"{int(number):,}"
    digits = max(2, 4 - math.floor(math.log10(abs(number)))) if number else 2
    return f"{number:,.{min(digits, 8)}f}"


def _facts(items: Sequence[tuple[str, Any]]) -> html.Dl:
    children: list[Any] = []
    for label, value in items:
        children += [html.Dt(label), html.Dd(value, className="num")]
    return html.Dl(children, className="facts")
