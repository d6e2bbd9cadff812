-- Memory per process (`max_memory` of a process.host, default 128 MiB of Lua heap): a process
-- over its limit ends abnormally with a clear error; the rest of the app goes on.
local assert = require("assert")
local util = require("helpers").for_suite("test.limits:workers", { still_running_spawns = "count_to" })

local SMALL = "app:small_memory"
local SMALL_ERR = "memory limit exceeded: the process may use 8 MiB of Lua heap"

local M = {}

-- Allocates mib MiB and drops it (in its own frame, so no stack slot keeps it alive).
local function leave_garbage(mib)
  local garbage = {}
  for i = 1, mib do garbage[i] = string.rep("g", 1 << 20) end
  return #garbage
end

-- Acceptance: a script that allocates without bound (1 MiB strings) on a host with 8 MiB.
function M.unbounded_strings_small_host()
  local sibling = util.sibling()
  local hog = util.spawn("hog", SMALL, "strings")
  util.failed_with(hog, SMALL_ERR)
  -- its PID is gone, and everything else runs
  util.refused("process not found", process.send(hog, "anything"))
  util.still_running(sibling)
  -- the test process (default host) can still allocate more than the dead hog could
  local mine = {}
  for i = 1, 16 do mine[i] = string.rep("y", 1 << 20) end
  assert.eq(#mine[16], 1 << 20)
  return true
end

-- Many small allocations hit the same limit with the same error.
function M.unbounded_tables_small_host()
  local sibling = util.sibling()
  util.failed_with(util.spawn("hog", SMALL, "tables"), SMALL_ERR)
  util.still_running(sibling)
  return true
end

-- A string that doubles until it no longer fits.
function M.doubling_string_small_host()
  local sibling = util.sibling()
  util.failed_with(util.spawn("hog", SMALL, "doubling"), SMALL_ERR)
  util.still_running(sibling)
  return true
end

-- One allocation larger than the whole limit fails the same way.
function M.one_huge_string_small_host()
  local sibling = util.sibling()
  util.failed_with(util.spawn("hog", SMALL, "one_string"), SMALL_ERR)
  util.still_running(sibling)
  return true
end

-- Acceptance on the default host: no max_memory means 128 MiB; the memory of the dead
-- process is given back.
function M.unbounded_strings_default_host()
  local sibling = util.sibling()
  local hog = util.spawn("hog", util.DEFAULT, "strings")
  util.failed_with(hog, "memory limit exceeded: the process may use 128 MiB of Lua heap", "10s")
  util.still_running(sibling)
  collectgarbage()
  collectgarbage()
  local kib = collectgarbage("count")
  assert.truthy(kib < 32 * 1024, "heap after the hog died: " .. kib .. " KiB")
  return true
end

-- `max_memory` given as a plain number of bytes; the error shows that number.
function M.limit_in_bytes()
  local sibling = util.sibling()
  util.failed_with(util.spawn("hog", "app:memory_in_bytes", "strings"),
    "memory limit exceeded: the process may use 3000000 bytes of Lua heap")
  util.still_running(sibling)
  return true
end

-- Under the limit nothing happens: 6 MiB held on the 8 MiB host, also right after another
-- process on that host died of the limit.
function M.under_the_limit_is_fine()
  util.returned(util.spawn("fill", SMALL, 6), 6)
  util.failed_with(util.spawn("hog", SMALL, "strings"), SMALL_ERR)
  util.returned(util.spawn("fill", SMALL, 6), 6)
  return true
end

-- A process that frees what it held may allocate that much again, even when the garbage
-- was collected while another process was running (it never holds more than 5 MiB).
function M.freed_memory_can_be_reused()
  local me = process.pid()
  local worker = util.spawn("refill", SMALL, me, 5)
  assert.eq(util.recv(process.listen("dropped"), "the worker's 5 MiB to be dropped"), true)
  collectgarbage()
  collectgarbage()
  assert.eq(process.send(worker, "go"), true)
  util.returned(worker, 5)
  return true
end

-- Garbage other processes left does not raise a process's limit: after a collection that
-- frees 64 MiB of the test process's garbage, a process on the 8 MiB host still cannot
-- allocate 24 MiB.
function M.others_garbage_does_not_widen_the_limit()
  leave_garbage(64)
  util.failed_with(util.spawn("collect_then_allocate", SMALL, 24), SMALL_ERR)
  return true
end

return M
