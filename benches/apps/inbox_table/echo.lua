-- Answers every inbox message to its sender with the same payload object, until "stop".
local function main()
  local inbox = process.inbox()
  while true do
    local msg = inbox:receive()
    if msg:topic() == "stop" then return end
    process.send(msg:from(), "pong", msg:payload())
  end
end

return { main = main }
