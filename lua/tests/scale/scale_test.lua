local assert = require("assert")
local time = require("time")

local M = {}
local NS = "test.scale:workers:"
local HOST = "app:processes"

function M.hundred_thousand_blocked_processes_each_end_on_a_message_and_send_their_exit()
  local n = 100000
  local pids = {}
  for i = 1, n do
    local pid, err = process.spawn_monitored(NS .. "waiter", HOST)
    if not pid then error("spawn " .. i .. " failed: " .. tostring(err)) end
    pids[i] = pid
  end
  for i = 1, n do
    local ok, err = process.send(pids[i], "go", i)
    if ok ~= true then error("send " .. i .. " failed: " .. tostring(err)) end
  end
  pids = nil
  local events = process.events()
  local count, sum = 0, 0
  local timeout = time.after("25s")
  while count < n do
    local r = channel.select { events:case_receive(), timeout:case_receive() }
    if r.channel == timeout then
      error("only " .. count .. " of " .. n .. " EXIT events arrived")
    end
    local ev = r.value
    if ev.kind ~= "pid.exit" or ev.error ~= nil then
      error("unexpected event: " .. assert.show(ev))
    end
    count = count + 1
    sum = sum + ev.result.value
  end
  assert.eq(count, n)
  assert.eq(sum, n * (n + 1) // 2, "sum of returned indexes")
  return true
end

-- Spawns `entry`, lets it start spinning, then measures how late time.after("50ms") fires.
-- The best of three tries must be within 50 ms (a machine busy with other work can delay a
-- single try; without preemption every try would wait forever).
local function after_is_on_time_next_to(entry)
  local pid, err = process.spawn_monitored(NS .. entry, HOST)
  assert.eq(err, nil)
  time.sleep("1ms") -- the spinner gets the CPU and starts its endless loop
  local best, tries = math.huge, {}
  for _ = 1, 3 do
    local start = time.now()
    local ch = time.after("50ms")
    local v, ok = ch:receive()
    local elapsed = time.now():sub(start):milliseconds()
    assert.eq(ok, true, "time.after channel delivered a value")
    assert.truthy(v ~= nil)
    assert.truthy(elapsed >= 50, "fired early: " .. elapsed .. " ms")
    tries[#tries + 1] = elapsed - 50
    best = math.min(best, elapsed - 50)
    if best <= 50 then break end
  end
  assert.truthy(best <= 50, "fired late by " .. table.concat(tries, ", ") .. " ms (limit 50 ms)")
  -- the spinner is still running: it did not end on its own
  local early = channel.select { process.events():case_receive(), default = true }
  if not early.default then
    error("the spinning process ended on its own: " .. assert.show(early.value))
  end
  assert.eq(process.terminate(pid), true)
  local ev = process.events():receive()
  assert.eq(ev.from, pid)
  assert.eq(ev.error, "process terminated")
  return true
end

function M.time_after_fires_at_most_50ms_late_while_a_process_spins_forever()
  return after_is_on_time_next_to("spin_plain")
end

function M.time_after_fires_at_most_50ms_late_while_a_process_spins_inside_its_own_coroutine()
  return after_is_on_time_next_to("spin_coroutine")
end

function M.time_after_fires_at_most_50ms_late_while_a_process_spins_inside_coroutine_wrap()
  return after_is_on_time_next_to("spin_wrap")
end

-- Preemption inside a user coroutine must be invisible to the code that resumed it.
local function sum_to(n)
  local s = 0
  for i = 1, n do s = s + i end
  return s
end

local function with_spinner(fn)
  local pid = assert(process.spawn(NS .. "spin_plain", HOST))
  time.sleep("1ms")
  local ok, err = pcall(fn)
  process.terminate(pid)
  if not ok then error(err, 0) end
  return true
end

function M.a_long_computation_inside_coroutine_resume_is_not_cut_short_by_preemption()
  return with_spinner(function()
    for round = 1, 5 do
      local co = coroutine.create(function() return sum_to(1000000) end)
      local ok, v = coroutine.resume(co)
      assert.eq(ok, true, "round " .. round)
      assert.eq(v, 500000500000, "round " .. round)
      assert.eq(coroutine.status(co), "dead", "round " .. round)
    end
  end)
end

function M.a_long_computation_inside_coroutine_wrap_is_not_cut_short_by_preemption()
  return with_spinner(function()
    for round = 1, 5 do
      local f = coroutine.wrap(function() return sum_to(1000000) end)
      assert.eq(f(), 500000500000, "round " .. round)
    end
  end)
end

return M
