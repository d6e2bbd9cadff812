-- SPEC 12.1.5: supervisor calls: results, errors, and replies that never reach the caller's
-- mailbox, listeners or events.
local assert = require("assert")
local helpers = require("helpers")
local specs = require("specs")
local supervisor = require("supervisor")
local time = require("time")

local M = {}
local W = specs.W
local HOST = helpers.HOST

local child = specs.child

function M.calls_refuse_what_is_not_a_live_supervisor()
  helpers.refused("could not resolve 'nobody.here' as PID or registered name",
    supervisor.which_children("nobody.here"))
  helpers.refused("could not resolve '42' as PID or registered name",
    supervisor.which_children(42))
  local idle = process.spawn(W .. "idle", HOST)
  helpers.refused("not a supervisor", supervisor.which_children(idle))
  process.terminate(idle)
  helpers.wait_gone(idle)
  helpers.refused("process not found", supervisor.which_children(idle))
end

function M.unknown_child_ids_are_refused_by_every_call()
  local sup = specs.start({ children = {} })
  helpers.refused("child not found: zz", supervisor.terminate_child(sup, "zz"))
  helpers.refused("child not found: zz", supervisor.restart_child(sup, "zz"))
  helpers.refused("child not found: zz", supervisor.delete_child(sup, "zz"))
  supervisor.stop(sup)
end

function M.start_child_appends_and_validates()
  local sup = specs.start({ children = { child("a", "server") }, name = "calls.sup" })
  local pid = supervisor.start_child("calls.sup", child("b", "server"))
  assert.eq(type(pid), "string")
  local kids = supervisor.which_children(sup)
  assert.eq(kids[2].id, "b")
  assert.eq(kids[2].pid, pid)
  helpers.refused("duplicate child id: a", supervisor.start_child(sup, child("a", "server")))
  helpers.refused("child 'c' failed to start: entry not found: " .. W .. "nope",
    supervisor.start_child(sup, child("c", "nope")))
  assert.eq(#supervisor.which_children(sup), 2, "a failed spec is not kept")
  supervisor.stop(sup)
end

function M.terminate_keeps_the_spec_stopped_and_delete_removes_it()
  local sup = specs.start({ children = {
    child("a", "server"), child("t", "server", { restart = "temporary" }),
  } })
  helpers.refused("child is running: a", supervisor.delete_child(sup, "a"))
  assert.eq(supervisor.terminate_child(sup, "a"), true)
  assert.eq(supervisor.terminate_child(sup, "a"), true, "already stopped")
  local kids = supervisor.which_children(sup)
  assert.eq(kids[1].status, "stopped")
  assert.eq(supervisor.terminate_child(sup, "t"), true)
  assert.eq(#supervisor.which_children(sup), 1, "a temporary child is deleted")
  assert.eq(supervisor.delete_child(sup, "a"), true)
  assert.eq(#supervisor.which_children(sup), 0)
  supervisor.stop(sup)
end

function M.restart_child_starts_a_new_incarnation_at_once()
  local sup = specs.start({ children = { child("a", "server") }, max_restarts = 0 })
  local old = supervisor.which_children(sup)[1].pid
  local new = supervisor.restart_child(sup, "a")
  assert(new ~= old, "a new PID")
  helpers.wait_gone(old)
  assert.eq(supervisor.restart_child(sup, "a") ~= new, true, "not counted for intensity")
  assert.eq(supervisor.which_children(sup)[1].status, "running")
  supervisor.stop(sup)
end

function M.replies_never_reach_the_callers_mailbox_or_listeners()
  local calls = process.listen("supervisor.call")
  local sup = specs.start({ children = { child("a", "server") } })
  supervisor.which_children(sup)
  supervisor.terminate_child(sup, "a")
  supervisor.restart_child(sup, "a")
  supervisor.stop(sup)
  helpers.assert_quiet(process.inbox(), "nothing in the inbox")
  helpers.assert_quiet(calls, "nothing on the listener")
  helpers.assert_quiet(process.events(), "no event")
end

function M.a_supervisor_ending_before_it_answers_gives_process_not_found()
  process.set_options({ trap_links = true })
  local sup = specs.start({ children = { child("s", "stubborn", { shutdown = "infinity" }) } })
  coroutine.spawn(function()
    time.sleep("20ms")
    process.terminate(sup)
  end)
  helpers.refused("process not found", supervisor.terminate_child(sup, "s"))
end

function M.messages_to_a_supervisor_are_dropped()
  local sup = specs.start({ children = { child("a", "server") } })
  for i = 1, 10 do process.send(sup, "noise", i) end
  assert.eq(#supervisor.which_children(sup), 1)
  supervisor.stop(sup)
end

return M
