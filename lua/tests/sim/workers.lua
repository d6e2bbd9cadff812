local M = {}

-- Waits forever (until killed).
function M.sleeper()
  process.inbox():receive()
end

-- Forwards every message of its inbox to `to`, tagged.
function M.echo(to)
  local inbox = process.inbox()
  while true do
    local m = inbox:receive()
    process.send(to, "echo", m:payload():data())
  end
end

return M
