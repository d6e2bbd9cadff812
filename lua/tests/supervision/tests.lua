-- SPEC 12.1: supervisors: starting, strategies, restart types, intensity, escalation, backoff,
-- shutdown and events.
local assert = require("assert")
local helpers = require("helpers")
local specs = require("specs")
local supervisor = require("supervisor")
local time = require("time")

local M = {}
local W = specs.W
local HOST = helpers.HOST

local child = specs.child

-- The next supervisor event (topic "supervisor.event"), checked to be of `kind`.
local function next_sup_event(kind, id)
  local ev = helpers.recv(process.listen("supervisor.event"), "a " .. kind .. " event")
  assert.eq(ev.kind, kind, "event kind")
  if id then assert.eq(ev.id, id, "event child id") end
  return ev
end

-- Starts a supervisor that sends its events to the caller.
local function start(spec)
  spec.notify = spec.notify or process.pid()
  return specs.start(spec)
end

function M.start_starts_children_in_order_and_returns_the_pid()
  local sup = start({ children = { child("a", "server"), child("b", "server"), child("c", "server") } })
  assert.eq(type(sup), "string")
  local pids = {}
  for _, id in ipairs({ "a", "b", "c" }) do
    local ev = next_sup_event("child.start", id)
    assert.eq(ev.restarts, 0)
    assert.eq(ev.supervisor, sup)
    assert.eq(math.type(ev.at), "integer")
    pids[id] = ev.pid
  end
  local kids = supervisor.which_children(sup)
  assert.eq(#kids, 3)
  for i, id in ipairs({ "a", "b", "c" }) do
    assert.same(kids[i], { id = id, pid = pids[id], status = "running", restart = "permanent",
      restarts = 0, kind = "worker" })
  end
  assert.eq(supervisor.stop(sup), true)
end

function M.start_refuses_invalid_specs()
  local cases = {
    { 42, "supervisor spec must be a table" },
    { { strategy = "all_for_none" }, "unknown strategy: all_for_none" },
    { { max_restarts = -1 }, "max_restarts must be a non-negative integer" },
    { { max_restarts = 1.5 }, "max_restarts must be a non-negative integer" },
    { { period = "0s" }, "period must be a positive duration" },
    { { period = "soon" }, "period must be a positive duration" },
    { { backoff = { initial = "x" } }, "invalid backoff: initial" },
    { { backoff = { max = "-1s" } }, "invalid backoff: max" },
    { { backoff = { factor = 0.5 } }, "invalid backoff: factor" },
    { { backoff = { jitter = 2 } }, "invalid backoff: jitter" },
    { { children = { { entry = W .. "server" } } }, "child spec requires an id" },
    { { children = { child("a", "server"), child("a", "server") } }, "duplicate child id: a" },
    { { children = { { id = "a" } } }, "child 'a' needs entry or supervisor" },
    { { children = { { id = "a", entry = W .. "server", supervisor = {} } } },
      "child 'a' needs entry or supervisor" },
    { { children = { child("a", "server", { restart = "sometimes" }) } },
      "child 'a': restart must be permanent, transient or temporary" },
    { { host = "app:nowhere" }, "host not found" },
  }
  for _, case in ipairs(cases) do
    local sup, err = supervisor.start(case[1])
    assert.eq(sup, nil, case[2])
    assert.eq(err, case[2])
  end
end

function M.a_child_that_fails_to_start_fails_start_and_stops_the_others()
  local sup, err = supervisor.start({ notify = process.pid(), children = {
    child("a", "server"), child("b", "no_such_worker") } })
  assert.eq(sup, nil)
  assert.eq(err, "child 'b' failed to start: entry not found: " .. W .. "no_such_worker")
  local started = next_sup_event("child.start", "a")
  local stopped = next_sup_event("child.exit", "a")
  assert.eq(stopped.pid, started.pid)
  assert.eq(stopped.action, "keep")
  helpers.wait_gone(started.pid)
end

function M.the_name_is_taken_when_registered()
  process.registry.register("taken.name", process.pid())
  local sup, err = supervisor.start({ name = "taken.name" })
  assert.eq(sup, nil)
  assert.eq(err, "name already registered")
end

function M.one_for_one_restarts_only_the_crashed_child_under_the_same_name()
  local sup = start({ children = { child("a", "server"), child("b", "server", { name = "svc.b" }) } })
  next_sup_event("child.start", "a")
  local first = next_sup_event("child.start", "b").pid
  assert.eq(process.registry.lookup("svc.b"), first)
  process.send("svc.b", "crash")
  local ex = next_sup_event("child.exit", "b")
  assert.eq(ex.pid, first)
  assert.eq(ex.error, "crash on purpose")
  assert.eq(ex.action, "restart")
  assert.eq(ex.delay, 0)
  local again = next_sup_event("child.start", "b")
  assert.eq(again.restarts, 1)
  assert(again.pid ~= first, "a new incarnation")
  assert.eq(process.registry.lookup("svc.b"), again.pid)
  assert.eq(supervisor.which_children(sup)[1].restarts, 0)
  supervisor.stop(sup)
end

local function group_restart(strategy, crash, expect_stopped, expect_started)
  local sup = start({ strategy = strategy, children = {
    child("a", "server"), child("b", "server"), child("c", "server") } })
  local pids = {}
  for _, id in ipairs({ "a", "b", "c" }) do pids[id] = next_sup_event("child.start", id).pid end
  process.send(pids[crash], "crash")
  local ex = next_sup_event("child.exit", crash)
  assert.eq(ex.action, "restart")
  for _, id in ipairs(expect_stopped) do
    local ev = next_sup_event("child.exit", id)
    assert.eq(ev.action, "restart")
    assert.eq(ev.pid, pids[id])
  end
  for _, id in ipairs(expect_started) do
    local ev = next_sup_event("child.start", id)
    assert(ev.pid ~= pids[id], "new incarnation of " .. id)
  end
  helpers.assert_quiet(process.listen("supervisor.event"), "no other event")
  supervisor.stop(sup)
end

function M.one_for_all_stops_the_others_in_reverse_order_and_restarts_all()
  group_restart("one_for_all", "b", { "c", "a" }, { "a", "b", "c" })
end

function M.rest_for_one_restarts_the_child_and_those_after_it()
  group_restart("rest_for_one", "b", { "c" }, { "b", "c" })
end

function M.transient_children_are_kept_after_a_normal_exit_and_temporary_deleted()
  local sup = start({ children = {
    child("t", "quitter", { restart = "transient" }),
    child("x", "crasher", { restart = "temporary" }) } })
  next_sup_event("child.start", "t")
  next_sup_event("child.start", "x")
  -- The two children run side by side: their exits come in either order.
  local exits = {}
  for _ = 1, 2 do
    local ev = next_sup_event("child.exit")
    exits[ev.id] = ev
  end
  local a, b = exits.t, exits.x
  assert.truthy(a and b, "both children's exits")
  assert.eq(a.action, "keep")
  assert.eq(a.error, nil)
  assert.eq(b.action, "delete")
  assert.eq(b.error, "boom")
  local kids = supervisor.which_children(sup)
  assert.eq(#kids, 1)
  assert.eq(kids[1].status, "stopped")
  assert.eq(kids[1].pid, nil)
  supervisor.stop(sup)
end

function M.exceeding_the_intensity_gives_up_and_the_starter_gets_link_down()
  process.set_options({ trap_links = true })
  local sup = start({ max_restarts = 2, period = "10s", children = { child("c", "crasher") } })
  for _ = 1, 2 do
    next_sup_event("child.start", "c")
    assert.eq(next_sup_event("child.exit", "c").action, "restart")
  end
  next_sup_event("child.start", "c")
  assert.eq(next_sup_event("child.exit", "c").action, "give_up")
  assert.eq(next_sup_event("supervisor.exit").error, "reached max restart intensity")
  local ev = helpers.wait_event(process.event.LINK_DOWN, sup)
  assert.eq(ev.error, "reached max restart intensity")
end

function M.max_restarts_zero_gives_up_at_the_first_crash()
  process.set_options({ trap_links = true })
  start({ max_restarts = 0, children = { child("c", "crasher") } })
  next_sup_event("child.start", "c")
  assert.eq(next_sup_event("child.exit", "c").action, "give_up")
end

function M.a_nested_supervisor_that_gives_up_is_restarted_by_its_parent()
  local sup = start({ children = {
    child("w", "server"),
    { id = "pool", supervisor = { max_restarts = 0, notify = process.pid(), children = {
      child("c", "server", { name = "pool.c" }) } } },
  } })
  next_sup_event("child.start", "w")
  local inner = next_sup_event("child.start", "c")
  local pool = next_sup_event("child.start", "pool")
  assert.eq(inner.supervisor, pool.pid)
  local kinds = supervisor.which_children(sup)
  assert.eq(kinds[2].kind, "supervisor")
  process.send("pool.c", "crash")
  assert.eq(next_sup_event("child.exit", "c").action, "give_up")
  assert.eq(next_sup_event("supervisor.exit").error, "reached max restart intensity")
  local esc = next_sup_event("child.exit", "pool")
  assert.eq(esc.error, "reached max restart intensity")
  assert.eq(esc.action, "restart")
  local again = next_sup_event("child.start", "c")
  assert.eq(process.registry.lookup("pool.c"), again.pid)
  assert(next_sup_event("child.start", "pool").pid ~= pool.pid, "a new pool")
  supervisor.stop(sup)
end

function M.backoff_delays_grow_by_factor_up_to_max()
  local sup = start({ max_restarts = 10, period = "1h",
    backoff = { initial = "10ms", factor = 2, max = "30ms" },
    children = { child("c", "crasher") } })
  local want = { 10e6, 20e6, 30e6, 30e6 }
  next_sup_event("child.start", "c")
  for i = 1, #want do
    local ex = next_sup_event("child.exit", "c")
    assert.eq(ex.delay, math.floor(want[i]))
    local t0 = time.now()
    local st = next_sup_event("child.start", "c")
    assert.eq(st.restarts, i)
    assert(time.now():sub(t0):nanoseconds() >= want[i] * 0.9, "restart waited the delay")
  end
  supervisor.stop(sup)
end

function M.backoff_jitter_stays_within_its_bounds_and_varies()
  local sup = start({ max_restarts = 10, period = "1h",
    backoff = { initial = "4ms", factor = 1, jitter = 0.5 },
    children = { child("c", "crasher") } })
  local seen = {}
  next_sup_event("child.start", "c")
  for _ = 1, 5 do
    local d = next_sup_event("child.exit", "c").delay
    assert(d >= 2e6 and d < 6e6, "delay " .. d .. " within 4ms +- 50%")
    seen[d] = true
    next_sup_event("child.start", "c")
  end
  local n = 0
  for _ in pairs(seen) do n = n + 1 end
  assert(n > 1, "jitter varies the delays")
  supervisor.stop(sup)
end

function M.children_answer_calls_during_a_backoff_and_show_restarting()
  local sup = start({ max_restarts = 5, backoff = { initial = "200ms" },
    children = { child("c", "crasher", { name = "slow.c" }) } })
  next_sup_event("child.start", "c")
  next_sup_event("child.exit", "c")
  local kids = supervisor.which_children(sup)
  assert.eq(kids[1].status, "restarting")
  assert.eq(kids[1].pid, nil)
  assert.eq(process.registry.lookup("slow.c"), nil)
  supervisor.stop(sup)
end

function M.stop_shuts_children_down_in_reverse_order_through_cancel()
  local sup = start({ children = { child("a", "server"), child("b", "server") } })
  next_sup_event("child.start", "a")
  next_sup_event("child.start", "b")
  assert.eq(supervisor.stop(sup), true)
  for _, id in ipairs({ "b", "a" }) do
    local ev = next_sup_event("child.exit", id)
    assert.eq(ev.action, "keep")
    assert.eq(ev.error, nil)
  end
  assert.eq(next_sup_event("supervisor.exit").error, nil)
  helpers.wait_gone(sup)
end

function M.a_child_that_ignores_cancel_is_terminated_after_its_shutdown()
  local sup = start({ children = { child("s", "stubborn", { shutdown = "20ms" }) } })
  next_sup_event("child.start", "s")
  local t0 = time.now()
  supervisor.stop(sup)
  local ev = next_sup_event("child.exit", "s")
  assert(ev.error ~= nil, "terminated abnormally")
  assert(time.now():sub(t0):nanoseconds() >= 15e6, "waited the shutdown first")
end

function M.cancel_shuts_the_supervisor_down_normally()
  local sup = start({ children = { child("a", "server") } })
  next_sup_event("child.start", "a")
  process.monitor(sup)
  process.cancel(sup, "enough")
  assert.eq(next_sup_event("child.exit", "a").action, "keep")
  assert.eq(next_sup_event("supervisor.exit").error, nil)
  local ev = helpers.wait_event(process.event.EXIT, sup)
  assert.eq(ev.error, nil)
end

function M.a_supervisor_whose_starter_fails_shuts_down_with_linked_process_failed()
  local starter = process.spawn(W .. "starter", HOST, process.pid())
  local sup = helpers.recv(process.listen("sup"), "the supervisor's PID")
  next_sup_event("child.start", "a")
  process.send(starter, "fail")
  assert.eq(next_sup_event("child.exit", "a").action, "keep")
  local ev = next_sup_event("supervisor.exit")
  assert.eq(ev.supervisor, sup)
  assert.eq(ev.error, "linked process failed")
  helpers.wait_gone(sup)
end

function M.a_normal_exit_of_the_starter_does_not_stop_the_supervisor()
  local starter = process.spawn(W .. "starter", HOST, process.pid(), true)
  local sup = helpers.recv(process.listen("sup"), "the supervisor's PID")
  next_sup_event("child.start", "a")
  helpers.wait_gone(starter)
  helpers.assert_quiet(process.listen("supervisor.event"), "no event after the starter ended")
  assert.eq(supervisor.which_children(sup)[1].status, "running")
  assert.eq(supervisor.stop(sup), true)
end

function M.run_turns_the_caller_into_the_supervisor()
  local pid = process.spawn_monitored(W .. "runner", HOST, { notify = process.pid(),
    children = { child("a", "server") } })
  local ev = next_sup_event("child.start", "a")
  assert.eq(ev.supervisor, pid)
  assert.eq(#supervisor.which_children(pid), 1)
  assert.eq(supervisor.stop(pid), true)
  local ex = helpers.wait_event(process.event.EXIT, pid)
  assert.eq(ex.result.value, true)
end

function M.run_with_a_bad_spec_ends_the_caller_abnormally()
  local pid = process.spawn_monitored(W .. "runner", HOST, { strategy = "nope" })
  local ex = helpers.wait_event(process.event.EXIT, pid)
  assert.eq(ex.error, "unknown strategy: nope")
end

return M
