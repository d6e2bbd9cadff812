-- SPEC §5: what survives a copy, through send, spawn arguments and return values.
local assert = require("assert")

local HOST = "app:processes"
local M = {}

-- Sends the values to ourselves and returns the received message.
local function roundtrip(...)
  local ok, err = process.send(process.pid(), "rt", ...)
  assert.eq(ok, true, "send failed: " .. tostring(err))
  local r = channel.select { process.inbox():case_receive(), default = true }
  assert.falsy(r.default, "self-sent message not in the inbox")
  return r.value
end

local function copy1(v)
  local p = roundtrip(v):payload()
  if p == nil then return nil end
  return p:data()
end

local function echo_pid()
  return assert(process.spawn("test.payload:workers:echo", HOST))
end

local function via_echo(pid, v)
  assert.eq(process.send(pid, "one", v), true)
  local msg = process.inbox():receive()
  assert.eq(msg:topic(), "echo")
  return msg:payload():data()
end

local function check_scalars(copy)
  local ints = { 0, 1, -1, 42, math.maxinteger, math.mininteger, (1 << 53) + 1 }
  for _, v in ipairs(ints) do
    local c = copy(v)
    assert.eq(c, v)
    assert.eq(math.type(c), "integer", "integer " .. v .. " became " .. tostring(math.type(c)))
  end
  for _, v in ipairs { 3.0, 0.5, -2.25, 1e300, 2.0 ^ 63, 1 / 0, -1 / 0 } do
    local c = copy(v)
    assert.eq(c, v)
    assert.eq(math.type(c), "float", "float " .. v)
  end
  local negz = copy(-0.0)
  assert.eq(math.type(negz), "float")
  assert.eq(1 / negz, -1 / 0, "-0.0 lost its sign")
  local nan = copy(0 / 0)
  assert.truthy(nan ~= nan, "NaN not preserved")
  for _, s in ipairs { "", "plain", "a\0b\0", "\0", "\255\254 bytes", string.rep("xyz\0", 100000) } do
    local c = copy(s)
    assert.eq(c, s)
    assert.eq(#c, #s)
  end
  assert.eq(copy(true), true)
  assert.eq(copy(false), false)
  assert.eq(copy(nil), nil)
end

function M.scalars_self_send()
  check_scalars(copy1)
  return true
end

function M.scalars_other_process()
  local pid = echo_pid()
  check_scalars(function(v) return via_echo(pid, v) end)
  process.send(pid, "stop")
  return true
end

function M.nil_in_payload_lists()
  -- inbox message: N payloads -> array of payload objects, positions kept
  local msg = roundtrip(1, nil, 3)
  local p = msg:payload()
  assert.eq(type(p), "table")
  assert.eq(p[1]:data(), 1)
  assert.truthy(p[2] == nil or p[2]:data() == nil, "middle nil payload changed")
  assert.eq(p[3]:data(), 3)
  -- listen raw mode: N payloads -> array of the values
  local l = process.listen("raw")
  process.send(process.pid(), "raw", "a", nil, "c")
  local v = l:receive()
  assert.eq(v[1], "a")
  assert.eq(v[2], nil)
  assert.eq(v[3], "c")
  -- spawn arguments keep their count and positions
  local args = process.listen("args")
  assert(process.spawn("test.payload:workers:args", HOST, process.pid(), 1, nil, 3))
  local r = args:receive()
  assert.eq(r[1], 3, "argument count")
  assert.eq(r[2][1], 1)
  assert.eq(r[2][2], nil)
  assert.eq(r[2][3], 3)
  assert.same(r[3], { "integer", "nil", "integer" })
  return true
end

function M.spawn_args_copied()
  local args = process.listen("args")
  local t = { n = 1, inner = { 2.0 } }
  assert(process.spawn("test.payload:workers:args", HOST, process.pid(), 7, 7.0, "s\0", true, false, t))
  t.n = 99 -- mutation after spawn returns must not be seen
  t.inner[1] = "changed"
  local r = args:receive()
  assert.eq(r[1], 6)
  assert.same(r[3], { "integer", "float", "string", "boolean", "boolean", "table" })
  assert.eq(r[2][1], 7)
  assert.eq(r[2][3], "s\0")
  assert.eq(r[2][5], false)
  assert.eq(r[2][6].n, 1)
  assert.eq(r[2][6].inner[1], 2.0)
  assert.eq(math.type(r[2][6].inner[1]), "float")
  return true
end

local function exit_of(kind)
  local pid = assert(process.spawn_monitored("test.payload:workers:returner", HOST, kind))
  while true do
    local ev = process.events():receive()
    if ev.from == pid and ev.kind == "pid.exit" then return ev end
  end
end

function M.return_values_copied()
  local ev = exit_of("int")
  assert.eq(ev.result.value, 42)
  assert.eq(math.type(ev.result.value), "integer")
  assert.eq(ev.error, nil)
  ev = exit_of("float")
  assert.eq(math.type(ev.result.value), "float")
  ev = exit_of("string0")
  assert.eq(ev.result.value, "a\0b")
  ev = exit_of("false")
  assert.eq(ev.result.value, false)
  assert.eq(ev.error, nil)
  ev = exit_of("table")
  local t = ev.result.value
  assert.eq(t.a.n, 1)
  assert.truthy(rawequal(t.a, t.b), "shared reference split in return value")
  assert.truthy(rawequal(t.self, t), "cycle lost in return value")
  assert.same(t.list, { 1, 2.5, "x" })
  assert.eq(math.type(t.list[1]), "integer")
  ev = exit_of("meta")
  assert.eq(getmetatable(ev.result.value), nil)
  assert.eq(ev.result.value.v, 1)
  assert.eq(ev.result.value.hidden, nil)
  return true
end

function M.tables_deep_copied()
  local t = { a = { b = { c = { 1, 2, 3 } } }, [1] = "one", [2.5] = "float key", [true] = "bool key" }
  local c = copy1(t)
  assert.same(c, t)
  assert.truthy(not rawequal(c, t), "table not copied")
  assert.truthy(not rawequal(c.a, t.a))
  assert.truthy(not rawequal(c.a.b.c, t.a.b.c))
  assert.eq(c[2.5], "float key")
  assert.eq(c[true], "bool key")
  -- integer-valued keys stay integers, float keys stay floats
  local keys = copy1({ [1] = "i", [2.5] = "f" })
  for k in pairs(keys) do
    if k == 1 then assert.eq(math.type(k), "integer") else assert.eq(math.type(k), "float") end
  end
  return true
end

function M.shared_refs_and_cycles()
  local shared = { v = 1 }
  local t = { x = shared, y = shared, list = { shared, shared } }
  t.self = t
  t.keyed = { [shared] = "as key" }
  local a, b = {}, {}
  a.b, b.a = b, a
  t.ring = a
  for _, copy in ipairs { copy1, function(v) return via_echo(echo_pid(), v) end } do
    local c = copy(t)
    assert.truthy(not rawequal(c.x, shared))
    assert.truthy(rawequal(c.x, c.y), "shared reference split")
    assert.truthy(rawequal(c.list[1], c.x))
    assert.truthy(rawequal(c.list[2], c.x))
    assert.truthy(rawequal(c.self, c), "self cycle lost")
    assert.eq(c.keyed[c.x], "as key", "shared table used as key lost its identity")
    assert.truthy(rawequal(c.ring.b.a, c.ring), "two-table cycle lost")
    assert.eq(c.x.v, 1)
  end
  return true
end

function M.shared_refs_across_payloads()
  -- "inside one message": two payloads naming the same table
  local shared = { v = 1 }
  local l = process.listen("pair")
  process.send(process.pid(), "pair", shared, shared)
  local v = l:receive()
  assert.truthy(not rawequal(v[1], shared))
  assert.truthy(rawequal(v[1], v[2]), "shared reference split across payloads of one message")
  -- two separate messages are independent copies
  process.send(process.pid(), "pair", shared)
  process.send(process.pid(), "pair", shared)
  local m1 = l:receive()
  local m2 = l:receive()
  assert.truthy(not rawequal(m1, m2), "two messages share one copy")
  return true
end

function M.metatables_not_carried()
  local mt = { __index = { hidden = 1 }, __tostring = function() return "obj" end }
  local t = setmetatable({ v = 1, child = setmetatable({}, mt) }, mt)
  local c = copy1(t)
  assert.eq(getmetatable(c), nil)
  assert.eq(getmetatable(c.child), nil)
  assert.eq(c.v, 1)
  assert.eq(c.hidden, nil, "__index leaked into the copy")
  -- the copy reads raw contents: __pairs / __index traps are not consulted
  local trap = setmetatable({ 1, 2 }, {
    __pairs = function() error("__pairs called") end,
    __index = function() error("__index called") end,
    __len = function() return 99 end,
  })
  local tc = copy1(trap)
  assert.eq(getmetatable(tc), nil)
  assert.same(tc, { 1, 2 })
  -- a protected metatable does not stop the copy either
  local prot = setmetatable({ x = 1 }, { __metatable = "locked" })
  local pc = copy1(prot)
  assert.eq(getmetatable(pc), nil)
  assert.eq(pc.x, 1)
  return true
end

function M.mutation_after_send()
  local t = { list = { 1, 2 }, n = 1 }
  assert.eq(process.send(process.pid(), "rt", t), true)
  t.list[1] = 99
  t.n = 2
  t.added = true
  local msg = process.inbox():receive()
  local c = msg:payload():data()
  assert.same(c, { list = { 1, 2 }, n = 1 })
  -- and across processes, with the echo worker
  local pid = echo_pid()
  local u = { k = "before" }
  assert.eq(process.send(pid, "one", u), true)
  u.k = "after"
  assert.same(process.inbox():receive():payload():data(), { k = "before" })
  -- the receiver's changes do not reach the sender either
  local mine = { z = 1 }
  local got = copy1(mine)
  got.z = 2
  assert.eq(mine.z, 1)
  return true
end

return M
