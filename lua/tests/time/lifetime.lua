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

return M
