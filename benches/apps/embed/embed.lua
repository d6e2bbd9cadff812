local M = {}

function M.spinner()
  while true do end
end

-- Answers every inbox message to its sender with the same payload.
function M.echo()
  local inbox = process.inbox()
  while true do
    local msg = inbox:receive()
    process.send(msg:from(), "pong", msg:payload())
  end
end

return M
