"""Latency of validate_strategy on a realistic 500-line strategy (target: p95 < 20 ms).

The editor validates on every pause in typing, so this is the time a user waits for markers.
Run: ``.venv/bin/python -m benchmarks.bench_validator``.
"""

from __future__ import annotations

import statistics
import time

from engine.strategy.validator import validate_strategy

HEADER = """\
-- @name Multi-signal trend follower
-- @description Trend filter (EMA), momentum (RSI, MACD), volatility stops (ATR)
-- @author Benchmark
-- @indicators ema, rsi, macd, atr, bollinger
-- @context prev_fast,prev_slow,prev_hist,entry_reason,bars_in_trend
-- @symbols BTCUSDT,ETHUSDT
-- @risk medium
-- @param fast 12 2..50
-- @param slow 26 5..200
-- @param rsi_period 14 2..50
-- @param stop_atr 2.5 0.5..8
-- @param target_atr 4 1..12

"""

HELPER = """\
-- Helper {n}: a score in [-1, 1] from trend and momentum ("--" in strings is not a comment).
local function score_{n}(market_data, indicators)
  local fast, slow = indicators.ema(params.fast), indicators.ema(params.slow)
  local rsi = indicators.rsi(params.rsi_period)
  if fast == nil or slow == nil or rsi == nil then return 0 end
  local label = "trend -- {n}"
  local trend = (fast - slow) / slow
  local momentum = (rsi - 50) / 50
  local bb = indicators.bollinger(20, 2)
  if bb ~= nil and market_data.close > bb.upper then
    momentum = momentum - 0.25   -- stretched above the band
  elseif bb ~= nil and market_data.close < bb.lower then
    momentum = momentum + 0.25
  end
  --[[ long comment with indicators.bogus(1) inside,
       which the validator must skip ]]
  local weights = {{trend = 0.6, momentum = 0.4, note = [[weights {n}]]}}
  local s = weights.trend * trend + weights.momentum * momentum
  if s > 1 then s = 1 elseif s < -1 then s = -1 end
  log(label, string.format("%.3f", s))
  return s
end

"""

BODY = """\
function detect_opportunity(market_data, context, indicators, position)
  local fast, slow = indicators.ema(params.fast), indicators.ema(params.slow)
  if fast == nil or slow == nil then return nil end
  local prev_fast, prev_slow = context.prev_fast, context.prev_slow
  context.prev_fast, context.prev_slow = fast, slow
  local m = indicators.macd(params.fast, params.slow, 9)
  if m == nil then return nil end
  context.prev_hist = m.histogram
  local crossed = prev_fast ~= nil and prev_fast <= prev_slow and fast > slow
  if crossed and score_1(market_data, indicators) > 0.2 then
    return {signal = "golden_cross", confidence = 0.6}
  end
  return nil
end

function filter_commitment(market_data, context, indicators, position)
  local atr = indicators.atr(14)
  if atr == nil then return nil end
  local rsi = indicators.rsi(params.rsi_period)
  if rsi ~= nil and rsi > 75 then
    return {action = "cancel_analysis", reason = "overbought"}
  end
  context.entry_reason = "cross confirmed"
  context.bars_in_trend = 0
  local close = market_data.close
  return {action = "enter_long", price = close, quantity = 1,
          stop_loss = close - params.stop_atr * atr,
          take_profit = close + params.target_atr * atr, reason = context.entry_reason}
end

function manage_position(market_data, context, indicators, position)
  context.bars_in_trend = (context.bars_in_trend or 0) + 1
  local atr = indicators.atr(14)
  if atr == nil then return nil end
  local trail = market_data.close - params.stop_atr * atr
  if position.stop_loss == nil or trail > position.stop_loss then
    return {action = "update_stop_loss", new_stop = trail, reason = "trail"}
  end
  if context.prev_hist ~= nil and context.prev_hist < 0 then
    return {action = "exit", reason = "momentum turned"}
  end
  return nil
end
"""


def build_strategy(lines: int = 500) -> str:
    """A valid strategy of about ``lines`` lines: header, helpers, the three functions."""
    code = HEADER
    n = 1
    while (code + BODY).count("\n") < lines:
        code += HELPER.format(n=n)
        n += 1
    return code + BODY


def main(runs: int = 200) -> None:
    code = build_strategy()
    found = validate_strategy(code)  # warms up the per-thread Lua runtime
    problems = [d for d in found if d.severity != "info"]
    assert not problems, problems
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        validate_strategy(code)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[int(0.95 * (len(times) - 1))]
    print(
        f"{code.count(chr(10))} lines, {len(code):,} chars, {runs} runs: "
        f"p50 {statistics.median(times):.2f} ms, p95 {p95:.2f} ms, max {times[-1]:.2f} ms"
    )


if __name__ == "__main__":
    main()
