local assert = require("assert")
local helpers = require("helpers")

local M = {}
local assert_quiet, exit_from = helpers.assert_quiet, helpers.exit_from
local wait_gone = helpers.wait_gone
local workers = helpers.spawners("test.lifecycle:workers")
local spawn, spawn_monitored = workers.spawn, workers.spawn_monitored

-- SPEC 2.3 Monitors ------------------------------------------------------------------------

function M.monitor_returns_true_and_the_monitor_receives_the_exit()
  local pid = spawn("agent")
  assert.eq(process.monitor(pid), true)
  process.send(pid, "stop", "bye")
  local ev = exit_from(pid)
  assert.eq(ev.result.value, "bye")
  return true
end

function M.monitor_without_argument_returns_monitor_requires_a_destination_argument()
  local ok, err = process.monitor()
  assert.eq(ok, nil)
  assert.eq(err, "monitor requires a destination argument")
  return true
end

function M.unmonitor_without_argument_returns_unmonitor_requires_a_destination_argument()
  local ok, err = process.unmonitor()
  assert.eq(ok, nil)
  assert.eq(err, "unmonitor requires a destination argument")
  return true
end

function M.monitoring_an_ended_pid_returns_pid_not_registered()
  local pid = spawn_monitored("returner", "nothing")
  exit_from(pid)
  local ok, err = process.monitor(pid)
  assert.eq(ok, nil)
  assert.eq(err, "pid not registered")
  return true
end

function M.monitoring_a_pid_twice_returns_already_monitoring_pid()
  local pid = spawn("agent")
  assert.eq(process.monitor(pid), true)
  local ok, err = process.monitor(pid)
  assert.eq(ok, nil)
  assert.eq(err, "already monitoring pid")
  process.terminate(pid)
  return true
end

function M.monitoring_a_pid_from_spawn_monitored_returns_already_monitoring_pid()
  local pid = spawn_monitored("agent")
  local ok, err = process.monitor(pid)
  assert.eq(ok, nil)
  assert.eq(err, "already monitoring pid")
  process.terminate(pid)
  return true
end

function M.monitoring_twice_still_delivers_exactly_one_exit()
  local pid = spawn_monitored("agent")
  process.monitor(pid)
  process.send(pid, "stop", 1)
  exit_from(pid)
  assert_quiet(process.events(), "a second EXIT arrived")
  return true
end

function M.unmonitoring_a_pid_that_is_not_monitored_is_a_noop_returning_true()
  local pid = spawn("agent")
  assert.eq(process.unmonitor(pid), true)
  assert.eq(process.unmonitor(pid), true)
  process.terminate(pid)
  return true
end

function M.unmonitoring_an_ended_pid_returns_true()
  local pid = spawn_monitored("returner", "nothing")
  exit_from(pid)
  assert.eq(process.unmonitor(pid), true)
  return true
end

function M.no_exit_arrives_after_unmonitor()
  local pid = spawn_monitored("agent")
  assert.eq(process.unmonitor(pid), true)
  process.send(pid, "stop", "unseen")
  wait_gone(pid)
  assert_quiet(process.events(), "an event arrived after unmonitor", "100ms")
  return true
end

function M.no_exit_arrives_after_unmonitor_even_when_the_process_ends_at_once()
  local pid = spawn_monitored("returner", "nothing")
  assert.eq(process.unmonitor(pid), true)
  wait_gone(pid)
  assert_quiet(process.events(), "an event arrived after unmonitor", "100ms")
  return true
end

function M.monitor_after_unmonitor_delivers_the_exit_again()
  local pid = spawn_monitored("agent")
  assert.eq(process.unmonitor(pid), true)
  assert.eq(process.monitor(pid), true)
  process.send(pid, "stop", "again")
  assert.eq(exit_from(pid).result.value, "again")
  return true
end

function M.a_failing_monitored_process_does_not_end_its_monitor()
  local pid = spawn_monitored("raiser", "monitored failure")
  local ev = exit_from(pid)
  assert.eq(ev.error, "lifecycle/workers.lua:6: monitored failure")
  assert.eq(process.get_options().trap_links, false)
  return true
end

function M.no_exit_arrives_after_unmonitor_even_if_it_was_already_pending()
  local pid = spawn_monitored("returner", "value", "pending")
  wait_gone(pid)
  assert.eq(process.unmonitor(pid), true)
  assert_quiet(process.events(), "a pending EXIT arrived after unmonitor", "100ms")
  return true
end

return M
