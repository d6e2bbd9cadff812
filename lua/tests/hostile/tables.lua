-- Giant tables (issue 11): growing a table rehashes all its entries inside one assignment
-- (over 250 ms at a million string keys, in whichever slice grows it), and the collector
-- clears a weak table whole in its atomic step. A table's hash part may not grow past its
-- host's `max_table_entries` (262,144 by default), its array part past 16 times that
-- (vendor/lua-src/MOONHOST.md, LUA_API.md "Collections"): the assignment past it raises
-- `table overflow (...)`. Each attack runs as the only child of the test process, whose
-- 10 ms ticker must stay within 100 ms (attack.lua).
local assert = require("assert")
local attack = require("attack")

local M = {}

local OVERFLOW = "table overflow (more than 262144 hash entries; see max_table_entries)"
local WEAK_OVERFLOW =
  "table overflow (more than 65536 hash entries in a weak table; see max_table_entries)"

-- Integer keys that miss the array part.
function M.giant_hash_of_integer_keys()
  attack.run([[
    local t = {}
    for i = 1, 1e9 do t[i * 2^40] = true end
  ]], OVERFLOW)
end

-- String keys: the slowest to rehash (each key's string is read for its hash).
function M.giant_hash_of_string_keys()
  attack.run([[
    local t = {}
    for i = 1, 1e9 do t["key" .. i] = i end
  ]], OVERFLOW)
end

function M.giant_hash_of_table_keys()
  attack.run([[
    local t = {}
    for i = 1, 1e9 do t[{}] = {} end
  ]], OVERFLOW)
end

-- Weak tables are cleared whole in the collector's atomic step: theirs is a quarter of the
-- bound (65,536 by default).
function M.giant_ephemeron_table()
  attack.run([[
    local keep, t = {}, setmetatable({}, { __mode = "k" })
    for i = 1, 1e9 do
      local k = {}
      if i % 2 == 0 then keep[#keep + 1] = k end
      t[k] = {}
      if i % 1000 == 0 then collectgarbage("step") end
    end
  ]], WEAK_OVERFLOW)
end

function M.giant_weak_value_table()
  attack.run([[
    local keep, t = {}, setmetatable({}, { __mode = "v" })
    for i = 1, 1e9 do
      local v = {}
      if i % 2 == 0 then keep[#keep + 1] = v end
      t["k" .. i] = v
      if i % 1000 == 0 then collectgarbage("step") end
    end
  ]], WEAK_OVERFLOW)
end

-- The array part grows to 16 times the bound (4,194,304 slots); integer keys past it go to
-- the hash part, bounded as any other.
function M.giant_array()
  attack.run([[
    local t = {}
    for i = 1, 1e9 do t[i] = true end
  ]], OVERFLOW)
end

-- Up to the bound a table works as in stock Lua; the assignment past it raises where it is
-- made (a catchable error, as stock's own `table overflow`), and leaves the table as it was.
function M.a_table_at_the_bound_works()
  attack.run([[
    local t, n = {}, 262144
    for i = 1, n do t["k" .. i] = i end
    local ok, err = pcall(function() t.one_more = true end)
    assert(not ok and err:find("table overflow (more than 262144 hash entries", 1, true),
      tostring(err))
    local count = 0
    for k, v in pairs(t) do count = count + 1 assert(t["k" .. v] == v) end
    assert(count == n and t.one_more == nil, "count " .. count)
    -- Removing entries makes room again.
    for i = 1, 10 do t["k" .. i] = nil end
    for i = 1, 10 do t["again" .. i] = i end
    assert(t.again10 == 10)
    t = nil
    collectgarbage()
    local a = {}
    for i = 1, 16 * n do a[i] = i end
    assert(#a == 16 * n and a[16 * n] == 16 * n)
    return "done"
  ]], function(ev)
    assert.eq(ev.result.error, nil, "the child ends normally")
    assert.eq(ev.result.value, "done")
  end)
end

-- A metatable with `__mode` may not make a table bigger than the weak bound weak, and leaves
-- the table as it was; a smaller one becomes weak as in stock Lua.
function M.a_big_table_cannot_be_made_weak()
  attack.run([[
    local t = {}
    for i = 1, 100000 do t[i * 2^40] = {} end
    local ok, err = pcall(setmetatable, t, { __mode = "k" })
    assert(not ok and err:find("more than 65536 hash entries in a weak table", 1, true),
      tostring(err))
    assert(getmetatable(t) == nil, "the table stays strong")
    local small = {}
    for i = 1, 1000 do small[i * 2^40] = {} end
    setmetatable(small, { __mode = "v" })
    collectgarbage()
    assert(next(small) == nil, "the weak values went")
    return "done"
  ]], function(ev)
    assert.eq(ev.result.error, nil, "the child ends normally")
    assert.eq(ev.result.value, "done")
  end)
end

-- The host's `max_table_entries` raises the bound (app:big_tables: 1048576).
function M.the_manifest_setting_raises_the_bound()
  attack.run([[
    local t = {}
    for i = 1, 524288 do t[i * 2^40] = true end
    for i = 524289, 1e9 do t[i * 2^40] = true end
  ]], "table overflow (more than 1048576 hash entries; see max_table_entries)",
    { host = "app:big_tables" })
end

return M
