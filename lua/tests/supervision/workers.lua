-- Worker processes for the supervision suite: `test.supervision:workers:<fn>`.
local M = {}

-- Runs until cancelled (ends normally on CANCEL), answering "ping" with "pong" to `to`.
function M.server(tag)
  local events, inbox = process.events(), process.inbox()
  while true do
    local r = channel.select { events:case_receive(), inbox:case_receive() }
    if r.channel == events then
      if r.value.kind == process.event.CANCEL then return "cancelled" end
    else
      local m = r.value
      if m:topic() == "ping" then process.send(m:payload():data(), "pong", tag) end
      if m:topic() == "crash" then error("crash on purpose", 0) end
      if m:topic() == "quit" then return "quit" end
    end
  end
end

-- Ends abnormally at once.
function M.crasher()
  error("boom", 0)
end

-- Ends normally at once.
function M.quitter()
  return "done"
end

-- Ignores CANCEL: only terminate stops it.
function M.stubborn()
  while true do process.events():receive() end
end

-- Tells `to` it started (with its tag), then serves like `server`.
function M.reporter(to, tag)
  process.send(to, "started", tag, process.pid())
  return M.server(tag)
end

-- Runs a supervisor in place with the spec it is given.
function M.runner(spec)
  local supervisor = require("supervisor")
  return supervisor.run(spec)
end

-- Registers nothing, receives nothing: a live process that is not a supervisor.
function M.idle()
  process.inbox():receive()
end

-- Starts a supervisor reporting to `notify`, then fails on any message (or, with `normal`,
-- returns at once): a failing starter stops the supervisor, a normal exit does not.
function M.starter(notify, normal)
  local supervisor = require("supervisor")
  local sup = supervisor.start({ notify = notify, children = {
    { id = "a", entry = "test.supervision:workers:server", shutdown = "50ms" } } })
  process.send(notify, "sup", sup)
  if normal then return end
  process.inbox():receive()
  error("starter fails", 0)
end

return M
