local assert = require("assert")
local helpers = require("helpers")
local time = require("time")

local M = {}
local assert_quiet, exit_from = helpers.assert_quiet, helpers.exit_from
local workers = helpers.spawners("test.lifecycle:workers")
local spawn_monitored = workers.spawn_monitored

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
  assert_quiet(process.listen("after_terminate"), "code after terminate(self) ran")
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
