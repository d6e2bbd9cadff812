local contexts = require("contexts")

local M = {}

-- Spins forever where it cannot yield (`ctx` names the place, see contexts.lua); the
-- spin is under pcall, which must not let it go on.
function M.spin_in(ctx)
  contexts.run(ctx, function() while true do end end)
  return "escaped"
end

-- Counts forever in plain Lua: only preemption lets anything else run.
function M.spin()
  local n = 0
  while true do n = n + 1 end
end

-- Answers every "ping" on its inbox with a "pong" to the sender.
function M.ponger()
  local inbox = process.inbox()
  while true do
    local m = inbox:receive()
    process.send(m:from(), "pong", m:payload():data())
  end
end

return M
