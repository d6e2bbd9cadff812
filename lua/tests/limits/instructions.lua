-- Instructions: every process is preempted after its slice; a host's `max_instructions`
-- ends a process that has run that many in its whole life ("instruction limit exceeded").
local assert = require("assert")
local util = require("helpers").for_suite("test.limits:workers", { still_running_spawns = "count_to" })

local FEW = "app:few_instructions"
local LIMIT_ERR = "instruction limit exceeded"
local STUCK_ERR = "process ran too long inside a call that cannot yield "
  .. "(Lua called from a C function, e.g. a table.sort comparator)"

local M = {}

-- Acceptance: an endless loop on the default host (no instruction limit) is preempted:
-- timers, the sibling and the test process keep running while it spins; it ends only
-- when terminated.
function M.endless_loop_is_preempted()
  local looper = util.spawn("looper", util.DEFAULT)
  local sibling = util.sibling()
  for _ = 1, 3 do util.still_running(sibling) end
  local spins = 0
  for _ = 1, 5 do
    time.sleep("2ms")
    spins = spins + 1
  end
  assert.eq(spins, 5)
  assert.eq(process.terminate(looper), true)
  util.failed_with(looper, "process terminated")
  util.still_running(sibling)
  return true
end

-- Acceptance: an endless loop on a host with max_instructions = 2,000,000 ends with
-- "instruction limit exceeded"; while it spins, the sibling still answers first.
function M.endless_loop_hits_instruction_limit()
  local looper = util.spawn("looper", FEW)
  local sibling = util.sibling()
  util.still_running(sibling)
  util.failed_with(looper, LIMIT_ERR)
  util.refused("process not found", process.send(looper, "anything"))
  util.still_running(sibling)
  return true
end

-- Work below the limit completes normally on the same host.
function M.finite_work_under_the_limit()
  util.returned(util.spawn("count_to", FEW, 100000), 100000)
  return true
end

-- The limit counts the whole life of the process, across slices and blocking calls, not
-- one slice: bursts of ~20,000 instructions separated by sleeps stop after at most
-- 2,000,000 / 20,000 = 100 of them, and after more than one.
function M.limit_counts_the_whole_life()
  local rounds = process.listen("round")
  local worker = util.spawn("bursts", FEW, process.pid())
  util.failed_with(worker, LIMIT_ERR)
  local got = util.drain(rounds)
  assert.truthy(#got >= 2, "rounds before the limit: " .. #got)
  assert.truthy(#got <= 100, "rounds before the limit: " .. #got)
  for i, r in ipairs(got) do assert.eq(r, i) end
  return true
end

-- pcall cannot catch the limit and run on: the process ends at the first error
-- (it gives up by itself after 1000 caught errors).
function M.limit_is_not_caught_by_pcall()
  local sibling = util.sibling()
  util.failed_with(util.spawn("pcall_looper", FEW, 1000), LIMIT_ERR)
  util.still_running(sibling)
  return true
end

-- Instructions run in coroutines the process creates count too: 1000 fresh coroutines of
-- ~9,000 instructions each are ~9,000,000 instructions, far over 2,000,000.
function M.limit_counts_fresh_coroutines()
  util.failed_with(util.spawn("fresh_coroutines", FEW, 1000), LIMIT_ERR)
  return true
end

-- Preemption counts them too: a process running 300 fresh coroutines of ~9,000
-- instructions each (~2,700,000 instructions, 270 slices) on the default host is preempted
-- while it runs, so the sibling's pong comes back before the worker is done.
function M.fresh_coroutines_are_preempted()
  local sibling = util.sibling()
  local worker = util.spawn("fresh_coroutines", util.DEFAULT, 300)
  assert.eq(process.send(sibling, "ping", "during"), true)
  assert.eq(util.recv(process.listen("pong"), "the sibling's pong"), "during")
  local r = channel.select { process.events():case_receive(), default = true }
  assert.truthy(r.default, "the worker ran all its coroutines before the sibling could answer")
  util.returned(worker, "ran 300 coroutines")
  return true
end

-- An endless loop where the process cannot yield (a table.sort comparator) still ends:
-- on a host with max_instructions by that limit...
function M.loop_in_c_call_hits_instruction_limit()
  local sibling = util.sibling()
  util.failed_with(util.spawn("sort_looper", FEW), LIMIT_ERR)
  util.still_running(sibling)
  return true
end

-- ...and on the default host with a clear error once it has run too long.
function M.loop_in_c_call_ends_on_default_host()
  local sibling = util.sibling()
  util.failed_with(util.spawn("sort_looper", util.DEFAULT), STUCK_ERR, "10s")
  util.still_running(sibling)
  return true
end

-- pcall inside the comparator cannot catch that error and keep the process (and with it
-- the whole runtime, which cannot preempt it there) running: it ends before it gives up by
-- itself after 1.5 s of CPU time (unbounded, such a loop would hang the runtime forever).
local function c_call_pcall_loop(host, err)
  local sibling = util.sibling()
  local gave_up = process.listen("gave_up")
  util.failed_with(util.spawn("sort_pcall_looper", host, process.pid(), 1.5), err, "10s")
  assert.same(util.drain(gave_up), {}, "the looper ran until it gave up")
  util.still_running(sibling)
  return true
end

function M.loop_in_c_call_not_caught_by_pcall()
  return c_call_pcall_loop(util.DEFAULT, STUCK_ERR)
end

-- The same on a host with max_instructions: the limit is not caught either.
function M.loop_in_c_call_limit_not_caught_by_pcall()
  return c_call_pcall_loop(FEW, LIMIT_ERR)
end

return M
