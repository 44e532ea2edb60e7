"""Signals: the backtest's entries and exits (checked against a plain-Python EMA crossover),
stored once however often they are recomputed, and computed incrementally as bars arrive."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from engine.backtest.run import run_backtest
from engine.data.candle_store import CandleStore
from engine.data.history import SIM_START_MS
from engine.data.simulated import generate_history
from engine.data.timeframes import Timeframe
from engine.platform.settings import Settings
from engine.setups.signals import calculate, compute_signals, read_candles
from engine.setups.spec import parse_indicator
from engine.storage.db import make_engine
from engine.storage.setup_store import SetupStore
from engine.strategy.instance import StrategySource
from engine.strategy.store import StrategyStore

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "lua-strategies" / "examples"
HOUR = 3_600_000


def ema(close: np.ndarray, n: int) -> list[float]:
    """EMA seeded with the first close, alpha 2/(n+1), no value before bar n-1 (a loop)."""
    alpha, out, value = 2 / (n + 1), [], float(close[0])
    for i, c in enumerate(close):
        value = float(c) if i == 0 else alpha * float(c) + (1 - alpha) * value
        out.append(value if i >= n - 1 else math.nan)
    return out


def reference_crossings(close: np.ndarray, fast: int = 10, slow: int = 20) -> list[tuple]:
    """ema_crossover.lua re-written as a plain loop: (bar, side, price) of each decision."""
    f, s = ema(close, fast), ema(close, slow)
    out, flat, prev = [], True, None
    for i in range(len(close)):
        if math.isnan(f[i]) or math.isnan(s[i]):
            continue
        if flat and prev is not None and prev[0] <= prev[1] and f[i] > s[i]:
            out.append((i, "BUY", float(close[i])))
            flat = False
        elif not flat and f[i] < s[i]:
            out.append((i, "SELL", float(close[i])))
            flat = True
        prev = (f[i], s[i])
    return out  # a position still open is not exited: no end_of_data signal


def test_ema_crossover_signals_match_a_plain_python_loop() -> None:
    series = generate_history("BTCUSDT", Timeframe.H1, 1500, seed=11)
    source = StrategySource.from_file(EXAMPLES / "ema_crossover.lua")
    rows = compute_signals(source, series, [parse_indicator("ema_10")], strategy="ema_crossover")
    expected = reference_crossings(series.close)
    assert len(expected) > 20
    got = [
        (int(np.searchsorted(series.timestamp, r["time"])), r["signal"], r["price"]) for r in rows
    ]
    assert got == expected
    assert {r["strategy"] for r in rows} == {"ema_crossover"}
    # indicator values are those at the signal's bar
    bar, _side, _price = expected[0]
    assert rows[0]["indicators"]["ema(10)"] == round(ema(series.close, 10)[bar], 6)


def test_signals_are_the_backtests_entries_and_exits_for_every_example() -> None:
    series = generate_history("ETHUSDT", Timeframe.H1, 2000, seed=5)
    for path in sorted(EXAMPLES.glob("*.lua")):
        source = StrategySource.from_file(path)
        trades = run_backtest(source, series).trades
        rows = compute_signals(source, series)
        expected = []
        for t in trades:
            long = t.side == "long"
            expected.append((t.entry_time, "BUY" if long else "SELL", t.entry_price))
            if t.exit_reason != "end_of_data":
                expected.append((t.exit_time, "SELL" if long else "BUY", t.exit_price))
        assert [(r["time"], r["signal"], r["price"]) for r in rows] == expected, path.name
        assert trades, path.name


def test_confidence_comes_from_the_strategy() -> None:
    series = generate_history("SOLUSDT", Timeframe.H1, 2000, seed=2)
    rows = compute_signals(StrategySource.from_file(EXAMPLES / "bollinger_bounce.lua"), series)
    entries = [r for r in rows if r["action"] == "enter_long"]
    assert entries and all(r["confidence"] == 0.5 for r in entries)
    assert all(r["confidence"] is None for r in rows if r["action"] == "exit")
    plain = compute_signals(StrategySource.from_file(EXAMPLES / "ema_crossover.lua"), series)
    assert all(r["confidence"] is None for r in plain)


def _setup(db: sa.Engine, start_ms: int) -> dict:
    store = SetupStore(db)
    setup = store.create(
        symbol="BTCUSDT",
        source="sim",
        timeframes=["1h"],
        indicators=["sma_20", "rsi_14"],
        strategies=["ema_crossover", "macd_cross"],
        signal_state={"1h": {"from_ms": start_ms, "through": {}}},
    )
    return setup


def test_recomputation_is_idempotent_and_incremental(settings: Settings) -> None:
    db = make_engine(settings)
    store, candles = SetupStore(db), CandleStore(db)
    strategies = StrategyStore(ROOT / "lua-strategies")
    start = SIM_START_MS
    setup = _setup(db, start)
    early = start + 800 * HOUR + 5
    first = calculate(store, candles, strategies, setup, "1h", now_ms=early)
    assert first["bars"] == 800 and first["added"] > 10 and not first["errors"]
    rows = store.signals(setup_id=setup["id"], limit=1000)
    assert len(rows) == first["added"]
    # the same bars again: nothing computed, nothing added
    again = calculate(store, candles, strategies, store.get(setup["id"]), "1h", now_ms=early)
    assert again["added"] == 0
    # new bars: only signals after the last computed bar are added
    late = start + 1500 * HOUR + 5
    more = calculate(store, candles, strategies, store.get(setup["id"]), "1h", now_ms=late)
    assert more["added"] > 0
    stored = store.signals(setup_id=setup["id"], limit=5000)
    keys = [(r["strategy"], r["time"]) for r in stored]
    assert len(keys) == len(set(keys)) == first["added"] + more["added"]
    # ... and they are exactly what one calculation over all the bars gives
    series = read_candles(candles, "BTCUSDT", "1h", start, late)
    expected = set()
    for name in ("ema_crossover", "macd_cross"):
        source = StrategySource.from_file(strategies.resolve(name))
        expected |= {(name, r["time"], r["signal"]) for r in compute_signals(source, series)}
    assert {(r["strategy"], r["time"], r["signal"]) for r in stored} == expected
    # a forced recomputation (state forgotten) still adds no duplicate
    store.update(setup["id"], signal_state={"1h": {"from_ms": start, "through": {}}})
    forced = calculate(store, candles, strategies, store.get(setup["id"]), "1h", now_ms=late)
    assert forced["added"] == 0
    assert len(store.signals(setup_id=setup["id"], limit=5000)) == len(stored)
    db.dispose()


def test_a_failing_strategy_is_reported_and_the_others_still_run(
    settings: Settings, tmp_path: Path
) -> None:
    root = tmp_path / "lua"
    (root / "examples").mkdir(parents=True)
    (root / "examples" / "ema_crossover.lua").write_text(
        (EXAMPLES / "ema_crossover.lua").read_text()
    )
    (root / "examples" / "broken.lua").write_text(
        "function detect_opportunity() error('boom') end\n"
        "function filter_commitment() end\nfunction manage_position() end\n"
    )
    db = make_engine(settings)
    store = SetupStore(db)
    setup = store.create(
        symbol="BTCUSDT",
        source="sim",
        timeframes=["1h"],
        indicators=[],
        strategies=["broken", "ema_crossover"],
        signal_state={"1h": {"from_ms": SIM_START_MS, "through": {}}},
    )
    out = calculate(
        store, CandleStore(db), StrategyStore(root), setup, "1h", now_ms=SIM_START_MS + 900 * HOUR
    )
    assert "boom" in out["errors"]["broken"] and out["added"] > 0
    assert {r["strategy"] for r in store.signals(setup_id=setup["id"])} == {"ema_crossover"}
    db.dispose()
