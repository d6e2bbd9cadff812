-- ring N H: N nodes in a ring, one token, H node-to-node hops.
local HOST = "app:processes"

local function main(n, hops)
  n, hops = math.tointeger(tonumber(n)), math.tointeger(tonumber(hops))
  if not n or not hops or n < 2 or hops < 1 then return nil, "usage: main <nodes> <hops>" end
  local me = process.pid()
  local done = process.listen("done")
  local nodes = {}
  for i = 1, n do
    local pid, err = process.spawn("bench.ring:node", HOST, me)
    if not pid then return nil, "spawn: " .. tostring(err) end
    nodes[i] = pid
  end
  for i = 1, n do
    assert(process.send(nodes[i], "next", nodes[i % n + 1]))
  end
  local t0 = time.now()
  assert(process.send(nodes[1], "token", hops))
  local ok = done:receive()
  local loop_ns = time.now():sub(t0):nanoseconds()
  if ok ~= true then return nil, "bad done message: " .. tostring(ok) end
  return { ops = hops, loop_ns = loop_ns }
end

return { main = main }
