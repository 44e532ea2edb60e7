-- Trusted kernel: runs one strategy in a sandbox and drives its state machine bar by bar.
--
-- Loaded by engine/sandbox.py into a fresh lua54 runtime per strategy instance. Strategy code
-- never sees this file's locals: it runs in its own environment table (make_env below) with a
-- whitelisted standard library, an instruction budget and the runtime's memory cap.
-- The transition table, the action schema and the fill settings come from Python as data
-- (engine/state_machine.py, engine/contract.py, engine/sim_config.py).
--
-- Speed: K.run(from, to) loops over bars packed into one binary string (string.unpack per bar,
-- no table per bar) and reuses one market_data table. Strategy functions run inside one
-- long-lived coroutine that carries the instruction-count hook; the kernel's own loop runs
-- unhooked (a count hook makes Lua 5.4 trap every instruction, ~70 % slower). Because kernel
-- code is unhooked it must never run strategy code: results and kernel-owned tables are
-- refused metatables, and strategy values are only read raw.
-- Live runners call K.step() once per bar: the same code.

local K = {}

local sunpack, mhuge, mmax, mmin = string.unpack, math.huge, math.max, math.min
local mtointeger = math.tointeger
local type, next, rawget, rawset, getinfo = type, next, rawget, rawset, debug.getinfo
local pcall = pcall
local setmetatable, getmetatable, tostring, error, select = setmetatable, getmetatable, tostring, error, select
local sformat, tconcat = string.format, table.concat
local co_create, co_resume, co_yield, sethook = coroutine.create, coroutine.resume, coroutine.yield, debug.sethook

local BUDGET_MSG = "instruction budget exceeded (the strategy ran too long in one call; look for an endless loop)"
local MEMORY_MSG = "not enough memory"

-- configuration (K.setup) -------------------------------------------------------------------
local cfg, TRANSITIONS, ACTIONS, STATE_FN
local strategy_source
local fns = {}                  -- state name -> strategy function

-- budget: a count hook on the strategy coroutine only -------------------------------------
local HOOK_EVERY = 1000
local ticks, tick_limit, blown, trusted = 0, 1000, false, false
-- A strategy line sampled by the hook every 16 ticks: the line an error reports when the
-- failed coroutine's stack cannot be read (memory exhausted by deep recursion).
local SAMPLE_EVERY = 16
local sampled_line = nil

local function hook()
  ticks = ticks + 1
  if ticks % SAMPLE_EVERY == 0 then
    local got, info = pcall(getinfo, 3, "Sl")  -- 0 getinfo, 1 pcall, 2 hook, 3 the strategy
    if got and info and info.source == strategy_source then sampled_line = info.currentline end
  end
  if ticks > tick_limit and not trusted then
    blown = true
    error(BUDGET_MSG, 0)
  end
end

local function runner_body(fn, a, b, c, d)
  while true do
    fn, a, b, c, d = co_yield(fn(a, b, c, d))
  end
end

local runner
local function new_runner()
  runner = co_create(runner_body)
  sethook(runner, hook, "", HOOK_EVERY)
end

-- runner state ------------------------------------------------------------------------------
local state = "Idle"
local cur, cur_time = 0, 0       -- current bar index and time
local pos = nil                  -- open position (kernel-owned)
local pending = nil              -- order waiting for the next bar's open
local realized, analyzing_bars = 0.0, 0
local ctx, ind, md, posview, env
-- Closed trades and transitions are stored as flat numeric arrays (strings as codes from
-- Python): Python copies a flat array in one pass, much faster than a table per record.
local TRADE_WIDTH, TRANSITION_WIDTH = 15, 5
local STATE_CODE, TRIGGER_CODE
local trade_nums, n_trades, last_exit_reason = {}, 0, nil
local transition_nums, transition_reasons, n_transitions = {}, {}, 0
local decisions, logbuf, logged = {}, {}, false
local decision_cap, decision_head = 0, 0
local last_result = nil          -- the result of the last decision recorded (K.step returns it)
local n_bars, n_actions = 0, 0
local protected_tables = setmetatable({}, {__mode = "k"})

local function safe_str(v)
  local t = type(v)
  if t == "string" or t == "number" or t == "boolean" or t == "nil" then return tostring(v) end
  return "<" .. t .. ">"
end

-- errors ------------------------------------------------------------------------------------
local function fail(message, line, kind)
  error({message = message, line = line, kind = kind or "contract"}, 0)
end

local function fn_line(fname)
  local f = env and rawget(env, fname)
  if type(f) == "function" then return getinfo(f, "S").linedefined end
  return nil
end

-- The error table for a strategy call that failed in the runner coroutine (which then dies:
-- a new one replaces it). The dead coroutine keeps its stack, so the strategy line is found.
local function strategy_failure(res)
  local line = nil
  for level = 0, 80 do
    -- after a stack overflow getinfo itself may fail: the message then carries the line
    local got, info = pcall(getinfo, runner, level, "Sl")
    if not got or info == nil then break end
    if info.source == strategy_source and info.currentline and info.currentline > 0 then
      line = info.currentline
      break
    end
  end
  line = line or sampled_line
  local kind = "error"
  if blown then kind, res = "budget", BUDGET_MSG
  elseif res == MEMORY_MSG then kind = "memory"
  elseif type(res) ~= "string" then res = "error(" .. type(res) .. ") raised with a non-string value" end
  new_runner()
  blown = false
  return {message = res, line = line, kind = kind}
end

-- Run fn(a) under the budget (used for the file's top level). Returns true, result or
-- false, error table.
local function call_strategy(fn, a)
  ticks = 0
  sampled_line = nil
  local ok, res = co_resume(runner, fn, a)
  if ok then return true, res end
  return false, strategy_failure(res)
end

-- guards for C library calls ----------------------------------------------------------------
-- The instruction budget only counts Lua instructions: one C call (string.rep, table.move, a
-- backtracking pattern) could run for minutes. These wrappers check sizes first and raise a
-- clear error naming the function and the limit (limits and their reasons: README "Sandbox").
local srep, sfind, smatch, sgmatch, sgsub = string.rep, string.find, string.match, string.gmatch, string.gsub
local sbyte, tmove, tonumber = string.byte, table.move, tonumber
local MAX_RESULT = 16 * 1024 * 1024      -- bytes a string.rep/concat/format result may have
local MAX_ELEMENTS = 1000000             -- elements table.move/table.concat may touch
local MAX_SUBJECT = 100000               -- bytes of a pattern function's subject
local MAX_PATTERN = 1000                 -- bytes of a pattern
local MAX_STEPS = 3000000                -- estimated worst-case matcher steps (~45 ms)

local function big(n)
  if n < 1e6 then return sformat("%d", mtointeger(n) or n // 1) end
  return (sgsub(sformat("%.1e", n), "e%+?0*", "e"))
end

-- level 3: the strategy line that called the guarded function (4 from check_pattern)
local function guard_error(message, level) error(message, level or 3) end

local function rep(s, n, sep)
  local count = tonumber(n)
  if count and count > 0 then
    count = count + 0.0  -- float arithmetic: integer products would wrap around
    local ls = type(s) == "string" and #s or #tostring(s)
    local lsep = type(sep) == "string" and #sep or (sep ~= nil and #tostring(sep) or 0)
    local bytes = ls * count + lsep * (count - 1)
    if bytes > MAX_RESULT then
      guard_error(sformat("string.rep: result of %s bytes exceeds the 16 MiB limit", big(bytes)))
    end
    if count > MAX_RESULT then
      guard_error(sformat("string.rep: %s repetitions exceed the limit of 16 Mi", big(count)))
    end
  end
  return srep(s, n, sep)
end

local function move(a1, f, e, t, a2)
  local first, last = tonumber(f), tonumber(e)
  if first and last and last >= first and last - (first + 0.0) + 1 > MAX_ELEMENTS then
    guard_error(sformat("table.move: %s elements exceed the limit of %d",
                        big(last - (first + 0.0) + 1), MAX_ELEMENTS))
  end
  return tmove(a1, f, e, t, a2)
end

local function concat(list, sep, i, j)
  local first = tonumber(i) or 1
  local last = tonumber(j)
  if last == nil and type(list) == "table" then last = #list end
  if last and last >= first then
    local n = last - (first + 0.0) + 1
    if n > MAX_ELEMENTS then
      guard_error(sformat("table.concat: %s elements exceed the limit of %d", big(n),
                          MAX_ELEMENTS))
    end
    local lsep = type(sep) == "string" and #sep or 0
    if lsep * (n - 1) > MAX_RESULT then
      guard_error(sformat("table.concat: separators alone make %s bytes, over the 16 MiB limit",
                          big(lsep * (n - 1))))
    end
  end
  return tconcat(list, sep, i, j)
end

-- Lua 5.4 already refuses widths and precisions over 99; what is left is a huge format string
-- or many wide conversions: estimate the result (widths at 99, %s at its argument's length).
local function format(fmt, ...)
  if type(fmt) == "string" then
    if #fmt > MAX_SUBJECT then
      guard_error(sformat("string.format: a format of %s bytes exceeds the %d-byte limit",
                          big(#fmt), MAX_SUBJECT))
    end
    local estimate = #fmt
    for k = 1, select("#", ...) do
      local v = select(k, ...)
      estimate = estimate + (type(v) == "string" and #v or 99)
    end
    if estimate > MAX_RESULT then
      guard_error(sformat("string.format: result of about %s bytes exceeds the 16 MiB limit",
                          big(estimate)))
    end
  end
  return sformat(fmt, ...)
end

-- Pattern cost: each repetition item (*, +, -), %b and back-reference can make the matcher
-- try every length for it, so a failing search over an n-byte subject tries up to
-- n^r / r! splits, r = repetitions + 1 for the start position (+0 when anchored with ^); at
-- least items * n steps; each '?' doubles it. The matcher does ~70 M steps/s here, so the
-- 3e6-step limit keeps one call under ~45 ms (one repetition: subjects up to ~2,400 bytes).
local FACTORIAL = {1}
for k = 2, 20 do FACTORIAL[k] = FACTORIAL[k - 1] * k end
local SPECIALS = "[%^%$%*%+%?%.%(%)%[%]%%%-]"
local costs, n_costs = {}, 0

local function analyse(p)
  local c = costs[p]
  if c then return c end
  local len, i, items, reps, doubles = #p, 1, 0, 0, 0
  local anchored = sbyte(p, 1) == 94  -- '^'
  if anchored then i = 2 end
  while i <= len do
    local ch = sbyte(p, i)
    local single = true
    if ch == 40 or ch == 41 then        -- ( )
      single, i = false, i + 1
    elseif ch == 37 then                -- %
      local nx = sbyte(p, i + 1)
      if nx == 98 then                  -- %bxy
        reps, items, single, i = reps + 1, items + 1, false, i + 4
      elseif nx == 102 then             -- %f[set]
        i = i + 2
        local close = sfind(p, "]", i + 2, true) or len
        items, single, i = items + 1, false, close + 1
      elseif nx and nx >= 49 and nx <= 57 then  -- %1..%9
        reps, items, single, i = reps + 1, items + 1, false, i + 2
      else
        i = i + 2
      end
    elseif ch == 91 then                -- [set]
      local k = i + 1
      if sbyte(p, k) == 94 then k = k + 1 end
      k = k + 1                         -- a ']' first in a set is literal
      while k <= len and sbyte(p, k) ~= 93 do
        if sbyte(p, k) == 37 then k = k + 1 end
        k = k + 1
      end
      i = k + 1
    elseif ch == 36 and i == len then   -- final $
      single, i = false, i + 1
    else
      i = i + 1
    end
    if single then
      items = items + 1
      local q = sbyte(p, i)
      if q == 42 or q == 43 or q == 45 then reps, i = reps + 1, i + 1
      elseif q == 63 then doubles, i = doubles + 1, i + 1 end
    end
  end
  c = {items = items, reps = reps + (anchored and 0 or 1), doubles = doubles,
       plain = sfind(p, SPECIALS) == nil}
  if n_costs >= 1000 then costs, n_costs = {}, 0 end
  costs[p], n_costs = c, n_costs + 1
  return c
end

local function check_pattern(fname, s, p, plain)
  if type(s) ~= "string" or type(p) ~= "string" then return end  -- the C function complains
  local n = #s
  if n > MAX_SUBJECT then
    guard_error(sformat("%s: a subject of %s bytes exceeds the %d-byte limit for pattern functions",
                        fname, big(n), MAX_SUBJECT), 4)
  end
  if #p > MAX_PATTERN then
    guard_error(sformat("%s: a pattern of %s bytes exceeds the %d-byte limit", fname, big(#p),
                        MAX_PATTERN), 4)
  end
  if plain then return end
  local c = analyse(p)
  if c.plain then return end
  local steps = mmax(c.items * n, n ^ c.reps / FACTORIAL[mmin(c.reps, 20)]) * 2 ^ c.doubles
  if steps > MAX_STEPS then
    guard_error(sformat("%s: pattern '%s' on a %s-byte subject could take %s matching steps " ..
                        "(limit %d); use a shorter subject or fewer repetitions (*, +, -, ?, %%b)",
                        fname, p, big(n), big(steps), MAX_STEPS), 4)
  end
end

local function find(s, p, init, plain)
  check_pattern("string.find", s, p, plain)
  return sfind(s, p, init, plain)
end

local function match(s, p, init)
  check_pattern("string.match", s, p, false)
  return smatch(s, p, init)
end

local function gmatch(s, p, init)
  check_pattern("string.gmatch", s, p, false)
  return sgmatch(s, p, init)
end

local function gsub(s, p, repl, n)
  check_pattern("string.gsub", s, p, false)
  return sgsub(s, p, repl, n)
end

local GUARDED_STRING = {rep = rep, format = format, find = find, match = match, gmatch = gmatch,
                        gsub = gsub}
local GUARDED_TABLE = {move = move, concat = concat}
local string_meta = getmetatable("")

-- sandbox -----------------------------------------------------------------------------------
local function copy(t, skip)
  local c = {}
  for k, v in next, t do if not (skip and skip[k]) then c[k] = v end end
  return c
end

local function rethrow_limits(ok, ...)
  if not ok then
    if blown then error(BUDGET_MSG, 0) end
    if (...) == MEMORY_MSG then error(MEMORY_MSG, 0) end
  end
  return ok, ...
end

local function log_line(...)
  local n = select("#", ...)
  local parts = {}
  for i = 1, n do parts[i] = safe_str((select(i, ...))) end
  if #logbuf < 50 then logbuf[#logbuf + 1] = tconcat(parts, " ") end
  logged = true
end

local function make_env(params)
  local e = {}
  for _, name in next, {"pairs", "ipairs", "next", "select", "type", "tostring", "tonumber",
                        "error", "assert", "rawget", "rawset", "rawequal", "rawlen"} do
    e[name] = _G[name]
  end
  e.math = copy(math)
  e.string = copy(string, {dump = true})
  for name, f in next, GUARDED_STRING do e.string[name] = f end
  e.table = copy(table)
  for name, f in next, GUARDED_TABLE do e.table[name] = f end
  string_meta.__index = e.string  -- ("x"):rep(n) goes through the guards too
  e.utf8 = copy(utf8)
  e.unpack = table.unpack
  e.pcall = function(f, ...) return rethrow_limits(pcall(f, ...)) end
  e.xpcall = function(f, h, ...) return rethrow_limits(xpcall(f, h, ...)) end
  e.getmetatable = function(o)
    if type(o) == "string" then return nil end
    return getmetatable(o)
  end
  e.setmetatable = function(t, mt)
    if protected_tables[t] then error("market_data and context cannot have a metatable", 2) end
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
-- load_series_raw(name, a, b, c) is a Python callback returning a table of outputs or
-- (nil, message). Trusted work (building a series in Lua) is not charged to the budget.
local load_series_raw

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
  local by_period, cache = {}, {}
  local function slow(a, b, c)
    local s = series_for(cache, name, a, b, c).value
    if b == nil and c == nil and a ~= nil then by_period[a] = s end
    return s[cur]
  end
  return function(a, b, c)
    local s = by_period[a or "_"]
    if s ~= nil and b == nil then return s[cur] end
    return slow(a, b, c)
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

-- The indicators table: the functions are plain fields (fast reads), the window fields come
-- from __index, and new keys are refused. Overwriting a function only affects this strategy.
local function make_indicators(specs, field_names)
  local funcs = {}
  for name, outputs in next, specs do
    if #outputs == 1 then funcs[name] = make_single(name) else funcs[name] = make_multi(name, outputs) end
  end
  local fields, valid = {}, {}
  for _, f in next, field_names do valid[f] = true end
  return setmetatable(funcs, {
    __index = function(_, key)
      local s = fields[key]
      if s == nil then
        if not valid[key] then error("unknown indicator '" .. safe_str(key) .. "'", 2) end
        local outputs, message = load_series("window", key)
        if outputs == nil then error(message, 2) end
        s = outputs.value
        fields[key] = s
      end
      return s[cur]
    end,
    __newindex = function(_, key)
      error("the indicators table is read-only (cannot set '" .. safe_str(key) .. "')", 2)
    end,
    __metatable = false,
  })
end

-- The position the strategy sees: a read-only proxy; per-bar values computed on access.
local function make_posview()
  local dynamic = {
    side = function(p) return p.side == 1 and "long" or "short" end,
    unrealized_pnl = function(p) return (md.close - p.entry_price) * p.quantity * p.side end,
    bars_held = function(p) return cur - p.entry_bar end,
  }
  local plain = {entry_price = true, quantity = true, entry_time = true, stop_loss = true,
                 take_profit = true}
  return setmetatable({}, {
    __index = function(_, key)
      local p = pos
      if p == nil then return nil end
      local f = dynamic[key]
      if f then return f(p) end
      if plain[key] then return p[key] end
      return nil
    end,
    __newindex = function() error("the position table is read-only", 2) end,
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
  local k = n_transitions * TRANSITION_WIDTH
  local t = transition_nums
  t[k + 1], t[k + 2], t[k + 3], t[k + 4], t[k + 5] =
    cur, cur_time, STATE_CODE[state], STATE_CODE[to], TRIGGER_CODE[trigger]
  n_transitions = n_transitions + 1
  transition_reasons[n_transitions] = reason or ""
  state = to
  analyzing_bars = 0
end

local function record_decision(fname, result, from_state, price)
  last_result = result
  decision_head = decision_head % decision_cap + 1
  decisions[decision_head] = {bar = cur, time = cur_time, price = price, state = from_state,
                              ["function"] = fname, result = result, to = state,
                              logs = logged and logbuf or nil}
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
  local k, t = n_trades * TRADE_WIDTH, trade_nums
  t[k + 1], t[k + 2], t[k + 3], t[k + 4], t[k + 5] =
    side, pos.entry_time, cur_time, pos.entry_bar, cur
  t[k + 6], t[k + 7], t[k + 8], t[k + 9], t[k + 10] =
    cur - pos.entry_bar, pos.entry_price, price, qty, pnl
  t[k + 11], t[k + 12], t[k + 13], t[k + 14], t[k + 15] =
    pnl / (pos.entry_price * qty) * 100, commission, pos.mfe, pos.mae, TRIGGER_CODE[reason]
  n_trades = n_trades + 1
  last_exit_reason = reason
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

-- Excursions, then stop/target: a stop or target fills at its level, or at the open when the
-- bar opens beyond it; the stop first when both lie inside the bar. True when it closed.
local function check_exits(o, h, l, b, a)
  local p = pos
  local side, q, e, sl, tp = p.side, p.quantity, p.entry_price, p.stop_loss, p.take_profit
  if side == 1 then
    local best, worst = (h - e) * q, (l - e) * q
    if best > p.mfe then p.mfe = best end
    if worst < p.mae then p.mae = worst end
    if sl and l <= sl then close_position(slip(mmin(o, sl), -1, b, a), "stop_loss"); return true end
    if tp and h >= tp then close_position(o > tp and o or tp, "take_profit"); return true end
  else
    local best, worst = (e - l) * q, (e - h) * q
    if best > p.mfe then p.mfe = best end
    if worst < p.mae then p.mae = worst end
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
    open_position(order.side, slip(o, order.side, b, a), order)
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
                     fname, action, safe_str(k), ACTIONS._fields[action]), fn_line(fname))
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

local function check_protection(fname, side, price, sl, tp)
  local label = side == 1 and "long" or "short"
  if sl and (sl - price) * side >= 0 then
    fail(sformat("%s: stop_loss %s is on the wrong side of the %s entry price %s", fname,
                 tostring(sl), label, tostring(price)), fn_line(fname))
  end
  if tp and (tp - price) * side <= 0 then
    fail(sformat("%s: take_profit %s is on the wrong side of the %s entry price %s", fname,
                 tostring(tp), label, tostring(price)), fn_line(fname))
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
  check_protection(fname, side, price, order.stop_loss, order.take_profit)
  open_position(side, price, order)
  return nil
end

local function exit_position(res, h, l, c, b, a)
  local price, side = res.price, -pos.side
  if price ~= nil and price >= l and price <= h then
    close_position(slip(price, side, b, a), "signal", res.reason)
  elseif cfg.next_open then
    pending = {kind = "exit", reason = res.reason}
    return "exit order placed for the next bar's open"
  else
    close_position(slip(c, side, b, a), "signal", res.reason)
  end
  return "exit"
end

local function apply(fname, res, h, l, c, b, a)
  if type(res) ~= "table" then
    fail(sformat("%s must return a table or nil, got a %s", fname, type(res)), fn_line(fname))
  end
  if getmetatable(res) ~= nil then
    fail(fname .. " returned a table with a metatable; return a plain table", fn_line(fname))
  end
  local action = res.action
  if action == nil then
    if state == "Idle" then            -- an opportunity: copy its fields into context
      for k, v in next, res do rawset(ctx, k, v) end
      local reason = res.reason or res.signal
      transition("opportunity", type(reason) == "string" and reason or nil)
      return "opportunity"
    end
    fail(fname .. " returned a table without an 'action' field (valid actions: " ..
         ACTIONS._names .. ")", fn_line(fname))
  end
  if type(action) ~= "string" or ACTIONS[action] == nil then
    fail(sformat("%s returned unknown action '%s' (valid actions: %s)", fname, safe_str(action),
                 ACTIONS._names), fn_line(fname))
  end
  check_fields(fname, res, action)
  n_actions = n_actions + 1
  if action == "enter_long" or action == "enter_short" then
    if state == "InPosition" then return "ignored: already in a position" end
    if pending then return "ignored: an order is already pending" end
    return enter(fname, res, action == "enter_long" and 1 or -1, h, l, c, b, a) or action
  elseif action == "exit" then
    if state ~= "InPosition" then return "ignored: no position to exit" end
    if pending then return "ignored: an order is already pending" end
    return exit_position(res, h, l, c, b, a)
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
    for k, v in next, res do if k ~= "action" then rawset(ctx, k, v) end end
    transition("opportunity", res.reason)
    return action
  else -- cancel_analysis
    if state ~= "Analyzing" then return "ignored: not analyzing" end
    transition("cancel_analysis", res.reason)
    return action
  end
end

-- the bar loop ------------------------------------------------------------------------------
-- Rows first..last of `data` (packed "<jddddddd": ts, o, h, l, c, v, bid, ask) are bars
-- first+offset..last+offset. Backtests pass all bars; live runners pass one row per call.
-- Per bar: fill a pending order at the open, then (InPosition, from the bar after entry)
-- excursions and stop/target; unless that closed the position, exactly one strategy call: the
-- function of the state the bar started in.
local BAR_FMT, ROW = "<jddddddd", 64

local function run_rows(data, first, last, offset)
  n_bars = n_bars + (last - first + 1)  -- counted up front; a failed run stops the runner anyway
  local u, fmt, m = sunpack, BAR_FMT, md
  local p = (first - 1) * ROW + 1
  local ts, o, h, l, c, v, b, a
  for r = first, last do
    ts, o, h, l, c, v, b, a, p = u(fmt, data, p)
    local i = r + offset
    cur, cur_time = i, ts
    -- an integral volume is a Lua integer, as upstream passes it (string.format("%d") works)
    m.timestamp, m.open, m.high, m.low, m.close, m.volume = ts, o, h, l, c, mtointeger(v) or v
    m.bid, m.ask, m.mid_price = b, a, (b + a) * 0.5
    if pending then fill_pending(o, b, a) end
    local started = state
    if started == "InPosition" and pos.entry_bar < i and check_exits(o, h, l, b, a) then
      if decision_cap > 0 then record_decision("-", last_exit_reason, started, c) end
    else
      if logged then logbuf = {}; logged = false end
      ticks, sampled_line = 0, nil
      local ok, res = co_resume(runner, fns[started], m, ctx, ind, pos and posview or nil)
      if not ok then
        local err = strategy_failure(res)
        -- a tail call (`return f(x)`) leaves no frame of ours: name the function instead
        if err.line == nil then err.line = fn_line(STATE_FN[started]) end
        error(err, 0)
      end
      local outcome
      if res ~= nil then
        outcome = apply(STATE_FN[started], res, h, l, c, b, a)
      elseif started == "Analyzing" then
        analyzing_bars = analyzing_bars + 1
        if analyzing_bars >= cfg.max_analyzing_bars then
          transition("analysis_timeout", "no commitment within " .. cfg.max_analyzing_bars .. " bars")
          outcome = "analysis_timeout"
        end
      end
      if decision_cap > 0 then
        record_decision(STATE_FN[started], outcome or (res == nil and "nil" or "ok"), started, c)
      end
    end
  end
end

-- public entry points (called from Python through engine/sandbox.py) --------------------------
local bar_data = nil
local ind_specs, ind_fields

function K.setup(config, transitions_table, actions, state_fns, indicator_specs, field_names,
                 series_loader, state_codes, trigger_codes)
  cfg = config
  STATE_CODE, TRIGGER_CODE = state_codes, trigger_codes
  TRANSITIONS, ACTIONS, STATE_FN = transitions_table, actions, state_fns
  load_series_raw = series_loader
  tick_limit = mmax(1, config.instruction_budget // HOOK_EVERY)
  decision_cap = config.decision_log_size
  strategy_source = "@" .. config.file
  md = {symbol = config.symbol, timeframe = config.timeframe}
  protected_tables[md] = true
  posview = make_posview()
  ind_specs, ind_fields = indicator_specs, field_names
  ind = make_indicators(indicator_specs, field_names)
  string.dump = nil
  new_runner()
end

-- Reset per-run state (randomized runs reuse the runtime and the indicator caches).
function K.reset()
  state, pos, pending, realized, analyzing_bars = "Idle", nil, nil, 0.0, 0
  trade_nums, n_trades, transition_nums, transition_reasons, n_transitions = {}, 0, {}, {}, 0
  decisions, decision_head = {}, 0
  n_bars, n_actions = 0, 0
end

-- Compile and run the strategy chunk in a fresh environment; returns nil or an error table.
function K.load(code, params)
  env = make_env(params)
  ctx = {}
  protected_tables[ctx] = true
  local chunk, message = load(code, strategy_source, "t", env)
  if chunk == nil then return {message = message, kind = "syntax"} end
  local ok, err = call_strategy(chunk)
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

function K.set_bars(data)
  bar_data = data
end

local function protected(fn, ...)
  local ok, err = pcall(fn, ...)
  if ok then return nil end
  if type(err) ~= "table" then
    err = {message = tostring(err), kind = err == MEMORY_MSG and "memory" or "kernel"}
  end
  return err
end

-- Run bars from..to (1-based) of the packed data; nil on success, else an error table.
function K.run(from, to) return protected(run_rows, bar_data, from, to, 0) end

-- Process one live bar (index i, one packed row). Returns an error table or nil, then the
-- counts of trades, transitions and actions so far (cheap change detection for the caller)
-- and this bar's decision result (nil without a decision log).
function K.step(i, row)
  last_result = nil
  return protected(run_rows, row, 1, 1, i - 1), n_trades, n_transitions, n_actions, last_result
end

-- Decision-log entries for bars after `after_bar`, oldest first (at most the log size).
function K.decisions_after(after_bar)
  local out = {}
  for n = decision_cap, 1, -1 do
    local d = decisions[(decision_head - n) % decision_cap + 1]
    if d ~= nil and d.bar > after_bar then out[#out + 1] = d end
  end
  return out
end

-- Restore a saved runner state (a snapshot's state, position, context, realized P&L).
function K.restore(saved_state, p, context, saved_realized, bars, at_bar)
  state, realized, n_bars, cur = saved_state, saved_realized, bars, at_bar
  pos = nil
  if p then
    pos = {side = p.side == "long" and 1 or -1, entry_price = p.entry_price,
           quantity = p.quantity, entry_time = p.entry_time, entry_bar = p.entry_bar,
           stop_loss = p.stop_loss, take_profit = p.take_profit,
           entry_commission = p.entry_commission or 0.0, mfe = p.mfe or 0.0, mae = p.mae or 0.0}
  end
  for k, v in next, context do rawset(ctx, k, v) end
end

-- Close what is still open at ``price`` (reason end_of_data or manual).
function K.close_open(reason, price)
  return protected(function()
    pending = nil
    if pos then close_position(price, reason) end
    if state == "Analyzing" and reason == "manual" then transition("manual", "closed by user") end
  end)
end

-- Trades and transitions recorded after the first `trades_seen` / `transitions_seen` ones:
-- flat trade numbers, flat transition numbers, transition reasons.
function K.results(trades_seen, transitions_seen)
  local tn, rn, rr = {}, {}, {}
  table.move(trade_nums, trades_seen * TRADE_WIDTH + 1, n_trades * TRADE_WIDTH, 1, tn)
  table.move(transition_nums, transitions_seen * TRANSITION_WIDTH + 1,
             n_transitions * TRANSITION_WIDTH, 1, rn)
  table.move(transition_reasons, transitions_seen + 1, n_transitions, 1, rr)
  return tn, rn, rr
end

-- Drop the trades and transitions recorded so far (a live runner has taken them with
-- K.results), so a long-running strategy's memory stays flat; the counts restart at 0.
function K.forget_results()
  trade_nums, n_trades, transition_nums, transition_reasons, n_transitions = {}, 0, {}, {}, 0
end

-- Drop every cached indicator series (new bars follow: a synthetic price path); the next read
-- of each series asks Python again.
function K.forget_series()
  ind = make_indicators(ind_specs, ind_fields)
end

function K.snapshot(with_decisions)
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
  for n = 1, with_decisions and decision_cap or 0 do
    local idx = (decision_head - n) % decision_cap + 1
    local d = decisions[idx]
    if d == nil then break end
    ordered[#ordered + 1] = d
  end
  return {state = state, position = p, context = context, realized = realized,
          bar = cur, time = cur_time, bars = n_bars, actions = n_actions,
          pending = pending and pending.kind or nil, decisions = ordered}
end

return K
