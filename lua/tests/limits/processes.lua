-- Maximum processes (`max_processes` of a process.host): a full host refuses spawns with
-- `nil, "max processes limit exceeded"`; other hosts are not affected; an ended process
-- frees its place.
local assert = require("assert")
local util = require("helpers").for_suite("test.limits:workers", { still_running_spawns = "count_to" })

local FEW = "app:few_processes" -- max_processes: 2
local FULL = "max processes limit exceeded"

local M = {}

function M.host_full()
  local a = util.spawn("sleeper", FEW)
  local b = util.spawn("sleeper", FEW)
  util.refused(FULL, process.spawn("test.limits:workers:sleeper", FEW))
  util.refused(FULL, process.spawn_monitored("test.limits:workers:sleeper", FEW))
  util.refused(FULL, process.spawn_linked("test.limits:workers:sleeper", FEW))
  -- other hosts still spawn, and the refusals started nothing
  local sibling = util.sibling()
  util.still_running(sibling)
  -- a place frees when a process ends
  assert.eq(process.terminate(a), true)
  util.failed_with(a, "process terminated")
  local c = util.spawn("count_to", FEW, 3)
  util.returned(c, 3)
  local d = util.spawn("sleeper", FEW)
  util.refused(FULL, process.spawn("test.limits:workers:sleeper", FEW))
  assert.eq(process.terminate(b), true)
  assert.eq(process.terminate(d), true)
  return true
end

return M
