local assert = require("assert")
local helpers = require("helpers")

local M = {}
local recv, assert_quiet, next_event = helpers.recv, helpers.assert_quiet, helpers.next_event
local exit_from, events_by_from = helpers.exit_from, helpers.events_by_from
local next_reply, call, wait_gone = helpers.next_reply, helpers.call, helpers.wait_gone
local workers = helpers.spawners("test.registry:workers")
local spawn, spawn_monitored = workers.spawn, workers.spawn_monitored

local reg = process.registry

-- An agent that registered `name` itself.
local function agent_named(name)
  local pid = spawn_monitored("agent")
  local r = call(pid, "register", name)
  assert.eq(r.ok, true, "agent register " .. name)
  return pid
end

-- register / lookup / unregister ------------------------------------------------------------

function M.register_returns_true_and_lookup_returns_the_caller_pid()
  assert.eq(reg.register("reg.self"), true)
  assert.eq(reg.lookup("reg.self"), process.pid())
  return true
end

function M.lookup_of_an_unknown_name_returns_name_not_registered()
  local pid, err = reg.lookup("reg.nobody")
  assert.eq(pid, nil)
  assert.eq(err, "name not registered")
  return true
end

function M.registering_a_name_already_held_by_the_same_pid_returns_true()
  assert.eq(reg.register("reg.twice"), true)
  assert.eq(reg.register("reg.twice"), true)
  assert.eq(reg.register("reg.twice", process.pid()), true)
  assert.eq(reg.lookup("reg.twice"), process.pid())
  return true
end

function M.registering_a_name_held_by_another_pid_returns_name_already_registered()
  local holder = agent_named("reg.taken")
  local ok, err = reg.register("reg.taken")
  assert.eq(ok, nil)
  assert.eq(err, "name already registered")
  assert.eq(reg.lookup("reg.taken"), holder)
  return true
end

function M.registering_for_another_pid_a_name_held_by_someone_else_returns_name_already_registered()
  local holder = agent_named("reg.taken2")
  local other = spawn("agent")
  local ok, err = reg.register("reg.taken2", other)
  assert.eq(ok, nil)
  assert.eq(err, "name already registered")
  assert.eq(reg.lookup("reg.taken2"), holder)
  return true
end

function M.register_with_an_explicit_pid_maps_the_name_to_that_pid()
  local pid = spawn("agent")
  assert.eq(reg.register("reg.explicit", pid), true)
  assert.eq(reg.lookup("reg.explicit"), pid)
  return true
end

function M.unregister_returns_true_when_it_removed_a_mapping()
  assert.eq(reg.register("reg.gone"), true)
  assert.eq(reg.unregister("reg.gone"), true)
  local pid, err = reg.lookup("reg.gone")
  assert.eq(pid, nil)
  assert.eq(err, "name not registered")
  return true
end

function M.unregister_returns_false_when_the_name_is_not_registered()
  assert.eq(reg.unregister("reg.never"), false)
  assert.eq(reg.register("reg.once"), true)
  assert.eq(reg.unregister("reg.once"), true)
  assert.eq(reg.unregister("reg.once"), false)
  return true
end

function M.an_unregistered_name_can_be_taken_by_another_pid()
  local holder = agent_named("reg.handover")
  assert.eq(call(holder, "unregister", "reg.handover").ok, true)
  assert.eq(reg.register("reg.handover"), true)
  assert.eq(reg.lookup("reg.handover"), process.pid())
  return true
end

function M.a_pid_may_hold_many_names()
  for _, name in ipairs({ "reg.a", "reg.b", "reg.c" }) do
    assert.eq(reg.register(name), true, name)
  end
  for _, name in ipairs({ "reg.a", "reg.b", "reg.c" }) do
    assert.eq(reg.lookup(name), process.pid(), name)
  end
  assert.eq(reg.unregister("reg.b"), true)
  assert.eq(reg.lookup("reg.a"), process.pid())
  assert.eq(reg.lookup("reg.c"), process.pid())
  assert.fails("name not registered", reg.lookup("reg.b"))
  return true
end

-- names as destinations -----------------------------------------------------------------------

function M.send_to_a_registered_name_reaches_the_process()
  local pid = agent_named("reg.echo")
  assert.eq(process.send("reg.echo", "ping", "by name"), true)
  local r = next_reply()
  assert.eq(r.pid, pid)
  assert.eq(r.arg, "by name")
  return true
end

function M.send_to_a_name_registered_with_an_explicit_pid_reaches_that_pid()
  local pid = spawn("agent")
  assert.eq(reg.register("reg.echo2", pid), true)
  assert.eq(process.send("reg.echo2", "ping"), true)
  assert.eq(next_reply().pid, pid)
  return true
end

function M.a_name_moved_to_another_pid_routes_to_the_new_pid()
  local first = spawn("agent")
  local second = spawn("agent")
  assert.eq(reg.register("reg.moving", first), true)
  assert.eq(reg.unregister("reg.moving"), true)
  assert.eq(reg.register("reg.moving", second), true)
  process.send("reg.moving", "ping")
  assert.eq(next_reply().pid, second)
  return true
end

function M.send_to_own_registered_name_reaches_the_caller()
  assert.eq(reg.register("reg.me"), true)
  local ch = process.listen("to_me")
  assert.eq(process.send("reg.me", "to_me", 5), true)
  assert.eq(recv(ch, "own message"), 5)
  return true
end

function M.monitor_accepts_a_registered_name()
  local pid = spawn("agent")
  assert.eq(reg.register("reg.watched", pid), true)
  assert.eq(process.monitor("reg.watched"), true)
  process.send(pid, "stop", "bye")
  local ev = exit_from(pid)
  assert.eq(ev.result.value, "bye")
  return true
end

function M.unmonitor_accepts_a_registered_name()
  local pid = spawn("agent")
  assert.eq(reg.register("reg.unwatched", pid), true)
  assert.eq(process.monitor(pid), true)
  assert.eq(process.unmonitor("reg.unwatched"), true)
  process.send(pid, "stop", "bye")
  wait_gone(pid)
  assert_quiet(process.events(), "EXIT arrived after unmonitor by name", "100ms")
  return true
end

function M.monitoring_by_name_then_by_pid_returns_already_monitoring_pid()
  local pid = spawn("agent")
  assert.eq(reg.register("reg.same", pid), true)
  assert.eq(process.monitor("reg.same"), true)
  local ok, err = process.monitor(pid)
  assert.eq(ok, nil)
  assert.eq(err, "already monitoring pid")
  return true
end

function M.link_accepts_a_registered_name()
  assert.eq(process.set_options({ trap_links = true }), true)
  local pid = spawn("agent")
  assert.eq(reg.register("reg.linked", pid), true)
  assert.eq(process.link("reg.linked"), true)
  process.send(pid, "fail", "by name")
  local ev = next_event("pid.link.down", pid)
  assert.contains(ev.error, ": by name")
  return true
end

function M.unlink_accepts_a_registered_name()
  assert.eq(process.set_options({ trap_links = true }), true)
  local pid = spawn_monitored("agent")
  assert.eq(reg.register("reg.unlinked", pid), true)
  assert.eq(process.link(pid), true)
  assert.eq(process.unlink("reg.unlinked"), true)
  process.send(pid, "fail", "unlinked")
  exit_from(pid)
  assert_quiet(process.events(), "LINK_DOWN arrived after unlink by name")
  return true
end

function M.cancel_accepts_a_registered_name()
  local pid = spawn("forwarder", process.pid())
  assert.eq(recv(process.listen("ready"), "forwarder ready"), pid)
  assert.eq(reg.register("reg.cancelled", pid), true)
  assert.eq(process.cancel("reg.cancelled", "by name"), true)
  local ev = recv(process.listen("event"), "forwarded CANCEL")
  assert.eq(ev.kind, "pid.cancel")
  assert.eq(ev.from, process.pid())
  assert.eq(ev.reason, "by name")
  return true
end

function M.terminate_accepts_a_registered_name()
  local pid = agent_named("reg.terminated")
  assert.eq(process.terminate("reg.terminated"), true)
  local ev = exit_from(pid)
  assert.eq(ev.error, "process terminated")
  return true
end

-- automatic release -----------------------------------------------------------------------------

function M.names_are_released_when_their_process_returns()
  local pid = agent_named("reg.auto1")
  assert.eq(reg.register("reg.auto2", pid), true)
  process.send(pid, "stop", "done")
  exit_from(pid)
  assert.fails("name not registered", reg.lookup("reg.auto1"))
  assert.fails("name not registered", reg.lookup("reg.auto2"))
  return true
end

function M.names_are_released_when_their_process_fails()
  local pid = agent_named("reg.failed")
  process.send(pid, "fail", "oops")
  exit_from(pid)
  assert.fails("name not registered", reg.lookup("reg.failed"))
  return true
end

function M.names_are_released_when_their_process_is_killed_by_a_link()
  local failing = spawn_monitored("agent")
  local partner = agent_named("reg.killed")
  assert.eq(call(partner, "link", failing).ok, true)
  process.send(failing, "fail", "boom")
  local seen = events_by_from(2)
  assert.eq(assert(seen[partner], "partner survived").error, "linked process failed")
  assert.fails("name not registered", reg.lookup("reg.killed"))
  return true
end

function M.a_released_name_can_be_registered_by_another_process()
  local pid = agent_named("reg.reuse")
  process.terminate(pid)
  exit_from(pid)
  assert.eq(reg.register("reg.reuse"), true)
  assert.eq(reg.lookup("reg.reuse"), process.pid())
  return true
end

function M.send_to_a_released_name_cannot_resolve_it()
  local pid = agent_named("reg.stale")
  process.send(pid, "stop")
  exit_from(pid)
  local ok, err = process.send("reg.stale", "ping")
  assert.eq(ok, nil)
  assert.eq(err, "could not resolve 'reg.stale' as PID or registered name")
  return true
end

function M.unregistering_a_name_does_not_affect_its_process()
  local pid = agent_named("reg.detached")
  assert.eq(reg.unregister("reg.detached"), true)
  assert.eq(call(pid, "ping").pid, pid)
  return true
end

return M
