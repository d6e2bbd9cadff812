-- Shared helpers for the Lua suites: receives that fail fast instead of hanging a test,
-- event checks, and spawning a suite's worker entries.
-- Import it next to `assert`: `imports: {assert: test:assert, helpers: test:helpers}`.
local assert = require("assert")
local time = require("time")

local M = {}

-- The host the suites' processes run on (the first one in lua/tests/_hosts/_index.yaml).
M.HOST = "app:processes"

-- Receives from ch; if nothing comes within d (default 1s), raises as if its caller had called
-- error(msg, level).
local function receive(level, ch, what, d)
  local timeout = time.after(d or "1s")
  local r = channel.select { ch:case_receive(), timeout:case_receive() }
  if r.channel == timeout then
    error(what and "timed out waiting for " .. what or "timed out waiting on a channel", level + 1)
  end
  return r.value, r.ok
end

-- Receives one value from ch like ch:receive() (returns value, ok), raising at the caller if
-- nothing comes within d (default 1s). `what` (optional) names the awaited value in that error.
function M.recv(ch, what, d)
  local v, ok = receive(2, ch, what, d)
  return v, ok
end

-- True when nothing arrives on ch within d (default 50ms); else false and the value.
function M.quiet(ch, d)
  local timeout = time.after(d or "50ms")
  local r = channel.select { ch:case_receive(), timeout:case_receive() }
  if r.channel == timeout then return true end
  return false, r.value
end

-- Raises at the caller when something arrives on ch within d (default 50ms): the error is
-- `what`, then what arrived.
function M.assert_quiet(ch, what, d)
  local silent, v = M.quiet(ch, d)
  if not silent then error(what .. ": " .. assert.show(v), 2) end
end

-- The next event on process.events() (within 1s). With `kind` and/or `from` given, checks
-- that it is of that kind and from that PID.
function M.next_event(kind, from)
  local ev = receive(2, process.events(), "an event")
  if kind ~= nil then assert.eq(ev.kind, kind, "event kind") end
  if from ~= nil then assert.eq(ev.from, from, "event from") end
  return ev
end

-- The next event, checked to be an EXIT from pid.
function M.exit_from(pid)
  return M.next_event("pid.exit", pid)
end

-- Collects the next n events keyed by `from`; with `kind`, checks each one is of that kind.
function M.events_by_from(n, kind)
  local seen = {}
  for _ = 1, n do
    local ev = M.next_event(kind)
    seen[ev.from] = ev
  end
  return seen
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

-- The next message on topic "reply" (a worker's reply table), within 1s.
function M.next_reply()
  local v = receive(2, process.listen("reply"), "a reply")
  return v
end

-- Sends a command to an agent and returns its reply table.
function M.call(pid, cmd, arg)
  assert.eq(process.send(pid, cmd, arg), true, "send " .. cmd)
  local v = receive(2, process.listen("reply"), "a reply")
  return v
end

-- Waits until pid is no longer routable (send fails), polling every millisecond up to 1s.
function M.wait_gone(pid)
  for _ = 1, 1000 do
    local ok, err = process.send(pid, "probe")
    if not ok then
      assert.eq(err, "process not found")
      return
    end
    time.sleep("1ms")
  end
  error("process " .. tostring(pid) .. " did not end", 2)
end

local SPAWN_VARIANTS = { "spawn", "spawn_monitored", "spawn_linked", "spawn_linked_monitored" }

-- The four spawn functions for the entries of namespace `ns` on HOST: `spawn(name, ...)`,
-- `spawn_monitored`, `spawn_linked` and `spawn_linked_monitored` each return the child PID
-- and fail the test when spawning fails.
function M.spawners(ns)
  local t = {}
  for _, variant in ipairs(SPAWN_VARIANTS) do
    t[variant] = function(name, ...)
      local pid, err = process[variant](ns .. ":" .. name, M.HOST, ...)
      assert.eq(err, nil, variant .. " " .. name)
      return pid
    end
  end
  return t
end

return M
