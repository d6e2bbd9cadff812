-- The one helper library of the Lua suites: receives that fail fast instead of hanging a
-- test, event checks, error-shape checks, and (through `for_suite`) spawning a suite's worker
-- entries and watching how they end.
-- Import it next to `assert`: `imports: {assert: test:assert, helpers: test:helpers}`.
local assert = require("assert")
local time = require("time")

local M = {}

-- The host the suites' processes run on (the first one in lua/tests/_hosts/_index.yaml).
M.HOST = "app:processes"

-- A function spawning workers of `prefix` (a process set's "<namespace>:<set>:") on M.HOST,
-- not monitored: spawn(name, ...) -> pid, failing the test when the spawn fails.
function M.spawner(prefix)
  return function(name, ...)
    local pid, err = process.spawn(prefix .. name, M.HOST, ...)
    assert.eq(err, nil, "spawn " .. name)
    return pid
  end
end

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

-- The four spawn functions for the entries `<set>:<name>` on HOST, where `set` is the id of
-- a suite's `process.set` entry (e.g. "test.lifecycle:workers"): `spawn(name, ...)`,
-- `spawn_monitored`, `spawn_linked` and `spawn_linked_monitored` each return the child PID
-- and fail the test when spawning fails.
function M.spawners(set)
  local t = {}
  for _, variant in ipairs(SPAWN_VARIANTS) do
    t[variant] = function(name, ...)
      local pid, err = process[variant](set .. ":" .. name, M.HOST, ...)
      assert.eq(err, nil, variant .. " " .. name)
      return pid
    end
  end
  return t
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

-- Checks that `err` reads "<file>:<line>: <msg>" (a raised error with its position).
function M.raised_at(err, file, msg)
  local pattern = "^" .. file:gsub("%p", "%%%0") .. ":%d+: " .. msg:gsub("%p", "%%%0") .. "$"
  if type(err) ~= "string" or not err:match(pattern) then
    error("expected error " .. assert.show(file .. ":<line>: " .. msg) .. ", got "
      .. assert.show(err), 2)
  end
end

-- ----- helpers bound to one suite's workers -----------------------------------------------

-- Helpers for a suite whose workers are the entries `<set>:<name>` of its `process.set` entry
-- `set`, for suites that spawn their workers monitored and check how each one ends (limits,
-- sandbox):
--   local util = require("helpers").for_suite("test.limits:workers", { still_running_spawns = "count_to" })
-- opts.strict_exits: the next event must be the awaited EXIT (the suite watches one worker at
--   a time); otherwise events that come first are kept for the calls that wait for them.
-- opts.still_running_spawns: a worker that `still_running` starts with 10 and expects 10 back.
function M.for_suite(set, opts)
  opts = opts or {}
  local S = {
    DEFAULT = M.HOST,
    drain = M.drain,
    refused = M.refused,
    raised_at = M.raised_at,
  }

  -- Receives one value from ch, raising at the caller when nothing comes within d (2s).
  function S.recv(ch, what, d)
    local timeout = time.after(d or "2s")
    local r = channel.select { ch:case_receive(), timeout:case_receive() }
    if r.channel == timeout then error("timed out waiting for " .. what, 2) end
    return r.value, r.ok
  end

  -- Spawns the suite's worker `name` on `host`, monitored; fails the test if spawn fails.
  function S.spawn(name, host, ...)
    local pid, err = process.spawn_monitored(set .. ":" .. name, host, ...)
    assert.eq(err, nil, "spawn " .. name .. " on " .. host)
    return pid
  end

  -- Events received while waiting for another one, kept for later calls.
  local stashed = {}

  -- The EXIT event of pid, within d (default 2s) per event.
  function S.exit_of(pid, d)
    if opts.strict_exits then
      local ev = S.recv(process.events(), "the EXIT of " .. pid, d)
      assert.eq(ev.kind, process.event.EXIT)
      assert.eq(ev.from, pid)
      return ev
    end
    for i, ev in ipairs(stashed) do
      if ev.kind == process.event.EXIT and ev.from == pid then
        table.remove(stashed, i)
        return ev
      end
    end
    while true do
      local ev = S.recv(process.events(), "the EXIT of " .. tostring(pid), d)
      if ev.kind == process.event.EXIT and ev.from == pid then return ev end
      stashed[#stashed + 1] = ev
    end
  end

  -- Checks that pid ended abnormally with exactly `err`, and returns the event.
  function S.failed_with(pid, err, d)
    local ev = S.exit_of(pid, d)
    if ev.error == nil then
      error("EXIT of " .. pid .. ": expected error " .. assert.show(err)
        .. ", but it ended normally with " .. assert.show(ev.result.value), 2)
    end
    assert.eq(ev.error, err, "EXIT error of " .. pid)
    assert.eq(ev.result.error, err, "EXIT result.error of " .. pid)
    assert.eq(ev.result.value, nil, "EXIT result.value of " .. pid)
    return ev
  end

  -- Checks that pid ended abnormally with `err` raised in `file` (the error reads
  -- "<file>:<line>: <err>"), and returns the event.
  function S.failed_in(pid, file, err, d)
    local ev = S.exit_of(pid, d)
    local text = tostring(ev.error)
    local prefix = file .. ":"
    local line = text:sub(#prefix + 1):match("^(%d+): ")
    if ev.error == nil or text:sub(1, #prefix) ~= prefix or line == nil
      or text:sub(#prefix + #line + 3) ~= err then
      error("EXIT of " .. pid .. ": expected error " .. assert.show(file .. ":<line>: " .. err)
        .. ", got error " .. assert.show(ev.error) .. " and value "
        .. assert.show(ev.result.value), 2)
    end
    assert.eq(ev.result.error, ev.error, "EXIT result.error of " .. pid)
    assert.eq(ev.result.value, nil, "EXIT result.value of " .. pid)
    return ev
  end

  -- Checks that pid ended normally with `value`, and returns the event.
  function S.returned(pid, value, d)
    local ev = S.exit_of(pid, d)
    assert.eq(ev.error, nil, "EXIT error of " .. pid)
    assert.same(ev.result.value, value)
    return ev
  end

  -- What `name` returns when run on `host` (it must end normally).
  function S.run(name, host, ...)
    local pid = S.spawn(name, host, ...)
    local ev = S.exit_of(pid)
    assert.eq(ev.error, nil, name .. " on " .. host .. " failed")
    return ev.result.value
  end

  -- A well-behaved sibling on the default host that answers every message with "pong" (the
  -- suite's worker `echo`).
  function S.sibling()
    return S.spawn("echo", S.DEFAULT)
  end

  local pings = 0

  -- The app still runs: the sibling answers, a timer fires, the calling test process itself
  -- goes on, and (with opts.still_running_spawns) a new process starts and ends.
  function S.still_running(sibling)
    pings = pings + 1
    local nonce = "ping " .. pings
    assert.eq(process.send(sibling, "ping", nonce), true, "send to the sibling")
    assert.eq(S.recv(process.listen("pong"), "the sibling's pong"), nonce)
    assert.eq(time.sleep("1ms"), true)
    if opts.still_running_spawns then
      local fresh = S.spawn(opts.still_running_spawns, S.DEFAULT, 10)
      S.returned(fresh, 10)
    end
    return true
  end

  return S
end

return M
