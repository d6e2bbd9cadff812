-- SPEC §3: result.channel identity for process/time channels; channels are not payloads.
local assert = require("assert")

local HOST = "app:processes"
local M = {}

function M.select_inbox_identity()
  local inbox = process.inbox()
  assert.truthy(rawequal(inbox, process.inbox()), "inbox() returns a different object")
  local other = channel.new()
  assert.eq(process.send(process.pid(), "hello", 1), true)
  local r = channel.select { other:case_receive(), inbox:case_receive() }
  assert.truthy(rawequal(r.channel, inbox))
  assert.truthy(r.channel == process.inbox())
  assert.eq(r.ok, true)
  assert.eq(r.value:topic(), "hello")
  assert.eq(r.value:payload():data(), 1)
  -- blocking select woken by another process's message
  local pid = process.spawn("test.channel:workers:pinger", HOST, process.pid(), "later", 2, "5ms")
  assert.truthy(pid)
  r = channel.select { other:case_receive(), inbox:case_receive() }
  assert.truthy(rawequal(r.channel, inbox))
  assert.eq(r.value:topic(), "later")
  assert.eq(r.value:from(), pid)
  return true
end

function M.select_events_identity()
  local events = process.events()
  assert.truthy(rawequal(events, process.events()), "events() returns a different object")
  local pid = process.spawn_monitored("test.channel:workers:quick", HOST, "bye")
  assert.truthy(pid)
  local r = channel.select { channel.new():case_receive(), events:case_receive() }
  assert.truthy(rawequal(r.channel, events))
  assert.eq(r.ok, true)
  assert.eq(r.value.kind, "pid.exit")
  assert.eq(r.value.from, pid)
  assert.eq(r.value.result.value, "bye")
  return true
end

function M.select_listen_identity()
  local l = process.listen("topic.x")
  assert.truthy(rawequal(l, process.listen("topic.x")))
  process.send(process.pid(), "topic.x", 42)
  local r = channel.select { process.inbox():case_receive(), l:case_receive() }
  assert.truthy(rawequal(r.channel, l))
  assert.same(r, { channel = l, value = 42, ok = true })
  -- message mode: same object again
  local lm = process.listen("topic.x", { message = true })
  assert.truthy(rawequal(lm, l))
  process.send(process.pid(), "topic.x", 43)
  r = channel.select { lm:case_receive() }
  assert.truthy(rawequal(r.channel, l))
  assert.eq(r.value:topic(), "topic.x")
  assert.eq(r.value:payload():data(), 43)
  return true
end

function M.select_time_after_identity()
  local after = time.after("5ms")
  local never = channel.new()
  local r = channel.select { never:case_receive(), after:case_receive() }
  assert.truthy(rawequal(r.channel, after))
  assert.eq(r.ok, true)
  assert.eq(type(r.value:unix()), "number")
  r = channel.select { after:case_receive() }
  assert.same(r, { channel = after, ok = false })
  -- timer channel too
  local t = time.timer("5ms")
  r = channel.select { never:case_receive(), t:channel():case_receive() }
  assert.truthy(rawequal(r.channel, t:channel()))
  return true
end

function M.process_channels_refuse_send_and_close()
  for _, ch in ipairs { process.inbox(), process.events(), process.listen("t") } do
    assert.raises(function() ch:send(1) end, "channel.send: cannot send on a process channel")
    assert.raises(function() ch:close() end, "process channel")
  end
  return true
end

function M.channels_are_not_payloads()
  local ch = channel.new()
  local me = process.pid()
  assert.fails("cannot send channel", process.send(me, "t", ch))
  local v, err = process.send(me, "t", ch)
  assert.eq(v, nil)
  assert.eq(err, "cannot send channel")
  v, err = process.send(me, "t", { nested = { ch } })
  assert.eq(err, "cannot send channel")
  v, err = process.send(me, "t", 1, process.inbox())
  assert.eq(err, "cannot send channel")
  v, err = process.send(me, "t", time.after("1h"))
  assert.eq(err, "cannot send channel")
  v, err = process.spawn("test.channel:workers:quick", HOST, ch)
  assert.eq(v, nil)
  assert.eq(err, "cannot send channel")
  -- nothing was delivered by the refused sends
  local r = channel.select { process.inbox():case_receive(), default = true }
  assert.eq(r.default, true)
  return true
end

return M
