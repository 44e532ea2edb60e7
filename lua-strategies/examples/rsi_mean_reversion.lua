-- @name RSI Mean Reversion
-- @description Buy an oversold dip (RSI below the threshold) once RSI turns up; exit when overbought
-- @author Trading Simulator
-- @indicators rsi, atr
-- @context signal_rsi,oversold_low
-- @symbols BTCUSDT,ETHUSDT,AAPL
-- @risk medium
-- @param period 14 2..50
-- @param oversold 30 5..45
-- @param overbought 70 55..95
-- @param stop_atr 2 0.5..6
-- @param target_atr 3 0.5..10

function detect_opportunity(market_data, context, indicators, position)
  local rsi = indicators.rsi(params.period)
  if rsi == nil then return nil end
  if rsi < params.oversold then
    -- these fields are copied into context: context.signal_rsi, context.oversold_low
    return {signal = "oversold", confidence = (params.oversold - rsi) / params.oversold,
            signal_rsi = rsi, oversold_low = market_data.low}
  end
  return nil
end

function filter_commitment(market_data, context, indicators, position)
  local rsi, atr = indicators.rsi(params.period), indicators.atr(14)
  if rsi == nil or atr == nil then return nil end
  if rsi > 50 then
    return {action = "cancel_analysis", reason = "RSI recovered without a signal bar"}
  end
  if rsi < context.signal_rsi then
    context.signal_rsi = rsi          -- still falling: keep waiting
    context.oversold_low = math.min(context.oversold_low, market_data.low)
    return nil
  end
  local close = market_data.close
  return {action = "enter_long", stop_loss = close - params.stop_atr * atr,
          take_profit = close + params.target_atr * atr,
          reason = string.format("RSI turned up from %.1f", context.signal_rsi)}
end

function manage_position(market_data, context, indicators, position)
  local rsi = indicators.rsi(params.period)
  if rsi ~= nil and rsi > params.overbought then
    return {action = "exit", reason = string.format("RSI overbought (%.1f)", rsi)}
  end
  return nil
end
