-- One `require` and one `load` per runtime (issue 9) keep every process's environment its
-- own: module caches, globals and `load`'s default environment are per process.
local assert = require("assert")
local helpers = require("helpers")

local HOST = "app:processes"
local W = "test.envs:workers:"
local HERE = "envs/tests.lua"

-- Runs worker `name` with the arguments and returns the value it ended with.
local function run(name, ...)
  local pid = assert(process.spawn_monitored(W .. name, HOST, ...))
  local ev = helpers.wait_event("pid.exit", pid, "5s")
  assert.eq(ev.error, nil, name)
  return ev.result.value
end

local M = {}

function M.each_process_requires_its_own_module_copy()
  local mine = require("counter")
  mine.bump()
  assert.eq(run("bump", 3), "3 1")
  assert.eq(run("bump", 2), "2 1")
  -- The other processes' bumps did not reach this process's copy.
  assert.eq(mine.n, 1)
  assert.eq(mine.inner.loads, 1)
  assert.truthy(rawequal(require("counter"), mine))
  return true
end

function M.load_defaults_to_the_calling_process_globals()
  marker = "tester"
  assert.eq(run("load_sees", "child one"), "child one true")
  assert.eq(run("load_sees", "child two"), "child two true")
  assert.eq(load("return marker")(), "tester")
  return true
end

function M.globals_stay_per_process_while_load_and_require_are_shared()
  marker = nil
  local seen = run("globals")
  -- One `load` and one `require` for the runtime: the child's print as this process's.
  assert.eq(seen, "nil " .. tostring(load) .. " " .. tostring(require))
  marker = "here"
  assert.eq(run("globals"):match("^%S+"), "nil")
  return true
end

function M.load_in_coroutines_and_tasks_uses_the_process_globals()
  assert.eq(run("load_in_coroutines", "inside"), "inside inside")
  return true
end

function M.a_loaded_chunk_keeps_the_environment_it_was_loaded_with()
  marker = "first"
  local f = load("return marker")
  local own = {}
  local g = load("marker = 'set'; return marker", "=g", "t", own)
  -- Module code's `load` gives the process's globals, not the module's environment.
  local h = require("counter").load_here("return marker, _ENV")
  marker = "second"
  assert.eq(f(), "second")
  assert.eq(g(), "set")
  assert.eq(marker, "second")
  local v, env = h()
  assert.eq(v, "second")
  assert.truthy(rawequal(env, _G))
  -- An explicit nil environment is kept, as stock does.
  local n = load("return marker", "=n", "t", nil)
  local ok, err = pcall(n)
  assert.eq(ok, false)
  assert.contains(tostring(err), "attempt to index a nil value (upvalue '_ENV')")
  return true
end

function M.an_upgrade_starts_with_fresh_globals_and_module_cache()
  assert.eq(run("upgrade_fresh"), "1 nil")
  return true
end

function M.every_process_starts_with_the_same_own_globals()
  local first = run("global_names")
  for _, name in ipairs({ "_G", "print", "require", "load", "process", "string", "pairs" }) do
    assert.truthy((" " .. first .. " "):find(" " .. name .. " ", 1, true), name)
  end
  -- Growing one process's globals changes neither the next process's nor this one's.
  assert.eq(run("global_names", true), first)
  assert.eq(run("global_names"), first)
  assert.eq(rawget(_G, "g1"), nil)
  return true
end

function M.require_and_load_errors_point_at_the_caller()
  local ok, err = pcall(function() local m = require(42) return m end)
  assert.eq(ok, false)
  assert.eq(err, HERE .. ":95: bad argument #1 to 'require' (string expected, got number)")
  ok, err = pcall(function() local m = require("no_such_module") return m end)
  assert.eq(err, HERE .. ":98: module 'no_such_module' not found")
  ok, err = pcall(function() local f = load("x", "=x", {}) return f end)
  assert.eq(err, HERE .. ":100: bad argument #3 to 'load' (string expected, got table)")
  return true
end

return M
