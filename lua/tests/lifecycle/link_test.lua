local assert = require("assert")
local helpers = require("helpers")
local time = require("time")

local M = {}
local recv, assert_quiet, next_event = helpers.recv, helpers.assert_quiet, helpers.next_event
local exit_from, events_by_from = helpers.exit_from, helpers.events_by_from
local next_reply, call = helpers.next_reply, helpers.call
local workers = helpers.spawners("test.lifecycle:workers")
local spawn, spawn_monitored = workers.spawn, workers.spawn_monitored
local spawn_linked, spawn_linked_monitored = workers.spawn_linked, workers.spawn_linked_monitored

-- SPEC 2.3 Links ---------------------------------------------------------------------------

local function trap()
  assert.eq(process.set_options({ trap_links = true }), true)
end

-- Two monitored agents, the second (`partner`) linked to the first (`failing`).
local function linked_pair()
  local failing = spawn_monitored("agent")
  local partner = spawn_monitored("agent")
  assert.eq(call(partner, "link", failing).ok, true)
  return failing, partner
end

-- Sends `cmd` to a partner linked to a failing agent, then fails the agent: the partner ends
-- with "linked process failed" whatever it is doing.
local function killed_while(cmd, arg)
  local failing, partner = linked_pair()
  process.send(partner, cmd, arg)
  time.sleep("5ms")
  process.send(failing, "fail", "boom")
  local seen = events_by_from(2)
  assert.eq(assert(seen[partner], "partner survived").error, "linked process failed")
  return true
end

function M.link_returns_true()
  trap()
  local pid = spawn("agent")
  assert.eq(process.link(pid), true)
  process.terminate(pid)
  return true
end

function M.linking_twice_is_a_noop_returning_true()
  trap()
  local pid = spawn("agent")
  assert.eq(process.link(pid), true)
  assert.eq(process.link(pid), true)
  process.monitor(pid)
  process.send(pid, "fail", "once")
  exit_from(pid)
  next_event("pid.link.down")
  assert_quiet(process.events(), "a second LINK_DOWN arrived")
  return true
end

function M.linking_twice_then_unlinking_once_removes_the_link()
  trap()
  local pid = spawn("agent")
  process.link(pid)
  process.link(pid)
  assert.eq(process.unlink(pid), true)
  process.monitor(pid)
  process.send(pid, "fail", "after unlink")
  exit_from(pid)
  assert_quiet(process.events(), "an event arrived after unlink")
  return true
end

function M.linking_to_an_ended_pid_returns_pid_not_registered()
  local pid = spawn_monitored("returner", "nothing")
  exit_from(pid)
  local ok, err = process.link(pid)
  assert.eq(ok, nil)
  assert.eq(err, "pid not registered")
  return true
end

function M.unlink_returns_true_and_no_link_down_follows()
  trap()
  local pid = spawn_linked_monitored("agent")
  assert.eq(process.unlink(pid), true)
  process.send(pid, "fail", "unlinked")
  exit_from(pid)
  assert_quiet(process.events(), "an event arrived after unlink")
  return true
end

function M.unlink_by_the_partner_also_removes_the_link()
  trap()
  local pid = spawn_monitored("agent")
  assert.eq(process.link(pid), true)
  local r = call(pid, "unlink", process.pid())
  assert.eq(r.ok, true)
  process.send(pid, "fail", "unlinked by partner")
  exit_from(pid)
  assert_quiet(process.events(), "an event arrived after unlink")
  return true
end

function M.unlinking_an_ended_pid_returns_true()
  local pid = spawn_monitored("returner", "nothing")
  exit_from(pid)
  assert.eq(process.unlink(pid), true)
  return true
end

function M.unlinking_a_pid_that_is_not_linked_returns_true()
  local pid = spawn("agent")
  assert.eq(process.unlink(pid), true)
  process.terminate(pid)
  return true
end

function M.abnormal_exit_kills_a_linked_partner_blocked_in_receive()
  local failing = spawn_monitored("agent")
  local partner = spawn_monitored("link_and_block", process.pid(), failing)
  local r = next_reply()
  assert.eq(r.ok, true)
  assert.eq(r.pid, partner)
  process.send(failing, "fail", "boom")
  local seen = events_by_from(2)
  assert.contains(seen[failing].error, ": boom")
  local ev = assert(seen[partner], "no EXIT from the blocked partner")
  assert.eq(ev.error, "linked process failed")
  assert.eq(ev.result.value, nil)
  return true
end

function M.abnormal_exit_kills_a_linked_partner_that_never_called_events()
  -- agent never calls process.events(); it links, then waits in inbox():receive().
  local failing, partner = linked_pair()
  process.send(failing, "fail", "boom")
  local seen = events_by_from(2)
  assert.eq(assert(seen[partner], "partner survived").error, "linked process failed")
  return true
end

function M.abnormal_exit_kills_a_linked_partner_blocked_in_select_on_events()
  local failing = spawn_monitored("agent")
  local partner = spawn_monitored("forwarder", process.pid(), false)
  recv(process.listen("ready"), "forwarder ready")
  assert.eq(call(failing, "link", partner).ok, true)
  process.send(failing, "fail", "boom")
  local seen = events_by_from(2)
  assert.eq(assert(seen[partner], "partner survived").error, "linked process failed")
  assert_quiet(process.listen("event"), "the non-trapping partner saw a LINK_DOWN")
  return true
end

function M.abnormal_exit_kills_a_linked_partner_stuck_in_an_endless_loop()
  return killed_while("spin")
end

function M.failure_of_the_linking_side_kills_the_other_side()
  local target, linker = linked_pair()
  process.send(linker, "fail", "linker broke")
  local seen = events_by_from(2)
  assert.contains(seen[linker].error, ": linker broke")
  assert.eq(assert(seen[target], "target survived").error, "linked process failed")
  return true
end

function M.return_of_a_value_and_a_string_kills_a_linked_partner()
  local failing, partner = linked_pair()
  process.send(failing, "fail_by_return", "returned error")
  local seen = events_by_from(2)
  assert.eq(seen[failing].error, "returned error")
  assert.eq(assert(seen[partner], "partner survived").error, "linked process failed")
  return true
end

function M.terminate_kills_a_linked_partner()
  local victim, partner = linked_pair()
  assert.eq(process.terminate(victim), true)
  local seen = events_by_from(2)
  assert.eq(seen[victim].error, "process terminated")
  assert.eq(assert(seen[partner], "partner survived").error, "linked process failed")
  return true
end

function M.the_kill_cascades_through_a_chain_of_links()
  local a = spawn_monitored("agent")
  local b = spawn_monitored("agent")
  local c = spawn_monitored("agent")
  local d = spawn_monitored("agent")
  assert.eq(call(b, "link", a).ok, true)
  assert.eq(call(c, "link", b).ok, true)
  assert.eq(call(d, "link", c).ok, true)
  process.send(a, "fail", "head of chain")
  local seen = events_by_from(4)
  assert.contains(seen[a].error, ": head of chain")
  for name, pid in pairs({ b = b, c = c, d = d }) do
    local ev = assert(seen[pid], name .. " survived")
    assert.eq(ev.error, "linked process failed", name)
  end
  return true
end

function M.a_partner_killed_by_a_link_sends_link_down_to_its_trapping_links()
  trap()
  local failing = spawn_monitored("agent")
  local partner = spawn_linked("agent")
  assert.eq(call(partner, "link", failing).ok, true)
  process.send(failing, "fail", "boom")
  exit_from(failing)
  local ev = next_event("pid.link.down", partner)
  assert.eq(ev.error, "linked process failed")
  return true
end

function M.normal_exit_does_not_kill_a_linked_partner()
  local ending, partner = linked_pair()
  process.send(ending, "stop", "fine")
  assert.eq(exit_from(ending).error, nil)
  time.sleep("10ms")
  local r = call(partner, "ping")
  assert.eq(r.pid, partner)
  assert_quiet(process.events(), "unexpected event")
  return true
end

function M.normal_exit_sends_no_link_down_to_a_trapping_partner()
  trap()
  local pid = spawn_linked_monitored("agent")
  process.send(pid, "stop", "fine")
  exit_from(pid)
  assert_quiet(process.events(), "unexpected event", "100ms")
  return true
end

function M.trap_links_turns_a_linked_failure_into_a_link_down_event()
  trap()
  local pid = spawn_linked("raiser", "trapped")
  local ev = next_event("pid.link.down", pid)
  assert.eq(ev.kind, process.event.LINK_DOWN)
  return true
end

function M.link_down_event_has_the_same_fields_as_exit()
  trap()
  local before = time.now():unix()
  local pid = spawn_linked("raiser", "trapped")
  local ev = next_event("pid.link.down")
  assert.eq(type(ev.result), "table")
  assert.eq(ev.result.value, nil)
  assert.eq(ev.result.error, "lifecycle/workers.lua:6: trapped")
  assert.eq(ev.error, "lifecycle/workers.lua:6: trapped")
  assert.eq(tostring(ev.result), "lifecycle/workers.lua:6: trapped")
  assert.eq(math.type(ev.at), "integer")
  assert.truthy(ev.at >= before and ev.at <= time.now():unix(), "at out of range")
  assert.eq(ev.from, pid)
  return true
end

function M.link_down_from_a_terminated_process_carries_process_terminated()
  trap()
  local pid = spawn_linked("agent")
  assert.eq(process.terminate(pid), true)
  local ev = next_event("pid.link.down", pid)
  assert.eq(ev.error, "process terminated")
  return true
end

function M.a_trapping_process_receives_link_down_on_its_events_channel()
  local linked = spawn_monitored("agent")
  local watcher = spawn("forwarder", process.pid(), true)
  recv(process.listen("ready"), "forwarder ready")
  assert.eq(call(linked, "link", watcher).ok, true)
  process.send(linked, "fail", "seen by trapper")
  exit_from(linked)
  local ev = recv(process.listen("event"), "forwarded LINK_DOWN")
  assert.eq(ev.kind, "pid.link.down")
  assert.eq(ev.from, linked)
  assert.contains(ev.error, ": seen by trapper")
  assert.eq(call(watcher, "ping").pid, watcher)
  return true
end

function M.abnormal_exit_kills_a_linked_partner_blocked_in_sleep()
  return killed_while("sleep", "10s")
end

function M.abnormal_exit_kills_a_linked_partner_blocked_on_a_user_channel()
  return killed_while("block_on_channel")
end

function M.abnormal_exit_kills_a_linked_partner_blocked_in_a_nested_coroutine()
  return killed_while("nested_receive")
end

function M.a_trapping_process_in_a_chain_stops_the_cascade()
  local a = spawn_monitored("agent")
  local b = spawn_monitored("forwarder", process.pid(), true)
  recv(process.listen("ready"), "forwarder ready")
  local c = spawn_monitored("agent")
  assert.eq(call(a, "link", b).ok, true)
  assert.eq(call(c, "link", b).ok, true)
  process.send(a, "fail", "stopped at b")
  exit_from(a)
  local ev = recv(process.listen("event"), "LINK_DOWN at the trapping process")
  assert.eq(ev.kind, "pid.link.down")
  assert.eq(ev.from, a)
  assert.eq(call(b, "ping").pid, b)
  assert.eq(call(c, "ping").pid, c)
  assert_quiet(process.events(), "unexpected event")
  return true
end

return M
