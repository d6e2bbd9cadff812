local assert = require("assert")
local helpers = require("helpers")
local time = require("time")

local M = {}
local recv, assert_quiet, next_event = helpers.recv, helpers.assert_quiet, helpers.next_event
local exit_from, call = helpers.exit_from, helpers.call
local workers = helpers.spawners("test.lifecycle:workers")
local spawn_monitored = workers.spawn_monitored

-- SPEC 2.3 process.cancel --------------------------------------------------------------------

local function forwarder()
  local pid = spawn_monitored("forwarder", process.pid(), false)
  assert.eq(recv(process.listen("ready"), "forwarder ready"), pid)
  return pid
end

function M.cancel_puts_a_cancel_event_with_sender_pid_and_reason_on_the_target_events()
  local pid = forwarder()
  local before = time.now():unix()
  assert.eq(process.cancel(pid, "shutting down"), true)
  local ev = recv(process.listen("event"), "forwarded CANCEL")
  assert.eq(ev.kind, "pid.cancel")
  assert.eq(ev.kind, process.event.CANCEL)
  assert.eq(ev.from, process.pid())
  assert.eq(ev.reason, "shutting down")
  local ks = {}
  for k in pairs(ev) do ks[#ks + 1] = k end
  table.sort(ks)
  assert.eq(table.concat(ks, ","), "at,from,kind,reason")
  assert.eq(math.type(ev.at), "integer")
  assert.truthy(ev.at >= before and ev.at <= time.now():unix(), "at out of range")
  return true
end

function M.cancel_without_reason_gives_an_empty_reason()
  local pid = forwarder()
  assert.eq(process.cancel(pid), true)
  local ev = recv(process.listen("event"), "forwarded CANCEL")
  assert.eq(ev.kind, "pid.cancel")
  assert.eq(ev.reason, "")
  return true
end

function M.cancel_does_not_stop_a_target_that_reads_events()
  local pid = forwarder()
  assert.eq(process.cancel(pid, "please"), true)
  recv(process.listen("event"), "forwarded CANCEL")
  assert.eq(call(pid, "ping").pid, pid)
  assert_quiet(process.events(), "the target ended after cancel")
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
  assert.eq(recv(process.listen("event"), "first CANCEL").reason, "first")
  assert.eq(recv(process.listen("event"), "second CANCEL").reason, "second")
  return true
end

function M.cancel_of_self_puts_a_cancel_event_on_own_events()
  assert.eq(process.cancel(process.pid(), "self"), true)
  local ev = next_event("pid.cancel", process.pid())
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
