-- Worker processes for the introspection suite. Keep `M.receiver`'s receive on line 5.
local M = {}

function M.receiver()
  local m = process.inbox():receive()
  return m ~= nil
end

function M.sleeper()
  time.sleep("10s")
end

function M.selector()
  channel.select { channel.new():case_receive(), process.events():case_receive() }
end

function M.sender()
  channel.new():send(1)
end

-- Arms a time.after channel and two tasks, tells `to`, then waits for a message.
function M.busy(to)
  local t = time.after("10s")
  coroutine.spawn(function() process.events():receive() end)
  process.registry.register("busy.one", process.pid())
  process.registry.register("busy.two", process.pid())
  process.set_options({ trap_links = true })
  process.send(to, "ready", true)
  process.inbox():receive()
  t:receive()
end

-- Blocks in a supervisor call that cannot be answered soon.
function M.caller(sup)
  local supervisor = require("supervisor")
  return supervisor.terminate_child(sup, "s")
end

function M.stubborn()
  while true do process.events():receive() end
end

return M
