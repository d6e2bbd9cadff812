-- Small helpers for the messages suite: receives that fail fast instead of hanging the test.
local time = require("time")

local M = {}

-- Receives one value from ch, raising if nothing arrives within `timeout` (default 1s).
-- Returns value, ok like ch:receive().
function M.recv(ch, timeout)
  local r = channel.select({ ch:case_receive(), time.after(timeout or "1s"):case_receive() })
  if r.channel ~= ch then error("timed out waiting on a channel", 2) end
  return r.value, r.ok
end

-- Waits for an event of `kind` (and from `from` when given) on process.events(), skipping
-- others; raises after `timeout` (default 1s).
function M.wait_event(kind, from, timeout)
  local ev = process.events()
  local deadline = time.after(timeout or "1s")
  while true do
    local r = channel.select({ ev:case_receive(), deadline:case_receive() })
    if r.channel ~= ev then
      error("timed out waiting for " .. kind .. " from " .. tostring(from), 2)
    end
    local e = r.value
    if e.kind == kind and (from == nil or e.from == from) then return e end
  end
end

-- Returns true if any event arrives on process.events() within `wait`, else false.
function M.any_event(wait)
  local ev = process.events()
  local r = channel.select({ ev:case_receive(), time.after(wait):case_receive() })
  return r.channel == ev, r.value
end

return M
