-- Helper processes for the time suite.
local M = {}

-- Arms an after, a timer and a ticker, tells `parent` it is ready, then waits forever.
function M.armed(parent)
  local a = time.after("30ms")
  local t = time.timer("30ms")
  local tk = time.ticker("10ms")
  process.send(parent, "armed", true)
  channel.select { a:case_receive(), t:channel():case_receive(), channel.new():case_receive() }
  -- if a timer ever fired in here we report it, which the test treats as failure
  process.send(parent, "fired", true)
  local _ = tk
  return true
end

-- Arms timers and returns at once, leaving them pending.
function M.armed_then_exit()
  time.after("20ms")
  time.timer("20ms")
  time.ticker("5ms")
  return "gone"
end

return M
