-- Hostile scripts (issue 11). Each attack runs as the only child of the test process (see
-- attack.lua): it must end alone with a clear error, the parent's 10 ms ticker must stay
-- within 100 ms, no message may reach the parent and no shared table may change.
local assert = require("assert")
local attack = require("attack")

local FEW = { host = "app:few_instructions" }
-- 8 MiB: one timer per KiB, one channel per 512 bytes of it
local SMALL = { host = "app:small_memory" }

local M = {}

local function returned(value)
  return function(ev)
    assert.eq(ev.result.error, nil, "the child ends normally")
    assert.eq(ev.result.value, value)
  end
end

------------------------------------------------------------------------------------------
-- isolation and forgery

function M.pairs_of_string_gives_no_shared_table()
  attack.run([[
    local _, s = pairs(string)
    s.upper = function() return "PWNED" end
  ]], "attempt to modify read-only table 'string'")
end

function M.pairs_of_every_library_gives_no_shared_table()
  attack.run([[
    local refused = 0
    for _, name in ipairs({ "table", "math", "process", "time", "channel", "coroutine", "os" }) do
      local _, t = pairs(_G[name])
      local ok = pcall(function() t.first = function() return "PWNED" end end)
      local ok2 = pcall(rawset, t, "second", 1)
      if not ok and not ok2 then refused = refused + 1 end
      for k, v in pairs(_G[name]) do
        if type(v) == "table" then pcall(function() v.send = print end) end
      end
    end
    error("refused " .. refused .. " of 7")
  ]], "refused 7 of 7")
end

function M.replacing_process_send_through_pairs_is_refused()
  attack.run([[
    local _, p = pairs(process)
    p.send = function() return true end
  ]], "attempt to modify read-only table 'process'")
  assert.eq(process.send(process.pid(), "still", "mine"), true)
  local msg = process.inbox():receive()
  assert.eq(msg:from(), process.pid(), "the parent's own send still works")
end

function M.finalizer_cannot_forge_a_sender()
  attack.run([[
    local parent = ...
    setmetatable({}, { __gc = function() process.send(parent, "x", tostring(process.pid())) end })
    collectgarbage()
  ]], "setmetatable: __gc metamethods are not allowed")
  collectgarbage()
end

function M.finalizer_cannot_terminate_whoever_collects()
  attack.run([[
    setmetatable({}, { __gc = function() process.terminate(process.pid()) end })
  ]], "setmetatable: __gc metamethods are not allowed")
  collectgarbage()
  collectgarbage()
end

function M.finalizer_cannot_park_whoever_collects()
  attack.run([[
    setmetatable({}, { __gc = function() pcall(time.sleep, "50ms") end })
  ]], "setmetatable: __gc metamethods are not allowed")
  collectgarbage()
  time.sleep("60ms")
end

function M.finalizer_on_a_returned_table_is_refused()
  attack.run([[
    local parent = ...
    return setmetatable({}, { __gc = function() process.send(parent, "x", "from the receiver") end })
  ]], "setmetatable: __gc metamethods are not allowed")
  collectgarbage()
end

function M.finalizer_of_any_value_is_refused()
  attack.run([[
    local mt = { __gc = false }
    setmetatable({}, mt)
  ]], "setmetatable: __gc metamethods are not allowed")
end

-- Lua marks an object for finalization only if its metatable has __gc when set: one added
-- later never runs.
function M.finalizer_added_later_never_runs()
  attack.run([[
    local parent = ...
    local mt = {}
    local t = setmetatable({}, mt)
    mt.__gc = function() process.send(parent, "x", "late finalizer") end
    t = nil
    collectgarbage()
    collectgarbage()
    return "unmarked"
  ]], returned("unmarked"))
  collectgarbage()
end

function M.spinning_finalizer_is_refused()
  attack.run([[
    setmetatable({}, { __gc = function() while true do end end })
  ]], "setmetatable: __gc metamethods are not allowed")
  collectgarbage()
end

------------------------------------------------------------------------------------------
-- hangs

function M.sleep_in_a_sort_comparator_then_spin()
  attack.run([[
    table.sort({ 3, 2, 1 }, function(a, b) pcall(time.sleep, "1ms") return a < b end)
    while true do end
  ]], "instruction limit exceeded", FEW)
end

function M.receive_in_a_sort_comparator_then_spin()
  attack.run([[
    local ch = channel.new()
    table.sort({ 3, 2, 1 }, function(a, b) pcall(ch.receive, ch) return a < b end)
    while true do end
  ]], "instruction limit exceeded", FEW)
end

function M.sleep_in_a_load_reader_then_spin()
  attack.run([[
    local done = false
    load(function()
      if done then return nil end
      done = true
      pcall(time.sleep, "1ms")
      return "return 1"
    end)
    while true do end
  ]], "instruction limit exceeded", FEW)
end

function M.fresh_coroutines_in_a_comparator()
  attack.run([[
    table.sort({ 3, 2, 1 }, function(a, b)
      while true do pcall(coroutine.wrap(function() for i = 1, 20000 do end end)) end
    end)
  ]], "process ran too long inside a call that cannot yield")
end

function M.fresh_coroutines_in_tostring()
  attack.run([[
    tostring(setmetatable({}, { __tostring = function()
      while true do pcall(coroutine.wrap(function() for i = 1, 20000 do end end)) end
    end }))
  ]], "process ran too long inside a call that cannot yield")
end

function M.rep_of_the_empty_string_maxinteger_times()
  attack.run([[
    return #string.rep("", math.maxinteger) + #string.rep("", math.maxinteger, "")
  ]], returned(0))
end

function M.table_move_over_a_huge_range()
  attack.run([[
    table.move({}, 1, math.maxinteger - 1, 1, {})
  ]], "table.move: too many elements to move")
end

function M.backtracking_find()
  attack.run([[
    string.rep("a", 30000):find(".-.-.-b")
  ]], "string.find: pattern too costly")
end

function M.backtracking_gsub_and_match()
  attack.run([[
    local s = string.rep("a", 30000)
    local ok, err = pcall(string.gsub, s, ".-.-.-b", "")
    assert(not ok and err:find("string.gsub: pattern too costly", 1, true), err)
    s:match("a.-.-b")
  ]], "string.match: pattern too costly")
end

-- The matcher counts its steps while it runs (vendor/lua-src/MOONHOST.md): backtracking
-- that no estimate of the pattern foresees (each start position scanning the rest of the
-- subject) ends the call with a catchable error, and the slice yields right after.
function M.backtracking_class_gsub_over_32_kib()
  attack.run([[
    local ok, err = pcall(string.gsub, string.rep("a", 32768), "[%w_]*=", "")
    assert(not ok)
    error(err, 0)
  ]], "string.gsub: pattern too costly")
end

function M.backtracking_class_gmatch_over_32_kib()
  attack.run([[
    for m in string.rep("a", 32768):gmatch("[%w_]*=") do end
  ]], "string.gmatch: pattern too costly")
end

function M.backtracking_class_match_over_30_kib()
  attack.run([[
    local s = string.rep("a", 30000)
    local ok, err = pcall(string.match, s, "[%w_]*=")
    assert(not ok and err:find("string.match: pattern too costly", 1, true), err)
    s:match("%w*%w*%w*=")
  ]], "string.match: pattern too costly")
end

-- Large subjects with patterns that do little per byte still get their stock result.
function M.large_but_fine_matches_return_their_result()
  attack.run([[
    local lines = string.rep("abc\n", 1 << 18)
    local out, n = lines:gsub("\n", " ")
    assert(n == 1 << 18, n)
    assert(#out == 1 << 20 and out:sub(1, 8) == "abc abc " and not out:find("\n", 1, true))
    local k, v = ("key=" .. string.rep("v", 1 << 20)):match("^(.-)=(.*)$")
    assert(k == "key" and #v == 1 << 20)
    local words = 0
    for w in string.rep("word ", 1 << 17):gmatch("%a+") do words = words + 1 end
    assert(words == 1 << 17, words)
    return "all fine"
  ]], returned("all fine"))
end

------------------------------------------------------------------------------------------
-- starvation: the parent's ticker stays on time while the attack runs

-- (A fixed number of rounds, so the attack also ends on the virtual clock of --seed runs,
-- where a busy process moves time only a little per slice.)
function M.class_find_in_a_loop_over_one_mib()
  attack.run([[
    local s = string.rep("x", 1 << 20)
    for i = 1, 60 do s:find("[y]") end
    error("60 finds done")
  ]], "60 finds done")
end

function M.class_find_counts_against_the_instruction_limit()
  attack.run([[
    local s = string.rep("x", 1 << 20)
    while true do s:find("[y]") end
  ]], "instruction limit exceeded", FEW)
end

function M.full_collections_over_many_live_tables()
  attack.run([[
    local keep = {}
    for i = 1, 300000 do keep[i] = {} end
    for i = 1, 100 do collectgarbage() end
    error("100 collections done")
  ]], "100 collections done")
end

function M.rep_of_100_mib()
  attack.run([[
    local ok, err = pcall(string.rep, "x", 100 << 20)
    error(err)
  ]], "string.rep: resulting string too large (at most 64 MiB per call)")
end

function M.pack_with_a_huge_field()
  attack.run([[
    string.pack("c9223372036854775807")
  ]], "string.pack: field size 9223372036854775807 too large")
end

function M.gsub_callback_that_never_returns()
  attack.run([[
    string.gsub("x", "x", function() while true do end end)
  ]], "process ran too long inside a call that cannot yield")
end

function M.tostring_that_never_returns()
  attack.run([[
    tostring(setmetatable({}, { __tostring = function() while true do end end }))
  ]], "process ran too long inside a call that cannot yield")
end

------------------------------------------------------------------------------------------
-- memory outside the Lua heap

-- Each refusal below ends the attacker with the `nil, err` it got.
local function flood(call)
  return [[
    local keep = {}
    for i = 1, 1e9 do
      local v, err = ]] .. call .. [[
      if v == nil then error(err, 0) end
      keep[#keep + 1] = v
    end
  ]]
end

function M.cancel_reasons_in_a_loop()
  attack.run(flood([[process.cancel(process.pid(), string.rep("r", 1 << 20))]]),
    "cancel: reason too long (at most 16384 bytes)")
  attack.run(flood([[process.cancel(process.pid(), string.rep("r", 16 << 10))]]),
    "cancel: too many events waiting for the target (at most 256)")
end

function M.registered_names_in_a_loop()
  attack.run(flood([[process.registry.register(string.rep("n", 200) .. i)]]),
    "register: too many registered names for this process (at most 1000)")
  attack.run(flood([[process.registry.register(string.rep("n", 2000))]]),
    "register: name too long (at most 1024 bytes)")
end

function M.tickers_in_a_loop()
  attack.run(flood([[time.ticker("1ms")]]),
    "time.ticker: too many armed tickers in this process (at most 1000)")
end

function M.timers_and_afters_in_a_loop()
  attack.run(flood([[time.after("1000h")]]),
    "time.after: too many armed timers in this process (at most 8192)", SMALL)
  attack.run(flood([[time.timer("1000h")]]),
    "time.timer: too many armed timers in this process (at most 8192)", SMALL)
end

-- Dropped timers are freed when Lua collects them, so a loop that keeps none goes on.
function M.dropped_tickers_do_not_count()
  attack.run([[
    for i = 1, 20000 do assert(time.after("1000h")) end
    return "done"
  ]], returned("done"), SMALL)
end

function M.channels_in_a_loop()
  attack.run(flood([[channel.new()]]),
    "channel.new: too many channels in this process (at most 16384)", SMALL)
end

function M.subscriptions_in_a_loop()
  attack.run(flood([[process.listen("t" .. i)]]),
    "listen: too many topic subscriptions in this process (at most 1000)")
end

-- Values waiting in channel buffers live outside the Lua heap (a buffer slot and one of
-- mlua's ~1M reference slots each, even for `true`): a process may keep one per 512 bytes
-- of its memory limit, the runtime 262,144 in all (tests/flood_rss.rs reaches that one).
local function buffer_flood(value)
  return [[
    local c = channel.new(1 << 40)
    for i = 1, 1e9 do
      local ok, err = c:send(]] .. value .. [[)
      if not ok then error(err, 0) end
    end
  ]]
end

function M.channel_buffer_flood()
  attack.run(buffer_flood("true"),
    "channel.send: too many values waiting in this process's channels (at most 16384)", SMALL)
  attack.run(buffer_flood("{}"),
    "channel.send: too many values waiting in this process's channels (at most 16384)", SMALL)
end

function M.received_values_leave_the_buffer_quota()
  attack.run([[
    local c = channel.new(1 << 40)
    local n = 0
    while c:send(n) do n = n + 1 end
    assert(n == 16384, n)
    assert(c:receive() == 0)
    assert(c:send("again") == true, "a received value makes room")
    assert(c:send("more") == nil, "and only that much")
    -- a select's send case over the quota is not ready, as if the buffer were full
    local r = channel.select { c:case_send("x"), default = true }
    assert(r.default, "the send case is not ready")
    -- values of a channel that is dropped and collected are forgotten
    c = nil
    collectgarbage()
    local d = channel.new(1 << 40)
    for i = 1, 16384 do assert(d:send(i), i) end
    return "ok"
  ]], returned("ok"), SMALL)
end

function M.long_topics_are_refused()
  attack.run(flood([[process.listen(string.rep("t", 1 << 20) .. i)]]),
    "listen: topic too long (at most 1024 bytes)")
end

------------------------------------------------------------------------------------------
-- bad input

local function refused_duration(f, name)
  for _, d in ipairs({ 1e308, -1e308, 0 / 0, 1 / 0, -1 / 0, 2 ^ 63 }) do
    local v, err = f(d)
    assert.eq(v, nil, name .. "(" .. tostring(d) .. ")")
    assert.contains(tostring(err), name .. ": duration out of range")
  end
end

function M.out_of_range_durations_are_refused()
  refused_duration(time.sleep, "time.sleep")
  refused_duration(time.after, "time.after")
  refused_duration(time.timer, "time.timer")
  refused_duration(time.ticker, "time.ticker")
  -- parse_duration: NaN and infinities are not durations at all (SPEC 9.6), huge ones are
  -- out of range; both are error objects
  for _, d in ipairs({ 0 / 0, 1 / 0, -1 / 0 }) do
    local v, err = time.parse_duration(d)
    assert.eq(v, nil)
    assert.eq(tostring(err), "invalid value type: number")
  end
  for _, d in ipairs({ 1e308, -1e308, 2 ^ 63 }) do
    local v, err = time.parse_duration(d)
    assert.eq(v, nil)
    assert.contains(tostring(err), "time.parse_duration: duration out of range")
  end
  -- the largest representable float below 2^63 still is a duration
  assert.eq(time.parse_duration(2 ^ 62):nanoseconds(), 1 << 62)
  assert.eq(time.sleep(-1.5), true)
end

function M.unmonitor_of_a_table_is_refused()
  local v, err = process.unmonitor({})
  assert.eq(v, nil)
  assert.eq(err, "unmonitor: bad argument #1 (expected string, got table)")
  v, err = process.monitor({})
  assert.eq(v, nil)
  assert.eq(err, "monitor: bad argument #1 (expected string, got table)")
end

function M.timer_and_ticker_wrong_self_errors_are_plain_strings()
  local tm, tk = time.timer("1h"), time.ticker("1h")
  local cases = {
    { tm.stop, {}, "Timer:stop: bad argument #1 (expected timer, got table)" },
    { tm.reset, 5, "Timer:reset: bad argument #1 (expected timer, got number)" },
    { tm.channel, tk, "Timer:channel: bad argument #1 (expected timer, got userdata)" },
    { tk.stop, tm, "Ticker:stop: bad argument #1 (expected ticker, got userdata)" },
    { tk.period, nil, "Ticker:period: bad argument #1 (expected ticker, got nil)" },
    { tk.channel, "x", "Ticker:channel: bad argument #1 (expected ticker, got string)" },
  }
  for _, c in ipairs(cases) do
    local ok, err = pcall(c[1], c[2])
    assert.eq(ok, false)
    assert.eq(type(err), "string")
    assert.truthy(err:find(c[3], 1, true), "got " .. tostring(err))
  end
  assert.eq(tm:stop(), true)
  assert.eq(tk:period():milliseconds(), 3600000)
  assert.eq(tk:stop(), true)
end

return M
