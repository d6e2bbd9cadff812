-- introspect N: spawn N processes that block in receive, then process.info each of them
-- and process.list once.
local function idle()
  process.inbox():receive()
end

local function main(n, verbose)
  n = math.tointeger(tonumber(n))
  if not n or n < 1 then return nil, "usage: main <processes>" end
  local pids = {}
  for i = 1, n do pids[i] = process.spawn("bench.introspect:idle", "app:processes") end
  time.sleep("1ms")
  local t0 = time.now()
  local waiting = 0
  for i = 1, n do
    local info = process.info(pids[i])
    if info.waiting_on == "receive" then waiting = waiting + 1 end
  end
  local info_ns = time.now():sub(t0):nanoseconds()
  if waiting ~= n then return nil, waiting .. " of " .. n .. " waiting in receive" end
  t0 = time.now()
  local all = process.list()
  local list_ns = time.now():sub(t0):nanoseconds()
  if #all ~= n + 1 then return nil, "list has " .. #all end
  for i = 1, n do process.send(pids[i], "stop") end
  if verbose then print(info_ns / n, list_ns) end
  return { ops = n, info_ns = info_ns, list_ns = list_ns }
end

return { main = main, idle = idle }
