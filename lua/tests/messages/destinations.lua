-- process.send to a destination a send reached before. The core remembers where the PID
-- strings of recent sends sit and the process each one reached, and checks a remembered one
-- against the string that process was given at its spawn (src/core/dest.rs): a remembered
-- destination must never route to a process that ended, nor to the one that took its place,
-- a registered name must follow its holder, and a server answering many clients (more than
-- the core remembers) must reach each one. Every PID string of a process (spawn's result,
-- process.pid(), msg:from(), an event's from) is the same string.
local assert = require("assert")
local helpers = require("helpers")

local HOST = "app:processes"
local W = "test.messages:workers:"

local M = {}

function M.send_to_a_pid_that_ended_after_a_send_to_it_is_not_found()
  local a = assert(process.spawn_monitored(W .. "waiter", HOST))
  -- The waiter ends on its first message: this send is the one remembered.
  assert.eq(process.send(a, "wake"), true)
  helpers.wait_event("pid.exit", a)
  -- A new process takes the place the ended one left in the core.
  local b = assert(process.spawn_monitored(W .. "waiter", HOST))
  assert.truthy(a ~= b)
  helpers.refused("process not found", process.send(a, "again"))
  helpers.refused("process not found", process.send(a, "again", 1))
  assert.eq(process.send(b, "wake"), true)
  helpers.wait_event("pid.exit", b)
  helpers.refused("process not found", process.send(b, "late"))
  helpers.refused("process not found", process.send(a, "late"))
end

function M.sends_alternating_between_two_pids_reach_each_one()
  local me = process.pid()
  local a = assert(process.spawn(W .. "collect", HOST, me, "v", 3))
  local b = assert(process.spawn(W .. "collect", HOST, me, "v", 3))
  for i = 1, 3 do
    assert.eq(process.send(a, "v", "a" .. i), true)
    assert.eq(process.send(b, "v", "b" .. i), true)
  end
  local got = process.listen("collected")
  local lists = { (helpers.recv(got, "a's list")), (helpers.recv(got, "b's list")) }
  table.sort(lists, function(x, y) return x[1] < y[1] end)
  assert.same(lists, { { "a1", "a2", "a3" }, { "b1", "b2", "b3" } })
end

function M.a_registered_name_follows_its_holder()
  local me = process.pid()
  local a = assert(process.spawn(W .. "collect", HOST, me, "n", 1))
  local b = assert(process.spawn(W .. "collect", HOST, me, "n", 1))
  local got = process.listen("collected")
  assert.eq(process.registry.register("dest_cache_holder", a), true)
  assert.eq(process.send("dest_cache_holder", "n", "to a"), true)
  assert.same(helpers.recv(got, "a's list"), { "to a" })
  -- a ended after its one value; the name moves to b.
  helpers.wait_gone(a)
  assert.eq(process.registry.register("dest_cache_holder", b), true)
  assert.eq(process.send("dest_cache_holder", "n", "to b"), true)
  assert.same(helpers.recv(got, "b's list"), { "to b" })
end

function M.a_pid_string_built_anew_reaches_the_same_process()
  local me = process.pid()
  local a = assert(process.spawn(W .. "collect", HOST, me, "s", 2))
  assert.eq(process.send(a, "s", 1), true)
  -- Equal bytes in another string object.
  local copy = table.concat({ a:sub(1, 3), a:sub(4) })
  assert.eq(process.send(copy, "s", 2), true)
  assert.same(helpers.recv(process.listen("collected"), "the list"), { 1, 2 })
end

-- Topics are checked as ASCII first on the fast path (src/lua/hot.rs); other UTF-8 text
-- must route and arrive just the same.
function M.a_topic_that_is_not_ascii_routes_and_arrives_as_sent()
  local me = process.pid()
  local ch = process.listen("caf\u{e9}")
  assert.eq(process.send(me, "caf\u{e9}", 1), true)
  assert.eq(helpers.recv(ch, "the listened value"), 1)
  assert.eq(process.send(me, "na\u{ef}ve", 2), true)
  local msg = helpers.recv(process.inbox(), "the inbox message")
  assert.eq(msg:topic(), "na\u{ef}ve")
  assert.eq(msg:payload():data(), 2)
end

-- 300 clients, more than the 256 destinations the core remembers: every answer goes to
-- msg:from() of its question, and reaches the client that asked.
function M.a_server_answers_each_of_many_clients_at_its_own_pid()
  local me = process.pid()
  local clients = {}
  for i = 1, 300 do
    clients[i] = assert(process.spawn(W .. "ask_who", HOST, me))
  end
  local inbox, told = process.inbox(), process.listen("told")
  for _ = 1, #clients do
    local msg = helpers.recv(inbox, "a question")
    assert.eq(msg:topic(), "ask")
    assert.eq(process.send(msg:from(), "answer", msg:from()), true)
  end
  for _ = 1, #clients do
    assert.eq(helpers.recv(told, "a client's report"), true)
  end
end

-- Many destinations remembered at once, all ended, their slots taken by new processes: none
-- of the old PID strings reaches anyone.
local function spawn_waiters(n)
  local pids = {}
  for i = 1, n do
    pids[i] = assert(process.spawn_monitored(W .. "waiter", HOST))
  end
  return pids
end

-- Wakes every waiter of `pids` with a send (each one remembered) and waits for their EXITs.
local function wake_all(pids)
  for i = 1, #pids do
    assert.eq(process.send(pids[i], "wake"), true)
  end
  for _ = 1, #pids do
    helpers.wait_event("pid.exit")
  end
end

function M.remembered_pids_of_ended_processes_reach_no_newcomer()
  local old = spawn_waiters(40)
  wake_all(old)
  local new = spawn_waiters(#old)
  for i = 1, #old do
    helpers.refused("process not found", process.send(old[i], "wake"))
  end
  wake_all(new)
end

function M.every_pid_string_of_a_process_is_the_same()
  local me = process.pid()
  assert.eq(process.pid(), me)
  local child = assert(process.spawn_monitored(W .. "tell_pid", HOST, me))
  local msg = helpers.recv(process.inbox(), "the child's message")
  assert.eq(msg:topic(), "mine")
  assert.eq(msg:from(), child)
  assert.eq(msg:payload():data(), child)
  local ev = helpers.exit_from(child)
  assert.eq(ev.result.value, child)
  -- Read after the child ended: its PID string is still the same.
  assert.eq(msg:from(), child)
  assert.eq(ev.from, child)
end

return M
