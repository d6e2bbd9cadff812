-- SPEC 12.3: process.upgrade.
local assert = require("assert")
local helpers = require("helpers")

local M = {}
local W = "test.upgrade:workers:"

local spawn = helpers.spawner(W)

local function recv(topic, what)
  return helpers.recv(process.listen(topic), what or topic)
end

local function contains(list, v)
  for _, x in ipairs(list) do if x == v then return true end end
  return false
end

function M.upgrade_keeps_pid_names_links_monitors_options_and_subscriptions()
  local me = process.pid()
  local pid = spawn("before", me)
  process.link(pid)
  process.monitor(pid)
  assert.eq(recv("ready"), pid)
  process.send(pid, "go", "carried")
  local after = recv("after")
  assert.eq(after.pid, pid)
  assert.eq(after.id, W .. "after")
  assert.eq(after.entry, W .. "after")
  assert.eq(after.note, "carried")
  assert.eq(after.upgrades, 1)
  assert.same(after.names, { "upgrade.keeper" })
  assert.eq(after.trap, true)
  assert.eq(after.leftover, "none", "a fresh global table")
  assert.eq(after.timers, 0, "timers, tickers and time.after channels are disarmed")
  assert.eq(after.tasks, 1, "coroutine.spawn tasks are discarded")
  assert.eq(process.registry.lookup("upgrade.keeper"), pid)
  local info = process.info(pid)
  assert(contains(info.links, me), "link kept")
  assert(contains(info.monitored_by, me), "monitor on it kept")
  assert(contains(info.monitors, me), "its own monitor kept")
  assert.eq(info.upgrades, 1)
  -- The mailbox and the subscription: sent after the upgrade, read in order.
  process.send(pid, "first")
  process.send(pid, "second")
  process.send(pid, "news", "headline")
  assert.same(recv("kept"), { "first", "second", "headline" })
  process.unlink(pid)
  process.terminate(pid)
  helpers.exit_from(pid)
end

function M.messages_waiting_before_the_upgrade_stay_in_order()
  local me = process.pid()
  local pid = spawn("before", me)
  assert.eq(recv("ready"), pid)
  -- All three arrive before the upgrade: `go` is taken by the old code, the rest wait.
  process.send(pid, "go", "early")
  process.send(pid, "first")
  process.send(pid, "second")
  process.send(pid, "news", "buffered")
  assert.eq(recv("after").note, "early")
  assert.same(recv("kept"), { "first", "second", "buffered" })
  process.terminate(pid)
end

function M.upgrade_without_an_entry_restarts_the_same_code_and_counts_upgrades()
  local pid = spawn("restarter", process.pid())
  local rounds = process.listen("round")
  for n = 0, 2 do
    assert.same(helpers.recv(rounds, "round " .. n), { n = n, upgrades = n })
  end
  assert.eq(process.info(pid).upgrades, 2)
  assert.eq(process.info(pid).entry, W .. "restarter")
  process.terminate(pid)
end

function M.refused_upgrades_return_nil_and_leave_the_old_code_running()
  local pid = spawn("refused", process.pid())
  local got = recv("refused")
  assert.same(got.results[1], { true, "entry not found: test.upgrade:nowhere" })
  assert.same(got.results[2], { true, "entry not found: test.upgrade:shared" })
  assert.same(got.results[3], { true, "entry not found: supervisor" })
  assert.same(got.results[4], { true, "cannot send function" })
  assert.same(got.results[5], { true, "cannot send thread" })
  assert.eq(got.results[6][1], false)
  helpers.raised_at(got.results[6][2], "upgrade/workers.lua",
    "attempt to block where the process cannot yield")
  assert.same(got.results[7],
    { false, "process.upgrade: bad argument #1 (expected string or nil, got number)" })
  assert.eq(got.id, W .. "refused")
  assert.eq(got.upgrades, 0)
  assert.eq(process.info(pid).entry, W .. "refused")
  process.terminate(pid)
end

function M.code_change_gets_the_old_entry_and_the_upgrade_arguments()
  local pid = spawn("migrator", process.pid())
  process.send(pid, "migrated", { hits = 3 })
  assert.same(recv("migrated"), { from = W .. "migrator", hits = 4 })
  assert.eq(process.info(pid).entry, "test.upgrade:migrating:migrated")
  process.terminate(pid)
end

function M.an_error_in_code_change_ends_the_process_abnormally()
  local pid = spawn("migrator", process.pid())
  process.monitor(pid)
  process.send(pid, "migrated", { hits = -1 })
  local ev = helpers.exit_from(pid)
  assert(ev.result.error:find("cannot migrate", 1, true), ev.result.error)
end

function M.an_unknown_entry_in_another_file_is_refused()
  local pid = spawn("migrator", process.pid())
  process.send(pid, "nothing", { hits = 0 })
  assert.eq(recv("refused"), "entry not found: test.upgrade:migrating:nothing")
end

function M.upgrade_closes_the_old_coroutines_and_works_from_a_spawned_task()
  local pid = spawn("closer", process.pid())
  local closed = process.listen("closed")
  process.send(pid, "go")
  local seen = { helpers.recv(closed, "a close"), (helpers.recv(closed, "another close")) }
  table.sort(seen)
  assert.same(seen, { "main", "task" })
  assert.same(recv("done"), { id = W .. "done", tasks = 1 })
  process.terminate(pid)
end

function M.a_supervised_child_keeps_its_place_across_an_upgrade()
  local supervisor = require("supervisor")
  process.set_options({ trap_links = true })
  local me = process.pid()
  local sup = assert(supervisor.start({ children = {
    { id = "r", entry = W .. "restarter", args = { me, 1 }, shutdown = "50ms" },
  } }))
  local rounds = process.listen("round")
  assert.same(helpers.recv(rounds, "round 1"), { n = 1, upgrades = 0 })
  assert.same(helpers.recv(rounds, "round 2"), { n = 2, upgrades = 1 })
  local kids = supervisor.which_children(sup)
  assert.eq(kids[1].status, "running")
  assert.eq(kids[1].restarts, 0)
  local pid = kids[1].pid
  assert.eq(process.info(pid).upgrades, 1)
  -- Its crash is a crash of the supervised child: restarted from the child spec's entry.
  process.terminate(pid)
  assert.same(helpers.recv(rounds, "round 1 again"), { n = 1, upgrades = 0 })
  local again = supervisor.which_children(sup)[1]
  assert(again.pid ~= pid, "a new incarnation")
  assert.eq(again.restarts, 1)
  supervisor.stop(sup)
end

function M.reload_event_names_its_kind()
  assert.eq(process.event.RELOAD, "pid.reload")
end

-- A private channel the upgrade drops takes its waiting values out of the process's quota
-- (they used to stay counted, so the upgraded code could buffer nothing).
function M.values_waiting_in_dropped_channels_leave_the_quota()
  local pid = assert(process.spawn(W .. "buffer_filler", "app:small_memory", process.pid()))
  local first = recv("filled", "the first fill")
  assert.eq(first.round, 0)
  assert.eq(first.n, 16384)
  assert.eq(first.err,
    "channel.send: too many values waiting in this process's channels (at most 16384)")
  local second = recv("filled", "the fill after the upgrade")
  assert.eq(second.round, 1)
  assert.eq(second.err, nil)
  assert.eq(second.n, 100)
  process.terminate(pid)
  return true
end

return M
