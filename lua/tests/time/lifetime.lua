-- SPEC §4: timers, tickers and pending afters die with their process.
local assert = require("assert")

local HOST = "app:processes"
local M = {}

function M.timers_die_with_terminated_process()
  local me = process.pid()
  local ready = process.listen("armed")
  local fired = process.listen("fired")
  local pid = assert(process.spawn_monitored("test.time:workers:armed", HOST, me))
  assert.eq(ready:receive(), true)
  assert.eq(process.terminate(pid), true)
  local ev = process.events():receive()
  assert.eq(ev.kind, "pid.exit")
  assert.eq(ev.from, pid)
  assert.eq(ev.error, "process terminated")
  -- wait past every deadline the child armed; nothing may arrive anywhere
  local r = channel.select {
    fired:case_receive(), process.inbox():case_receive(), process.events():case_receive(),
    time.after("100ms"):case_receive(),
  }
  assert.truthy(r.channel ~= fired, "terminated process reported a timer fire")
  assert.truthy(r.channel ~= process.inbox(), "unexpected message after terminate")
  assert.truthy(r.channel ~= process.events(), "unexpected event after terminate")
  return true
end

function M.timers_die_with_returning_process()
  local pid = assert(process.spawn_monitored("test.time:workers:armed_then_exit", HOST))
  local ev = process.events():receive()
  assert.eq(ev.from, pid)
  assert.eq(ev.result.value, "gone")
  -- the runtime keeps working and our own timers still fire on time
  local t0 = time.now()
  local r = channel.select {
    process.inbox():case_receive(), process.events():case_receive(),
    time.after("60ms"):case_receive(),
  }
  assert.eq(r.ok, true)
  assert.truthy(type(r.value) == "userdata", "something other than our timer arrived")
  assert.truthy(time.now():sub(t0):nanoseconds() >= 60000000)
  return true
end

-- A process that ends with thousands of armed timers, tickers and afters and thousands of
-- channels (some stopped or closed in between, from the middle, head and tail of what it
-- made) frees them all; its own count stays right all along.
function M.thousands_of_timers_and_channels_die_with_their_process()
  local counts = process.listen("counts")
  for round = 1, 3 do
    local pid = assert(process.spawn_monitored("test.time:workers:many_armed", HOST,
      process.pid(), 3000))
    local got = counts:receive()
    assert.same(got, { armed = 4500, after_stops = 3002, alive = 3502 }, "round " .. round)
    local ev = process.events():receive()
    assert.eq(ev.kind, "pid.exit")
    assert.eq(ev.from, pid)
    assert.eq(ev.result.value, "armed")
    assert.eq(select(2, process.info(pid)), "process not found")
  end
  -- nothing of theirs fires here, and our own timers work as before
  local r = channel.select {
    process.inbox():case_receive(), counts:case_receive(), time.after("20ms"):case_receive(),
  }
  assert.eq(type(r.value), "userdata", "something other than our timer arrived")
  return true
end

return M
