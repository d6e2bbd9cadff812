-- Tables growing past moonhost's bound (tests/lua_gc.rs, GC_TABLE_BOUND hash entries, a
-- power of two; the array part 16 times that; a weak table's a quarter of it) while
-- collection cycles run: strong and weak tables of every key kind fail at their bound with
-- `table overflow`, stay whole and usable after the error, make room again when entries go,
-- and every value is read back; a strong table past the weak bound cannot be made weak.
local BOUND = assert(tonumber(os.getenv("GC_TABLE_BOUND")), "GC_TABLE_BOUND")
local SEED = tonumber(os.getenv("GC_STRESS_SEED") or "") or 1
math.randomseed(SEED)
collectgarbage("incremental", 100, 100, 10)
local rnd = math.random
-- ltable.c: a quarter, at least MOONHOST_TABLEFLOOR (16 in this build)
local WEAK_BOUND = math.max(BOUND // 4, 16)
local MSG = "table overflow (more than " .. BOUND .. " hash entries; see max_table_entries)"
local WEAK_MSG = "table overflow (more than " .. WEAK_BOUND
  .. " hash entries in a weak table; see max_table_entries)"

local function overflows(f, weak)
  local ok, err = pcall(f)
  assert(not ok, "no overflow")
  assert(type(err) == "string" and err:find(weak and WEAK_MSG or MSG, 1, true), tostring(err))
end

local kinds = {
  int = function(i) return i * 2^40 end,
  str = function(i) return "k" .. i end,
  tab = function(i) return { i } end,
  flt = function(i) return i + 0.5 end,
}
local modes = { false, "k", "v", "kv" }

local held = {}  -- keeps keys and values alive, so weak entries stay
local function value(i) local v = { i, tostring(i) } return v end

local function fill(t, key, from, to, hold)
  for i = from, to do
    local k, v = key(i), value(i)
    if hold then held[#held + 1] = k held[#held + 1] = v end
    t[k] = v
    if rnd(64) == 1 then collectgarbage("step") end
  end
end

local function check(t, key, n, keys)
  local count = 0
  for k, v in pairs(t) do
    count = count + 1
    assert(type(v) == "table" and v[2] == tostring(v[1]), "bad value")
  end
  assert(count == n, "count " .. count .. " of " .. n)
  if keys then
    for i = 1, n do assert(t[keys[i]][1] == i, "lost key " .. i) end
  end
end

for round = 1, 3 do
  for name, key in pairs(kinds) do
    for _, mode in ipairs(modes) do
      held = {}
      local t = mode and setmetatable({}, { __mode = mode }) or {}
      local keys = {}
      local mk = function(i) local k = key(i) keys[i] = k return k end
      local B = mode and WEAK_BOUND or BOUND
      fill(t, mk, 1, B, true)
      overflows(function() fill(t, mk, B + 1, B + 1, true) end, mode)
      keys[B + 1] = nil
      collectgarbage()
      check(t, key, B, name ~= "tab" and keys or nil)
      -- Room again after removals (a rehash at the same size).
      for i = 1, B // 4 do t[keys[i]] = nil end
      collectgarbage("step")
      fill(t, function(i) return key(i + 10 * B) end, 1, B // 4, true)
      check(t, key, B)
      overflows(function() fill(t, function(i) return key(i + 20 * B) end, 1, 1, true) end, mode)
      -- Weak entries going away make room too (a weak key that is a string or a
      -- number never goes).
      local clearable = mode and (mode ~= "k" or name == "tab")
      if clearable then
        held, keys = {}, {}
        collectgarbage()
        collectgarbage()
        local n = 0
        for _ in pairs(t) do n = n + 1 end
        assert(n == 0, name .. " " .. mode .. ": weak entries left: " .. n)
        fill(t, key, 1, B, true)
        check(t, key, B)
      end
      held = {}
    end
  end
  -- A strong table past the weak bound cannot be made weak, and stays strong.
  local big = {}
  fill(big, kinds.tab, 1, WEAK_BOUND + 1, true)
  overflows(function() setmetatable(big, { __mode = "k" }) end, true)
  assert(getmetatable(big) == nil)
  check(big, kinds.tab, WEAK_BOUND + 1)
  held = {}
  -- The array part: 16 times the bound, then integer keys go to the hash part.
  local a = {}
  local cap = 16 * BOUND
  for i = 1, cap + BOUND do
    a[i] = i
    if rnd(256) == 1 then collectgarbage("step") end
  end
  overflows(function() a[cap + BOUND + 1] = 0 end)
  assert(#a == cap + BOUND, "border " .. #a)
  for i = 1, cap + BOUND, 7 do assert(a[i] == i) end
  local n = 0
  for k, v in pairs(a) do n = n + 1 assert(k == v) end
  assert(n == cap + BOUND, "pairs " .. n)
  -- A constructor asks for its sizes up front (one slot per field, here all the same key,
  -- so the chunk's own constants stay few): refused past the bound too.
  local f = assert(load("local x = 1 return {" .. ("[x] = 0, "):rep(BOUND + 1) .. "}"))
  overflows(f)
end
-- The parser keeps a chunk's constants in a table: a chunk of more distinct ones fails.
local names = {}
for i = 1, BOUND + 1 do names[i] = "a" .. i .. " = 1" end
local ok, err = load("return {" .. table.concat(names, ", ") .. "}")
assert(not ok and err:find(MSG, 1, true), tostring(err))
print("bound: ok")
