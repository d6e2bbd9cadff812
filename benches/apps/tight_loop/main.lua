-- tight_loop N: N iterations of an integer sum, the loop moonbench's floor runs in plain mlua.
local function main(n)
  n = math.tointeger(tonumber(n))
  if not n or n < 1 then return nil, "usage: main <iterations>" end
  local t0 = time.now()
  local s = 0
  for i = 1, n do s = s + i end
  local loop_ns = time.now():sub(t0):nanoseconds()
  if s ~= n * (n + 1) // 2 then return nil, "wrong sum " .. s end
  return { ops = n, loop_ns = loop_ns }
end

return { main = main }
