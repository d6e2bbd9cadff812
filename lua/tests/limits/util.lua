-- Helpers of the limits suite: spawning its workers, bounded waits, and the check that the
-- rest of the app still runs after a worker was stopped by a limit.
local assert = require("assert")
local time = require("time")

local M = {}

M.DEFAULT = "app:processes"

-- Receives one value from ch, raising at the caller when nothing comes within d (2s).
function M.recv(ch, what, d)
  local timeout = time.after(d or "2s")
  local r = channel.select { ch:case_receive(), timeout:case_receive() }
  if r.channel == timeout then error("timed out waiting for " .. what, 2) end
  return r.value, r.ok
end

-- Every value waiting on ch right now, in order (does not block).
function M.drain(ch)
  local got = {}
  while true do
    local r = channel.select { ch:case_receive(), default = true }
    if r.default then return got end
    got[#got + 1] = r.value
  end
end

-- Checks a refusal: exactly `nil, err`.
function M.refused(err, v, got)
  if v ~= nil or got ~= err then
    error("expected nil, " .. assert.show(err) .. ", got " .. assert.show(v) .. ", "
      .. assert.show(got), 2)
  end
end

-- Spawns the suite's worker `name` on `host`, monitored; fails the test if spawn fails.
function M.spawn(name, host, ...)
  local pid, err = process.spawn_monitored("test.limits:" .. name, host, ...)
  assert.eq(err, nil, "spawn " .. name .. " on " .. host)
  return pid
end

-- Events received while waiting for another one, kept for later calls.
local stashed = {}

-- The EXIT event of pid, within d (default 2s) per event; other events are kept for the
-- calls that wait for them.
function M.exit_of(pid, d)
  for i, ev in ipairs(stashed) do
    if ev.kind == process.event.EXIT and ev.from == pid then
      table.remove(stashed, i)
      return ev
    end
  end
  while true do
    local ev = M.recv(process.events(), "the EXIT of " .. tostring(pid), d)
    if ev.kind == process.event.EXIT and ev.from == pid then return ev end
    stashed[#stashed + 1] = ev
  end
end

-- Checks that pid ended abnormally with exactly `err`, and returns the event.
function M.failed_with(pid, err, d)
  local ev = M.exit_of(pid, d)
  if ev.error == nil then
    error("EXIT of " .. pid .. ": expected error " .. assert.show(err)
      .. ", but it ended normally with " .. assert.show(ev.result.value), 2)
  end
  assert.eq(ev.error, err, "EXIT error of " .. pid)
  assert.eq(ev.result.error, err, "EXIT result.error of " .. pid)
  assert.eq(ev.result.value, nil, "EXIT result.value of " .. pid)
  return ev
end

-- Checks that pid ended abnormally with `err` raised in `file` (the error starts with
-- "<file>:<line>: "), and returns the event.
function M.failed_in(pid, file, err, d)
  local ev = M.exit_of(pid, d)
  local text = tostring(ev.error)
  local prefix = file .. ":"
  local line = text:sub(#prefix + 1):match("^(%d+): ")
  if text:sub(1, #prefix) ~= prefix or line == nil
    or text:sub(#prefix + #line + 3) ~= err then
    error("EXIT error of " .. pid .. ": expected " .. string.format("%q", file .. ":<line>: " .. err)
      .. ", got " .. string.format("%q", text), 2)
  end
  assert.eq(ev.result.error, ev.error, "EXIT result.error of " .. pid)
  assert.eq(ev.result.value, nil, "EXIT result.value of " .. pid)
  return ev
end

-- Checks that pid ended normally with `value`, and returns the event.
function M.returned(pid, value, d)
  local ev = M.exit_of(pid, d)
  assert.eq(ev.error, nil, "EXIT error of " .. pid)
  assert.same(ev.result.value, value)
  return ev
end

-- A well-behaved sibling on the default host that answers every message with "pong".
function M.sibling()
  return M.spawn("echo", M.DEFAULT)
end

local pings = 0

-- The app still runs: the sibling answers, a timer fires, a new process starts and ends,
-- and the calling test process itself goes on.
function M.still_running(sibling)
  pings = pings + 1
  local nonce = "ping " .. pings
  assert.eq(process.send(sibling, "ping", nonce), true, "send to the sibling")
  assert.eq(M.recv(process.listen("pong"), "the sibling's pong"), nonce)
  assert.eq(time.sleep("1ms"), true)
  local fresh = M.spawn("count_to", M.DEFAULT, 10)
  M.returned(fresh, 10)
  return true
end

return M
