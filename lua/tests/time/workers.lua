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

-- Arms n timers (every other one with its channel object made), n/3 afters, 500 tickers
-- and n channels; stops every third timer and all tickers but the first and last; reports
-- its counts to `parent` and returns with the rest armed.
function M.many_armed(parent, n)
  local me = process.pid()
  local timers, tickers, chans = {}, {}, {}
  for i = 1, n do
    timers[i] = time.timer("1h")
    if i % 2 == 0 then timers[i]:channel() end
  end
  local afters = {}
  for i = 1, n // 3 do afters[i] = time.after("1h") end
  for i = 1, 500 do tickers[i] = time.ticker("1h") end
  for i = 1, n do chans[i] = channel.new(1) end
  local armed = process.info(me).timers
  for i = 1, n, 3 do timers[i]:stop() end
  for i = 2, 499 do tickers[i]:stop() end
  for i = 1, n, 2 do chans[i]:close() end
  local after_stops = process.info(me).timers
  for i = 1, 500 do
    timers[#timers + 1] = time.timer("1h")
  end
  process.send(parent, "counts", {
    armed = armed, after_stops = after_stops, alive = process.info(me).timers,
  })
  return "armed"
end

return M
