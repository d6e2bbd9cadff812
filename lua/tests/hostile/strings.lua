-- Millions of distinct short strings (issue 11): all processes intern their short strings
-- in the one string table of the shared Lua state. Stock Lua grows it (at as many strings
-- as buckets) and shrinks it (in a collection, under a quarter full) by rehashing every
-- string in one go: over one or two million strings, one string made or one collector step
-- held the thread for 100 to 500 ms. The vendored Lua moves the strings to the new bucket
-- array a few buckets at a time (vendor/lua-src/MOONHOST.md). Each attack runs as the only
-- child of the test process, whose 10 ms ticker must stay within 100 ms (attack.lua).
local attack = require("attack")

local M = {}

-- Keeps `prefix .. i` (default "s") for i in 1001 .. (thousands + 1) * 1000, a thousand to
-- a table (no giant table: growing one rehashes it whole, a cost of its own). Made by
-- `string.format`, which leaves no garbage string of the number (freeing millions of those
-- makes the system allocator's next large free slow, a cost of its own: LUA_API.md).
local function make(thousands, prefix)
  return ([[
    local keep = {}
    for i = 1, %d do
      local t = {}
      for j = 1, 1000 do t[j] = string.format("%%s%%d", %q, i * 1000 + j) end
      keep[i] = t
    end
  ]]):format(thousands, prefix or "s")
end

-- Every kept string is found again by its contents, built another way, as the same string;
-- `n` counts them.
local CHECK = [[
  local n = 0
  for i, t in pairs(keep) do
    for j = 1, 1000 do
      local s = string.format("s%d", i * 1000 + j)
      if not rawequal(t[j], s) then error("two strings for " .. s) end
      n = n + 1
    end
  end
]]

-- About a million strings fit the default limit of 128 MiB: a second process keeps as many
-- (other ones), so the child's take the table past two million strings, where it grows to
-- four million buckets.
function M.two_processes_of_a_million_strings_under_the_default_limit()
  local helper = make(1100, "t") .. [[
    process.send(..., "made", true)
    process.listen("never"):receive()
  ]]
  attack.run(([[
    process.spawn_linked("test.hostile:workers:run", "app:processes", %q, process.pid())
    process.inbox():receive()
  ]]):format(helper) .. make(1100) .. CHECK .. [[error("strings kept " .. n)]],
    "strings kept 1100000")
end

-- The shrink (most strings dropped, then collections) is measured in `tests/slices.rs`
-- (`interning_millions_of_strings_is_bounded`), in thread CPU time: what remains of it after
-- the move, the system allocator consolidating the freed strings (~40 ms), is near this
-- ticker's bound on the wall clock of a loaded machine.

return M
