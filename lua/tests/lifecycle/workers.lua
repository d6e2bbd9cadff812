-- Worker processes for the lifecycle suite (one entry per method, see _index.yaml).
-- Keep lines 6 and 11 where they are: tests assert the "lifecycle/workers.lua:6:" and
-- "lifecycle/workers.lua:11:" prefixes of the errors raised there.
local M = {}
function M.raiser(text)
  error(text)
end

-- An uncaught error in a coroutine.spawn'd coroutine while main waits in receive.
function M.co_raiser(text)
  coroutine.spawn(function() error(text) end)
  process.inbox():receive()
  return "main was not killed"
end

-- Ends with exactly the values the test asks for.
function M.returner(mode, v)
  if mode == "value" then
    return v
  elseif mode == "nothing" then
    return
  elseif mode == "value_and_string" then
    return v, "went wrong"
  elseif mode == "value_and_number" then
    return v, 42
  elseif mode == "value_and_table" then
    return v, { reason = "not a string" }
  elseif mode == "value_and_false" then
    return v, false
  elseif mode == "shaped_table" then
    local shared = { "shared" }
    local t = { int = 7, float = 7.5, str = "s", nested = { deep = { deeper = true } },
                a = shared, b = shared }
    t.self = t
    return setmetatable(t, { __index = function() return "from metatable" end })
  elseif mode == "function" then
    return function() end
  elseif mode == "table_with_function" then
    return { ok = 1, f = function() end }
  elseif mode == "coroutine" then
    return coroutine.create(function() end)
  end
  error("unknown returner mode " .. tostring(mode))
end

-- Replies go to the sender on topic "reply" as one table.
local function reply(to, t)
  process.send(to, "reply", t)
end

-- A process driven by inbox commands; blocks in inbox():receive() between them.
function M.agent()
  local inbox = process.inbox()
  while true do
    local msg = inbox:receive()
    local topic, from = msg:topic(), msg:from()
    local p = msg:payload()
    local arg = p and p:data()
    if topic == "ping" then
      reply(from, { pid = process.pid() })
    elseif topic == "link" then
      local ok, err = process.link(arg)
      reply(from, { ok = ok, err = err })
    elseif topic == "unlink" then
      local ok, err = process.unlink(arg)
      reply(from, { ok = ok, err = err })
    elseif topic == "register" then
      local ok, err = process.registry.register(arg)
      reply(from, { ok = ok, err = err })
    elseif topic == "spawn_linked_agent" then
      local pid, err = process.spawn_linked("test.lifecycle:workers:agent", "app:processes")
      reply(from, { pid = pid, err = err })
    elseif topic == "fail" then
      error(arg)
    elseif topic == "fail_by_return" then
      return nil, arg
    elseif topic == "stop" then
      return arg
    elseif topic == "terminate_self" then
      local r = process.terminate(process.pid())
      reply(from, { after_terminate = true, r = r })
    elseif topic == "spin" then
      while true do end
    elseif topic == "sleep" then
      time.sleep(arg)
    elseif topic == "block_on_channel" then
      channel.new():receive()
    elseif topic == "nested_receive" then
      local co = coroutine.wrap(function() return process.inbox():receive() end)
      co()
    end
  end
end

-- Forwards every event it sees on events() to `parent` (topic "event") and answers the
-- inbox commands "ping" and "monitor" (topic "reply"), so a test can watch another
-- process's events while that process keeps running.
function M.forwarder(parent, trap)
  if trap then process.set_options({ trap_links = true }) end
  local events, inbox = process.events(), process.inbox()
  process.send(parent, "ready", process.pid())
  while true do
    local r = channel.select { events:case_receive(), inbox:case_receive() }
    if r.channel == events then
      process.send(parent, "event", r.value)
    else
      local msg = r.value
      local topic, p = msg:topic(), msg:payload()
      if topic == "ping" then
        reply(msg:from(), { pid = process.pid() })
      elseif topic == "monitor" then
        local ok, err = process.monitor(p:data())
        reply(msg:from(), { ok = ok, err = err })
      elseif topic == "stop" then
        return "stopped"
      end
    end
  end
end

-- Spins forever without ever blocking.
function M.spinner()
  while true do end
end

-- Sends one message after process.terminate(self); that message must never arrive.
function M.self_terminator(parent)
  process.terminate(process.pid())
  process.send(parent, "after_terminate", true)
  return "still running"
end

-- Links to `target`, tells `parent`, then blocks forever without calling events().
function M.link_and_block(parent, target)
  local ok, err = process.link(target)
  process.send(parent, "reply", { ok = ok, err = err, pid = process.pid() })
  process.inbox():receive()
  return "woke up normally"
end

-- Registers `name`, tells `parent`, then waits for one inbox message and returns.
function M.registrant(parent, name)
  local ok, err = process.registry.register(name)
  process.send(parent, "reply", { ok = ok, err = err })
  local msg = process.inbox():receive()
  return msg:topic()
end

return M
