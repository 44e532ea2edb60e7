-- @name MACD Cross
-- @description Long when the MACD histogram turns positive, short when it turns negative
-- @author Trading Simulator
-- @indicators macd
-- @context prev_hist
-- @symbols BTCUSDT,ETHUSDT,MSFT
-- @risk medium
-- @param fast 12 2..50
-- @param slow 26 5..100
-- @param signal 9 2..50

function detect_opportunity(market_data, context, indicators, position)
  local m = indicators.macd(params.fast, params.slow, params.signal)
  if m == nil then return nil end
  local prev = context.prev_hist
  context.prev_hist = m.histogram
  if prev == nil then return nil end
  if prev <= 0 and m.histogram > 0 then
    return {action = "enter_long", reason = "MACD histogram turned positive"}
  elseif prev >= 0 and m.histogram < 0 then
    return {action = "enter_short", reason = "MACD histogram turned negative"}
  end
  return nil
end

function filter_commitment(market_data, context, indicators, position)
  return {action = "cancel_analysis", reason = "this strategy enters directly"}
end

function manage_position(market_data, context, indicators, position)
  local m = indicators.macd(params.fast, params.slow, params.signal)
  if m == nil then return nil end
  context.prev_hist = m.histogram
  if (position.side == "long" and m.histogram < 0) or (position.side == "short" and m.histogram > 0) then
    return {action = "exit", reason = "MACD histogram changed sign"}
  end
  return nil
end
