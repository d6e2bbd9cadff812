-- Helper processes for the builtins suite.
local require_ = require
local lib_ok, lib = pcall(require_, "lib")

local M = {}

-- Sets the global SHARED_NAME to `value` after checking it started unset, waits so the
-- other helper runs, then reports what it sees.
function M.global_setter(parent, value)
  local before = SHARED_NAME
  SHARED_NAME = value
  _ = value
  time.sleep("10ms")
  process.send(parent, "globals", { value = value, before = before, after = SHARED_NAME,
    parent_global = PARENT_ONLY, underscore = _ })
  return true
end

-- Uses the counter library: bumps it `n` times and reports the count and load number.
function M.lib_user(parent, n)
  if not lib_ok then error(lib) end
  for _ = 1, n do lib.bump() end
  time.sleep("5ms")
  process.send(parent, "lib", { count = lib.count(), loads = LIB_LOADS,
    same = require_("lib") == lib })
  return true
end

-- Tries to smuggle a value to other processes through shared library tables.
function M.smuggler(parent)
  local results = {}
  results.assign = pcall(function() string.smuggled = 1 end)
  results.rawset = pcall(rawset, string, "smuggled_raw", 1)
  results.process = pcall(function() process.smuggled = 1 end)
  results.channel = pcall(function() channel.smuggled = 1 end)
  results.mt = pcall(function() getmetatable("").__index.smuggled_mt = 1 end)
  process.send(parent, "smuggled", results)
  return true
end

return M
