local assert = require("assert")
local time = require("time")

local M = {}
local NS = "test.lifecycle:"
local HOST = "app:processes"

-- Receives from ch, raising (at the caller) if nothing comes within d (default 1s).
local function within(ch, what, d)
  local timeout = time.after(d or "1s")
  local r = channel.select { ch:case_receive(), timeout:case_receive() }
  if r.channel == timeout then error("timed out waiting for " .. what, 2) end
  return r.value, r.ok
end

-- True when nothing arrives on ch within d (default 50ms); else false and the value.
local function quiet(ch, d)
  local timeout = time.after(d or "50ms")
  local r = channel.select { ch:case_receive(), timeout:case_receive() }
  if r.channel == timeout then return true end
  return false, r.value
end

local function next_event() return within(process.events(), "an event") end
local function next_reply() return within(process.listen("reply"), "a reply") end

local function spawn(name, ...)
  local pid, err = process.spawn(NS .. name, HOST, ...)
  assert.eq(err, nil, "spawn " .. name)
  return pid
end

local function spawn_monitored(name, ...)
  local pid, err = process.spawn_monitored(NS .. name, HOST, ...)
  assert.eq(err, nil, "spawn_monitored " .. name)
  return pid
end

-- Sends a command to an agent and returns its reply table.
local function call(pid, cmd, arg)
  assert.eq(process.send(pid, cmd, arg), true, "send " .. cmd)
  return next_reply()
end

-- The next event, checked to be an EXIT from pid.
local function exit_from(pid)
  local ev = next_event()
  assert.eq(ev.kind, "pid.exit", "event kind")
  assert.eq(ev.from, pid, "event from")
  return ev
end

-- Waits until pid is no longer routable (send fails), polling every millisecond up to 1s.
local function wait_gone(pid)
  for _ = 1, 1000 do
    local ok, err = process.send(pid, "probe")
    if not ok then
      assert.eq(err, "process not found")
      return
    end
    time.sleep("1ms")
  end
  error("process " .. tostring(pid) .. " did not end", 2)
end

-- SPEC 2.3 process.terminate -----------------------------------------------------------------

function M.terminate_ends_a_process_blocked_in_receive_with_process_terminated()
  local pid = spawn_monitored("agent")
  time.sleep("5ms")
  assert.eq(process.terminate(pid), true)
  local ev = exit_from(pid)
  assert.eq(ev.result.value, nil)
  assert.eq(ev.error, "process terminated")
  return true
end

function M.terminate_ends_a_process_stuck_in_an_endless_loop()
  local pid = spawn_monitored("spinner")
  time.sleep("5ms")
  assert.eq(process.terminate(pid), true)
  assert.eq(exit_from(pid).error, "process terminated")
  return true
end

function M.terminate_of_self_ends_the_caller_immediately_with_process_terminated()
  local pid = spawn_monitored("self_terminator", process.pid())
  local ev = exit_from(pid)
  assert.eq(ev.result.value, nil)
  assert.eq(ev.error, "process terminated")
  local silent = quiet(process.listen("after_terminate"))
  assert.truthy(silent, "code after terminate(self) ran")
  return true
end

function M.terminate_of_an_ended_process_returns_process_not_found()
  local pid = spawn_monitored("returner", "nothing")
  exit_from(pid)
  local ok, err = process.terminate(pid)
  assert.eq(ok, nil)
  assert.eq(err, "process not found")
  return true
end

function M.a_terminated_process_stops_being_routable()
  local pid = spawn_monitored("agent")
  process.terminate(pid)
  exit_from(pid)
  local ok, err = process.send(pid, "ping")
  assert.eq(ok, nil)
  assert.eq(err, "process not found")
  return true
end

function M.terminate_ends_a_process_blocked_in_sleep()
  local pid = spawn_monitored("agent")
  process.send(pid, "sleep", "10s")
  time.sleep("5ms")
  assert.eq(process.terminate(pid), true)
  assert.eq(exit_from(pid).error, "process terminated")
  return true
end

return M
