local assert = require("assert")
local helpers = require("helpers")

local M = {}
local recv, next_event, exit_from = helpers.recv, helpers.next_event, helpers.exit_from
local next_reply, call = helpers.next_reply, helpers.call
local workers = helpers.spawners("test.lifecycle:workers")
local spawn, spawn_monitored = workers.spawn, workers.spawn_monitored
local spawn_linked_monitored = workers.spawn_linked_monitored

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
  assert.eq(recv(process.listen("ready"), "forwarder ready"), watcher)
  local r = call(watcher, "monitor", target)
  assert.eq(r.ok, true)
  process.send(target, "stop", "done")
  local mine = exit_from(target)
  assert.eq(mine.result.value, "done")
  local theirs = recv(process.listen("event"), "the watcher's EXIT")
  assert.eq(theirs.kind, "pid.exit")
  assert.eq(theirs.from, target)
  assert.eq(theirs.result.value, "done")
  return true
end

function M.a_process_both_monitoring_and_trapping_a_link_gets_exit_before_link_down()
  assert.eq(process.set_options({ trap_links = true }), true)
  local pid = spawn_linked_monitored("raiser", "both")
  next_event("pid.exit", pid)
  next_event("pid.link.down", pid)
  return true
end

return M
