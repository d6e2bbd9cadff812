-- Lua that cannot yield (a table.sort comparator, a gsub callback, a load reader, a
-- __tostring) is ended within 50 ms of one slice plus delivery, where the old count bound
-- (100 million instructions) let it hold the whole runtime for 0.4-0.9 s; and processes
-- that run without a count hook are still preempted.
local assert = require("assert")
local contexts = require("contexts")
local util = require("helpers").for_suite("test.preempt:workers")

local STUCK = "process ran too long inside a call that cannot yield "
-- Slice bound (50 ms) plus generous room for a loaded machine; far below the 400 ms the
-- old bound took at best.
local MAX_NS = 250 * 1000 * 1000

local M = {}

local function now_ns() return time.now():unix_nano() end

function M.loop_where_it_cannot_yield_ends_within_the_slice_bound()
  for _, ctx in ipairs(contexts.names) do
    if ctx ~= "wrap_in_sort" then
      local t0 = now_ns()
      local pid = util.spawn("spin_in", util.DEFAULT, ctx)
      local ev = util.exit_of(pid, "5s")
      local took = now_ns() - t0
      assert.truthy(type(ev.error) == "string" and ev.error:find(STUCK, 1, true),
        ctx .. ": expected the stuck error, got " .. assert.show(ev.error))
      assert.truthy(took < MAX_NS, ctx .. ": ended after " .. took // 1000000 .. " ms")
    end
  end
  return true
end

-- A coroutine spinning inside a comparator can yield, the comparator around it cannot:
-- its preemptions never reach the scheduler, so the process ends as stuck, and soon.
function M.coroutine_spinning_inside_a_comparator_ends()
  local t0 = now_ns()
  local pid = util.spawn("spin_in", util.DEFAULT, "wrap_in_sort")
  local ev = util.exit_of(pid, "5s")
  assert.truthy(type(ev.error) == "string" and ev.error:find(STUCK, 1, true),
    "expected the stuck error, got " .. assert.show(ev.result))
  assert.truthy(now_ns() - t0 < MAX_NS, "ended after " .. (now_ns() - t0) // 1000000 .. " ms")
  return true
end

-- A coroutine inside a comparator that runs past its slice (so is preempted where the
-- preemption cannot reach the scheduler) goes on and returns, as in stock Lua.
function M.long_coroutine_inside_a_comparator_returns()
  local t = { 3, 2, 1 }
  table.sort(t, function(a, b)
    local n = coroutine.wrap(function()
      local n = 0
      for i = 1, 100000 do n = n + i end
      return n
    end)()
    assert.eq(n, 5000050000)
    return a < b
  end)
  assert.same(t, { 1, 2, 3 })
  return true
end

-- Two endless loops beside a ponger: every ping is still answered, in order.
function M.spinners_are_preempted_and_others_run()
  local a = util.spawn("spin", util.DEFAULT)
  local b = util.spawn("spin", util.DEFAULT)
  local p = util.spawn("ponger", util.DEFAULT)
  local pongs = process.listen("pong")
  for i = 1, 20 do
    assert.eq(process.send(p, "ping", i), true)
    assert.eq(util.recv(pongs, "pong " .. i, "5s"), i)
  end
  for _, pid in ipairs { a, b, p } do process.terminate(pid) end
  return true
end

-- A spinner inside a coroutine it created (which keeps a count hook) is preempted too.
function M.spinner_in_a_nested_coroutine_is_preempted()
  local co = coroutine.create(function() while true do end end)
  local ch = channel.new(1)
  coroutine.spawn(function() ch:send("ran") end)
  local done = false
  coroutine.spawn(function()
    coroutine.resume(co)
    done = true
  end)
  assert.eq(util.recv(ch, "the sibling task's send", "5s"), "ran")
  assert.falsy(done)
  return true
end

return M
