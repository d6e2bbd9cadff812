-- Stock Lua 5.4 behaviour inside a process: what `lua` itself prints for the same code.
local assert = require("assert")

local M = {}

local function closer(f)
  return setmetatable({}, { __close = f })
end

function M.require_returns_the_standard_libraries()
  for name, lib in pairs {
    string = string, table = table, math = math, utf8 = utf8,
    coroutine = coroutine, debug = debug, os = os, _G = _G,
  } do
    assert.eq(require(name), lib, "require '" .. name .. "'")
  end
  return true
end

function M.globals_are_a_plain_table()
  assert.eq(getmetatable(_G), nil)
  local seen = {}
  for k in pairs(_G) do seen[k] = true end
  for _, name in ipairs {
    "print", "assert", "pairs", "ipairs", "next", "pcall", "xpcall", "error", "load",
    "require", "select", "type", "tostring", "tonumber", "rawget", "rawset", "setmetatable",
    "getmetatable", "collectgarbage", "string", "table", "math", "utf8", "coroutine", "os",
    "_G", "_VERSION",
  } do
    assert.truthy(seen[name], "pairs(_G) lists " .. name)
  end
  return true
end

function M.builtins_cannot_be_dumped()
  for name, f in pairs {
    print = print, require = require, load = load, pcall = pcall, xpcall = xpcall,
    collectgarbage = collectgarbage, rawset = rawset, dump = string.dump,
    create = coroutine.create, resume = coroutine.resume, wrap = coroutine.wrap,
    close = coroutine.close, running = coroutine.running,
  } do
    local ok, err = pcall(string.dump, f)
    assert.eq(ok, false, "string.dump(" .. name .. ")")
    assert.eq(err, "unable to dump given function", "string.dump(" .. name .. ")")
  end
  assert.eq(type(string.dump(function() return 1 end)), "string")
  return true
end

function M.builtins_leave_no_prelude_positions()
  local texts = {}
  local function collect(ok, err) texts[#texts + 1] = tostring(err) end
  collect(pcall(coroutine.close, coroutine.running()))
  collect(pcall(coroutine.wrap(function() error("x") end)))
  collect(xpcall(function() error("y") end, debug.traceback))
  collect(pcall(rawset, string, "k", 1))
  collect(pcall(load, "return", "=c", {}))
  for _, t in ipairs(texts) do
    assert.truthy(not t:find("prelude", 1, true), "no prelude position in: " .. t)
  end
  return true
end

function M.load_text_chunk_in_binary_mode()
  local f, err = load("return 1", "m", "b")
  assert.eq(f, nil)
  assert.eq(err, "attempt to load a text chunk (mode is 'b')")
  return true
end

function M.load_explicit_default_mode()
  local f = load("return 1", "m", "bt")
  assert.eq(f(), 1)
  local env = {}
  local g = assert.truthy(load("x = 7", "m", "t", env))
  g()
  assert.eq(env.x, 7)
  return true
end

function M.close_running_and_normal_coroutines()
  local ok, err = pcall(coroutine.close, coroutine.running())
  assert.eq(ok, false)
  assert.eq(err, "cannot close a running coroutine")
  local outer = coroutine.running()
  local co = coroutine.create(function()
    local a, b = pcall(coroutine.close, outer)
    local c, d = pcall(function() coroutine.close(coroutine.running()) end)
    return a, b, c, d
  end)
  local _, a, b, c, d = coroutine.resume(co)
  assert.eq(a, false)
  assert.eq(b, "cannot close a normal coroutine")
  assert.eq(c, false)
  assert.truthy(d:find("^stock/tests%.lua:%d+: cannot close a running coroutine$"), d)
  local e, f = pcall(function() coroutine.close(1) end)
  assert.eq(e, false)
  assert.truthy(f:find("^stock/tests%.lua:%d+: bad argument #1 to 'close' %(thread expected, got number%)$"), f)
  return true
end

function M.wrap_closes_pending_variables_on_error()
  local closed = false
  local f = coroutine.wrap(function()
    local _ <close> = closer(function() closed = true end)
    error("boom", 0)
  end)
  local ok, err = pcall(f)
  assert.eq(ok, false)
  assert.eq(err, "boom")
  assert.eq(closed, true, "the <close> variable was closed")
  local g = coroutine.wrap(function()
    local _ <close> = closer(function() error("in close", 0) end)
    error("boom", 0)
  end)
  ok, err = pcall(g)
  assert.eq(ok, false)
  assert.eq(err, "in close")
  return true
end

-- Enough work per level that the count hook preempts the recursion many times over.
local function busy()
  local s = 0
  for i = 1, 2000 do s = s + i end
  return s
end

function M.pcall_recursion_stops_at_c_stack_overflow_across_preemption()
  local depth = 0
  local function loop()
    depth = depth + 1
    busy()
    local ok, err = pcall(loop)
    if not ok then error(err, 0) end
  end
  local ok, err = pcall(loop)
  assert.eq(ok, false)
  assert.eq(err, "C stack overflow")
  -- stock Lua: 200 C calls, less those the test runner's own calls take
  assert.truthy(depth > 150 and depth < 200, "depth " .. depth)
  depth = 0
  local function xloop()
    depth = depth + 1
    busy()
    return xpcall(xloop, function(m) return "handled: " .. m end)
  end
  local r = table.pack(xloop())
  assert.eq(r[r.n], "handled: C stack overflow")
  assert.truthy(depth > 150 and depth < 200, "xpcall depth " .. depth)
  return true
end

function M.coroutine_nesting_counts_c_calls_across_preemption()
  local depth = 0
  local function nest()
    depth = depth + 1
    busy()
    local ok, err = coroutine.resume(coroutine.create(function() return pcall(nest) end))
    if not ok then error(err, 0) end
    return err
  end
  local ok = pcall(nest)
  -- each level is a resume and a pcall: two C calls
  assert.truthy(depth > 75 and depth < 100, "depth " .. depth)
  assert.eq(ok, true)
  return true
end

-- The lines of a traceback from its first frame up to `trace_of`'s (or the test's) frame.
local function frames(tb)
  local lines = {}
  for line in tb:gmatch("\n\t([^\n]*)") do
    lines[#lines + 1] = line
    if line:find("^stock/tests%.lua:%d+: in upvalue 'trace_of'$") then break end
  end
  return lines
end

local function trace_of(f, ...)
  local ok, tb = xpcall(f, debug.traceback, ...)
  assert.eq(ok, false, "the call raises")
  return frames(tb)
end

-- Stock Lua 5.4 prints these frames for the same calls: each built-in is one C frame.
function M.tracebacks_show_builtins_as_c_functions()
  local cases = {
    { trace_of(rawset, string, "k", 1), { "[C]: in function 'rawset'" } },
    { trace_of(collectgarbage, "stop"), { "[C]: in function 'collectgarbage'" } },
    { trace_of(string.dump, print), { "[C]: in function 'string.dump'" } },
    { trace_of(coroutine.close, coroutine.running()), { "[C]: in function 'coroutine.close'" } },
    { trace_of(load, "x", "=c", {}), { "[C]: in function 'load'" } },
    { trace_of(pcall), { "[C]: in function 'pcall'" } },
    { trace_of(print, setmetatable({}, { __tostring = function() error("no") end })),
      { "[C]: in function 'error'", "stock/tests.lua", "[C]: in function 'print'" } },
    -- stock's wrapped function is a C function without a global name
    { trace_of(coroutine.wrap(function() error("w") end)), { "[C]: in ?" } },
  }
  for i, case in ipairs(cases) do
    local got, want = case[1], case[2]
    local all = table.concat(got, " | ")
    for j, line in ipairs(want) do
      assert.eq((got[j] or "none"):sub(1, #line), line, "case " .. i .. " line " .. j .. ": " .. all)
    end
    assert.eq(got[#want + 1], "[C]: in function 'xpcall'", "case " .. i .. ": " .. all)
    assert.truthy(got[#want + 2]:find("^stock/tests%.lua:%d+: in upvalue 'trace_of'$"),
      "case " .. i .. ": " .. all)
  end
  return true
end

function M.tracebacks_show_require_as_a_c_function()
  local lines = frames(require("traced").traceback)
  assert.eq(lines[1]:match("^stock/traced%.lua:2: in main chunk$") ~= nil, true, table.concat(lines, " | "))
  assert.eq(lines[2], "[C]: in function 'require'")
  for _, line in ipairs(lines) do
    assert.truthy(not line:find("?:", 1, true), "no stripped frame: " .. line)
  end
  return true
end

return M
