-- @name EMA Crossover
-- @description Long when the fast EMA crosses above the slow EMA; flat when it crosses back below
-- @author Trading Simulator
-- @indicators ema
-- @context prev_fast,prev_slow
-- @symbols BTCUSDT,ETHUSDT,SOLUSDT
-- @risk low
-- @param fast 10 2..50
-- @param slow 20 5..200
-- @param stop_pct 0 0..20

-- A cross is its own confirmation, so the entry happens straight from Idle.
-- prev_fast/prev_slow are updated in every state: the kernel calls only the function of the
-- state the bar starts in, so each function must keep the context current.

function detect_opportunity(market_data, context, indicators, position)
  local fast, slow = indicators.ema(params.fast), indicators.ema(params.slow)
  if fast == nil or slow == nil then return nil end
  local prev_fast, prev_slow = context.prev_fast, context.prev_slow
  context.prev_fast, context.prev_slow = fast, slow
  if prev_fast ~= nil and prev_fast <= prev_slow and fast > slow then
    local stop = nil
    if params.stop_pct > 0 then stop = market_data.close * (1 - params.stop_pct / 100) end
    return {action = "enter_long", stop_loss = stop, reason = "fast EMA crossed above slow EMA"}
  end
  return nil
end

function filter_commitment(market_data, context, indicators, position)
  return {action = "cancel_analysis", reason = "this strategy enters directly"}
end

function manage_position(market_data, context, indicators, position)
  local fast, slow = indicators.ema(params.fast), indicators.ema(params.slow)
  if fast == nil or slow == nil then return nil end
  context.prev_fast, context.prev_slow = fast, slow
  if fast < slow then
    return {action = "exit", reason = "fast EMA crossed below slow EMA"}
  end
  return nil
end
