-- SPEC §2.2 message and payload objects, whatever their shape: a message with a short topic
-- and sender and at most one small scalar payload is kept inside its userdata ("flat"), any
-- other wraps the message record ("boxed"). Both must answer every method alike, on every
-- route a message takes to a receiver (found waiting, handed to a blocked receive, picked by
-- a select), and forward their payloads as the values they hold.
local assert = require("assert")

local HOST = "app:processes"
local W = "test.messages:workers:"

local T = {}

local function pack(...) return { n = select("#", ...), ... } end

local LONG = string.rep("t", 33) -- one byte past what a flat message keeps
local EDGE = string.rep("e", 32) -- exactly what it keeps
local STR22 = string.rep("s", 22) -- the longest string a flat payload keeps
local STR23 = string.rep("s", 23)

-- {topic, payloads} for every shape on either side of each bound.
local function cases()
  return {
    { "t", pack() },
    { "t", pack(nil) },
    { "t", pack(true) },
    { "t", pack(false) },
    { "t", pack(42) },
    { "t", pack(math.mininteger) },
    { "t", pack(0.5) },
    { "t", pack(1 / 0) },
    { "t", pack("") },
    { "t", pack(STR22) },
    { "t", pack(STR23) },
    { "t", pack("a\0b") },
    { "t", pack({ 1, k = "v" }) },
    { "t", pack(1, 2) },
    { EDGE, pack(7) },
    { LONG, pack(7) },
    { LONG, pack() },
  }
end

-- Checks message object `m` against topic `topic` and payloads `want` sent by `from`.
local function check(m, topic, want, from, what)
  assert.eq(type(m), "userdata", what)
  assert.eq(getmetatable(m), false, what)
  assert.eq(tostring(m), "message: " .. topic, what)
  for _ = 1, 2 do -- every method can be read again
    assert.eq(m:topic(), topic, what)
    assert.eq(m:from(), from, what)
    local p = m:payload()
    if want.n == 0 then
      assert.eq(p, nil, what)
    elseif want.n == 1 then
      assert.eq(type(p), "userdata", what)
      assert.eq(getmetatable(p), false, what)
      assert.eq(tostring(p), "payload", what)
      assert.same(p:data(), want[1], what)
      assert.eq(math.type(p:data()), math.type(want[1]), what)
    else
      assert.eq(#p, want.n, what)
      for i = 1, want.n do assert.same(p[i]:data(), want[i], what) end
    end
  end
end

-- Each case found waiting in the inbox by a receive.
function T.messages_found_waiting_answer_alike()
  local inbox = process.inbox()
  for i, c in ipairs(cases()) do
    assert.eq(process.send(process.pid(), c[1], table.unpack(c[2], 1, c[2].n)), true)
    check(inbox:receive(), c[1], c[2], process.pid(), "case " .. i)
  end
  return true
end

-- Each case sent by a worker on `host` to a receive blocked on the inbox (the scheduler
-- hands it over); `pid_check(pid)` looks at each worker's PID first.
local function sent_to_a_blocked_receive(host, pid_check)
  local inbox = process.inbox()
  for i, c in ipairs(cases()) do
    local pid = assert(process.spawn(W .. "send_on_cue", host, process.pid()))
    pid_check(pid)
    local cue = { c[1], c[2].n, table.unpack(c[2], 1, c[2].n) }
    assert.eq(process.send(pid, "cue", cue), true)
    check(inbox:receive(), c[1], c[2], pid, "case " .. i)
  end
  return true
end

function T.messages_handed_to_a_blocked_receive_answer_alike()
  return sent_to_a_blocked_receive(HOST, function() end)
end

-- Each case picked by a select on a message-mode listener.
function T.messages_picked_by_a_select_answer_alike()
  for i, c in ipairs(cases()) do
    local ch = process.listen(c[1], { message = true })
    assert.eq(process.send(process.pid(), c[1], table.unpack(c[2], 1, c[2].n)), true)
    local r = channel.select { ch:case_receive() }
    assert.eq(r.ok, true)
    check(r.value, c[1], c[2], process.pid(), "case " .. i)
    process.unlisten(ch)
  end
  return true
end

-- A sender whose PID is longer than a flat object keeps makes a boxed message object, with
-- the same answers.
function T.a_sender_with_a_long_pid_makes_a_boxed_object_that_answers_alike()
  return sent_to_a_blocked_receive("app:a_host_with_a_name_long_enough_to_make_long_pids",
    function(pid) assert.truthy(#pid > 40, pid) end)
end

-- A payload object forwarded alone or inside a table travels as the value it holds.
function T.payload_objects_of_every_shape_forward_as_their_values()
  local inbox = process.inbox()
  for i, c in ipairs(cases()) do
    if c[2].n == 1 then
      process.send(process.pid(), "orig", c[2][1])
      local p = inbox:receive():payload()
      process.send(process.pid(), "fwd", p, { inner = p, list = { p } })
      local got = inbox:receive():payload()
      local what = "case " .. i
      assert.same(got[1]:data(), c[2][1], what)
      local t = got[2]:data()
      assert.same(t.inner, c[2][1], what)
      assert.same(t.list[1], c[2][1], what)
    end
  end
  return true
end

-- A payload object and its message share one copy of the value (`msg:payload()` makes
-- none), and every `data()` builds a fresh table from it: changing one result changes
-- neither the next nor what a forward sends.
function T.every_data_call_gives_a_fresh_table_of_the_shared_value()
  local inbox = process.inbox()
  process.send(process.pid(), "t", { k = "v", list = { 1, 2 } })
  local m = inbox:receive()
  local p1, p2 = m:payload(), m:payload()
  local a = p1:data()
  a.k, a.list[1], a.extra = "changed", 99, true
  for _, p in ipairs({ p1, p2, m:payload() }) do
    local b = p:data()
    assert.ne(b, a)
    assert.same(b, { k = "v", list = { 1, 2 } })
  end
  process.send(process.pid(), "fwd", p1)
  assert.same(inbox:receive():payload():data(), { k = "v", list = { 1, 2 } })
  -- The payload object outlives its message object.
  local p = m:payload()
  m, p1, p2 = nil, nil, nil
  collectgarbage()
  collectgarbage()
  assert.same(p:data(), { k = "v", list = { 1, 2 } })
  return true
end

-- The methods of one object refuse an object of the other kind or shape, naming the method.
function T.methods_refuse_objects_of_another_kind_in_either_shape()
  local inbox = process.inbox()
  process.send(process.pid(), "small", 1)
  local flat = inbox:receive()
  process.send(process.pid(), LONG, { 1 })
  local boxed = inbox:receive()
  for _, m in ipairs({ flat, boxed }) do
    local p = m:payload()
    local ok, err = pcall(m.topic, p)
    assert.eq(ok, false)
    assert.eq(err, "Message:topic: bad argument #1 (expected message, got userdata)")
    ok, err = pcall(p.data, m)
    assert.eq(ok, false)
    assert.eq(err, "Payload:data: bad argument #1 (expected payload, got userdata)")
    ok, err = pcall(function() m.x = 1 end)
    assert.eq(ok, false)
    assert.truthy(err:find("attempt to index a message value", 1, true), err)
  end
  return true
end

-- Messages nobody keeps are collected: receiving many leaves the heap where it was.
function T.received_messages_are_collected()
  local inbox = process.inbox()
  local function round(n)
    for i = 1, n do
      process.send(process.pid(), "m", i)
      local p = inbox:receive():payload()
      assert.eq(p:data(), i)
    end
  end
  round(2000)
  collectgarbage()
  collectgarbage()
  local before = collectgarbage("count")
  round(20000)
  collectgarbage()
  collectgarbage()
  assert.truthy(collectgarbage("count") < before + 64, "heap grew by "
    .. (collectgarbage("count") - before) .. " KiB")
  return true
end

return T
