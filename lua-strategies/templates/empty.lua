-- @name My Strategy
-- @description Describe what the strategy does
-- @author
-- @indicators ema
-- @context
-- @symbols BTCUSDT
-- @risk medium
-- @param period 20 2..200

-- Called on every bar while Idle. Return nil to keep waiting,
-- {signal = "...", confidence = 0.5} to start analyzing (fields are copied into context),
-- or {action = "enter_long" | "enter_short", quantity = ..., stop_loss = ..., take_profit = ...}.
function detect_opportunity(market_data, context, indicators, position)
  local ema = indicators.ema(params.period)
  if ema == nil then return nil end   -- indicators are nil until enough bars exist
  return nil
end

-- Called on every bar while Analyzing. Enter, cancel, or return nil to keep analyzing.
function filter_commitment(market_data, context, indicators, position)
  return {action = "cancel_analysis", reason = "not implemented yet"}
end

-- Called on every bar while InPosition (after stop-loss/take-profit checks).
-- Return {action = "exit"}, {action = "update_stop_loss", new_stop = ...},
-- {action = "update_take_profit", new_target = ...}, or nil to hold.
function manage_position(market_data, context, indicators, position)
  return nil
end
