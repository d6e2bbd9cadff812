-- Helper processes for the channel suite.
local M = {}

-- Returns at once; its EXIT goes to a monitoring parent.
function M.quick(v)
  return v
end

-- Sends `topic` with `value` to `dest` after `delay`.
function M.pinger(dest, topic, value, delay)
  if delay then time.sleep(delay) end
  process.send(dest, topic, value)
  return true
end

return M
