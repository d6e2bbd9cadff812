-- inbox_echo N: N round trips of an integer through the echo's inbox and back to ours.
local HOST = "app:processes"

local function main(n)
  n = math.tointeger(tonumber(n))
  if not n or n < 1 then return nil, "usage: main <round_trips>" end
  local inbox = process.inbox()
  local peer, err = process.spawn("bench.inbox_echo:echo", HOST)
  if not peer then return nil, "spawn: " .. tostring(err) end
  local t0 = time.now()
  for i = 1, n do
    process.send(peer, "ping", i)
    local msg = inbox:receive()
    local v = msg:payload():data()
    if v ~= i or msg:from() ~= peer then
      return nil, "round trip " .. i .. " got " .. tostring(v)
    end
  end
  local loop_ns = time.now():sub(t0):nanoseconds()
  process.send(peer, "stop")
  return { ops = n, loop_ns = loop_ns }
end

return { main = main }
