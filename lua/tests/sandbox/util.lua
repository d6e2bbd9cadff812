-- Helpers of the sandbox suite: spawning its workers and waiting for their exits.
local assert = require("assert")
local time = require("time")

local M = {}

M.DEFAULT = "app:processes"

-- Receives one value from ch, raising at the caller when nothing comes within 2s.
function M.recv(ch, what)
  local timeout = time.after("2s")
  local r = channel.select { ch:case_receive(), timeout:case_receive() }
  if r.channel == timeout then error("timed out waiting for " .. what, 2) end
  return r.value, r.ok
end

-- Spawns the suite's worker `name` on `host`, monitored; fails the test if spawn fails.
function M.spawn(name, host, ...)
  local pid, err = process.spawn_monitored("test.sandbox:" .. name, host, ...)
  assert.eq(err, nil, "spawn " .. name .. " on " .. host)
  return pid
end

-- The EXIT event of pid (the suite's tests watch one worker at a time).
function M.exit_of(pid)
  local ev = M.recv(process.events(), "the EXIT of " .. pid)
  assert.eq(ev.kind, process.event.EXIT)
  assert.eq(ev.from, pid)
  return ev
end

-- What `name` returns when run on `host` (it must end normally).
function M.run(name, host, ...)
  local pid = M.spawn(name, host, ...)
  local ev = M.exit_of(pid)
  assert.eq(ev.error, nil, name .. " on " .. host .. " failed")
  return ev.result.value
end

-- Checks that pid ended abnormally with `err` raised in `file` (the error reads
-- "<file>:<line>: <err>").
function M.failed_in(pid, file, err)
  local ev = M.exit_of(pid)
  local text = tostring(ev.error)
  local prefix = file .. ":"
  local line = text:sub(#prefix + 1):match("^(%d+): ")
  if ev.error == nil or text:sub(1, #prefix) ~= prefix or line == nil
    or text:sub(#prefix + #line + 3) ~= err then
    error("EXIT of " .. pid .. ": expected error " .. assert.show(file .. ":<line>: " .. err)
      .. ", got error " .. assert.show(ev.error) .. " and value "
      .. assert.show(ev.result.value), 2)
  end
  assert.eq(ev.result.value, nil)
  return ev
end

-- Checks that `err` reads "<file>:<line>: <msg>" (a raised error with its position).
function M.raised_at(err, file, msg)
  local pattern = "^" .. file:gsub("%p", "%%%0") .. ":%d+: " .. msg:gsub("%p", "%%%0") .. "$"
  if type(err) ~= "string" or not err:match(pattern) then
    error("expected error " .. assert.show(file .. ":<line>: " .. msg) .. ", got "
      .. assert.show(err), 2)
  end
end

local pings = 0

-- The app still runs: the sibling answers and a timer fires.
function M.still_running(sibling)
  pings = pings + 1
  local nonce = "ping " .. pings
  assert.eq(process.send(sibling, "ping", nonce), true, "send to the sibling")
  assert.eq(M.recv(process.listen("pong"), "the sibling's pong"), nonce)
  assert.eq(time.sleep("1ms"), true)
  return true
end

return M
