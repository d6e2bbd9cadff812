-- pingpong N: N round trips of an integer between this process and a ponger.
local HOST = "app:processes"

local function main(n)
  n = math.tointeger(tonumber(n))
  if not n or n < 1 then return nil, "usage: main <round_trips>" end
  local pong = process.listen("pong")
  local peer, err = process.spawn("bench.pingpong:ponger", HOST, process.pid())
  if not peer then return nil, "spawn: " .. tostring(err) end
  local t0 = time.now()
  for i = 1, n do
    process.send(peer, "ping", i)
    local v = pong:receive()
    if v ~= i then return nil, "round trip " .. i .. " got " .. tostring(v) end
  end
  local loop_ns = time.now():sub(t0):nanoseconds()
  process.send(peer, "ping", false)
  return { ops = n, loop_ns = loop_ns }
end

return { main = main }
