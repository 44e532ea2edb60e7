-- @name Bollinger Band Bounce
-- @description Buy when price closes back inside the lower band; take profit at the middle band
-- @author Trading Simulator
-- @indicators bollinger, atr
-- @context touched_lower
-- @symbols EURUSD,GBPUSD,AAPL
-- @risk medium
-- @param period 20 5..100
-- @param width 2 1..4

function detect_opportunity(market_data, context, indicators, position)
  local bb = indicators.bollinger(params.period, params.width)
  if bb == nil then return nil end
  if market_data.close < bb.lower then
    return {signal = "below_lower_band", confidence = 0.5, touched_lower = market_data.low}
  end
  return nil
end

function filter_commitment(market_data, context, indicators, position)
  local bb, atr = indicators.bollinger(params.period, params.width), indicators.atr(14)
  if bb == nil or atr == nil then return nil end
  if market_data.close >= bb.middle then
    return {action = "cancel_analysis", reason = "bounced past the middle band: no room left"}
  end
  if market_data.close > bb.lower then
    return {action = "enter_long", stop_loss = math.min(context.touched_lower, market_data.low) - 0.5 * atr,
            take_profit = bb.middle, reason = "closed back inside the band"}
  end
  if market_data.close < bb.lower - 2 * atr then
    return {action = "cancel_analysis", reason = "band walk: still falling"}
  end
  return nil
end

function manage_position(market_data, context, indicators, position)
  local bb = indicators.bollinger(params.period, params.width)
  if bb ~= nil and market_data.close > bb.upper then
    return {action = "exit", reason = "reached the upper band"}
  end
  return nil
end
