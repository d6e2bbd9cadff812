-- timer_arm N: arm N timers due in an hour, keep them, then stop them all. None may fire.
local HOUR = 3600 * 1000000000

local function main(n)
  n = math.tointeger(tonumber(n))
  if not n or n < 1 then return nil, "usage: main <n>" end
  local timers = {}
  for i = 1, n do timers[i] = time.timer(HOUR + i) end
  local stopped = 0
  for i = 1, n do
    if timers[i]:stop() then stopped = stopped + 1 end
  end
  if stopped ~= n then return nil, (n - stopped) .. " timers fired before stop" end
  return { ops = n }
end

return { main = main }
