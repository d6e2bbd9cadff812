local function pong()
  local ch = process.listen("ping", { message = true })
  while true do
    local msg = ch:receive()
    process.send(msg:from(), "pong", msg:payload():data() + 1)
  end
end

local function main()
  local peer = process.spawn_linked("demo:ponger", "app:processes")
  local replies, n = process.listen("pong"), 0
  for _ = 1, 3 do
    process.send(peer, "ping", n)
    n = replies:receive()
    print("pong", n)
  end
end

return { main = main, pong = pong }
