-- The runtime's own collections over a big heap (issue 11): the Lua heap is shared, so a
-- full collection visits every process's live objects, and over millions of tables one
-- takes hundreds of milliseconds. The collections the runtime runs for a process (when it
-- crosses its memory cap, and at a timer or channel quota) go in bounded steps over many
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

-- Each time the process's garbage takes it across its cap, the runtime reconciles its
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

-- A memory error caught and tried again (issue 11): at the limit Lua used to run an
-- emergency full collection inside the allocator, over the whole shared heap, before every
-- failure (737 ms over two million tables). Now the cap is soft (src/softcap.rs): the
-- crossing stops the slice, the runtime collects in bounded steps, and the allocation fails
-- after that with stock's error only if the child is still over its limit. Each try's table
-- is garbage once the error is caught, so the next try (and the return) can allocate again.
function M.caught_memory_errors_over_a_big_heap()
  attack.run(BIG_HEAP .. [[
    for i = 1, 5 do
      local ok, err = pcall(function() local t = {} for j = 1, 1e9 do t[j] = {} end end)
      assert(not ok and err == "not enough memory", tostring(err))
    end
    return "done"
  ]], function(ev)
    assert.eq(ev.result.error, nil, "the child ends normally")
    assert.eq(ev.result.value, "done")
  end, BIG)
end

-- Garbage, not live data, over the limit: 256 KiB strings made by concatenation (a few
-- instructions each) and dropped at once, 120 MiB of them in a few slices, more than the
-- limit leaves room for. Stock's emergency collection frees them (whole, over the big
-- heap); a refusal without it would end the child. The crossing's bounded collection
-- frees them, and the child runs on.
function M.garbage_over_the_limit_in_one_slice_over_a_big_heap()
  attack.run(BIG_HEAP .. [[
    local a = string.rep("g", 1 << 18)
    for i = 1, 480 do local s = a .. i end
    return "done"
  ]], function(ev)
    assert.eq(ev.result.error, nil, "the child ends normally")
    assert.eq(ev.result.value, "done")
  end, BIG)
end

-- Live data over the limit still ends the child with the limit's error, also when it
-- grows where it cannot yield (a comparator): up to the hard cap (an eighth of the limit
-- more), where the allocator refuses. On the 8 MiB host, so the C work of the copies
-- made where the child cannot yield stays short.
function M.live_data_over_the_limit_still_ends_the_child()
  attack.run([[
    local a, more = string.rep("l", 1 << 18), {}
    table.sort({ 3, 2, 1 }, function(x, y)
      for i = 1, 1e9 do more[i] = a .. i end
    end)
  ]], "memory limit exceeded: the process may use 8 MiB of Lua heap", { host = "app:small_memory" })
end

-- One giant table (issue 11): Lua's collector traversed a table in one go, so one table of
-- two million entries made one collector step (and the slice running it) over 100 ms.
-- The vendored Lua traverses big tables in chunks. The child builds the table first (growing
-- it rehashes it whole in single assignments, a cost of its own); the ticker is watched
-- from then on, through two full collections over it.
function M.collections_over_one_giant_table()
  local inbox = process.inbox()
  local pid = assert(process.spawn_monitored("test.hostile:workers:run", "app:huge_memory", [[
    local parent = ...
    local t = {}
    for i = 1, 2000000 do t[{}] = {} end
    process.send(parent, "built", true)
    collectgarbage()
    collectgarbage()
    error("collections done")
  ]], process.pid()))
  local built = inbox:receive()
  assert.eq(built:topic(), "built")
  local tk = time.ticker("10ms")
  local ticks, events = tk:channel(), process.events()
  local deadline = time.after("30s")
  local last, worst = time.now(), 0
  local ev
  while not ev do
    local r = channel.select { events:case_receive(), ticks:case_receive(), deadline:case_receive() }
    if r.channel == deadline then error("the collections did not end within 30s") end
    local now = time.now()
    worst = math.max(worst, now:sub(last):nanoseconds() - 10 * 1000 * 1000)
    if r.channel == events then ev = r.value else last = now end
  end
  tk:stop()
  assert.eq(ev.from, pid)
  assert(tostring(ev.result.error):find("collections done", 1, true), assert.show(ev.result))
  if worst > 100 * 1000 * 1000 then
    error(("the ticker was %d ms late"):format(worst // 1000000))
  end
end

return M
