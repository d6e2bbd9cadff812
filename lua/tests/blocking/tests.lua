-- A blocking call where the process cannot yield (a table.sort comparator, a string.gsub
-- callback, a load reader, a __tostring, a coroutine inside one of those) raises
-- "attempt to block where the process cannot yield", records nothing (no message is lost
-- to a stale wait, no timer fires into a later call) and leaves preemption working.
local assert = require("assert")
local contexts = require("contexts")

local HOST = "app:processes"
local CANNOT = "attempt to block where the process cannot yield"

local M = {}

local function refused(ctx, ok, err)
  assert.falsy(ok, ctx .. ": the blocking call must fail")
  assert.truthy(type(err) == "string" and err:find(CANNOT, 1, true),
    ctx .. ": expected '" .. CANNOT .. "', got " .. tostring(err))
end

-- true, value when a receive on ch completes now
local function ready(ch)
  local r = channel.select { ch:case_receive(), default = true }
  if r.default then return false end
  return true, r.value
end

function M.inbox_receive_raises_and_loses_no_message()
  local inbox = process.inbox()
  for _, ctx in ipairs(contexts.names) do
    refused(ctx, contexts.run(ctx, function() return inbox:receive() end))
    assert.truthy(process.send(process.pid(), "t", ctx))
    local got, msg = ready(inbox)
    assert.truthy(got, ctx .. ": the next message must stay receivable")
    assert.eq(msg:payload():data(), ctx)
  end
end

function M.channel_receive_raises_and_loses_no_value()
  for _, ctx in ipairs(contexts.names) do
    local ch = channel.new(1)
    refused(ctx, contexts.run(ctx, function() return ch:receive() end))
    assert.eq(ch:send(ctx), true)
    local got, v = ready(ch)
    assert.truthy(got, ctx .. ": a later value must stay receivable")
    assert.eq(v, ctx)
  end
end

function M.channel_send_raises_and_leaves_nothing_behind()
  for _, ctx in ipairs(contexts.names) do
    local ch = channel.new()
    refused(ctx, contexts.run(ctx, function() return ch:send("stale") end))
    assert.falsy(ready(ch), ctx .. ": a refused send must not stay parked")
    -- the channel still works both ways
    coroutine.spawn(function() ch:send("fresh") end)
    local v, ok = ch:receive()
    assert.eq(v, "fresh")
    assert.eq(ok, true)
  end
end

function M.select_raises_and_loses_no_message()
  local inbox = process.inbox()
  for _, ctx in ipairs(contexts.names) do
    local ch = channel.new()
    refused(ctx, contexts.run(ctx, function()
      return channel.select { inbox:case_receive(), ch:case_send(1) }
    end))
    assert.truthy(process.send(process.pid(), "t", ctx))
    local got, msg = ready(inbox)
    assert.truthy(got, ctx .. ": the next message must stay receivable")
    assert.eq(msg:payload():data(), ctx)
    assert.falsy(ready(ch), ctx .. ": the send case must not stay parked")
  end
end

function M.receive_only_select_raises_and_loses_no_value()
  -- the select that runs in C (src/ffi/select.rs), nine cases as a long select has
  for _, ctx in ipairs(contexts.names) do
    local chans, cases = {}, {}
    for k = 1, 9 do
      chans[k] = channel.new(1)
      cases[k] = chans[k]:case_receive()
    end
    refused(ctx, contexts.run(ctx, function() return channel.select(cases) end))
    for k = 1, 9 do
      assert.eq(chans[k]:send(k), true)
      local got, v = ready(chans[k])
      assert.truthy(got, ctx .. ": a later value must stay receivable on case " .. k)
      assert.eq(v, k)
    end
  end
end

function M.sleep_raises_and_arms_no_timer()
  local inbox = process.inbox()
  local me = process.pid()
  for _, ctx in ipairs(contexts.names) do
    refused(ctx, contexts.run(ctx, function() return time.sleep("1ms") end))
    -- A stale sleep would wake the next blocking call after 1 ms with `true`.
    coroutine.spawn(function()
      time.sleep("30ms")
      process.send(me, "late", ctx)
    end)
    local msg = inbox:receive()
    assert.eq(type(msg), "userdata", ctx .. ": receive must return the message")
    assert.eq(msg:payload():data(), ctx)
  end
end

function M.preemption_still_works_after_a_refused_block()
  for _, ctx in ipairs(contexts.names) do
    local pid = assert.truthy(process.spawn_monitored("test.blocking:workers:block_then_spin", HOST, ctx))
    -- The spinner runs first; the root only gets here again if the spinner is preempted.
    local t0 = time.now()
    assert.eq(time.sleep("20ms"), true)
    assert.truthy(time.now():sub(t0):milliseconds() < 5000, ctx .. ": root was starved")
    assert.truthy(process.terminate(pid))
    local ev = process.events():receive()
    assert.eq(ev.kind, process.event.EXIT)
    assert.eq(ev.from, pid)
  end
end

function M.blocking_outside_those_places_still_works()
  -- the same calls block normally where they can yield
  local ch = channel.new()
  coroutine.spawn(function() ch:send("v") end)
  assert.eq(ch:receive(), "v")
  local co = coroutine.wrap(function() return time.sleep("1ms") end)
  assert.eq(co(), true)
end

return M
