-- Worker processes for the registry suite (one entry per method, see _index.yaml).
local M = {}

local function reply(to, t)
  process.send(to, "reply", t)
end

-- A process driven by inbox commands; blocks in inbox():receive() between them.
-- Replies go to the sender on topic "reply" as one table.
function M.agent()
  local inbox = process.inbox()
  while true do
    local msg = inbox:receive()
    local topic, from = msg:topic(), msg:from()
    local p = msg:payload()
    local arg = p and p:data()
    if topic == "ping" then
      reply(from, { pid = process.pid(), arg = arg })
    elseif topic == "register" then
      local ok, err = process.registry.register(arg)
      reply(from, { ok = ok, err = err })
    elseif topic == "unregister" then
      reply(from, { ok = process.registry.unregister(arg) })
    elseif topic == "link" then
      local ok, err = process.link(arg)
      reply(from, { ok = ok, err = err })
    elseif topic == "fail" then
      error(arg)
    elseif topic == "stop" then
      return arg
    end
  end
end

-- Forwards every event from events() to `parent` (topic "event"); answers "ping".
function M.forwarder(parent)
  local events, inbox = process.events(), process.inbox()
  process.send(parent, "ready", process.pid())
  while true do
    local r = channel.select { events:case_receive(), inbox:case_receive() }
    if r.channel == events then
      process.send(parent, "event", r.value)
    elseif r.value:topic() == "ping" then
      reply(r.value:from(), { pid = process.pid() })
    end
  end
end

return M
