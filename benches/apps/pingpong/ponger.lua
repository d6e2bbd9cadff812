-- Echoes every "ping" back to the peer as "pong" until it receives false.
local function main(peer)
  local ping = process.listen("ping")
  while true do
    local v = ping:receive()
    if v == false then return end
    process.send(peer, "pong", v)
  end
end

return { main = main }
