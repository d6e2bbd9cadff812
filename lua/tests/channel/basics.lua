-- SPEC §3: channel.new, send/receive, blocking, FIFO among senders.
local assert = require("assert")

local M = {}

-- true when ch can take v right now (a receiver waits or the buffer has room);
-- the value is then actually sent.
local function try_send(ch, v)
  local r = channel.select { ch:case_send(v), default = true }
  return not r.default
end

-- true, v when a value is ready right now.
local function try_receive(ch)
  local r = channel.select { ch:case_receive(), default = true }
  if r.default then return false end
  return true, r.value, r.ok
end

-- Float, nil and NaN sizes, whichever path makes the channel: a float is cut to an
-- integer, nil and NaN give an unbuffered channel.
function M.new_sizes_of_every_number_form()
  local two = channel.new(2.9)
  assert.truthy(try_send(two, 1))
  assert.truthy(try_send(two, 2))
  assert.falsy(try_send(two, 3), "third send into a buffer of 2.9")
  for _, ch in ipairs { channel.new(nil), channel.new(0 / 0), channel.new(-0.5) } do
    assert.falsy(try_send(ch, 1), "unbuffered send without receiver")
  end
  assert.eq(type(channel.new(1)), "userdata")
  assert.truthy(tostring(channel.new()):match("^channel: "))
  return true
end

function M.new_sizes()
  -- size 0 / no size: unbuffered, a send with no receiver cannot proceed
  for _, ch in ipairs { channel.new(), channel.new(0), channel.new(-5), channel.new(-1) } do
    assert.falsy(try_send(ch, 1), "unbuffered send without receiver")
    assert.falsy(try_receive(ch), "unbuffered receive on empty")
  end
  -- buffered: exactly `size` values fit
  local ch = channel.new(3)
  assert.eq(ch:send("a"), true)
  assert.eq(ch:send("b"), true)
  assert.eq(ch:send("c"), true)
  assert.falsy(try_send(ch, "d"), "fourth send into buffer of 3")
  local one = channel.new(1)
  assert.truthy(try_send(one, 1))
  assert.falsy(try_send(one, 2))
  -- non-number raises with the documented text
  for _, bad in ipairs { "x", {}, true } do
    local err = assert.raises(function() channel.new(bad) end, "channel.new: bad argument #1 (expected number, got ")
    assert.contains(err, "got " .. type(bad) .. ")")
  end
  local err = assert.raises(function() channel.new("3") end)
  assert.contains(err, "channel.new: bad argument #1 (expected number, got string)")
  return true
end

function M.unbuffered_between_coroutines()
  local ch = channel.new()
  local log = {}
  coroutine.spawn(function()
    for i = 1, 3 do
      log[#log + 1] = "send " .. i
      local r = ch:send(i * 10)
      assert.eq(r, true, "send result")
      log[#log + 1] = "sent " .. i
    end
  end)
  time.sleep("5ms")
  -- with nobody receiving, the sender is stuck in its first send
  assert.same(log, { "send 1" })
  for i = 1, 3 do
    local v, ok = ch:receive()
    assert.eq(v, i * 10)
    assert.eq(ok, true)
  end
  time.sleep("2ms")
  assert.eq(log[#log], "sent 3")
  -- reverse direction: receiver coroutine blocked first, main sends
  local back = channel.new()
  local results = channel.new(2)
  coroutine.spawn(function()
    local v, ok = back:receive()
    results:send({ v, ok })
  end)
  time.sleep("5ms") -- let the receiver block
  assert.eq(back:send("hello"), true)
  local r = results:receive()
  assert.same(r, { "hello", true })
  return true
end

function M.buffered_send_receive()
  local ch = channel.new(4)
  for i = 1, 4 do assert.eq(ch:send(i), true) end
  for i = 1, 4 do
    local v, ok = ch:receive()
    assert.eq(v, i)
    assert.eq(ok, true)
  end
  -- values of every copyable/uncopyable kind pass through a channel unchanged (same process)
  local t = {}
  local f = function() end
  ch:send(t); ch:send(f); ch:send(false); ch:send(nil)
  assert.eq(ch:receive(), t)
  assert.eq(ch:receive(), f)
  local v, ok = ch:receive()
  assert.eq(v, false); assert.eq(ok, true)
  v, ok = ch:receive()
  assert.eq(v, nil); assert.eq(ok, true)
  -- a blocked sender on a full buffer proceeds once room appears
  local full = channel.new(1)
  full:send("first")
  local done = channel.new(1)
  coroutine.spawn(function()
    full:send("second")
    done:send(true)
  end)
  time.sleep("5ms")
  assert.falsy(try_receive(done), "sender should be blocked on full buffer")
  assert.eq(full:receive(), "first")
  assert.eq(full:receive(), "second")
  assert.eq(done:receive(), true)
  return true
end

function M.fifo_blocked_senders()
  -- unbuffered: three senders block in order A, B, C
  local ch = channel.new()
  for _, name in ipairs { "A", "B", "C" } do
    coroutine.spawn(function() ch:send(name) end)
    time.sleep("2ms")
  end
  local got = {}
  for i = 1, 3 do got[i] = ch:receive() end
  assert.same(got, { "A", "B", "C" })
  -- buffered and full: buffered value first, then blocked senders in order
  local b = channel.new(1)
  b:send("buffered")
  for _, name in ipairs { "X", "Y", "Z" } do
    coroutine.spawn(function() b:send(name) end)
    time.sleep("2ms")
  end
  got = {}
  for i = 1, 4 do got[i] = b:receive() end
  assert.same(got, { "buffered", "X", "Y", "Z" })
  return true
end

function M.receive_blocks_while_empty()
  local ch = channel.new(2)
  local state = "waiting"
  local value
  coroutine.spawn(function()
    value = ch:receive()
    state = "received"
  end)
  time.sleep("20ms")
  assert.eq(state, "waiting", "receive returned on an empty channel")
  ch:send("late")
  time.sleep("2ms")
  assert.eq(state, "received")
  assert.eq(value, "late")
  return true
end

function M.bad_method_arguments()
  local ch = channel.new()
  -- methods called with a non-channel self raise
  assert.raises(function() ch.send("not a channel", 1) end, "bad argument #1")
  assert.raises(function() ch.receive({}) end, "bad argument #1")
  return true
end

function M.handoff_edge_cases()
  -- nil and false are real values on an unbuffered channel
  local ch = channel.new()
  coroutine.spawn(function() ch:send(nil); ch:send(false) end)
  local v, ok = ch:receive()
  assert.eq(v, nil); assert.eq(ok, true)
  v, ok = ch:receive()
  assert.eq(v, false); assert.eq(ok, true)
  -- a plain send hands over to a receiver blocked in select
  local a, b = channel.new(), channel.new()
  local results = channel.new(1)
  coroutine.spawn(function() results:send(channel.select { a:case_receive(), b:case_receive() }) end)
  time.sleep("5ms")
  assert.eq(b:send("direct"), true)
  assert.same(results:receive(), { channel = b, value = "direct", ok = true })
  -- the same channel listed twice: the first case wins, only one value is taken
  local d = channel.new(2)
  d:send(1); d:send(2)
  local r = channel.select { d:case_receive(), d:case_receive() }
  assert.same(r, { channel = d, value = 1, ok = true })
  assert.eq(d:receive(), 2)
  -- blocking inside a nested user coroutine and inside pcall resumes correctly
  local n = channel.new()
  coroutine.spawn(function() time.sleep("3ms"); n:send("x"); n:send("y") end)
  local got = coroutine.wrap(function()
    local inner = n:receive()
    return inner
  end)()
  assert.eq(got, "x")
  local pok, pv = pcall(n.receive, n)
  assert.eq(pok, true); assert.eq(pv, "y")
  return true
end

return M
