-- Trusted kernel: runs one strategy in a sandbox and drives its state machine bar by bar.
--
-- Loaded by engine/sandbox.py into a fresh lua54 runtime per strategy instance. Strategy code
-- never sees this file's locals: it runs in its own environment table (make_env below) with a
-- whitelisted standard library, an instruction budget (count hook) and the runtime's memory cap.
-- The transition table, the action schema and the fill settings come from Python as data
-- (engine/state_machine.py, engine/contract.py, engine/sim_config.py).
--
-- Hot path: K.run(from, to) loops over bars packed into one binary string (string.unpack per
-- bar, no table per bar), reuses one market_data table, and looks indicator values up in
-- per-period caches of plain arrays. Live runners call K.step() once per bar: same code.

local K = {}

local sunpack, mhuge, mmax, mmin = string.unpack, math.huge, math.max, math.min
local type, next, rawget, xpcall, getinfo = type, next, rawget, xpcall, debug.getinfo
local setmetatable, getmetatable, tostring, error, select = setmetatable, getmetatable, tostring, error, select
local sformat, tconcat = string.format, table.concat

local BUDGET_MSG = "instruction budget exceeded (the strategy ran too long in one call; look for an endless loop)"
local MEMORY_MSG = "not enough memory"

-- configuration (K.setup) -------------------------------------------------------------------
local cfg, TRANSITIONS, ACTIONS, STATE_FN
local strategy_source, strategy_file
local fns = {}                  -- state name -> strategy function

-- budget ------------------------------------------------------------------------------------
local HOOK_EVERY = 1000
local ticks, tick_limit, blown, handling, trusted = 0, 1000, false, false, false

local function hook()
  ticks = ticks + 1
  if ticks > tick_limit and not handling and not trusted then
    blown = true
    error(BUDGET_MSG, 0)
  end
end

-- runner state ------------------------------------------------------------------------------
local state = "Idle"
local cur, cur_time = 0, 0       -- current bar index and time
local pos = nil                  -- open position (kernel-owned)
local pending = nil              -- order waiting for the next bar's open
local realized, analyzing_bars = 0.0, 0
local ctx, ind, md, posview, env
local trades, transitions, decisions, logbuf = {}, {}, {}, {}
local decision_cap, decision_head = 0, 0
local stats = {bars = 0, actions = 0, ignored = 0, calls = 0}
local last_result = nil

-- errors ------------------------------------------------------------------------------------
local failure = nil              -- {message=, line=, kind=} once the strategy has failed

local function strategy_line(start_level)
  for level = start_level, 60 do
    local info = getinfo(level, "Sl")
    if info == nil then return nil end
    if info.source == strategy_source and info.currentline and info.currentline > 0 then
      return info.currentline
    end
  end
  return nil
end

local function on_error(msg)
  handling = true
  local kind = "error"
  if blown then kind = "budget"; msg = BUDGET_MSG end
  if type(msg) ~= "string" then
    msg = "error(" .. type(msg) .. ") raised with a non-string value"
  end
  return {message = msg, line = strategy_line(2), kind = kind}
end

local function fail(message, line, kind)
  failure = {message = message, line = line, kind = kind or "contract"}
  error(failure, 0)
end

local function fn_line(fname)
  local f = env and rawget(env, fname)
  if type(f) == "function" then return getinfo(f, "S").linedefined end
  return nil
end

-- sandbox -----------------------------------------------------------------------------------
local function copy(t, skip)
  local c = {}
  for k, v in next, t do if not (skip and skip[k]) then c[k] = v end end
  return c
end

local function rethrow_limits(ok, ...)
  if not ok then
    local err = ...
    if blown then error(BUDGET_MSG, 0) end
    if err == MEMORY_MSG then error(MEMORY_MSG, 0) end
  end
  return ok, ...
end

local function log_line(...)
  local n = select("#", ...)
  local parts = {}
  for i = 1, n do
    local v = select(i, ...)
    local tv = type(v)
    if tv == "string" or tv == "number" or tv == "boolean" or tv == "nil" then
      parts[i] = tostring(v)
    else
      parts[i] = "<" .. tv .. ">"
    end
  end
  if #logbuf < 50 then logbuf[#logbuf + 1] = tconcat(parts, " ") end
end

local function make_env(params)
  local e = {}
  for _, name in next, {"pairs", "ipairs", "next", "select", "type", "tostring", "tonumber",
                        "error", "assert", "rawget", "rawset", "rawequal", "rawlen"} do
    e[name] = _G[name]
  end
  e.math = copy(math)
  e.string = copy(string, {dump = true})
  e.table = copy(table)
  e.utf8 = copy(utf8)
  e.unpack = table.unpack
  e.pcall = function(f, ...) return rethrow_limits(pcall(f, ...)) end
  e.xpcall = function(f, h, ...) return rethrow_limits(xpcall(f, h, ...)) end
  e.getmetatable = function(o)
    if type(o) == "string" then return nil end
    return getmetatable(o)
  end
  e.setmetatable = function(t, mt)
    if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
      error("__gc metamethods are not allowed in strategies", 2)
    end
    return setmetatable(t, mt)
  end
  e.log = log_line
  e.print = log_line
  e.params = params
  e._G = e
  return e
end

-- indicators --------------------------------------------------------------------------------
-- load_series(name, a, b, c) is a Python callback returning (table_of_outputs) or (nil, message)
local load_series_raw

-- Trusted work (building a series in Lua) is not charged to the strategy's budget.
local function load_series(...)
  local saved = ticks
  trusted = true
  local outputs, message = load_series_raw(...)
  trusted = false
  ticks = saved
  return outputs, message
end

local function series_for(cache, name, a, b, c)
  local key1, key2, key3 = a or "_", b or "_", c or "_"
  local c1 = cache[key1]
  if c1 == nil then c1 = {}; cache[key1] = c1 end
  local c2 = c1[key2]
  if c2 == nil then c2 = {}; c1[key2] = c2 end
  local s = c2[key3]
  if s == nil then
    local outputs, message = load_series(name, a, b, c)
    if outputs == nil then error(message, 3) end
    s = outputs
    c2[key3] = s
  end
  return s
end

local function make_single(name)
  local by_period = {}
  return function(a, b, c)
    if b == nil and a ~= nil then
      local s = by_period[a]
      if s == nil then
        s = series_for({}, name, a, nil, nil).value
        by_period[a] = s
      end
      return s[cur]
    end
    return series_for(by_period, name, a, b, c).value[cur]
  end
end

local function make_multi(name, outputs)
  local cache = {}
  local n_out = #outputs
  return function(a, b, c)
    local s = series_for(cache, name, a, b, c)
    local out = {}
    for k = 1, n_out do
      local key = outputs[k]
      local v = s[key][cur]
      if v == nil then return nil end
      out[key] = v
    end
    return out
  end
end

-- The strategy gets an empty proxy: reads fall through to the functions table (a plain table
-- __index, fast), then to the window fields; writes raise.
local function make_indicators(specs, field_names)
  local funcs = {}
  for name, outputs in next, specs do
    if #outputs == 1 then funcs[name] = make_single(name) else funcs[name] = make_multi(name, outputs) end
  end
  local fields = {}
  local valid = {}
  for _, f in next, field_names do valid[f] = true end
  setmetatable(funcs, {
    __index = function(_, key)
      local s = fields[key]
      if s == nil then
        if not valid[key] then
          error("unknown indicator '" .. tostring(key) .. "'", 3)
        end
        local outputs, message = load_series("window", key)
        if outputs == nil then error(message, 3) end
        s = outputs.value
        fields[key] = s
      end
      return s[cur]
    end,
  })
  return setmetatable({}, {
    __index = funcs,
    __newindex = function() error("the indicators table is read-only", 2) end,
    __metatable = false,
  })
end

-- transitions, decisions ---------------------------------------------------------------------
local function transition(trigger, reason)
  local row = TRANSITIONS[state]
  local to = row and row[trigger]
  if to == nil then
    error({message = "invalid transition from " .. state .. " on '" .. trigger .. "'", kind = "transition"}, 0)
  end
  transitions[#transitions + 1] = {bar = cur, time = cur_time, from = state, to = to,
                                   trigger = trigger, reason = reason or ""}
  state = to
  analyzing_bars = 0
end

local function record_decision(fname, result, note, from_state, price)
  if decision_cap == 0 then return end
  decision_head = decision_head % decision_cap + 1
  decisions[decision_head] = {bar = cur, time = cur_time, price = price, state = from_state,
                              ["function"] = fname, result = result, note = note or "",
                              to = state, logs = (#logbuf > 0) and logbuf or nil}
end

-- positions and fills -----------------------------------------------------------------------
local function slip(price, sign, bid, ask)
  local p = price
  if cfg.spread_model then p = p + sign * (ask - bid) * 0.5 end
  if cfg.slippage_bps ~= 0 then p = p * (1 + sign * cfg.slippage_bps * 1e-4) end
  return p
end

local function close_position(price, reason, note)
  local qty, side = pos.quantity, pos.side
  local exit_commission = price * qty * cfg.commission_rate
  local commission = pos.entry_commission + exit_commission
  local pnl = (price - pos.entry_price) * qty * side - commission
  realized = realized + pnl
  trades[#trades + 1] = {
    side = side == 1 and "long" or "short", entry_time = pos.entry_time, exit_time = cur_time,
    entry_bar = pos.entry_bar, exit_bar = cur, entry_price = pos.entry_price, exit_price = price,
    quantity = qty, pnl = pnl, pnl_pct = pnl / (pos.entry_price * qty) * 100,
    commission = commission, exit_reason = reason, bars_held = cur - pos.entry_bar,
    mfe = pos.mfe, mae = pos.mae, note = note or "",
  }
  pos = nil
  transition(reason, note)
end

local function open_position(side, price, order)
  local qty = order.quantity
  if qty == nil then qty = (cfg.initial_capital + realized) * cfg.position_fraction / price end
  pos = {side = side, entry_price = price, quantity = qty, entry_time = cur_time, entry_bar = cur,
         stop_loss = order.stop_loss, take_profit = order.take_profit,
         entry_commission = price * qty * cfg.commission_rate, mfe = 0.0, mae = 0.0}
  transition("enter", order.reason)
end

-- A stop or target fills at its level, or at the open when the bar opens beyond it.
local function check_exits(o, h, l, b, a)
  local side, sl, tp = pos.side, pos.stop_loss, pos.take_profit
  if side == 1 then
    if sl and l <= sl then close_position(slip(mmin(o, sl), -1, b, a), "stop_loss"); return true end
    if tp and h >= tp then close_position(o > tp and o or tp, "take_profit"); return true end
  else
    if sl and h >= sl then close_position(slip(mmax(o, sl), 1, b, a), "stop_loss"); return true end
    if tp and l <= tp then close_position(o < tp and o or tp, "take_profit"); return true end
  end
  return false
end

local function fill_pending(o, b, a)
  local order = pending
  pending = nil
  if order.kind == "exit" then
    if pos then close_position(slip(o, -pos.side, b, a), "signal", order.reason) end
  else
    local sign = order.side
    open_position(sign, slip(o, sign, b, a), order)
  end
end

-- actions -----------------------------------------------------------------------------------
local function check_fields(fname, res, action)
  local spec = ACTIONS[action]
  for k, v in next, res do
    if k ~= "action" then
      local want = spec[k]
      if want == nil then
        fail(sformat("%s returned action '%s' with unknown field '%s' (allowed: %s)",
                     fname, action, tostring(k), ACTIONS._fields[action]), fn_line(fname))
      end
      local got = type(v)
      if got ~= want then
        fail(sformat("%s returned action '%s' with field '%s' = %s; it must be a %s",
                     fname, action, k, got, want), fn_line(fname))
      end
      if want == "number" and (v ~= v or v == mhuge or v == -mhuge) then
        fail(sformat("%s returned action '%s' with field '%s' = %s; it must be a finite number",
                     fname, action, k, tostring(v)), fn_line(fname))
      end
    end
  end
end

local function positive(fname, action, field, v)
  if v ~= nil and v <= 0 then
    fail(sformat("%s returned action '%s' with %s = %s; it must be > 0", fname, action, field,
                 tostring(v)), fn_line(fname))
  end
end

local function enter(fname, res, side, h, l, c, b, a)
  positive(fname, res.action, "quantity", res.quantity)
  positive(fname, res.action, "price", res.price)
  local price = res.price
  local order = {kind = "enter", side = side, quantity = res.quantity, stop_loss = res.stop_loss,
                 take_profit = res.take_profit, reason = res.reason}
  if price ~= nil and price >= l and price <= h then
    price = slip(price, side, b, a)
  elseif cfg.next_open then
    pending = order
    return "order placed for the next bar's open"
  else
    price = slip(c, side, b, a)
  end
  local sl, tp = order.stop_loss, order.take_profit
  if sl and (sl - price) * side >= 0 then
    fail(sformat("%s: stop_loss %s is on the wrong side of the %s entry price %s", fname,
                 tostring(sl), side == 1 and "long" or "short", tostring(price)), fn_line(fname))
  end
  if tp and (tp - price) * side <= 0 then
    fail(sformat("%s: take_profit %s is on the wrong side of the %s entry price %s", fname,
                 tostring(tp), side == 1 and "long" or "short", tostring(price)), fn_line(fname))
  end
  open_position(side, price, order)
  return nil
end

local function apply(fname, res, h, l, c, b, a)
  if type(res) ~= "table" then
    fail(sformat("%s must return a table or nil, got a %s", fname, type(res)), fn_line(fname))
  end
  local action = rawget(res, "action")
  if action == nil then
    if state == "Idle" then            -- an opportunity: copy its fields into context
      for k, v in next, res do ctx[k] = v end
      transition("opportunity", rawget(res, "reason") or rawget(res, "signal"))
      return "opportunity"
    end
    fail(fname .. " returned a table without an 'action' field (valid actions: " ..
         ACTIONS._names .. ")", fn_line(fname))
  end
  if type(action) ~= "string" or ACTIONS[action] == nil then
    fail(sformat("%s returned unknown action '%s' (valid actions: %s)", fname, tostring(action),
                 ACTIONS._names), fn_line(fname))
  end
  check_fields(fname, res, action)
  stats.actions = stats.actions + 1
  if action == "enter_long" or action == "enter_short" then
    if state == "InPosition" then return "ignored: already in a position" end
    if pending then return "ignored: an order is already pending" end
    return enter(fname, res, action == "enter_long" and 1 or -1, h, l, c, b, a) or action
  elseif action == "exit" then
    if state ~= "InPosition" then return "ignored: no position to exit" end
    if pending then return "ignored: an order is already pending" end
    local price = res.price
    local side = -pos.side
    if price ~= nil and price >= l and price <= h then
      close_position(slip(price, side, b, a), "signal", res.reason)
    elseif cfg.next_open then
      pending = {kind = "exit", reason = res.reason}
      return "exit order placed for the next bar's open"
    else
      close_position(slip(c, side, b, a), "signal", res.reason)
    end
    return "exit"
  elseif action == "update_stop_loss" then
    if state ~= "InPosition" then return "ignored: no position" end
    if res.new_stop == nil then fail(fname .. ": update_stop_loss needs new_stop", fn_line(fname)) end
    pos.stop_loss = res.new_stop
    return "stop_loss=" .. tostring(res.new_stop)
  elseif action == "update_take_profit" then
    if state ~= "InPosition" then return "ignored: no position" end
    if res.new_target == nil then fail(fname .. ": update_take_profit needs new_target", fn_line(fname)) end
    pos.take_profit = res.new_target
    return "take_profit=" .. tostring(res.new_target)
  elseif action == "start_analyzing" then
    if state ~= "Idle" then return "ignored: not idle" end
    for k, v in next, res do if k ~= "action" then ctx[k] = v end end
    transition("opportunity", res.reason)
    return action
  else -- cancel_analysis
    if state ~= "Analyzing" then return "ignored: not analyzing" end
    transition("cancel_analysis", res.reason)
    return action
  end
end

-- the bar step --------------------------------------------------------------------------------
local function refresh_posview(c)
  if pos == nil then return nil end
  local pv = posview
  pv.side = pos.side == 1 and "long" or "short"
  pv.entry_price = pos.entry_price
  pv.quantity = pos.quantity
  pv.entry_time = pos.entry_time
  pv.stop_loss = pos.stop_loss
  pv.take_profit = pos.take_profit
  pv.unrealized_pnl = (c - pos.entry_price) * pos.quantity * pos.side
  pv.bars_held = cur - pos.entry_bar
  return pv
end

local function step(i, ts, o, h, l, c, v, b, a)
  ticks = 0
  cur, cur_time = i, ts
  stats.bars = stats.bars + 1
  local m = md
  m.timestamp, m.open, m.high, m.low, m.close, m.volume = ts, o, h, l, c, v
  m.bid, m.ask, m.mid_price = b, a, (b + a) * 0.5
  if pending then fill_pending(o, b, a) end
  local started = state
  if started == "InPosition" then
    if pos.entry_bar < i then
      local side, q, e = pos.side, pos.quantity, pos.entry_price
      local best = (side == 1 and (h - e) or (e - l)) * q
      local worst = (side == 1 and (l - e) or (e - h)) * q
      if best > pos.mfe then pos.mfe = best end
      if worst < pos.mae then pos.mae = worst end
      if check_exits(o, h, l, b, a) then
        if decision_cap > 0 then record_decision("-", trades[#trades].exit_reason, nil, started, c) end
        return
      end
    end
  end
  local fname = STATE_FN[started]
  if #logbuf > 0 then logbuf = {} end
  stats.calls = stats.calls + 1
  local ok, res = xpcall(fns[started], on_error, m, ctx, ind, refresh_posview(c))
  if not ok then
    handling = false
    if type(res) ~= "table" then res = {message = tostring(res), kind = "error"} end
    if res.message == MEMORY_MSG then res.kind = "memory" end
    -- a tail call (`return f(x)`) erases the strategy's frame: name the function instead
    if res.line == nil then res.line = fn_line(fname) end
    failure = res
    error(res, 0)
  end
  local outcome
  if res ~= nil then
    outcome = apply(fname, res, h, l, c, b, a)
  elseif started == "Analyzing" then
    analyzing_bars = analyzing_bars + 1
    if analyzing_bars >= cfg.max_analyzing_bars then
      transition("analysis_timeout", "no commitment within " .. cfg.max_analyzing_bars .. " bars")
      outcome = "analysis_timeout"
    end
  end
  if decision_cap > 0 then
    record_decision(fname, outcome or (res == nil and "nil" or "ok"), nil, started, c)
  end
end

-- public entry points (called from Python through engine/sandbox.py) --------------------------
local bar_data, BAR_FMT, ROW = nil, "<jddddddd", 64

function K.setup(config, transitions_table, actions, state_fns, indicator_specs, field_names,
                 series_loader)
  cfg = config
  TRANSITIONS, ACTIONS, STATE_FN, load_series_raw = transitions_table, actions, state_fns, series_loader
  tick_limit = mmax(1, config.instruction_budget // HOOK_EVERY)
  decision_cap = config.decision_log_size
  strategy_file = config.file
  strategy_source = "@" .. config.file
  md = {symbol = config.symbol, timeframe = config.timeframe}
  posview = {}
  ind = make_indicators(indicator_specs, field_names)
  string.dump = nil
  debug.sethook(hook, "", HOOK_EVERY)
end

-- Compile and run the strategy chunk in a fresh environment; returns nil or an error table.
function K.load(code, params)
  ticks = 0
  env = make_env(params)
  ctx = {}
  local chunk, message = load(code, strategy_source, "t", env)
  if chunk == nil then return {message = message, kind = "syntax"} end
  local ok, err = xpcall(chunk, on_error)
  handling = false
  if not ok then return err end
  for _, fname in next, {"detect_opportunity", "filter_commitment", "manage_position"} do
    if type(rawget(env, fname)) ~= "function" then
      return {message = "missing function " .. fname ..
              "(market_data, context, indicators, position): define it as a global function",
              kind = "contract"}
    end
  end
  fns.Idle = env.detect_opportunity
  fns.Analyzing = env.filter_commitment
  fns.InPosition = env.manage_position
  return nil
end

-- Reset per-run state (randomized runs reuse the runtime and the indicator caches).
function K.reset()
  state, pos, pending, realized, analyzing_bars = "Idle", nil, nil, 0.0, 0
  trades, transitions, decisions, decision_head = {}, {}, {}, 0
  stats = {bars = 0, actions = 0, ignored = 0, calls = 0}
  failure = nil
end

function K.set_bars(data)
  bar_data = data
end

local function protected(fn, ...)
  local ok, err = pcall(fn, ...)
  handling = false
  if ok then return nil end
  if type(err) ~= "table" then
    local kind = blown and "budget" or (err == MEMORY_MSG and "memory" or "kernel")
    err = {message = tostring(err), kind = kind}
  end
  return err
end

local function run_bars(from, to)
  local u, data, fmt = sunpack, bar_data, BAR_FMT
  local p = (from - 1) * ROW + 1
  local ts, o, h, l, c, v, b, a
  for i = from, to do
    ts, o, h, l, c, v, b, a, p = u(fmt, data, p)
    step(i, ts, o, h, l, c, v, b, a)
  end
end

-- Run bars from..to (1-based) of the packed data; nil on success, else an error table.
function K.run(from, to) return protected(run_bars, from, to) end

-- Process one live bar; nil on success, else an error table.
function K.step(i, ts, o, h, l, c, v, b, a) return protected(step, i, ts, o, h, l, c, v, b, a) end

-- Close what is still open at the last bar's close (reason end_of_data or manual).
function K.close_open(reason, price)
  return protected(function()
    pending = nil
    if pos then close_position(price, reason) end
    if state == "Analyzing" and reason == "manual" then transition("manual", "closed by user") end
  end)
end

function K.results() return trades, transitions end

function K.snapshot()
  local p = nil
  if pos then
    p = {side = pos.side == 1 and "long" or "short", entry_price = pos.entry_price,
         quantity = pos.quantity, entry_time = pos.entry_time, entry_bar = pos.entry_bar,
         stop_loss = pos.stop_loss, take_profit = pos.take_profit,
         mfe = pos.mfe, mae = pos.mae, bars_held = cur - pos.entry_bar,
         entry_commission = pos.entry_commission}
  end
  local context = {}
  if ctx then
    for k, v in next, ctx do
      local tk, tv = type(k), type(v)
      if tk == "string" and (tv == "string" or tv == "number" or tv == "boolean") then
        context[k] = v
      end
    end
  end
  local ordered = {}
  for n = 1, decision_cap do
    local idx = (decision_head - n) % decision_cap + 1
    local d = decisions[idx]
    if d == nil then break end
    ordered[#ordered + 1] = d
  end
  return {state = state, position = p, context = context, realized = realized,
          bar = cur, time = cur_time, bars = stats.bars, actions = stats.actions,
          calls = stats.calls, pending = pending and pending.kind or nil,
          decisions = ordered}
end

function K.set_budget_handling(flag) handling = flag end

return K
