-- SPEC §5: a message received while the receiver was blocked (the scheduler hands it to the
-- blocked receive, which builds it on its own stack, as it builds one found waiting) is the
-- same copy as ever:
-- shapes, shared tables, cycles, several payloads, and a rebuild that does not fit the
-- receiver's memory raising where the receive was called.
local assert = require("assert")
local util = require("helpers").for_suite("test.payload:workers")

local M = {}

-- Sends each value to a worker blocked in a receive and returns what it sent back.
local function through_blocked(worker, values)
  local ready, back = process.listen("ready"), process.listen("back")
  local pid = util.spawn(worker, util.DEFAULT, process.pid(), #values)
  local got = {}
  for i, v in ipairs(values) do
    util.recv(ready, "the worker's ready " .. i)
    assert.eq(process.send(pid, "blocked", table.unpack(v, 1, v.n)), true)
    got[i] = util.recv(back, "the worker's echo " .. i)
  end
  util.returned(pid, true)
  return got
end

local function pack(...) return { n = select("#", ...), ... } end

local function shapes()
  local shared = { "s" }
  local cyc = { name = "cyc" }
  cyc.self = cyc
  return {
    pack({ 1, 2, 3, x = "y", [2.5] = true, [false] = 0, nested = { deep = { 1 } } }),
    pack({ a = shared, b = shared, list = { shared, shared } }),
    pack(cyc),
    pack({}),
  }
end

local function check_shapes(got)
  local t = got[1]
  assert.eq(t[1], 1)
  assert.eq(t[3], 3)
  assert.eq(#t, 3)
  assert.eq(t.x, "y")
  assert.eq(t[2.5], true)
  assert.eq(t[false], 0)
  assert.eq(t.nested.deep[1], 1)
  local s = got[2]
  assert.eq(s.a[1], "s")
  assert.truthy(s.a == s.b and s.list[1] == s.a and s.list[2] == s.a, "sharing lost")
  assert.truthy(got[3].self == got[3], "cycle lost")
  assert.eq(got[3].name, "cyc")
  assert.eq(next(got[4]), nil)
end

function M.tables_received_while_blocked_keep_their_shape()
  check_shapes(through_blocked("blocked_echo", shapes()))
  return true
end

function M.tables_received_while_blocked_in_a_coroutine_keep_their_shape()
  check_shapes(through_blocked("blocked_echo_in_coroutine", shapes()))
  return true
end

-- Several payloads arrive as one array, tables shared between them still shared.
function M.several_payloads_received_while_blocked()
  local t = { 1 }
  local got = through_blocked("blocked_echo", { pack(t, "two", t, { t }), pack(nil, { 5 }) })
  local a = got[1]
  assert.eq(#a, 4)
  assert.eq(a[2], "two")
  assert.truthy(a[1] == a[3] and a[4][1] == a[1], "sharing across payloads lost")
  assert.eq(a[1][1], 1)
  assert.eq(got[2][1], nil)
  assert.eq(got[2][2][1], 5)
  return true
end

local BIG = {}
for i = 1, 4000 do BIG[i] = string.rep("b", 1024) end

-- Sends BIG to `worker` on the small host (spawned with our PID and `...`; told to go on
-- when `queued`) and checks it caught Lua's memory error and ended normally.
local function caught_over_memory(worker, queued, ...)
  local ready, caught = process.listen("ready"), process.listen("caught")
  local pid = util.spawn(worker, "app:small_memory", process.pid(), ...)
  util.recv(ready, "the worker's ready")
  assert.eq(process.send(pid, "big", BIG), true)
  if queued then assert.eq(process.send(pid, "go", true), true) end
  local r = util.recv(caught, "what the worker caught", "10s")
  assert.eq(r.ok, false)
  assert.eq(r.err, "not enough memory")
  util.returned(pid, 3, "10s")
  return true
end

-- The rebuild runs in the receiving process: not fitting its memory is a memory error raised
-- at the receive, which pcall catches like any other (the message is lost).
local function caught_at_the_receive(queued)
  return caught_over_memory("blocked_over_memory", queued, true, queued)
end

function M.a_rebuild_over_memory_is_caught_at_the_receive()
  return caught_at_the_receive(false)
end

-- The same for a message found waiting in the channel.
function M.a_queued_rebuild_over_memory_is_caught_at_the_receive()
  return caught_at_the_receive(true)
end

-- Tables found waiting (sent to ourselves) keep their shape as well.
function M.tables_found_waiting_keep_their_shape()
  local ch, got = process.listen("self"), {}
  for i, v in ipairs(shapes()) do
    assert.eq(process.send(process.pid(), "self", v[1]), true)
    got[i] = util.recv(ch, "self-sent table " .. i)
  end
  check_shapes(got)
  return true
end

-- An EXIT whose value does not fit is the same memory error at the events receive, found
-- waiting or received while blocked.
function M.an_exit_value_over_memory_is_caught_at_the_receive()
  local caught = process.listen("caught")
  for _, queued in ipairs { true, false } do
    local pid = util.spawn("event_over_memory", "app:small_memory", process.pid(), queued)
    local r = util.recv(caught, "what the worker caught", "10s")
    assert.eq(r.ok, false, "queued = " .. tostring(queued))
    assert.eq(r.err, "not enough memory", "queued = " .. tostring(queued))
    util.returned(pid, 3, "10s")
  end
  return true
end

-- A payload object's data() builds on the calling process's own stack too: the same
-- catchable memory error as a receive's.
function M.a_data_build_over_memory_is_caught_at_the_call()
  return caught_over_memory("data_over_memory", false)
end

-- Uncaught, it ends the process with the memory limit's error.
function M.a_rebuild_over_memory_ends_the_receiver()
  local ready = process.listen("ready")
  local pid = util.spawn("blocked_over_memory", "app:small_memory", process.pid(), false)
  util.recv(ready, "the worker's ready")
  assert.eq(process.send(pid, "big", BIG), true)
  util.failed_with(pid, "memory limit exceeded: the process may use 8 MiB of Lua heap", "10s")
  return true
end

return M
