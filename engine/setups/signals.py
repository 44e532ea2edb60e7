"""Strategy signals: each entry and exit a strategy decides over stored candles.

:func:`compute_signals` runs the strategy through :func:`engine.backtest.run.run_backtest` (the
kernel every backtest uses), so the signals are exactly the backtest's entries and exits: an
entry is BUY (long) or SELL (short) at the entry price, an exit the opposite side at the exit
price. A position still open after the last bar is not exited (no ``end_of_data`` signal: the
exit comes when a later bar decides it). ``confidence`` is the value the strategy put in its
context (``detect_opportunity`` returning ``{confidence=...}``) when it entered, else None.

:func:`calculate` is the incremental, idempotent step a job runs for one setup timeframe: it
reads the candles from the setup's fixed first bar to now, does nothing when no bar was added
since the last run, and stores only signals after each strategy's last computed bar (the store's
unique key guards against duplicates too).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from engine.backtest.run import VectorizedSeries, pack_bars, run_backtest
from engine.data.bars import BarSeries
from engine.data.candle_store import CandleStore
from engine.data.history import MarketData
from engine.data.timeframes import parse_timeframe
from engine.errors import TradeSimError
from engine.indicators.registry import compute_indicator
from engine.setups.spec import SOURCE, IndicatorCall, parse_indicator
from engine.storage.setup_store import SetupStore
from engine.strategy.fills import SimConfig
from engine.strategy.instance import StrategyInstance, StrategySource
from engine.strategy.store import StrategyStore

HISTORY_BARS = 1000
"""Bars before a setup's creation its signals start from (per timeframe)."""


def indicator_values(series: BarSeries, calls: Sequence[IndicatorCall]) -> dict[str, np.ndarray]:
    """``{"sma(20)": array, "macd(12, 26, 9).signal": array, ...}`` over the series."""
    columns = {k: getattr(series, k) for k in ("open", "high", "low", "close", "volume")}
    out: dict[str, np.ndarray] = {}
    for call in calls:
        for name, values in compute_indicator(call.name, columns, *call.args).items():
            out[call.label if name == "value" else f"{call.label}.{name}"] = values
    return out


def _at(values: Mapping[str, np.ndarray], index: int) -> dict[str, float | None]:
    found = {}
    for key, array in values.items():
        v = float(array[index])
        found[key] = round(v, 6) if math.isfinite(v) else None
    return found


def _confidences(source: StrategySource, series: BarSeries, bars: Sequence[int]) -> list[Any]:
    """The strategy's ``context.confidence`` right after each (1-based) bar of ``bars``: a
    second pass of the kernel stopping at each entry bar."""
    instance = StrategyInstance(
        source,
        symbol=series.symbol,
        timeframe=series.timeframe,
        config=SimConfig(),
        provider=VectorizedSeries(series),
    )
    instance.set_bars(pack_bars(series))
    done, out = 0, []
    for bar in bars:
        if bar > done:
            instance.run(done + 1, bar)
            done = bar
        value = instance.snapshot(decisions=False).get("context", {}).get("confidence")
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        out.append(float(value) if ok and math.isfinite(value) else None)
    return out


def compute_signals(
    source: StrategySource,
    series: BarSeries,
    calls: Sequence[IndicatorCall] = (),
    *,
    strategy: str | None = None,
) -> list[dict[str, Any]]:
    """Every entry/exit of ``source`` over ``series`` as signal rows (oldest first) without
    the setup columns: ``time, strategy, signal, action, price, confidence, reason,
    indicators``. Raises StrategyError when the strategy fails."""
    name = strategy or source.name
    if len(series) < 2:
        return []
    result = run_backtest(source, series)
    reasons = {(t.bar, t.trigger): t.reason for t in result.runs[0].transitions}
    values = indicator_values(series, calls)
    trades = result.trades
    confidences: list[Any] = [None] * len(trades)
    if "confidence" in source.code and trades:
        confidences = _confidences(source, series, [t.entry_bar for t in trades])
    rows: list[dict[str, Any]] = []
    for trade, confidence in zip(trades, confidences, strict=True):
        long = trade.side == "long"
        rows.append(
            {
                "time": trade.entry_time,
                "strategy": name,
                "signal": "BUY" if long else "SELL",
                "action": "enter_long" if long else "enter_short",
                "price": trade.entry_price,
                "confidence": confidence,
                "reason": reasons.get((trade.entry_bar, "enter"), ""),
                "indicators": _at(values, trade.entry_bar - 1),
            }
        )
        if trade.exit_reason == "end_of_data":
            continue
        why = reasons.get((trade.exit_bar, trade.exit_reason), "")
        rows.append(
            {
                "time": trade.exit_time,
                "strategy": name,
                "signal": "SELL" if long else "BUY",
                "action": "exit",
                "price": trade.exit_price,
                "confidence": None,
                "reason": f"{trade.exit_reason}: {why}" if why else trade.exit_reason,
                "indicators": _at(values, trade.exit_bar - 1),
            }
        )
    return rows


def first_bar_ms(timeframe: str, now_ms: int) -> int:
    """Where a new setup's signals start: :data:`HISTORY_BARS` bars before ``now_ms``."""
    step = parse_timeframe(timeframe).ms
    return now_ms // step * step - HISTORY_BARS * step


def read_candles(
    candles: CandleStore, symbol: str, timeframe: str, start_ms: int, now_ms: int
) -> BarSeries:
    """The stored bars from ``start_ms`` to the last closed bar (simulated ones generated)."""
    _source, series = MarketData(candles).read(
        symbol, timeframe, source=SOURCE, start_ms=start_ms, end_ms=now_ms, now_ms=now_ms
    )
    return series


def calculate(
    setups: SetupStore,
    candles: CandleStore,
    strategies: StrategyStore,
    setup: Mapping[str, Any],
    timeframe: str,
    *,
    now_ms: int | None = None,
) -> dict[str, Any]:
    """Bring one timeframe of a setup up to date: ``{timeframe, bars, added, errors}``.

    Strategy failures are reported per strategy (``errors``) and do not stop the others."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    state = dict((setup.get("signal_state") or {}).get(timeframe) or {})
    start = int(state.get("from_ms") or first_bar_ms(timeframe, now))
    series = read_candles(candles, setup["symbol"], timeframe, start, now)
    through: dict[str, int] = dict(state.get("through") or {})
    out: dict[str, Any] = {"timeframe": timeframe, "bars": len(series), "added": 0, "errors": {}}
    if not len(series):
        return out
    last = int(series.timestamp[-1])
    calls = [parse_indicator(t) for t in setup["indicators"]]
    for name in setup["strategies"]:
        done = through.get(name)
        if done is not None and done >= last:
            continue
        try:
            source = StrategySource.from_file(strategies.resolve(name))
            rows = compute_signals(source, series, calls, strategy=name)
        except TradeSimError as exc:
            out["errors"][name] = str(exc)
            continue
        fresh = [
            {"setup_id": setup["id"], "symbol": setup["symbol"], "timeframe": timeframe, **r}
            for r in rows
            if done is None or r["time"] > done
        ]
        out["added"] += setups.add_signals(fresh)
        through[name] = last
    setups.set_signal_state(setup["id"], timeframe, {"from_ms": start, "through": through})
    return out
