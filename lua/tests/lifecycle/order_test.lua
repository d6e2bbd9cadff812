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

-- SPEC 2.3 "Order when a process ends" ---------------------------------------------------

function M.after_exit_arrives_sends_to_the_dead_pid_return_process_not_found()
  local pid = spawn_monitored("agent")
  process.send(pid, "stop", "bye")
  exit_from(pid)
  local ok, err = process.send(pid, "hello")
  assert.eq(ok, nil)
  assert.eq(err, "process not found")
  return true
end

function M.after_exit_arrives_the_dead_process_names_no_longer_resolve()
  local pid = spawn_monitored("registrant", process.pid(), "order.released")
  assert.eq(next_reply().ok, true)
  assert.eq(process.registry.lookup("order.released"), pid)
  process.send(pid, "done")
  exit_from(pid)
  local found, err = process.registry.lookup("order.released")
  assert.eq(found, nil)
  assert.eq(err, "name not registered")
  local ok, serr = process.send("order.released", "hello")
  assert.eq(ok, nil)
  assert.eq(serr, "could not resolve 'order.released' as PID or registered name")
  return true
end

function M.names_are_released_before_exit_is_seen_so_the_name_can_be_taken_at_once()
  local pid = spawn_monitored("registrant", process.pid(), "order.retake")
  assert.eq(next_reply().ok, true)
  local ok, err = process.registry.register("order.retake")
  assert.eq(ok, nil)
  assert.eq(err, "name already registered")
  process.send(pid, "done")
  exit_from(pid)
  assert.eq(process.registry.register("order.retake"), true)
  assert.eq(process.registry.lookup("order.retake"), process.pid())
  return true
end

function M.every_monitor_gets_the_exit()
  local target = spawn_monitored("agent")
  local watcher = spawn("forwarder", process.pid(), false)
  assert.eq(within(process.listen("ready"), "forwarder ready"), watcher)
  local r = call(watcher, "monitor", target)
  assert.eq(r.ok, true)
  process.send(target, "stop", "done")
  local mine = exit_from(target)
  assert.eq(mine.result.value, "done")
  local theirs = within(process.listen("event"), "the watcher's EXIT")
  assert.eq(theirs.kind, "pid.exit")
  assert.eq(theirs.from, target)
  assert.eq(theirs.result.value, "done")
  return true
end

function M.a_process_both_monitoring_and_trapping_a_link_gets_exit_before_link_down()
  assert.eq(process.set_options({ trap_links = true }), true)
  local pid, err = process.spawn_linked_monitored(NS .. "raiser", HOST, "both")
  assert.eq(err, nil)
  local first = next_event()
  local second = next_event()
  assert.eq(first.kind, "pid.exit")
  assert.eq(first.from, pid)
  assert.eq(second.kind, "pid.link.down")
  assert.eq(second.from, pid)
  return true
end

return M
