-- SPEC 12.2: process.list, process.info and process.traceback.
local assert = require("assert")
local helpers = require("helpers")
local supervisor = require("supervisor")
local time = require("time")

local M = {}
local W = "test.introspection:workers:"
local HOST = helpers.HOST

local spawn = helpers.spawner(W)

-- Lets the spawned processes run until they block.
local function settle() time.sleep("5ms") end

function M.list_gives_every_live_process_in_spawn_order()
  local a, b = spawn("receiver"), spawn("receiver")
  local all = process.list()
  assert.eq(all[#all - 2], process.pid())
  assert.eq(all[#all - 1], a)
  assert.eq(all[#all], b)
  assert.same(process.list(HOST), all)
  process.terminate(a)
  helpers.wait_gone(a)
  for _, pid in ipairs(process.list()) do assert(pid ~= a, "an ended process is not listed") end
  helpers.refused("host not found", process.list("app:nowhere"))
end

function M.info_refuses_missing_unknown_and_ended_destinations()
  helpers.refused("info requires a destination argument", process.info())
  helpers.refused("could not resolve 'no.one' as PID or registered name", process.info("no.one"))
  local a = spawn("receiver")
  process.terminate(a)
  helpers.wait_gone(a)
  helpers.refused("process not found", process.info(a))
  helpers.refused("traceback requires a destination argument", process.traceback())
  helpers.refused("could not resolve 'no.one' as PID or registered name",
    process.traceback("no.one"))
  helpers.refused("process not found", process.traceback(a))
end

function M.instructions_are_counted_on_a_host_with_an_instruction_limit()
  local me = process.pid()
  local pid = assert(process.spawn("test.introspection:workers:counter", "app:few_instructions", me))
  local got = helpers.recv(process.listen("counted"), "the counter's own count")
  assert(got > 100000 and got < 2000000, "instructions counted: " .. tostring(got))
  assert.truthy(pid)
end

function M.info_of_the_caller_says_running()
  local i = process.info(process.pid())
  assert.eq(i.pid, process.pid())
  assert.eq(i.entry, process.id())
  assert.eq(i.host, HOST)
  assert.eq(i.state, "running")
  assert.eq(i.waiting_on, nil)
  assert.eq(i.upgrades, 0)
  local x, keep = 0, {}
  for n = 1, 100000 do x = x + n end
  for n = 1, 1000 do keep[n] = { n } end
  -- Counted only where the runtime counts instructions (see the next test); never negative.
  local counted = process.info(process.pid()).instructions
  assert(math.type(counted) == "integer" and counted >= 0, "instructions is a count")
  time.sleep("1ms")
  assert(process.info(process.pid()).memory > 0, "memory charged")
  assert(getmetatable(i.started_at) ~= nil and i.started_at:unix() > 0, "started_at is a Time")
  assert(process.info(process.pid()) ~= i, "a fresh table each call")
end

function M.info_names_what_a_process_waits_on()
  local cases = { receiver = "receive", sleeper = "sleep", selector = "select", sender = "send" }
  local pids = {}
  for name in pairs(cases) do pids[name] = spawn(name) end
  settle()
  for name, want in pairs(cases) do
    local i = process.info(pids[name])
    assert.eq(i.state, "waiting", name)
    assert.eq(i.waiting_on, want, name)
    process.terminate(pids[name])
  end
end

function M.info_of_a_process_blocked_in_a_supervisor_call_says_call()
  process.set_options({ trap_links = true })
  local sup = supervisor.start({ children = { { id = "s", entry = W .. "stubborn",
    shutdown = "infinity" } } })
  local c = spawn("caller", sup)
  settle()
  assert.eq(process.info(c).waiting_on, "call")
  process.terminate(sup)
  process.terminate(c)
end

function M.a_spawned_process_is_runnable_until_it_runs()
  local a = spawn("receiver")
  local i = process.info(a)
  assert.eq(i.state, "runnable")
  assert.eq(i.waiting_on, nil)
  assert.eq(process.traceback(a), "stack traceback:")
  process.terminate(a)
end

function M.info_counts_mailbox_tasks_timers_and_lists_ties()
  local ready = process.listen("ready")
  local r = spawn("receiver")
  settle()
  process.send(r, "one")
  assert.eq(process.info(r).mailbox, 0, "a parked receiver takes the message at once")
  local s = spawn("sleeper")
  settle()
  for n = 1, 3 do process.send(s, "m", n) end
  assert.eq(process.info(s).mailbox, 3)
  assert.eq(process.info(s).timers, 0, "a sleep is not a timer")
  process.terminate(s)
  local b2 = process.spawn_linked_monitored(W .. "busy", HOST, process.pid())
  helpers.recv(ready, "ready")
  local i = process.info(b2)
  assert.eq(i.tasks, 2)
  assert.eq(i.timers, 1)
  assert.same(i.names, { "busy.one", "busy.two" })
  assert.eq(i.name, "busy.one")
  assert.eq(i.trap_links, true)
  assert.eq(i.parent, process.pid())
  assert.same(i.links, { process.pid() })
  assert.same(i.monitored_by, { process.pid() })
  assert.same(i.monitors, {})
  local me = process.info(process.pid())
  assert.same(me.monitors, { b2 })
  assert.same(me.links, { b2 })
  process.set_options({ trap_links = true })
  process.terminate(b2)
end

function M.traceback_of_a_waiting_process_points_at_the_blocking_line()
  local a = spawn("receiver")
  settle()
  local tb = process.traceback(a)
  assert(tb:find("^stack traceback:\n"), tb)
  assert(tb:find("introspection/workers.lua:5:", 1, true), tb)
  process.terminate(a)
end

function M.traceback_of_the_caller_is_its_current_stack()
  local tb = process.traceback(process.pid())
  assert(tb:find("^stack traceback:\n"), tb)
  assert(tb:find("introspection/tests.lua", 1, true), tb)
end

return M
