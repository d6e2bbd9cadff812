-- SPEC §3: close semantics.
local assert = require("assert")

local M = {}

local function ends_with(s, suffix)
  return type(s) == "string" and s:sub(-#suffix) == suffix
end

function M.receive_after_close_unbuffered()
  local ch = channel.new()
  ch:close()
  for _ = 1, 3 do
    local v, ok = ch:receive()
    assert.eq(v, nil)
    assert.eq(ok, false)
  end
  return true
end

function M.buffered_values_survive_close()
  local ch = channel.new(3)
  ch:send(1)
  ch:send(false)
  ch:close()
  local v, ok = ch:receive()
  assert.eq(v, 1); assert.eq(ok, true)
  v, ok = ch:receive()
  assert.eq(v, false); assert.eq(ok, true)
  for _ = 1, 3 do
    v, ok = ch:receive()
    assert.eq(v, nil); assert.eq(ok, false)
  end
  return true
end

function M.send_on_closed_raises()
  for _, size in ipairs { 0, 2 } do
    local ch = channel.new(size)
    ch:close()
    local err = assert.raises(function() ch:send(1) end, "send on closed channel")
    assert.truthy(ends_with(err, "send on closed channel"), "message was " .. tostring(err))
    -- the error carries the caller's position (file:line: prefix)
    assert.contains(err, "close.lua:")
  end
  return true
end

function M.blocked_sender_gets_nil_err()
  for _, size in ipairs { 0, 1 } do
    local ch = channel.new(size)
    if size == 1 then ch:send("fill") end
    local results = channel.new(1)
    coroutine.spawn(function()
      local ok, r1, r2 = pcall(ch.send, ch, "stuck")
      results:send({ ok = ok, r1 = r1, r2 = r2 })
    end)
    time.sleep("5ms")
    ch:close()
    local r = results:receive()
    assert.eq(r.ok, true, "blocked sender must not raise: " .. tostring(r.r1))
    assert.eq(r.r1, nil)
    assert.eq(r.r2, "send on closed channel")
    if size == 1 then
      -- the value buffered before close is still there; the blocked one is not
      local v, ok = ch:receive()
      assert.eq(v, "fill"); assert.eq(ok, true)
      v, ok = ch:receive()
      assert.eq(v, nil); assert.eq(ok, false)
    end
  end
  return true
end

function M.close_wakes_all_receivers()
  local ch = channel.new()
  local results = channel.new(3)
  for i = 1, 3 do
    coroutine.spawn(function()
      local v, ok = ch:receive()
      results:send({ i = i, v = v, ok = ok })
    end)
  end
  time.sleep("5ms")
  ch:close()
  local seen = {}
  for _ = 1, 3 do
    local r = results:receive()
    assert.eq(r.v, nil)
    assert.eq(r.ok, false)
    seen[r.i] = true
  end
  assert.same(seen, { true, true, true })
  return true
end

function M.double_close_is_noop()
  local ch = channel.new(1)
  ch:send(7)
  ch:close()
  local ok, err = pcall(ch.close, ch)
  assert.eq(ok, true, "second close raised: " .. tostring(err))
  assert.eq(ch:receive(), 7)
  local v, okr = ch:receive()
  assert.eq(v, nil); assert.eq(okr, false)
  return true
end

function M.close_wakes_blocked_select()
  local ch = channel.new()
  local other = channel.new()
  local results = channel.new(1)
  coroutine.spawn(function()
    results:send(channel.select { other:case_receive(), ch:case_receive() })
  end)
  time.sleep("5ms")
  ch:close()
  local r = results:receive()
  assert.same(r, { channel = ch, value = nil, ok = false })
  assert.truthy(r.channel == ch)
  return true
end

return M
