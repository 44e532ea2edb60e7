-- @name Range Breakout
-- @description Buy a close above the window's high on above-average volume; trail the stop
-- @author Trading Simulator
-- @indicators atr
-- @context prev_high,prev_low,breakout_level
-- @symbols BTCUSDT,SOLUSDT,TSLA
-- @risk high
-- @param volume_factor 1.5 1..5
-- @param trail_atr 2.5 0.5..8

-- indicators.high / low / avg_volume cover the runner's window (window_size bars, current bar
-- included), so the breakout compares this close with the previous bar's window high.

function detect_opportunity(market_data, context, indicators, position)
  local prev_high = context.prev_high
  context.prev_high, context.prev_low = indicators.high, indicators.low
  if prev_high == nil then return nil end
  if market_data.close > prev_high and
     market_data.volume > params.volume_factor * indicators.avg_volume then
    return {signal = "breakout", confidence = 0.6, breakout_level = prev_high}
  end
  return nil
end

function filter_commitment(market_data, context, indicators, position)
  context.prev_high, context.prev_low = indicators.high, indicators.low
  local atr = indicators.atr(14)
  if atr == nil then return nil end
  if market_data.close < context.breakout_level then
    return {action = "cancel_analysis", reason = "false breakout: closed back inside the range"}
  end
  return {action = "enter_long", stop_loss = market_data.close - params.trail_atr * atr,
          reason = "breakout held for one bar"}
end

function manage_position(market_data, context, indicators, position)
  context.prev_high, context.prev_low = indicators.high, indicators.low
  local atr = indicators.atr(14)
  if atr == nil then return nil end
  local trail = market_data.close - params.trail_atr * atr
  if position.stop_loss == nil or trail > position.stop_loss then
    return {action = "update_stop_loss", new_stop = trail, reason = "trail"}
  end
  return nil
end
