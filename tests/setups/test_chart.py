"""The chart route's parameters: parsed, defaulted from a setup, refused with the part named."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.platform.settings import Settings
from engine.setups.chart import parse_chart_request
from engine.setups.spec import SetupInvalid
from engine.storage.db import make_engine
from engine.storage.setup_store import SetupStore
from engine.strategy.store import StrategyStore

ROOT = Path(__file__).resolve().parents[2]
STORE = StrategyStore(ROOT / "lua-strategies")


def test_a_chart_url_parses_into_calls_and_strategies() -> None:
    query = {"indicators": "sma_20, rsi_14,macd", "strategies": "ema_crossover"}
    request = parse_chart_request("btc/usdt", "1h", query, STORE)
    assert (request.symbol, request.timeframe, request.setup_id) == ("BTCUSDT", "1h", 0)
    assert [c.label for c in request.indicators] == ["sma(20)", "rsi(14)", "macd(12, 26, 9)"]
    assert request.tokens == ["sma_20", "rsi_14", "macd_12_26_9"]
    assert request.strategies == ("ema_crossover",)
    bare = parse_chart_request("ETHUSDT", "1d", {}, STORE)
    assert bare.indicators == () and bare.strategies == ()


@pytest.mark.parametrize(
    ("symbol", "timeframe", "query", "field", "text"),
    [
        ("NOPE", "1h", {}, "symbol", "unknown symbol 'NOPE'"),
        ("BTCUSDT", "2h", {}, "timeframe", "unknown timeframe '2h'"),
        ("BTCUSDT", "1h", {"indicators": "sma_0"}, "indicators", "n must be an integer >= 1"),
        ("BTCUSDT", "1h", {"indicators": "zzz"}, "indicators", "unknown indicator 'zzz'"),
        ("BTCUSDT", "1h", {"strategies": "nope"}, "strategies", "not found"),
        ("BTCUSDT", "1h", {"setup": "x1"}, "setup", "is not a setup id"),
        ("BTCUSDT", "1h", {"colour": "red"}, "colour", "is not a chart parameter"),
    ],
)
def test_bad_parameters_name_the_part(
    symbol: str, timeframe: str, query: dict, field: str, text: str
) -> None:
    with pytest.raises(SetupInvalid) as info:
        parse_chart_request(symbol, timeframe, query, STORE)
    assert info.value.field == field and text in info.value.message


def test_a_setup_gives_the_defaults_and_must_match(settings: Settings) -> None:
    db = make_engine(settings)
    setup = SetupStore(db).create(
        symbol="SOLUSDT",
        source="sim",
        timeframes=["1h"],
        indicators=["ema_50"],
        strategies=["macd_cross"],
        signal_state={},
    )
    sid = str(setup["id"])
    request = parse_chart_request("SOLUSDT", "4h", {"setup": sid}, STORE, db)
    assert (request.tokens, request.strategies, request.setup_id) == (
        ["ema_50"],
        ("macd_cross",),
        setup["id"],
    )
    with pytest.raises(SetupInvalid, match="watches SOLUSDT, not BTCUSDT"):
        parse_chart_request("BTCUSDT", "1h", {"setup": sid}, STORE, db)
    with pytest.raises(SetupInvalid, match="there is no setup 999"):
        parse_chart_request("SOLUSDT", "1h", {"setup": "999"}, STORE, db)
    db.dispose()
