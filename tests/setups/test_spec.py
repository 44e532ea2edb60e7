"""Setup fields: indicator tokens, symbols, timeframes, strategies and chart URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.setups.spec import (
    SetupInvalid,
    chart_url,
    chart_urls,
    check_indicators,
    check_strategies,
    check_symbol,
    check_timeframes,
    parse_indicator,
)
from engine.strategy.store import StrategyStore

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("token", "label", "canonical"),
    [
        ("sma_20", "sma(20)", "sma_20"),
        ("RSI_14", "rsi(14)", "rsi_14"),
        ("rsi", "rsi(14)", "rsi_14"),
        ("macd", "macd(12, 26, 9)", "macd_12_26_9"),
        ("bollinger_20_2.5", "bollinger(20, 2.5)", "bollinger_20_2.5"),
        ("volume_sma_10", "volume_sma(10)", "volume_sma_10"),
    ],
)
def test_indicator_tokens_parse_to_registry_calls(token: str, label: str, canonical: str) -> None:
    call = parse_indicator(token)
    assert (call.label, call.token) == (label, canonical)


@pytest.mark.parametrize(
    ("token", "text"),
    [
        ("foo_3", "unknown indicator 'foo_3'"),
        ("sma", "missing argument n"),
        ("sma_0", "n must be an integer >= 1"),
        ("sma_x", "parameters must be numbers"),
        ("macd_26_12", "fast must be less than slow"),
    ],
)
def test_bad_indicator_tokens_name_the_field_and_the_problem(token: str, text: str) -> None:
    with pytest.raises(SetupInvalid) as info:
        check_indicators([token])
    assert info.value.field == "indicators" and text in info.value.message


def test_symbols_timeframes_and_strategies_are_checked() -> None:
    assert check_symbol("btc/usdt") == "BTCUSDT"
    with pytest.raises(SetupInvalid, match="symbol: unknown symbol 'NOPE'"):
        check_symbol("NOPE")
    assert check_timeframes(["1d", "5m", "1h", "1h"]) == ["5m", "1h", "1d"]
    with pytest.raises(SetupInvalid, match="timeframes: choose at least one"):
        check_timeframes([])
    with pytest.raises(SetupInvalid, match="unknown timeframe '2h'"):
        check_timeframes(["2h"])
    store = StrategyStore(ROOT / "lua-strategies")
    assert check_strategies(["ema_crossover", "examples/macd_cross.lua"], store) == [
        "ema_crossover",
        "macd_cross",
    ]
    with pytest.raises(SetupInvalid) as info:
        check_strategies(["missing_one"], store)
    assert info.value.field == "strategies" and "available: bollinger_bounce" in info.value.message


def test_chart_urls_one_per_timeframe() -> None:
    assert chart_url("BTCUSDT", "1h") == "/chart/BTCUSDT/1h"
    setup = {
        "id": 7,
        "symbol": "ETHUSDT",
        "timeframes": ["15m", "4h"],
        "indicators": ["sma_20", "rsi_14"],
        "strategies": ["ema_crossover"],
    }
    assert chart_urls(setup) == [
        "/chart/ETHUSDT/15m?indicators=sma_20,rsi_14&strategies=ema_crossover&setup=7",
        "/chart/ETHUSDT/4h?indicators=sma_20,rsi_14&strategies=ema_crossover&setup=7",
    ]
