-- spawn_exit N: spawn_monitored N children (all first), then receive their N EXIT events.
local HOST = "app:processes"

local function main(n)
  n = math.tointeger(tonumber(n))
  if not n or n < 1 then return nil, "usage: main <children>" end
  local events = process.events()
  for i = 1, n do
    local pid, err = process.spawn_monitored("bench.spawn_exit:child", HOST)
    if not pid then return nil, "spawn " .. i .. ": " .. tostring(err) end
  end
  local exits, failed = 0, 0
  while exits < n do
    local ev = events:receive()
    if ev.kind == process.event.EXIT then
      exits = exits + 1
      if ev.error ~= nil then failed = failed + 1 end
    end
  end
  if failed > 0 then return nil, failed .. " children ended abnormally" end
  return { ops = n }
end

return { main = main }
