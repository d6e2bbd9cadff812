-- Mailbox length (`mailbox_limit` of a process.host; unbounded unless set): a send that would
-- leave more messages waiting returns `nil, "mailbox full"`; nothing is dropped silently,
-- and what was accepted is delivered in order.
local assert = require("assert")
local util = require("helpers").for_suite("test.limits:workers", { still_running_spawns = "count_to" })

local TINY = "app:tiny_mailbox" -- mailbox_limit: 3
local WORKERS = "limits/workers.lua"

local M = {}

-- A collector on the tiny host, parked on its "go" topic (so nothing it gets is received).
local function collector()
  local ready = process.listen("ready")
  local pid = util.spawn("collector", TINY, process.pid())
  assert.eq(util.recv(ready, "the collector to be ready"), true)
  return pid
end

-- Tells the collector to drain, returns what it had waiting.
local function collect(pid)
  assert.eq(process.send(pid, "go"), true, "go to a parked collector")
  return util.recv(process.listen("got"), "the collector's report")
end

-- Acceptance: a flood from the test process. Exactly 3 sends succeed, the 4th and later
-- return nil, "mailbox full"; the 3 accepted are delivered in order; once drained, the
-- mailbox takes 3 more.
function M.flood_refused_when_full()
  local sibling = util.sibling()
  local pid = collector()
  local results = {}
  for i = 1, 6 do
    local ok, err = process.send(pid, "data", i)
    results[i] = ok and "ok" or err
  end
  assert.same(results, { "ok", "ok", "ok", "mailbox full", "mailbox full", "mailbox full" })
  assert.same(collect(pid), { inbox = { 1, 2, 3 }, side = {} })
  for i = 4, 6 do assert.eq(process.send(pid, "data", i), true, "send " .. i) end
  util.refused("mailbox full", process.send(pid, "data", 7))
  assert.same(collect(pid), { inbox = { 4, 5, 6 }, side = {} })
  -- the flood touched nobody else
  util.still_running(sibling)
  assert.eq(process.send(pid, "data", 8), true)
  return true
end

-- Acceptance: a worker that floods a mailbox and insists on every send ends with
-- "mailbox full"; the receiver gets the 3 accepted messages in order and keeps running.
-- Messages waiting in a mailbox count against the receiver's memory limit: 1 MiB strings to
-- a collector on the 8 MiB host are refused once about 8 MiB wait (never dropped silently).
function M.waiting_bytes_count_against_memory()
  local ready = process.listen("ready")
  local pid = util.spawn("collector", "app:small_memory", process.pid())
  assert.eq(util.recv(ready, "the collector to be ready"), true)
  local big = string.rep("m", 1 << 20)
  local accepted, refusal = 0, nil
  for _ = 1, 20 do
    local ok, err = process.send(pid, "data", big)
    if not ok then refusal = err break end
    accepted = accepted + 1
  end
  assert.eq(refusal, "mailbox full")
  assert.truthy(accepted >= 6 and accepted < 8, "accepted " .. accepted .. " MiB")
  -- Small messages still fit; the big one keeps being refused.
  assert.eq(process.send(pid, "data", 1), true)
  util.refused("mailbox full", process.send(pid, "data", big))
  assert.eq(process.terminate(pid), true)
  return true
end

function M.flooding_worker_ends_alone()
  local sibling = util.sibling()
  local target = collector()
  local flooder = util.spawn("flooder", util.DEFAULT, target, 1000000)
  util.failed_in(flooder, WORKERS, "mailbox full")
  assert.same(collect(target), { inbox = { 1, 2, 3 }, side = {} })
  assert.same(collect(target), { inbox = {}, side = {} })
  util.still_running(sibling)
  return true
end

-- The limit counts messages waiting on every topic of the process, not only its inbox.
function M.limit_counts_all_topics()
  local pid = collector()
  assert.eq(process.send(pid, "side", "s1"), true)
  assert.eq(process.send(pid, "data", 1), true)
  assert.eq(process.send(pid, "side", "s2"), true)
  util.refused("mailbox full", process.send(pid, "data", 2))
  util.refused("mailbox full", process.send(pid, "side", "s3"))
  assert.same(collect(pid), { inbox = { 1 }, side = { "s1", "s2" } })
  return true
end

-- Several senders share the limit, and each refused one is told.
function M.limit_shared_by_senders()
  local pid = collector()
  local a = util.spawn("flooder", util.DEFAULT, pid, 2)
  util.returned(a, "sent all 2")
  local b = util.spawn("flooder", util.DEFAULT, pid, 2)
  util.failed_in(b, WORKERS, "mailbox full")
  assert.same(collect(pid), { inbox = { 1, 2, 1 }, side = {} })
  return true
end

-- Without mailbox_limit the mailbox is unbounded: 2000 waiting messages are all accepted
-- and delivered in order.
function M.unbounded_by_default()
  local ready = process.listen("ready")
  local pid = util.spawn("collector", util.DEFAULT, process.pid())
  assert.eq(util.recv(ready, "the collector to be ready"), true)
  for i = 1, 2000 do assert.eq(process.send(pid, "data", i), true, "send " .. i) end
  local got = collect(pid)
  assert.eq(#got.inbox, 2000)
  for i = 1, 2000 do assert.eq(got.inbox[i], i) end
  return true
end

return M
