"""Runner Detail panels: indicator bias and sparklines, position, stats."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from components.runner_layout import make_runner_header
from components.runner_panels import (
    indicator_bias,
    make_indicator_panel,
    make_position_panel,
    make_stats_panel,
    sparkline_svg,
)


def flat_text(component: Any) -> str:
    """All text inside a component tree."""
    if component is None:
        return ""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(flat_text(c) for c in component)
    return flat_text(getattr(component, "children", None))


def test_moving_average_bias_follows_its_slope_not_one_close() -> None:
    # an uptrend pulled back below both averages: fast > slow, both still rising -> bullish,
    # as the long position they opened (the old close-vs-average rule said bearish twice)
    fast = [100.0, 100.5, 101.0, 101.6, 102.1, 102.5, 102.8]
    slow = [99.0, 99.2, 99.4, 99.7, 99.9, 100.1, 100.3]
    assert indicator_bias("ema(10)", fast[-1], fast[-2], close=99.5, history=fast) == "bullish"
    assert indicator_bias("ema(20)", slow[-1], slow[-2], close=99.5, history=slow) == "bullish"
    falling = [110.0, 109.0, 108.0, 107.5, 107.0, 106.0]
    assert indicator_bias("sma(50)", 106.0, 107.0, close=120.0, history=falling) == "bearish"
    # slope over SLOPE_BARS bars, not the last step: a one-bar uptick in a downtrend stays bearish
    uptick = [110.0, 109.0, 108.0, 107.0, 106.0, 105.0, 105.2]
    assert indicator_bias("wma(9)", 105.2, 105.0, close=1.0, history=uptick) == "bearish"
    flat = [100.0] * 6 + [100.005]
    assert indicator_bias("ema(5)", 100.005, 100.0, close=1.0, history=flat) == "neutral"
    # short history: the previous value decides
    assert indicator_bias("ema(20)", 100.0, 99.0, close=50.0) == "bullish"
    assert indicator_bias("bollinger(20, 2).middle", 99.0, 100.0, close=150.0) == "bearish"
    assert indicator_bias("ema(20)", 100.0, None, close=101.0) == "neutral"


def test_bias_rules() -> None:
    assert indicator_bias("rsi(14)", 72.0, 70.0, close=1.0) == "bullish"
    assert indicator_bias("rsi(14)", 30.0, 35.0, close=1.0) == "bearish"
    assert indicator_bias("rsi(14)", 50.0, 50.0, close=1.0) == "neutral"
    assert indicator_bias("macd(12, 26, 9).histogram", -0.5, 0.1, close=1.0) == "bearish"
    assert indicator_bias("bollinger(20, 2).upper", 105.0, 104.0, close=106.0) == "bullish"
    assert indicator_bias("bollinger(20, 2).lower", 95.0, 94.0, close=97.0) == "neutral"
    assert indicator_bias("atr(14)", 2.0, 1.0, close=100.0) == "neutral"
    assert indicator_bias("window.high", 2.0, 1.0, close=100.0) == "neutral"


def test_sparkline_has_one_point_per_value() -> None:
    svg = unquote(sparkline_svg([1, 2, 3, 2, 5], "#00bc8c"))
    points = re.search(r"points='([^']*)'", svg)
    assert points and len(points.group(1).split()) == 5
    assert "stroke='#00bc8c'" in svg
    assert "polyline" not in unquote(sparkline_svg([1], "#fff"))


def test_indicator_panel_rows() -> None:
    indicators = {
        "rsi(14)": {"value": 62.0, "previous": 60.5, "history": [50, 55, 60.5, 62.0]},
        "atr(14)": {"value": 2.1, "previous": 2.3, "history": [2.5, 2.3, 2.1]},
    }
    rows = make_indicator_panel(indicators, close=2250.0, price_decimals=2)
    assert [r.className for r in rows] == ["ind-row bias-bullish", "ind-row bias-neutral"]
    text = flat_text(rows)
    assert "62.00" in text and "▲ +1.50" in text and "▼ −0.20" in text


def test_position_and_stats() -> None:
    position = {
        "side": "long", "quantity": 2.0, "entry_price": 100.0, "entry_time": 0,
        "stop_loss": 95.0, "take_profit": 110.0, "unrealized_pnl": 4.0, "bars_held": 3,
        "mfe": 6.0, "mae": -1.0,
    }  # fmt: skip
    text = flat_text(make_position_panel(position, {"time": 180_000}, "1m", 2))
    assert "LONG" in text and "95.00" in text and "110.00" in text and "3 bars · 3m 00s" in text
    assert "Flat" in flat_text(make_position_panel(None, None, "1m", 2))
    *_, ticket = make_position_panel({**position, "side": "short"}, None, "1m", 2, "ETHUSDT")
    assert ticket.href == "/orders?symbol=ETHUSDT&side=sell&quantity=2"
    assert "Place order" in flat_text([ticket])
    stats = flat_text(make_stats_panel({"bars_processed": 1500, "trades": 4, "wins": 3}))
    assert "1,500" in stats and "4 · 75%" in stats


def test_header_shows_state_params_and_the_strategy_error() -> None:
    snap = {
        "runner_id": "doge-broken", "status": "error", "state": "Idle", "symbol": "DOGEUSDT",
        "timeframe": "1m", "strategy": "Broken", "window_size": 100, "params": {"lookback": 20},
        "error": {"file": "broken.lua", "line": 9, "message": "attempt to perform arithmetic"},
    }  # fmt: skip
    text = flat_text(make_runner_header(snap))
    assert "doge-broken" in text and "Error" in text and "lookback=20" in text
    assert "broken.lua:9: attempt to perform arithmetic" in text
    assert "Strategy error" not in flat_text(make_runner_header({**snap, "error": None}))
