-- Collector stress over tables traversed in chunks (tests/lua_gc.rs): random writes into
-- big tables while cycles run (array slots, hash nodes with collisions and moves,
-- rehashes both ways, removals), each table holding the only reference to the fresh
-- objects it is given; then every value is read back against a shadow of numbers (which
-- keeps nothing alive). A value freed too early reads back wrong, or ASAN stops the run.
local SEED, ROUNDS = ...
SEED = tonumber(SEED) or tonumber(os.getenv("GC_STRESS_SEED") or "") or 1
ROUNDS = tonumber(ROUNDS) or tonumber(os.getenv("GC_STRESS_ROUNDS") or "") or 3000
math.randomseed(SEED)
-- A new cycle starts as soon as one ends, and steps are small: the collector is always
-- somewhere inside a cycle, in many small steps.
collectgarbage("incremental", 100, 100, 10)

local rnd = math.random
local stamp = 0
local function fresh(id)
  stamp = stamp + 1
  -- The fresh table points to fresh objects of its own: only the big table holds them.
  return { id, stamp, { tostring(stamp) .. "v", { stamp } } }, stamp
end
local function check(v, id, s, where)
  assert(type(v) == "table", where .. ": not a table")
  assert(v[1] == id and v[2] == s, where .. ": wrong value")
  assert(v[3][1] == tostring(s) .. "v" and v[3][2][1] == s, where .. ": inner object lost")
end

-- Arrays: t[i] = fresh table; shadow[i] = its stamp.
local arrays, ashadow = {}, {}
for a = 1, 4 do
  local t, sh = {}, {}
  for i = 1, rnd(50, 400) do t[i], sh[i] = fresh(i) end
  arrays[a], ashadow[a] = t, sh
end
-- Hashes with table keys: key = { id }; shadow[id] = stamp of the value.
local hashes, hshadow, hcount = {}, {}, {}
for h = 1, 4 do
  hashes[h], hshadow[h], hcount[h] = {}, {}, 0
end
local nextkey = 0
local function hadd(h)
  nextkey = nextkey + 1
  local v, s = fresh(nextkey)
  hashes[h][{ nextkey }] = v
  hshadow[h][nextkey] = s
  hcount[h] = hcount[h] + 1
end
-- Hashes with string keys (fresh strings, collected when removed).
local shashes, sshadow = {}, {}
for h = 1, 3 do shashes[h], sshadow[h] = {}, {} end

local function removehashkeys(h, n)
  local t = hashes[h]
  for k in pairs(t) do
    if n <= 0 then break end
    if rnd(3) == 1 then
      t[k] = nil                -- a removal during pairs is allowed (assignment of nil)
      hshadow[h][k[1]] = nil
      hcount[h] = hcount[h] - 1
      n = n - 1
    end
  end
end

for round = 1, ROUNDS do
  local op = rnd(12)
  if op <= 3 then
    -- overwrite / append in an array
    local a = rnd(#arrays)
    local t, sh = arrays[a], ashadow[a]
    local i = rnd(#t + 1)
    t[i], sh[i] = fresh(i)
  elseif op == 4 then
    -- shrink an array from its end (its array part is later rehashed smaller)
    local a = rnd(#arrays)
    local t, sh = arrays[a], ashadow[a]
    for _ = 1, rnd(0, 30) do
      local n = #t
      if n == 0 then break end
      t[n], sh[n] = nil, nil
    end
  elseif op <= 7 then
    -- new table keys (collisions move nodes; a full hash part rehashes)
    local h = rnd(#hashes)
    for _ = 1, rnd(1, 20) do hadd(h) end
  elseif op == 8 then
    removehashkeys(rnd(#hashes), rnd(1, 40))
  elseif op == 9 then
    -- overwrite values under existing keys
    local h = rnd(#hashes)
    for k in pairs(hashes[h]) do
      if rnd(4) == 1 then
        local v, s = fresh(k[1])
        hashes[h][k] = v
        hshadow[h][k[1]] = s
      end
    end
  elseif op == 10 then
    -- string keys and values, fresh each time
    local h = rnd(#shashes)
    for _ = 1, rnd(1, 30) do
      local n = rnd(1000)
      local k = "key" .. n
      stamp = stamp + 1
      shashes[h][k] = "val" .. n .. ":" .. stamp
      sshadow[h][n] = stamp
    end
  elseif op == 11 then
    -- a whole table replaced by a fresh one (the old one becomes garbage mid-traversal)
    local a = rnd(#arrays)
    local t, sh = {}, {}
    for i = 1, rnd(50, 600) do t[i], sh[i] = fresh(i) end
    arrays[a], ashadow[a] = t, sh
  else
    collectgarbage("step")
  end
  -- allocate some garbage so the collector keeps moving
  local g = {}
  for i = 1, rnd(0, 20) do g[i] = { i } end

  if round % 500 == 0 then
    for a = 1, #arrays do
      local t, sh = arrays[a], ashadow[a]
      assert(#t == #sh, "array length")
      for i = 1, #t do check(t[i], i, sh[i], "array " .. a .. "[" .. i .. "]") end
    end
    for h = 1, #hashes do
      local n = 0
      for k, v in pairs(hashes[h]) do
        n = n + 1
        assert(type(k) == "table", "hash key lost")
        check(v, k[1], hshadow[h][k[1]], "hash " .. h .. " key " .. k[1])
      end
      assert(n == hcount[h], "hash " .. h .. ": " .. n .. " entries, expected " .. hcount[h])
    end
    for h = 1, #shashes do
      for n, s in pairs(sshadow[h]) do
        assert(shashes[h]["key" .. n] == "val" .. n .. ":" .. s, "string hash " .. h)
      end
    end
  end
end

-- Everything dropped: two full collections bring the heap back near where it started.
local before = collectgarbage("count")
arrays, ashadow, hashes, hshadow, shashes, sshadow = nil, nil, nil, nil, nil, nil
collectgarbage()
collectgarbage()
local after = collectgarbage("count")
assert(after < before, "count " .. after .. " not below " .. before)
collectgarbage()
assert(collectgarbage("count") <= after + 1, "count grew over full collections of nothing new")
