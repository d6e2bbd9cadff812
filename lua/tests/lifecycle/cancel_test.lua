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

-- SPEC 2.3 process.cancel --------------------------------------------------------------------

local function forwarder()
  local pid = spawn_monitored("forwarder", process.pid(), false)
  assert.eq(within(process.listen("ready"), "forwarder ready"), pid)
  return pid
end

function M.cancel_puts_a_cancel_event_with_sender_pid_and_reason_on_the_target_events()
  local pid = forwarder()
  local before = time.now():unix()
  assert.eq(process.cancel(pid, "shutting down"), true)
  local ev = within(process.listen("event"), "forwarded CANCEL")
  assert.eq(ev.kind, "pid.cancel")
  assert.eq(ev.kind, process.event.CANCEL)
  assert.eq(ev.from, process.pid())
  assert.eq(ev.reason, "shutting down")
  assert.eq(math.type(ev.at), "integer")
  assert.truthy(ev.at >= before and ev.at <= time.now():unix(), "at out of range")
  return true
end

function M.cancel_without_reason_gives_an_empty_reason()
  local pid = forwarder()
  assert.eq(process.cancel(pid), true)
  local ev = within(process.listen("event"), "forwarded CANCEL")
  assert.eq(ev.kind, "pid.cancel")
  assert.eq(ev.reason, "")
  return true
end

function M.cancel_does_not_stop_a_target_that_reads_events()
  local pid = forwarder()
  assert.eq(process.cancel(pid, "please"), true)
  within(process.listen("event"), "forwarded CANCEL")
  assert.eq(call(pid, "ping").pid, pid)
  local silent, ev = quiet(process.events())
  assert.truthy(silent, "the target ended after cancel: " .. assert.show(ev))
  return true
end

function M.cancel_does_not_stop_a_target_that_never_reads_events()
  local pid = spawn_monitored("agent")
  assert.eq(process.cancel(pid, "please"), true)
  time.sleep("10ms")
  assert.eq(call(pid, "ping").pid, pid)
  process.send(pid, "stop", "normal")
  assert.eq(exit_from(pid).result.value, "normal")
  return true
end

function M.cancel_events_arrive_in_the_order_they_were_sent()
  local pid = forwarder()
  process.cancel(pid, "first")
  process.cancel(pid, "second")
  assert.eq(within(process.listen("event"), "first CANCEL").reason, "first")
  assert.eq(within(process.listen("event"), "second CANCEL").reason, "second")
  return true
end

function M.cancel_of_self_puts_a_cancel_event_on_own_events()
  assert.eq(process.cancel(process.pid(), "self"), true)
  local ev = next_event()
  assert.eq(ev.kind, "pid.cancel")
  assert.eq(ev.from, process.pid())
  assert.eq(ev.reason, "self")
  return true
end

function M.cancel_without_argument_returns_cancel_requires_at_least_destination_argument()
  local ok, err = process.cancel()
  assert.eq(ok, nil)
  assert.eq(err, "cancel requires at least destination argument")
  return true
end

function M.cancel_of_an_ended_process_returns_process_not_found()
  local pid = spawn_monitored("returner", "nothing")
  exit_from(pid)
  local ok, err = process.cancel(pid, "too late")
  assert.eq(ok, nil)
  assert.eq(err, "process not found")
  return true
end

return M
