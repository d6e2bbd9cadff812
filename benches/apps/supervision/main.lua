-- supervision N: one_for_one supervisor, one permanent child that reports to the root when
-- it runs and crashes on "crash"; N crash -> restart rounds.
local supervisor = require("supervisor")

local function child(root)
  process.send(root, "up", process.pid())
  local m = process.inbox():receive()
  if m:topic() == "crash" then error("crash on purpose", 0) end
end

local function main(n)
  n = math.tointeger(tonumber(n))
  if not n or n < 1 then return nil, "usage: main <restarts>" end
  local up = process.listen("up")
  local sup, err = supervisor.start({ max_restarts = n + 1, period = "1h", children = {
    { id = "c", entry = "bench.supervision:child", args = { process.pid() }, name = "c" } } })
  if not sup then return nil, err end
  local pid = up:receive()
  local total = 0
  for _ = 1, n do
    local t0 = time.now()
    process.send(pid, "crash")
    local new = up:receive()
    total = total + time.now():sub(t0):nanoseconds()
    if new == pid then return nil, "no new incarnation" end
    pid = new
  end
  supervisor.stop(sup)
  return { ops = n, restart_ns = total }
end

return { main = main, child = child }
