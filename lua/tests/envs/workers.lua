-- Processes of the envs suite; each returns what it saw (observed through its EXIT).
local M = {}

-- Bumps its own counter module `n` times; returns the count and how often it was loaded.
function M.bump(n)
  local c = require("counter")
  for _ = 1, n do c.bump() end
  assert(rawequal(require("counter"), c), "require caches per process")
  return c.n .. " " .. c.inner.loads
end

-- Sets a global and returns what `load` sees of it, plus whether `load`'s default
-- environment is this process's `_G`.
function M.load_sees(mark)
  marker = mark
  local f = assert(load("return marker, _ENV"))
  local seen, env = f()
  return tostring(seen) .. " " .. tostring(rawequal(env, _G))
end

-- Reports the global `marker` (set by another process?) and the identity of `load` and
-- `require`.
function M.globals()
  return tostring(rawget(_G, "marker")) .. " " .. tostring(load) .. " " .. tostring(require)
end

-- Loads in a fresh coroutine and in a coroutine.spawn task: both default to these globals.
function M.load_in_coroutines(mark)
  marker = mark
  local co = coroutine.create(function() return load("return marker")() end)
  local _, a = coroutine.resume(co)
  local out = channel.new(1)
  coroutine.spawn(function() out:send(load("return marker")()) end)
  return a .. " " .. out:receive()
end

-- Bumps its counter, sets a global, upgrades in place once; after the upgrade, reports the
-- counter (a fresh cache) and the global (fresh globals) as `load` sees them.
function M.upgrade_fresh(phase)
  local c = require("counter")
  c.bump()
  if phase == nil then
    marker = "before"
    process.upgrade(nil, "after")
    error("upgrade returned")
  end
  return c.n .. " " .. tostring(load("return marker")())
end

-- The names of its globals, sorted, joined by spaces; with `grow`, after adding and removing
-- 300 globals (which grows and rehashes its globals table) and replacing `print`.
function M.global_names(grow)
  local before = {}
  for k, v in pairs(_G) do before[k] = v end
  if grow then
    for i = 1, 300 do _G["g" .. i] = i end
    for i = 1, 300 do assert(_G["g" .. i] == i) end
    for i = 1, 300 do _G["g" .. i] = nil end
    print = nil
    for k, v in pairs(before) do
      assert(k == "print" or rawget(_G, k) == v, k)
    end
    print = before.print
  end
  local names = {}
  for k in pairs(_G) do names[#names + 1] = k end
  table.sort(names)
  return table.concat(names, " ")
end

return M
