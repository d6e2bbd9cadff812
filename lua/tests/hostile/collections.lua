-- The runtime's own collections over a big heap (issue 11): the Lua heap is shared, so a
-- full collection visits every process's live objects, and over millions of tables one
-- takes hundreds of milliseconds. The collections the runtime runs for a process (when it
-- nears its memory limit, and at a timer or channel quota) go in bounded steps over many
-- turns instead (src/runtime/collector.rs, src/lua/timers.rs). Each attack runs as the only
-- child of the test process, whose 10 ms ticker must stay within 100 ms (attack.lua).
local assert = require("assert")
local attack = require("attack")

local M = {}

-- 256 MiB per process.
local BIG = { host = "app:big_memory" }

-- Two million live tables (about 160 MiB of heap, over half of BIG's limit), a thousand to
-- a table: one table of millions would make one indivisible step of Lua's collector.
local BIG_HEAP = [[
  local keep = {}
  for i = 1, 2000 do
    local t = {}
    for j = 1, 1000 do t[j] = {} end
    keep[i] = t
  end
]]

-- Every 32 MiB of garbage the process makes near its limit, the runtime reconciles its
-- charge with the live heap, which takes a collection over the two million tables.
function M.garbage_near_the_limit_over_a_big_heap()
  attack.run(BIG_HEAP .. [[
    for round = 1, 30 do
      local g = {}
      for i = 1, 100000 do g[i] = {} end
    end
    local charged = process.info(process.pid()).memory
    assert(charged < 256 << 20, "charged " .. charged)
    return "done"
  ]], function(ev)
    assert.eq(ev.result.error, nil, "the child ends normally")
    assert.eq(ev.result.value, "done")
  end, BIG)
end

-- A ticker dropped still counts until Lua collects it: at the quota of 1,000 armed tickers
-- the runtime collects (once per 500 made), over the two million tables every time.
function M.dropped_tickers_over_a_big_heap()
  attack.run(BIG_HEAP .. [[
    for i = 1, 5000 do assert(time.ticker("1h")) end
    error("5000 tickers made")
  ]], "5000 tickers made", BIG)
end

-- The same quota still refuses what the process keeps, with the same error.
function M.kept_tickers_over_a_big_heap_are_refused()
  attack.run(BIG_HEAP .. [[
    local mine = {}
    for i = 1, 1e9 do
      local t, err = time.ticker("1h")
      if not t then error(err, 0) end
      mine[i] = t
    end
  ]], "time.ticker: too many armed tickers in this process (at most 1000)", BIG)
end

return M
