-- String table stress (tests/lua_gc.rs): short strings interned, dropped and interned again
-- by the hundred thousand, so the string table grows and shrinks again and again, with
-- collector steps, full collections and both collector modes interleaved. Built with tiny
-- MOONHOST_STRTAB_* values, every resize moves the strings incrementally and a move is in
-- progress most of the time; the driver's GC_EMERGENCY adds emergency collections inside
-- allocations, and its `strtab()` shows the table's count, size and move. A string table
-- bug shows as a duplicate (two strings with the same contents: `rawequal` of two
-- separately built copies is false, a table lookup by one misses the other), a lost string
-- (ASAN: use after free) or a leak (the count after everything is dropped, LeakSanitizer,
-- the close's assertion).
local SEED = tonumber(os.getenv("GC_STRESS_SEED") or "") or 1
local ROUNDS = tonumber(os.getenv("STR_STRESS_ROUNDS") or "") or 8
math.randomseed(SEED)
collectgarbage("incremental", 100, 100, 10)
local rnd = math.random

-- Contents are prefix .. number, up to 40 bytes (LUAI_MAXSHORTLEN: all are short).
local PREFIXES = { "s", "k:", "", "a-prefix-of-twenty-b:", "x" }
local IDS = 40000
local function name(p, i) return PREFIXES[p] .. i end
local function copy(p, i) return string.format("%s%d", PREFIXES[p], i) end

collectgarbage()
collectgarbage()
local base = collectgarbage("count")

-- The live strings: ls[k] the string, lid[k] its content id; where[id] = k; index[s] = k.
local ls, lid, where, index, n = {}, {}, {}, {}, 0

local function parts(id) return id % #PREFIXES + 1, id // #PREFIXES end

local function check(k, what)
  local p, i = parts(lid[k])
  local c = copy(p, i)
  if not rawequal(ls[k], c) then error(what .. ": two strings for '" .. c .. "'") end
  if index[c] ~= k then error(what .. ": table lookup of '" .. c .. "' missed") end
end

local function add(make)
  local id = rnd(0, IDS * #PREFIXES - 1)
  local p, i = parts(id)
  local s = (make or name)(p, i)
  local k = where[id]
  if k then
    if not rawequal(ls[k], s) then error("re-made '" .. s .. "' is a second string") end
    return
  end
  n = n + 1
  ls[n], lid[n], where[id], index[s] = s, id, n, n
end

local function drop()
  local k = rnd(n)
  local s, id = ls[k], lid[k]
  where[id], index[s] = nil, nil
  if k < n then  -- the last one takes its place
    ls[k], lid[k] = ls[n], lid[n]
    where[lid[k]], index[ls[k]] = k, k
  end
  ls[n], lid[n] = nil, nil
  n = n - 1
end

local function churn()
  local op = rnd(20)
  if op == 1 then
    collectgarbage("step", rnd(0, 8))
  elseif op == 2 then
    for _ = 1, rnd(1, 50) do local _ = name(rnd(#PREFIXES), rnd(IDS)) .. "g" end
  elseif op == 3 and n > 0 then
    check(rnd(n), "sample")
  end
end

for round = 1, ROUNDS do
  if round == ROUNDS // 2 then collectgarbage("generational") end
  if round == ROUNDS // 2 + 3 then collectgarbage("incremental", 100, 100, 10) end
  -- Up to a big table, then down to a small one: resizes both ways, moves half done.
  local target = round % 2 == 1 and rnd(15000, 50000) or rnd(0, 2000)
  while n < target do add() churn() end
  while n > target do drop() churn() end
  for k = 1, n do check(k, "round " .. round) end
  if rnd(3) == 1 then collectgarbage() end
end

-- Strings made while a move is under way and the table is full: the resize waits for the
-- move (lstring.c, 'luaS_resize'), so the table holds more strings than buckets for a
-- while. With the collector stopped a move advances only by the strings made (one unit
-- each in this build) and its steps (two units per 2000 bytes), so a shrink's move is still
-- under way when the table fills, and so is the growth's that follows it. The strings are
-- made by `copy` (no garbage number string, which an emergency collection would free).
local function overfull()

-- The pause after a cycle that starts a shrink: the move, not a cycle, frees the old bucket
-- array, so the next cycle is due at `pause`% of the memory in use without it, as after
-- stock's shrink (which freed it at once), not `pause`% of the old array later.
local function pace()
  local PAUSE = 400  -- moonhost's (src/runtime/builder.rs)
  collectgarbage("incremental", PAUSE, 100, 10)
  while n < 20000 do add() end
  collectgarbage()  -- ends any move (a step moves two units here)
  while n > 100 do drop() end
  local _, size0 = strtab()
  for _ = 1, 20 do
    repeat until collectgarbage("step")  -- to the end of a cycle
    local _, size, moving = strtab()
    if moving and size < size0 then
      local threshold, inuse, old = gcpace()
      assert(old > 0)
      if threshold > (inuse - old // 2) * PAUSE // 100 then
        error(("pause: next cycle at %d bytes, %d in use of which %d the old array"):format(
          threshold, inuse, old))
      end
      collectgarbage("incremental", 100, 100, 10)
      return
    end
  end
  error("pace: no cycle ended with a shrink under way")
end
pace()
  collectgarbage("incremental", 100, 100, 10)
  while n < 20000 do add() end
  while n > 100 do drop() end
  local _, size0 = strtab()
  local steps, shrunk = 0, nil
  repeat  -- to the end of a cycle, which halves the table (a move)
    collectgarbage("step")
    steps = steps + 1
    local _, size, moving = strtab()
    if moving and size < size0 then shrunk = size end
  until shrunk or steps > 1000000
  assert(shrunk, "no shrink")
  collectgarbage("stop")
  local during_shrink, during_growth, made = false, false, 0
  repeat
    add(copy)
    made = made + 1
    local nuse, size = strtab()
    if nuse > size then
      if size == shrunk then during_shrink = true else during_growth = true end
    end
  until (during_shrink and during_growth) or made > 150000
  collectgarbage("restart")
  assert(during_shrink, "the table never filled during a shrink's move")
  assert(during_growth, "the table never filled during a growth's move")
  for k = 1, n do
    check(k, "overfull")
    if not rawequal(ls[k], name(parts(lid[k]))) then error("overfull: a second string") end
  end
end
overfull()

-- Everything dropped: full collections bring the heap back to where it started (the
-- string table's size too, give or take a doubling of its start size of a few KiB).
ls, lid, where, index, n = nil, nil, nil, nil, 0
local last = math.huge
for _ = 1, 30 do
  collectgarbage()
  local now = collectgarbage("count")
  if now >= last then break end
  last = now
end
local left = collectgarbage("count") - base
if left > 16 then error(("%.1f KiB more than at the start"):format(left)) end

-- Close with a move in progress: strings made after the last full collection, enough to
-- grow the table, kept to the end (the driver reports the table's state at close).
local keep = {}
for i = 1, 5000 do keep[i] = name(1, i) end
