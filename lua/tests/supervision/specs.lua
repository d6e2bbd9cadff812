-- Child specs and supervisor starts shared by the supervision suites (tests.lua, calls.lua).
local supervisor = require("supervisor")

local S = {}

-- Prefix of the worker entries in workers.lua.
S.W = "test.supervision:workers:"

-- A child spec running worker `worker` with a 50ms shutdown; `extra` fields override.
function S.child(id, worker, extra)
  local c = { id = id, entry = S.W .. worker, shutdown = "50ms" }
  for k, v in pairs(extra or {}) do c[k] = v end
  return c
end

-- Starts a supervisor of `spec` and returns its PID; a refusal raises at the caller.
function S.start(spec)
  local sup, err = supervisor.start(spec)
  if err ~= nil then error("supervisor.start: " .. tostring(err), 2) end
  return sup
end

return S
