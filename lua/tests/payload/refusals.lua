-- SPEC §5: values that cannot be sent, nesting limit, payload objects.
local assert = require("assert")

local HOST = "app:processes"
local M = {}

local DEEP = "cannot send table nested deeper than 64 levels"

local function nest(n)
  local t = { leaf = true }
  for _ = 2, n do t = { t } end
  return t
end

local function inbox_empty()
  local r = channel.select { process.inbox():case_receive(), default = true }
  return r.default == true
end

local function refused(expected, v, err)
  assert.eq(v, nil, "expected refusal " .. expected)
  assert.eq(err, expected)
end

function M.refused_kinds_on_send()
  local me = process.pid()
  local co = coroutine.create(function() end)
  local cases = {
    { function() end, "cannot send function" },
    { print, "cannot send function" },
    { co, "cannot send thread" },
    { channel.new(), "cannot send channel" },
    { time.now(), "cannot send userdata" },
    { time.parse_duration("1s"), "cannot send userdata" },
    { time.timer("1h"), "cannot send userdata" },
  }
  for _, c in ipairs(cases) do
    refused(c[2], process.send(me, "t", c[1]))
    refused(c[2], process.send(me, "t", 1, c[1], 3))
    refused(c[2], process.send(me, "t", { deep = { list = { 1, c[1] } } }))
    refused(c[2], process.send(me, "t", { [c[1]] = "as key" }))
  end
  -- a message object is userdata, not a payload object
  process.send(me, "m", 1)
  local msg = process.inbox():receive()
  refused("cannot send userdata", process.send(me, "t", msg))
  -- refused sends deliver nothing at all
  assert.truthy(inbox_empty(), "a refused send delivered something")
  return true
end

function M.refused_kinds_on_spawn()
  local cases = {
    { function() end, "cannot send function" },
    { coroutine.create(function() end), "cannot send thread" },
    { channel.new(), "cannot send channel" },
    { time.now(), "cannot send userdata" },
  }
  for _, c in ipairs(cases) do
    refused(c[2], process.spawn("test.payload:workers:returner", HOST, "int", c[1]))
    refused(c[2], process.spawn_monitored("test.payload:workers:returner", HOST, { c[1] }))
  end
  -- no child was started: nothing on events
  local r = channel.select { process.events():case_receive(), time.after("20ms"):case_receive() }
  assert.truthy(r.channel ~= process.events(), "a refused spawn still ran a child")
  return true
end

local function exit_of(kind)
  local pid = assert(process.spawn_monitored("test.payload:workers:returner", HOST, kind))
  local ev = process.events():receive()
  assert.eq(ev.from, pid)
  return ev
end

function M.refused_return_values()
  for kind, want in pairs {
    ["function"] = "cannot send function", thread = "cannot send thread",
    channel = "cannot send channel", userdata = "cannot send userdata", deep65 = DEEP,
  } do
    local ev = exit_of(kind)
    assert.eq(ev.kind, "pid.exit")
    assert.eq(ev.result.value, nil, kind)
    assert.eq(ev.error, want, kind)
    assert.eq(ev.result.error, want, kind)
  end
  local ev = exit_of("deep64")
  assert.eq(ev.error, nil)
  assert.eq(ev.result.value[1][1][1][1][1][1][1][1] ~= nil, true)
  return true
end

function M.nesting_limit()
  local me = process.pid()
  local l = process.listen("deep")
  assert.eq(process.send(me, "deep", nest(64)), true)
  local v = l:receive()
  local depth = 1
  while v[1] do v = v[1]; depth = depth + 1 end
  assert.eq(depth, 64)
  assert.eq(v.leaf, true)
  refused(DEEP, process.send(me, "deep", nest(65)))
  refused(DEEP, process.send(me, "deep", 1, nest(100)))
  -- spawn arguments use the same limit
  assert.truthy(process.spawn("test.payload:workers:returner", HOST, "int", nest(64)))
  refused(DEEP, process.spawn("test.payload:workers:returner", HOST, "int", nest(65)))
  -- a cycle is not infinite depth
  local cyc = {}
  cyc.me = cyc
  assert.eq(process.send(me, "deep", cyc), true)
  -- wide but shallow is fine
  local wide = {}
  for i = 1, 1000 do wide[i] = { i } end
  assert.eq(process.send(me, "deep", wide), true)
  return true
end

function M.payload_object_sent_as_value()
  local pid = assert(process.spawn("test.payload:workers:echo", HOST))
  local t = { n = 1, f = 2.5, s = "a\0b", list = { 1, 2, 3 } }
  t.self = t
  assert.eq(process.send(pid, "one", t), true)
  local msg = process.inbox():receive()
  assert.eq(msg:topic(), "echo")
  assert.eq(msg:from(), pid)
  local back = msg:payload():data()
  assert.eq(back.n, 1)
  assert.eq(math.type(back.n), "integer")
  assert.eq(back.f, 2.5)
  assert.eq(back.s, "a\0b")
  assert.same(back.list, { 1, 2, 3 })
  assert.truthy(rawequal(back.self, back))
  -- scalars too
  assert.eq(process.send(pid, "one", 7), true)
  local seven = process.inbox():receive():payload():data()
  assert.eq(seven, 7)
  assert.eq(math.type(seven), "integer")
  -- several payloads, each sent back as its own payload object
  assert.eq(process.send(pid, "echo_many", "x", 2, { 3 }), true)
  local p = process.inbox():receive():payload()
  assert.eq(p[1]:data(), "x")
  assert.eq(p[2]:data(), 2)
  assert.same(p[3]:data(), { 3 })
  -- a payload object re-sent to ourselves and as a spawn argument
  process.send(process.pid(), "self", { k = "v" })
  local po = process.inbox():receive():payload()
  assert.eq(process.send(process.pid(), "again", po), true)
  assert.same(process.inbox():receive():payload():data(), { k = "v" })
  local args = process.listen("args")
  assert(process.spawn("test.payload:workers:args", HOST, process.pid(), po))
  local r = args:receive()
  assert.eq(r[1], 1)
  assert.same(r[2][1], { k = "v" })
  assert.eq(r[3][1], "table")
  process.send(pid, "stop")
  return true
end

function M.payload_object_as_return_value()
  local pid = assert(process.spawn_monitored("test.payload:workers:relay", HOST))
  process.send(pid, "give", { answer = 42 })
  local ev = process.events():receive()
  assert.eq(ev.from, pid)
  assert.eq(ev.error, nil)
  assert.same(ev.result.value, { answer = 42 })
  return true
end

function M.payload_objects_nested_in_table()
  -- the array of payload objects from msg:payload() sent back as one payload
  local pid = assert(process.spawn("test.payload:workers:echo", HOST))
  assert.eq(process.send(pid, "echo_array", "a", 2), true)
  local back = process.inbox():receive():payload():data()
  assert.same(back, { "a", 2 })
  process.send(pid, "stop")
  return true
end

return M
