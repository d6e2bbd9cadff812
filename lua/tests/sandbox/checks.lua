-- The sandbox: by default scripts get no `io`, an `os` with only time functions, no
-- `loadfile`/`dofile`/`package`, a `require` that never reads files, `load` for text chunks
-- only, and a `debug` with only `traceback`. A host's manifest `allow: [io, os]` gives the
-- full modules back to that host's processes only.
local assert = require("assert")
local util = require("helpers").for_suite("test.sandbox:workers", { strict_exits = true })

local HERE = "sandbox/checks.lua"
local WORKERS = "sandbox/workers.lua"

-- What a probe sees on a host with nothing allowed.
local SANDBOXED = {
  io = "nil", io_open = "nil",
  os_time = "function", os_clock = "function",
  os_execute = "nil", os_exit = "nil", os_getenv = "nil", os_remove = "nil",
  loadfile = "nil", dofile = "nil", package = "nil", debug_getinfo = "nil",
}

local function with(changes)
  local t = {}
  for k, v in pairs(SANDBOXED) do t[k] = v end
  for k, v in pairs(changes) do t[k] = v end
  return t
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

-- A binary chunk: string.dump of a function, or (without string.dump) a chunk header.
local function binary_chunk()
  if string.dump then return string.dump(function() return 42 end) end
  return "\27Lua\84\0\25\147\r\n\26\n\4\8\8"
end

local M = {}

function M.no_io()
  assert.eq(io, nil)
  assert.eq(_G.io, nil)
  assert.eq(rawget(_G, "io"), nil)
  local err = assert.raises(function() return io.open("/etc/hostname") end)
  util.raised_at(err, HERE, "attempt to index a nil value (global 'io')")
  return true
end

function M.os_has_only_time_functions()
  assert.same(sorted_keys(os), { "clock", "date", "difftime", "time" })
  for _, name in ipairs { "execute", "remove", "exit", "getenv", "rename", "tmpname", "setlocale" } do
    assert.eq(os[name], nil, "os." .. name)
  end
  assert.eq(math.type(os.time()), "integer")
  assert.eq(type(os.clock()), "number")
  assert.eq(os.date("!%Y-%m-%d", 0), "1970-01-01")
  assert.eq(os.difftime(10, 4), 6.0)
  local err = assert.raises(function() return os.execute("true") end)
  util.raised_at(err, HERE, "attempt to call a nil value (field 'execute')")
  err = assert.raises(function() return os.getenv("HOME") end)
  util.raised_at(err, HERE, "attempt to call a nil value (field 'getenv')")
  -- the reduced os cannot be extended either
  assert.raises(function() os.execute = print end, "attempt to modify read-only table 'os'")
  return true
end

function M.no_file_loaders()
  assert.eq(loadfile, nil)
  assert.eq(dofile, nil)
  assert.eq(package, nil)
  local err = assert.raises(function() return loadfile("/etc/hostname") end)
  util.raised_at(err, HERE, "attempt to call a nil value (global 'loadfile')")
  err = assert.raises(function() return dofile("/etc/hostname") end)
  util.raised_at(err, HERE, "attempt to call a nil value (global 'dofile')")
  err = assert.raises(function() return package.loadlib("libc.so.6", "system") end)
  util.raised_at(err, HERE, "attempt to index a nil value (global 'package')")
  return true
end

-- require finds imports, built-ins and the standard libraries the process has (as stock
-- `package.loaded`): other standard names and file paths (even of files that exist, such as
-- this suite's own sources) are "not found".
function M.require_never_touches_files()
  assert.eq(require("os"), os)
  assert.eq(require("string"), string)
  assert.eq(require("debug"), debug)
  for _, name in ipairs {
    "io", "package",
    "sandbox.checks", "sandbox/checks", "sandbox/checks.lua", "./sandbox/checks.lua",
    "lua.tests.sandbox.checks", "test/assert", "/etc/hostname", "/etc/passwd",
  } do
    local ok, err = pcall(function()
      local m = require(name) -- not a tail call, so the error names this line
      return m
    end)
    assert.eq(ok, false, "require(" .. name .. ")")
    util.raised_at(err, HERE, "module '" .. name .. "' not found")
  end
  assert.eq(require("time"), time)
  assert.eq(require("assert"), assert)
  return true
end

function M.load_refuses_binary_chunks()
  local bin = binary_chunk()
  assert.eq(bin:byte(1), 27)
  local function refused(expected, f, err)
    assert.eq(f, nil, "load of a binary chunk returned a function")
    assert.eq(err, expected)
  end
  refused("attempt to load a binary chunk", load(bin))
  refused("attempt to load a binary chunk", load(bin, "=bin"))
  refused("attempt to load a binary chunk (mode is 't')", load(bin, "=bin", "t"))
  refused("attempt to load a binary chunk", load(bin, "=bin", "b"))
  refused("attempt to load a binary chunk", load(bin, "=bin", "bt"))
  refused("attempt to load a binary chunk", load("\27Lua\84\0\25\147\r\n\26\n\4\8\8"))
  -- through a reader function too
  local parts = { bin:sub(1, 5), bin:sub(6) }
  local i = 0
  refused("attempt to load a binary chunk (mode is 't')", load(function()
    i = i + 1
    return parts[i]
  end))
  return true
end

function M.load_accepts_text_chunks()
  assert.eq(load("return 40 + 2")(), 42)
  assert.eq(load("return ...", "=args", "t")(7), 7)
  assert.eq(load("return x", "=env", "t", { x = 5 })(), 5)
  local lines, i = { "return ", "'read'" }, 0
  assert.eq(load(function() i = i + 1; return lines[i] end)(), "read")
  -- a loaded chunk runs in the process's own (sandboxed) globals
  SANDBOX_MARK = "mine"
  assert.eq(load("return SANDBOX_MARK")(), "mine")
  assert.eq(load("return io")(), nil)
  assert.eq(load("return os.execute")(), nil)
  -- a text chunk in binary-only mode is refused too
  local f, err = load("return 1", "=text", "b")
  assert.eq(f, nil)
  assert.contains(err, "(mode is 'b')")
  -- syntax errors come back as usual
  f, err = load("return +", "=bad")
  assert.eq(f, nil)
  assert.contains(err, "bad:1:")
  return true
end

-- Acceptance: a binary chunk passed to load ends only its own process, with a clear error.
function M.binary_chunk_ends_only_its_process()
  local sibling = util.spawn("echo", util.DEFAULT)
  util.failed_in(util.spawn("forbidden", util.DEFAULT, "binary"), WORKERS,
    "attempt to load a binary chunk")
  util.still_running(sibling)
  assert.eq(load("return 'still loading text'")(), "still loading text")
  return true
end

function M.debug_has_only_traceback()
  assert.same(sorted_keys(debug), { "traceback" })
  for _, name in ipairs { "getinfo", "sethook", "gethook", "getlocal", "getregistry",
    "getmetatable", "setmetatable", "getupvalue", "setupvalue", "upvalueid" } do
    assert.eq(debug[name], nil, "debug." .. name)
  end
  local tb = debug.traceback("here")
  assert.eq(tb:sub(1, 22), "here\nstack traceback:\n")
  return true
end

-- Each forbidden call ends only the process that made it, with the error Lua gives for a
-- missing name; the sibling keeps answering.
function M.forbidden_calls_end_only_their_process()
  local sibling = util.spawn("echo", util.DEFAULT)
  for kind, err in pairs {
    ["io.open"] = "attempt to index a nil value (global 'io')",
    ["os.execute"] = "attempt to call a nil value (field 'execute')",
    ["os.exit"] = "attempt to call a nil value (field 'exit')",
    ["os.getenv"] = "attempt to call a nil value (field 'getenv')",
    ["os.remove"] = "attempt to call a nil value (field 'remove')",
    loadfile = "attempt to call a nil value (global 'loadfile')",
    dofile = "attempt to call a nil value (global 'dofile')",
    ["package.loadlib"] = "attempt to index a nil value (global 'package')",
    require = "module 'io' not found",
  } do
    util.failed_in(util.spawn("forbidden", util.DEFAULT, kind), WORKERS, err)
    util.still_running(sibling)
  end
  return true
end

-- Processes on a host without `allow` (the default host and the test process itself) see
-- the sandbox.
function M.default_host_is_sandboxed()
  assert.same(util.run("probe", util.DEFAULT), SANDBOXED)
  assert.same(require("probe")(), SANDBOXED)
  return true
end

-- `allow: [io, os]` gives that host's processes the full io and os: a file round trip works.
function M.allowed_host_gets_io_and_os()
  assert.same(util.run("probe", "app:with_io"), with {
    io = "table", io_open = "function",
    os_execute = "function", os_exit = "function", os_getenv = "function",
    os_remove = "function",
  })
  local text = "written by a process on app:with_io"
  assert.same(util.run("file_roundtrip", "app:with_io", text),
    { back = text, removed = true, gone = true })
  return true
end

-- `allow` is per module: `allow: [io]` leaves os sandboxed; the other loaders stay absent.
function M.allow_is_per_module()
  assert.same(util.run("probe", "app:io_only"), with { io = "table", io_open = "function" })
  return true
end

-- `allow` is per host: after a process on app:with_io ran, processes elsewhere (and the test
-- process) are still sandboxed, and the same script fails there.
function M.allow_is_per_host()
  util.run("file_roundtrip", "app:with_io", "x")
  assert.same(util.run("probe", util.DEFAULT), SANDBOXED)
  assert.eq(io, nil)
  util.failed_in(util.spawn("file_roundtrip", util.DEFAULT, "x"), WORKERS,
    "attempt to call a nil value (field 'tmpname')")
  return true
end

-- A script cannot stop the garbage collector of the whole runtime.
function M.gc_not_stoppable_by_a_script()
  assert.eq(collectgarbage("isrunning"), true)
  assert.eq(util.run("gc_stopper", util.DEFAULT), true)
  assert.eq(collectgarbage("isrunning"), true, "collector running after a script stopped it")
  return true
end

return M
