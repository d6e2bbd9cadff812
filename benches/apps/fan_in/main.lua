-- fan_in P M: P producers send M messages each; this process receives all P * M.
local HOST = "app:processes"

local function main(p, m)
  p, m = math.tointeger(tonumber(p)), math.tointeger(tonumber(m))
  if not p or not m or p < 1 or m < 1 then return nil, "usage: main <producers> <messages_each>" end
  local ch = process.listen("m")
  local me = process.pid()
  for _ = 1, p do
    local pid, err = process.spawn("bench.fan_in:producer", HOST, me, m)
    if not pid then return nil, "spawn: " .. tostring(err) end
  end
  local total, sum = p * m, 0
  for _ = 1, total do
    sum = sum + ch:receive()
  end
  if sum ~= p * (m * (m + 1) // 2) then return nil, "wrong sum " .. sum end
  return { ops = total }
end

return { main = main }
