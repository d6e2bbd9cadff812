-- Payload depth and size (`max_payload_depth`, default 64; `max_payload_bytes`, unbounded
-- unless set: string bytes + 16 per value). Limits apply to what a host's processes send:
-- messages, spawn arguments and return values.
local assert = require("assert")
local util = require("helpers").for_suite("test.limits:workers", { still_running_spawns = "count_to" })

local DEEP64 = "cannot send table nested deeper than 64 levels"
local DEEP5 = "cannot send table nested deeper than 5 levels"
local LARGE = "cannot send payload larger than 1000 bytes"
local SMALL = "app:small_payloads" -- max_payload_bytes: 1000, max_payload_depth: 5

local M = {}

local function nest(n)
  local t = { leaf = true }
  for _ = 2, n do t = { t } end
  return t
end

local function depth(t)
  local d = 0
  while type(t) == "table" do
    d = d + 1
    t = t[1] or (t.leaf and 0)
  end
  return d
end

-- Acceptance: a table nested 10,000 deep is refused by send and spawn with the default
-- limit's error; nothing is delivered; 64 levels pass, 65 do not.
function M.deep_table_refused()
  local me = process.pid()
  local inbox = process.inbox()
  local deep = nest(10000)
  util.refused(DEEP64, process.send(me, "deep", deep))
  util.refused(DEEP64, process.send(me, "deep", 1, { deep }))
  util.refused(DEEP64, process.spawn("test.limits:workers:count_to", util.DEFAULT, deep))
  assert.same(util.drain(inbox), {})
  assert.eq(process.send(me, "ok", nest(64)), true)
  assert.eq(depth(util.recv(inbox, "the 64-deep table"):payload():data()), 64)
  util.refused(DEEP64, process.send(me, "deep", nest(65)))
  assert.same(util.drain(inbox), {})
  return true
end

-- Acceptance: a worker that insists on sending a 10,000-deep table ends with that error;
-- nothing reaches the receiver, and the rest of the app runs on.
function M.deep_table_sender_ends_alone()
  local sibling = util.sibling()
  local deep = process.listen("deep")
  util.failed_in(util.spawn("deep_sender", util.DEFAULT, process.pid(), 10000),
    "limits/workers.lua", DEEP64)
  assert.same(util.drain(deep), {})
  util.still_running(sibling)
  return true
end

-- A 10,000-deep return value makes an abnormal exit with the same error.
function M.deep_return_value()
  local sibling = util.sibling()
  util.failed_with(util.spawn("deep_returner", util.DEFAULT, 10000), DEEP64)
  util.still_running(sibling)
  return true
end

-- A host's max_payload_bytes and max_payload_depth, on sends and spawns of its processes:
-- the size counts the whole message (all payloads), 1000 bytes pass, 1001 do not.
function M.host_payload_limits()
  local probes = process.listen("probe")
  local pid = util.spawn("payload_probe", SMALL, process.pid())
  util.returned(pid, { "ok", LARGE, "ok", LARGE, "ok", DEEP5, LARGE, DEEP5 })
  local got = util.drain(probes)
  assert.eq(#got, 3, "accepted probes delivered")
  assert.eq(got[1], string.rep("a", 984))
  assert.same(got[2], { string.rep("c", 484), string.rep("d", 484) })
  assert.eq(depth(got[3]), 5)
  return true
end

-- A return value over the host's size or depth limit is an abnormal exit; under it is fine.
function M.host_limits_on_return_values()
  util.failed_with(util.spawn("big_returner", SMALL, 985), LARGE)
  util.returned(util.spawn("big_returner", SMALL, 984), string.rep("x", 984))
  util.failed_with(util.spawn("deep_returner", SMALL, 6), DEEP5)
  util.returned(util.spawn("deep_returner", SMALL, 5), nest(5))
  return true
end

-- The default host has no size limit: a 4 MiB message goes through.
function M.no_size_limit_by_default()
  local me = process.pid()
  local big = string.rep("z", 4 << 20)
  assert.eq(process.send(me, "big", big, { big }), true)
  local got = util.recv(process.listen("big"), "the 4 MiB message")
  assert.eq(#got[1], 4 << 20)
  assert.eq(#got[2][1], 4 << 20)
  return true
end

-- A process on the small host cannot get round its limits by forwarding a payload object
-- it received from a host without them.
function M.forwarded_payloads_are_limited()
  local forwarded = process.listen("forwarded")
  local pid = util.spawn("forwarder", SMALL, process.pid())
  assert.eq(process.send(pid, "big", string.rep("x", 5000)), true)
  assert.eq(process.send(pid, "deep", nest(20)), true)
  util.returned(pid, { LARGE, DEEP5 })
  assert.same(util.drain(forwarded), {})
  return true
end

return M
