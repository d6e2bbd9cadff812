-- Worker processes for the messages suite (one entry per method in _index.yaml).
local time = require("time")

local M = {}

-- Replies to every inbox message with topic "echo", sending back msg:payload() as is
-- (a payload object travels as the value it wraps). Ends on topic "stop".
function M.echo()
  local inbox = process.inbox()
  while true do
    local msg = inbox:receive()
    if msg:topic() == "stop" then return "stopped" end
    process.send(msg:from(), "echo", msg:payload())
  end
end

-- Receives `n` raw values on `topic` and sends the list back to `parent` on "collected".
function M.collect(parent, topic, n)
  local ch = process.listen(topic)
  local got = {}
  for i = 1, n do
    got[i] = ch:receive()
  end
  process.send(parent, "collected", got)
end

-- Sends 1..n to `parent` on topic "seq".
function M.burst(parent, n)
  for i = 1, n do
    process.send(parent, "seq", i)
  end
end

-- Sends three messages to `parent` and ends at once.
function M.send_three(parent)
  process.send(parent, "m", 1)
  process.send(parent, "m", 2)
  process.send(parent, "m", 3)
end

-- Blocks until any inbox message arrives, then ends normally.
function M.waiter()
  process.inbox():receive()
  return "stopped"
end

function M.instant()
  return "done"
end

-- Sleeps briefly, then sends `value` to `parent` on `topic`.
function M.delayed_send(parent, topic, value)
  time.sleep("20ms")
  process.send(parent, topic, value)
end

-- A coroutine.spawn'd coroutine raises at once while main blocks on the inbox.
function M.co_fail()
  coroutine.spawn(function()
    error("coroutine boom")
  end)
  process.inbox():receive()
  return "main was not stopped"
end

-- A coroutine.spawn'd coroutine blocks first, then raises, while main blocks on the inbox.
function M.co_fail_later()
  coroutine.spawn(function()
    time.sleep("10ms")
    error("late coroutine boom")
  end)
  process.inbox():receive()
  return "main was not stopped"
end

-- Waits for one inbox message {topic, n, v1, ..., vn} and sends those values on that topic
-- to `parent`, which is blocked in a receive by then (it sent the message and went on to
-- receive without yielding in between).
function M.send_on_cue(parent)
  local cue = process.inbox():receive():payload():data()
  process.send(parent, cue[1], table.unpack(cue, 3, cue[2] + 2))
  return true
end

-- Asks `server` for its own PID on topic "ask" (a message object, so the server answers
-- msg:from()), then reports to `server` on "told" whether the answer was its PID.
function M.ask_who(server)
  local answers = process.listen("answer")
  process.send(server, "ask")
  local told = answers:receive()
  process.send(server, "told", told == process.pid())
end

-- Sends its own PID to `parent` on "mine" (a message object: msg:from() is the PID too),
-- then returns it.
function M.tell_pid(parent)
  local me = process.pid()
  process.send(parent, "mine", me)
  return me
end

return M
