-- SPEC §6 small built-ins and §1 require rules.
-- `require` is captured before the first library load so that the other tests keep working
-- while require_after_library_load (below) shows a bug in the global one.
local require_ = require
local assert = require_("assert")

local HOST = "app:processes"
local M = {}

function M.uuid_v4_format()
  local uuid = require_("uuid")
  assert.eq(type(uuid.v4), "function")
  local pat = "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
  local h = "[0-9a-f]"
  local lua_pat = "^" .. h:rep(8) .. "%-" .. h:rep(4) .. "%-4" .. h:rep(3) .. "%-[89ab]" .. h:rep(3)
    .. "%-" .. h:rep(12) .. "$"
  local seen = {}
  for i = 1, 1000 do
    local id = uuid.v4()
    assert.eq(type(id), "string")
    assert.eq(#id, 36)
    assert.truthy(id:match(lua_pat), "not a lowercase v4 UUID (" .. pat .. "): " .. id)
    assert.falsy(seen[id], "duplicate uuid after " .. i .. " calls: " .. id)
    seen[id] = true
  end
  return true
end

function M.string_cast()
  assert.eq(string("abc"), "abc")
  assert.eq(string(""), "")
  assert.eq(string("a\0b"), "a\0b")
  assert.eq(string(12), "12")
  assert.eq(string(-3), "-3")
  assert.eq(string(1.5), "1.5")
  assert.eq(string(2.0), tostring(2.0))
  assert.eq(string(math.maxinteger), tostring(math.maxinteger))
  for _, bad in ipairs { true, false, {}, function() end } do
    assert.raises(function() return string(bad) end)
  end
  assert.raises(function() return string(nil) end)
  assert.raises(function() return string() end)
  -- the string library itself still works
  assert.eq(string.upper("x"), "X")
  assert.eq(("%d"):format(5), "5")
  assert.eq(("abc"):sub(2), "bc")
  return true
end

function M.unpack_alias()
  assert.eq(unpack, table.unpack)
  local a, b, c = unpack({ 1, 2, 3 })
  assert.eq(a, 1); assert.eq(b, 2); assert.eq(c, 3)
  assert.eq(select("#", unpack({ 1, nil, 3 }, 1, 3)), 3)
  return true
end

function M.underscore_global()
  _ = 5
  assert.eq(_, 5)
  _ = "again"
  assert.eq(_G._, "again")
  for _, v in ipairs { 1 } do assert.eq(v, 1) end
  local _ = 1
  return true
end

function M.print_works()
  print("moonhost builtins print", 1, 2.5, nil, true, { })
  print()
  local r = table.pack(print("x"))
  assert.eq(r.n, 0)
  return true
end

function M.globals_per_process()
  PARENT_ONLY = "parent"
  SHARED_NAME = "parent's"
  local l = process.listen("globals")
  local me = process.pid()
  assert(process.spawn("test.builtins:workers:global_setter", HOST, me, "first"))
  assert(process.spawn("test.builtins:workers:global_setter", HOST, me, "second"))
  local got = {}
  for _ = 1, 2 do
    local r = l:receive()
    got[r.value] = r
  end
  for _, name in ipairs { "first", "second" } do
    local r = got[name]
    assert.truthy(r, "no report from " .. name)
    assert.eq(r.before, nil, name .. " saw another process's global")
    assert.eq(r.after, name, name .. " had its global overwritten")
    assert.eq(r.parent_global, nil, name .. " saw the parent's global")
    assert.eq(r.underscore, name)
  end
  assert.eq(SHARED_NAME, "parent's")
  return true
end

function M.library_tables_read_only()
  for name, lib in pairs {
    string = string, table = table, math = math, coroutine = coroutine,
    process = process, channel = channel, time = time, utf8 = utf8,
  } do
    local err = assert.raises(function() lib.injected = 1 end, "attempt to modify read-only table")
    assert.eq(lib.injected, nil, name)
  end
  assert.raises(function() string.upper = nil end, "attempt to modify read-only table")
  assert.eq(type(string.upper), "function")
  assert.raises(function() process.registry.x = 1 end, "attempt to modify read-only table")
  return true
end

function M.builtin_globals_can_be_removed()
  -- globals are this process's own table: assigning nil to a standard global removes it,
  -- as in plain Lua, and does not affect other processes
  local saved = math
  math = nil
  assert.truthy(math == nil, "math = nil did not remove the global (still a " .. type(math) .. ")")
  math = saved
  assert.eq(math.abs(-1), 1)
  return true
end

function M.shared_tables_cannot_leak()
  local l = process.listen("smuggled")
  assert(process.spawn("test.builtins:workers:smuggler", HOST, process.pid()))
  local r = l:receive()
  assert.eq(r.assign, false)
  assert.eq(r.process, false)
  assert.eq(r.channel, false)
  -- whatever rawset or the string metatable allowed, nothing may reach this process
  assert.eq(string.smuggled, nil)
  assert.eq(string.smuggled_raw, nil, "rawset on a library table leaked across processes")
  assert.eq(string.smuggled_mt, nil, "the string metatable leaked across processes")
  assert.eq(("").smuggled_mt, nil)
  assert.eq(process.smuggled, nil)
  return true
end

function M.require_imports_once()
  local lib = require_("lib")
  local again = require_("lib")
  assert.truthy(rawequal(lib, again), "require returned two different tables")
  -- library globals land in the process's globals like in plain Lua (if they are kept
  -- apart, table identity above is the check that counts)
  assert.truthy(LIB_LOADS == nil or LIB_LOADS == 1, "library chunk ran more than once")
  assert.eq(lib.bump(), 1)
  assert.eq(require_("lib").count(), 1)
  -- two other processes each get their own copy of the module state
  local l = process.listen("lib")
  local me = process.pid()
  assert(process.spawn("test.builtins:workers:lib_user", HOST, me, 3))
  assert(process.spawn("test.builtins:workers:lib_user", HOST, me, 5))
  local counts = {}
  for _ = 1, 2 do
    local r = l:receive()
    counts[#counts + 1] = r.count
    assert.truthy(r.loads == nil or r.loads == 1)
    assert.eq(r.same, true)
  end
  table.sort(counts)
  assert.same(counts, { 3, 5 })
  assert.eq(lib.count(), 1, "another process changed this process's library state")
  return true
end

function M.require_after_library_load()
  -- the global require keeps resolving this entry's imports after a library was loaded
  -- (the file's top level already loaded `assert` through it)
  local ok, lib = pcall(require, "lib")
  assert.eq(ok, true, "require('lib') after loading another import: " .. tostring(lib))
  assert.eq(type(lib.bump), "function")
  local ok2, again = pcall(require, "assert")
  assert.eq(ok2, true, "require('assert') a second time: " .. tostring(again))
  assert.truthy(rawequal(again, assert), "second require of assert gave another table")
  return true
end

function M.require_builtins()
  local t = require_("time")
  assert.truthy(rawequal(t, time))
  assert.eq(type(t.sleep), "function")
  local u = require_("uuid")
  assert.truthy(rawequal(u, require_("uuid")))
  assert.eq(type(u.v4), "function")
  return true
end

function M.require_unknown_fails()
  for _, name in ipairs { "nosuch", "assert2", "test.assert", "lua/test/assert", "os.nothing", "socket" } do
    local ok, err = pcall(require_, name)
    assert.eq(ok, false, "require_(" .. name .. ") succeeded")
    assert.contains(tostring(err), "module '" .. name .. "' not found")
  end
  -- the file system is not searched: a real file next to this one is not found by path
  local ok, err = pcall(require_, "counter_lib")
  assert.eq(ok, false)
  assert.contains(tostring(err), "module 'counter_lib' not found")
  return true
end

return M
