-- idle_memory N: spawn N processes that block in process.inbox():receive(); report the Lua
-- heap (collectgarbage "count", after full collections) before and after. The processes stay
-- blocked after this root returns, so the harness can read RSS while they are alive.
local HOST = "app:processes"

local function main(n)
  n = math.tointeger(tonumber(n))
  if not n or n < 1 then return nil, "usage: main <processes>" end
  local ready = process.listen("ready")
  local me = process.pid()
  collectgarbage("collect")
  collectgarbage("collect")
  local before_kb = collectgarbage("count")
  for _ = 1, n do
    local pid, err = process.spawn("bench.idle_memory:idler", HOST, me)
    if not pid then return nil, "spawn: " .. tostring(err) end
  end
  for _ = 1, n do ready:receive() end
  collectgarbage("collect")
  collectgarbage("collect")
  local after_kb = collectgarbage("count")
  return { ops = n, heap_before = math.floor(before_kb * 1024), heap_after = math.floor(after_kb * 1024) }
end

return { main = main }
