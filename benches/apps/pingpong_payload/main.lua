-- pingpong_payload N: as pingpong, the message is {id = 1, name = "x", data = {1, 2, 3}}
-- (copied on every send; the ponger sends back the copy it received).
local HOST = "app:processes"

local function main(n)
  n = math.tointeger(tonumber(n))
  if not n or n < 1 then return nil, "usage: main <round_trips>" end
  local pong = process.listen("pong")
  local peer, err = process.spawn("bench.pingpong_payload:ponger", HOST, process.pid())
  if not peer then return nil, "spawn: " .. tostring(err) end
  local msg = { id = 1, name = "x", data = { 1, 2, 3 } }
  local t0 = time.now()
  for i = 1, n do
    process.send(peer, "ping", msg)
    local v = pong:receive()
    if v == msg or v.id ~= 1 or v.name ~= "x" or v.data[3] ~= 3 then
      return nil, "round trip " .. i .. " got a wrong payload"
    end
  end
  local loop_ns = time.now():sub(t0):nanoseconds()
  process.send(peer, "ping", false)
  return { ops = n, loop_ns = loop_ns }
end

return { main = main }
