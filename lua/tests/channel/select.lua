-- SPEC §3: channel.select.
local assert = require("assert")

local M = {}

local function keys(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = tostring(k) end
  table.sort(ks)
  return table.concat(ks, ",")
end

function M.first_ready_in_written_order()
  local a, b, c = channel.new(1), channel.new(1), channel.new(1)
  for _ = 1, 50 do
    a:send("a"); b:send("b"); c:send("c")
    local r = channel.select { b:case_receive(), c:case_receive(), a:case_receive() }
    assert.eq(r.channel, b)
    assert.eq(r.value, "b")
    r = channel.select { c:case_receive(), a:case_receive() }
    assert.eq(r.channel, c)
    r = channel.select { c:case_receive(), a:case_receive() }
    assert.eq(r.channel, a)
  end
  -- a ready send case written first beats a ready receive case
  local room, full = channel.new(1), channel.new(1)
  full:send("x")
  local r = channel.select { room:case_send("s"), full:case_receive() }
  assert.same(r, { channel = room, value = "s", ok = true })
  assert.eq(room:receive(), "s")
  -- and the other way round
  room = channel.new(1)
  r = channel.select { full:case_receive(), room:case_send("s") }
  assert.same(r, { channel = full, value = "x", ok = true })
  local probe = channel.select { room:case_receive(), default = true }
  assert.eq(probe.default, true, "the losing send case must not have sent")
  -- a closed channel is ready too, and its position counts
  local closed = channel.new()
  closed:close()
  local ready = channel.new(1)
  ready:send(1)
  r = channel.select { closed:case_receive(), ready:case_receive() }
  assert.same(r, { channel = closed, ok = false })
  r = channel.select { ready:case_receive(), closed:case_receive() }
  assert.same(r, { channel = ready, value = 1, ok = true })
  return true
end

function M.default_when_nothing_ready()
  local a, b = channel.new(), channel.new(1)
  b:send(1)
  local full = b
  local r = channel.select { a:case_receive(), full:case_send(2), default = true }
  assert.same(r, { default = true, ok = true })
  assert.eq(keys(r), "default,ok")
  -- zero cases with default
  r = channel.select { default = true }
  assert.same(r, { default = true, ok = true })
  -- with a ready case, default does not win
  r = channel.select { a:case_receive(), full:case_receive(), default = true }
  assert.same(r, { channel = full, value = 1, ok = true })
  assert.eq(r.default, nil)
  return true
end

function M.blocking_select_woken_by_send()
  local a, b = channel.new(), channel.new()
  coroutine.spawn(function()
    time.sleep("10ms")
    b:send("wake")
  end)
  local r = channel.select { a:case_receive(), b:case_receive() }
  assert.same(r, { channel = b, value = "wake", ok = true })
  assert.eq(keys(r), "channel,ok,value")
  -- the losing case was withdrawn: nobody is receiving on a now
  local probe = channel.select { a:case_send(1), default = true }
  assert.eq(probe.default, true, "withdrawn receive case still took a value")
  return true
end

function M.default_false_blocks()
  local ch = channel.new()
  coroutine.spawn(function() time.sleep("5ms"); ch:send(1) end)
  local r = channel.select { ch:case_receive(), default = false }
  assert.same(r, { channel = ch, value = 1, ok = true })
  return true
end

function M.select_without_cases_raises()
  assert.raises(function() channel.select({}) end, "channel.select: no cases")
  local r = channel.select({ default = true })
  assert.same(r, { default = true, ok = true })
  return true
end

function M.blocking_select_send_case()
  local out, never = channel.new(), channel.new()
  local results = channel.new(1)
  coroutine.spawn(function()
    time.sleep("10ms")
    results:send({ out:receive() })
  end)
  local r = channel.select { never:case_receive(), out:case_send({ n = 5 }) }
  assert.eq(r.channel, out)
  assert.same(r.value, { n = 5 })
  assert.eq(r.ok, true)
  local got = results:receive()
  assert.same(got, { { n = 5 }, true })
  return true
end

function M.send_case_value_with_waiting_receiver()
  local ch = channel.new()
  local results = channel.new(1)
  coroutine.spawn(function() results:send(ch:receive()) end)
  time.sleep("5ms")
  local r = channel.select { ch:case_send(42) }
  assert.same(r, { channel = ch, value = 42, ok = true })
  assert.eq(results:receive(), 42)
  return true
end

function M.closed_receive_case_ok_false()
  local ch = channel.new(1)
  ch:send("left")
  ch:close()
  local r = channel.select { ch:case_receive() }
  assert.same(r, { channel = ch, value = "left", ok = true })
  r = channel.select { ch:case_receive() }
  assert.eq(r.channel, ch)
  assert.eq(r.value, nil)
  assert.eq(r.ok, false)
  r = channel.select { ch:case_receive(), default = true }
  assert.same(r, { channel = ch, ok = false })
  return true
end

function M.send_case_on_closed_channel()
  -- already closed: raises
  local ch = channel.new(1)
  ch:close()
  assert.raises(function() channel.select { ch:case_send(1) } end, "send on closed channel")
  assert.raises(function() channel.select { ch:case_send(1), default = true } end, "send on closed channel")
  -- blocked on a send case and then closed: returns ok = false with the value
  local c2 = channel.new()
  local results = channel.new(1)
  coroutine.spawn(function()
    results:send(channel.select { c2:case_send("v") })
  end)
  time.sleep("5ms")
  c2:close()
  local r = results:receive()
  assert.same(r, { channel = c2, value = "v", ok = false })
  return true
end

function M.same_channel_object_identity()
  local ch = channel.new(1)
  ch:send(1)
  local r = channel.select { ch:case_receive() }
  assert.truthy(rawequal(r.channel, ch), "result.channel is not the object passed in")
  return true
end

-- A wake withdraws the woken wait from every queue it is still in: a select parked on
-- one channel twice (receive cases, or a receive and a send case) leaves nothing behind
-- once a plain send wakes it, so later values reach later receivers (none is handed to
-- the finished select and lost).
function M.a_select_on_one_channel_twice_leaves_no_stale_wait()
  for _, shape in ipairs { "two receives", "receive and send" } do
    local ch = channel.new()
    local got = {}
    coroutine.spawn(function()
      local second = shape == "two receives" and ch:case_receive() or ch:case_send("never")
      local r = channel.select { ch:case_receive(), second }
      got[#got + 1] = r.value
      got[#got + 1] = ch:receive()
      got[#got + 1] = ch:receive()
    end)
    time.sleep("1ms")
    for i = 1, 3 do
      assert.eq(ch:send(i), true, shape)
      time.sleep("1ms")
    end
    assert.same(got, { 1, 2, 3 }, shape)
  end
  -- and a plain receive woken by a send leaves its channel usable for the next one
  local ch, got = channel.new(), {}
  coroutine.spawn(function()
    for _ = 1, 3 do got[#got + 1] = ch:receive() end
  end)
  for i = 1, 3 do
    time.sleep("1ms")
    ch:send(i * 10)
  end
  time.sleep("1ms")
  assert.same(got, { 10, 20, 30 })
  return true
end

return M
