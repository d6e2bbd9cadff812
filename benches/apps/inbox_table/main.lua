-- inbox_table N: N round trips of a table through the echo's inbox and back to ours.
local HOST = "app:processes"

local function main(n)
  n = math.tointeger(tonumber(n))
  if not n or n < 1 then return nil, "usage: main <round_trips>" end
  local inbox = process.inbox()
  local peer, err = process.spawn("bench.inbox_table:echo", HOST)
  if not peer then return nil, "spawn: " .. tostring(err) end
  local msg = { id = 1, name = "x", data = { 1, 2, 3 } }
  local t0 = time.now()
  for i = 1, n do
    process.send(peer, "ping", msg)
    local back = inbox:receive():payload():data()
    if back.id ~= 1 or back.data[3] ~= 3 then
      return nil, "round trip " .. i .. " got a wrong table"
    end
  end
  local loop_ns = time.now():sub(t0):nanoseconds()
  process.send(peer, "stop")
  return { ops = n, loop_ns = loop_ns }
end

return { main = main }
