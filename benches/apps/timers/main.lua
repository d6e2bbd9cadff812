-- timers N MAX_NS:
--  1. arm: create N time.timer(1h + d) with random d in 1..MAX_NS, timed with time.now(),
--     then stop them all (also timed); none may fire.
--  2. sleep: spawn N processes that each time.sleep a random d in 1..MAX_NS and report their
--     lateness; collect worst, mean, and how many woke early. Also the worst among sleeps due
--     after the spawn loop ended: before that, woken sleepers queue behind freshly spawned
--     ones, so lateness there measures run-queue backlog more than timers.
local HOST = "app:processes"
local HOUR = 3600 * 1000000000

local function main(n, max_ns)
  n, max_ns = math.tointeger(tonumber(n)), math.tointeger(tonumber(max_ns))
  if not n or not max_ns or n < 1 or max_ns < 1 then return nil, "usage: main <n> <max_ns>" end
  local ds = {}
  for i = 1, n do ds[i] = math.random(1, max_ns) end

  local timers = {}
  local t0 = time.now()
  for i = 1, n do timers[i] = time.timer(HOUR + ds[i]) end
  local arm_ns = time.now():sub(t0):nanoseconds()
  t0 = time.now()
  local stopped = 0
  for i = 1, n do
    if timers[i]:stop() then stopped = stopped + 1 end
  end
  local stop_ns = time.now():sub(t0):nanoseconds()
  if stopped ~= n then return nil, (n - stopped) .. " timers fired before stop" end
  timers = nil

  local late = process.listen("late")
  local me = process.pid()
  t0 = time.now()
  for i = 1, n do
    local pid, err = process.spawn("bench.timers:sleeper", HOST, me, ds[i])
    if not pid then return nil, "spawn: " .. tostring(err) end
  end
  local spawned_at = time.now():unix_nano()
  local worst, worst_after, total, early = math.mininteger, 0, 0, 0
  for _ = 1, n do
    local r = late:receive()
    local l, deadline = r[1], r[2]
    if l < 0 then early = early + 1 end
    if l > worst then worst = l end
    if deadline > spawned_at and l > worst_after then worst_after = l end
    total = total + l
  end
  local sleep_phase_ns = time.now():sub(t0):nanoseconds()
  return {
    ops = n,
    arm_ns = arm_ns,
    stop_ns = stop_ns,
    worst_late_ns = worst,
    worst_late_after_spawn_ns = worst_after,
    spawn_phase_ns = spawned_at - t0:unix_nano(),
    mean_late_ns = total // n,
    early = early,
    sleep_phase_ns = sleep_phase_ns,
  }
end

return { main = main }
