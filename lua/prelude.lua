-- moonhost prelude: loaded once per runtime in the main Lua state.
--
-- Receives `raw` (the Rust bindings plus four markers no script can reach) and builds the
-- shared, read-only modules every process sees: `process`, `channel`, `time`, `uuid`, a
-- sandboxed `coroutine`, and the per-process environment. Rust bindings never block or raise
-- by themselves: a binding that would block records its request and returns BLOCK, one that
-- fails returns RAISE and a message; the wrappers here turn those into a yield to the
-- scheduler (which parks the task and later resumes it with the outcome) or a Lua error at
-- the caller. A block whose yield cannot reach the scheduler comes back as NO_YIELD.
local raw = ...

local BLOCK, RAISE, PREEMPT, NO_YIELD = raw.BLOCK, raw.RAISE, raw.PREEMPT, raw.NO_YIELD
-- What a raw C binding's own block yields: BLOCK, from a frame that can build what it
-- receives (src/ffi/hot.rs). Passed up through a coroutine as plain BLOCK.
local C_BLOCK = raw.C_BLOCK
local CANNOT_YIELD = raw.CANNOT_YIELD
-- `raw.resume` is stock `coroutine.resume` that also hands the resumer's C-call count to
-- the coroutine (src/ffi/protect.rs), as stock Lua's count survives preemption there.
local co_create, co_resume, co_yield = coroutine.create, raw.resume, coroutine.yield
local co_status, co_close = coroutine.status, coroutine.close
local error, select, type, tostring, setmetatable = error, select, type, tostring, setmetatable
local rawget, rawset, next, pairs, ipairs, load = rawget, rawset, next, pairs, ipairs, load
local concat = table.concat

-- What a blocking yield was resumed with: the outcome, or NO_YIELD when an enclosing
-- coroutine could not pass the block up. Called as a tail call of `finish`.
local function unblocked(a, ...)
  if a == NO_YIELD then error(CANNOT_YIELD, 2) end
  return a, ...
end

-- Turns a raw binding's results into what Lua sees. Always called as a tail call, so
-- level 2 is the script that called the wrapper.
local function finish(a, ...)
  if a == BLOCK then return unblocked(co_yield(BLOCK)) end
  if a == RAISE then error((...), 2) end
  return a, ...
end

-- A full collection in basic steps charged to the slice (src/lua/bounds.rs): it yields when
-- the slice is used up, so over a huge heap it takes many slices, never one long one.
-- Raises the process's doom (stuck, instruction limit) at `level`.
local gc_collect, is_yieldable = raw.bounds.collect, coroutine.isyieldable
local function full_collect(level)
  local ends, verdict = gc_collect(0)
  while verdict ~= nil do
    if verdict ~= true then error(verdict, level + 1) end
    if is_yieldable() then co_yield(PREEMPT) end
    ends, verdict = gc_collect(ends)
  end
end

-- Calls that make timers and channels: at a quota that what the process dropped may still
-- fill (it counts until Lua collects it) the raw call returns COLLECT; the collection runs
-- here, in the process's own slices, and the call is made once more (src/lua/timers.rs).
local COLLECT = raw.COLLECT
local function collecting(f, arg, a, ...)
  if a ~= COLLECT then return finish(a, ...) end
  full_collect(2)
  return finish(f(arg))
end

-- Proxies handed to scripts; `rawset` refuses them so nothing leaks between processes.
local READONLY = setmetatable({}, { __mode = "k" })

-- `pairs(proxy)` walks the real table through a closure: handing out `next, t` would give
-- the script the shared table itself as the iteration state.
local function pairs_of(t)
  local function step(_, k) return next(t, k) end
  return function(proxy) return step, proxy, nil end
end

local function readonly(t, name)
  local proxy = {}
  READONLY[proxy] = name
  return setmetatable(proxy, {
    __index = t,
    __newindex = function(_, k)
      error("attempt to modify read-only table '" .. name .. "' (field '" .. tostring(k) .. "')", 2)
    end,
    __pairs = pairs_of(t),
    __len = function() return #t end,
    __metatable = false,
  })
end

local function guarded_rawset(t, k, v)
  local name = READONLY[t]
  if name then
    error("attempt to modify read-only table '" .. name .. "' (field '" .. tostring(k) .. "')", 2)
  end
  return rawset(t, k, v)
end

------------------------------------------------------------------------------------------
-- channel

local raw_recv, raw_send, raw_select = raw.chan_recv, raw.chan_send, raw.chan_select
local CASE = { __name = "channel.case", __metatable = false }

local Channel = {}
-- receive and send are raw C functions: they yield to the scheduler themselves.
Channel.receive = raw_recv
Channel.send = raw_send
function Channel.close(ch) return finish(raw.chan_close(ch)) end
-- `{ch, false}` and `{ch, true, v}` under CASE, made by C functions (src/ffi/select.rs).
Channel.case_receive, Channel.case_send = raw.cases_over(CASE)

local function select_result(cases, i, v, ok)
  if i == 0 then return { default = true, ok = true } end
  local c = cases[i]
  if c[2] then v = c[3] end
  return { channel = c[1], value = v, ok = ok }
end

-- `channel.select` is a C function (src/ffi/select.rs) that runs receive-only selects over
-- plain case lists itself and calls this for everything else (send cases, a case list with
-- a metatable, bad arguments); RAISE and a message become an error at the script.
local function select_slow(cases)
  if type(cases) ~= "table" then
    return RAISE, "channel.select: bad argument #1 (expected table, got " .. type(cases) .. ")"
  end
  local n, default = #cases, rawget(cases, "default") == true
  if n == 0 and not default then
    return RAISE, "channel.select: no cases (a select with nothing to wait on would block forever)"
  end
  local i, v, ok = raw_select(cases, n, default)
  if i == BLOCK then
    i, v, ok = co_yield(BLOCK)
    if i == NO_YIELD then return RAISE, CANNOT_YIELD end
  elseif i == RAISE or i == nil then
    return RAISE, v
  end
  return select_result(cases, i, v, ok)
end

local channel = {
  new = raw.hot_chan_new(function(size) return collecting(raw.chan_new, size, raw.chan_new(size)) end),
  select = raw.select_over(select_slow),
}

------------------------------------------------------------------------------------------
-- process

local raw_send_msg = raw.send
local process = {
  spawn = raw.spawn,
  spawn_monitored = raw.spawn_monitored,
  spawn_linked = raw.spawn_linked,
  spawn_linked_monitored = raw.spawn_linked_monitored,
  pid = function() return finish(raw.pid()) end,
  id = function() return finish(raw.id()) end,
  send = raw_send_msg,
  listen = function(topic, opts) return finish(raw.listen(topic, opts)) end,
  unlisten = function(ch) return finish(raw.unlisten(ch)) end,
  inbox = function() return finish(raw.inbox()) end,
  events = function() return finish(raw.events()) end,
  monitor = function(dest) return finish(raw.monitor(dest)) end,
  unmonitor = function(dest) return finish(raw.unmonitor(dest)) end,
  link = function(dest) return finish(raw.link(dest)) end,
  unlink = function(dest) return finish(raw.unlink(dest)) end,
  set_options = function(opts) return finish(raw.set_options(opts)) end,
  get_options = function() return finish(raw.get_options()) end,
  cancel = function(dest, reason) return finish(raw.cancel(dest, reason)) end,
  terminate = function(dest) return finish(raw.terminate(dest)) end,
  list = raw.list,
  info = raw.info,
  traceback = function(dest)
    local tb, err = raw.traceback_of(dest)
    if tb == raw.TRACEBACK_SELF then return raw.traceback(nil, 2) end
    return tb, err
  end,
  with_context = function(values) return finish(raw.with_context(values)) end,
  with_options = function(options) return finish(raw.with_options(options)) end,
  event = readonly({ EXIT = "pid.exit", LINK_DOWN = "pid.link.down", CANCEL = "pid.cancel",
    RELOAD = "pid.reload" }, "process.event"),
  upgrade = function(...) return finish(raw.upgrade(...)) end,
  registry = readonly({
    register = function(name, pid) return finish(raw.register(name, pid)) end,
    lookup = function(name) return finish(raw.lookup(name)) end,
    unregister = function(name) return finish(raw.unregister(name)) end,
  }, "process.registry"),
}

------------------------------------------------------------------------------------------
-- time, uuid

local time = {
  sleep = function(d) return finish(raw.sleep(d)) end,
  after = raw.hot_time("after", function(d) return collecting(raw.after, d, raw.after(d)) end),
  timer = raw.hot_time("timer", function(d) return collecting(raw.timer, d, raw.timer(d)) end),
  ticker = raw.hot_time("ticker", function(d) return collecting(raw.ticker, d, raw.ticker(d)) end),
  now = raw.now,
  parse_duration = function(v) return finish(raw.parse_duration(v)) end,
  -- calendar time (SPEC §9)
  date = function(...) return finish(raw.cal_date(...)) end,
  unix = function(...) return finish(raw.cal_unix(...)) end,
  parse = function(...) return finish(raw.cal_parse(...)) end,
  load_location = function(...) return finish(raw.load_location(...)) end,
  fixed_zone = function(...) return finish(raw.fixed_zone(...)) end,
  utc = raw.utc,
  localtz = raw.localtz,
}
for k, v in pairs(raw.time_consts) do time[k] = v end

-- Timer and ticker methods: raw functions that return RAISE on a wrong self.
local function wrapped(methods)
  local t = {}
  for k, f in pairs(methods) do t[k] = function(...) return finish(f(...)) end end
  return t
end
-- (hot C functions that raise their own errors: see src/lua/timers.rs).
local timer_methods, ticker_methods = raw.timer_methods, raw.ticker_methods

-- Time methods: wrapped so a raw method's RAISE becomes a plain-string error at the caller.
local time_methods = {}
for name, f in pairs(raw.time_methods) do
  time_methods[name] = function(...) return finish(f(...)) end
end

-- errors (SPEC §9.1)
local errors = {}
for k, v in pairs(raw.errors) do
  if k ~= "is_error" then errors[k] = v end
end
local raw_errors_new = raw.errors.new
errors.new = function(v) return finish(raw_errors_new(v)) end
local is_error = raw.errors.is_error

local uuid = { v4 = raw.uuid_v4 }

------------------------------------------------------------------------------------------
-- spawn context, spawners and security (SPEC §10–§11): methods of the Rust objects are
-- wrapped so their errors reach the caller as plain strings.

local function wrapped(fns)
  local out = {}
  for name, f in pairs(fns) do out[name] = function(...) return finish(f(...)) end end
  return out
end

local raw_ctx_get, raw_ctx_all = raw.ctx_get, raw.ctx_all
local ctx = {
  get = function(key) return finish(raw_ctx_get(key)) end,
  all = function() return finish(raw_ctx_all()) end,
}
local security = wrapped(raw.security)

------------------------------------------------------------------------------------------
-- coroutine: stock behaviour, plus passing the scheduler's yields (BLOCK, PREEMPT and
-- hook preemptions) up through coroutines the script made, and `coroutine.spawn`.

local is_task = raw.is_task
local preempted = raw.preempted

-- A process ended by the runtime (instruction limit, stuck where it cannot yield) must not
-- be kept alive by catching the error: every catch point re-raises it.
local doomed = raw.doomed

local function after_catch(ok, ...)
  if not ok then
    local reason = doomed()
    if reason then error(reason, 0) end
  end
  return ok, ...
end

local co_isyieldable, drop_request = coroutine.isyieldable, raw.drop_request

local function forward(co, ok, ...)
  if not ok then return after_catch(ok, ...) end
  if co_status(co) == "suspended" then
    local first = ...
    local block = first == BLOCK or first == C_BLOCK
    if block and not co_isyieldable() then
      -- The block cannot reach the scheduler from here: forget the request and let the
      -- blocking call raise inside the coroutine that made it.
      drop_request()
      return forward(co, co_resume(co, NO_YIELD))
    elseif block then
      return forward(co, co_resume(co, co_yield(BLOCK)))
    elseif first == PREEMPT or (select("#", ...) == 0 and preempted(co)) then
      -- A preemption that cannot reach the scheduler from here goes on at once: the time
      -- it runs over is bounded as Lua that cannot yield (src/preempt.rs, charge_slice).
      if not co_isyieldable() then return forward(co, co_resume(co)) end
      return forward(co, co_resume(co, co_yield(PREEMPT)))
    end
  end
  return ok, ...
end

-- As stock `coroutine.wrap`: a body that raised has its pending to-be-closed variables
-- closed (a close handler's error replaces the original), and a string error gets the
-- caller's position. Called as a tail call, so level 2 is the caller of the wrapped function.
local function wrap_result(co, ok, ...)
  if ok then return ... end
  local err = ...
  if co_status(co) == "dead" then
    local closed, cerr = co_close(co)
    if not closed then err = cerr end
  end
  if type(err) == "string" then error(err, 2) end
  error(err, 0)
end

-- The type name stock Lua's bad-argument messages use (luaL_typeerror).
local function type_name(n, v)
  if n == 0 then return "no value" end
  local mt = getmetatable(v)
  if type(mt) == "table" and type(rawget(mt, "__name")) == "string" then return mt.__name end
  return type(v)
end

local tune = raw.tune_coroutine
local function create(f)
  return tune(co_create(f))
end

local sandbox_coroutine = {
  create = create,
  yield = co_yield,
  status = co_status,
  running = coroutine.running,
  isyieldable = coroutine.isyieldable,
  resume = function(co, ...)
    if is_task(co) then return false, "cannot resume a process coroutine" end
    return forward(co, co_resume(co, ...))
  end,
  wrap = function(f)
    local co = create(f)
    return function(...) return wrap_result(co, forward(co, co_resume(co, ...))) end
  end,
  close = function(...)
    local co = ...
    if type(co) ~= "thread" then
      error("bad argument #1 to 'close' (thread expected, got " ..
        type_name(select("#", ...), co) .. ")", 2)
    end
    local status = co_status(co)
    if status == "running" or status == "normal" then
      error("cannot close a " .. status .. " coroutine", 2)
    end
    if is_task(co) then return false, "cannot close a process coroutine" end
    return co_close(co)
  end,
  spawn = function(f) return finish(raw.spawn_task(f)) end,
}

------------------------------------------------------------------------------------------
-- the shared base every process environment falls back to

local function to_string_cast(_, x)
  local t = type(x)
  if t == "string" then return x end
  if t == "number" then return tostring(x) end
  error("bad argument #1 to 'string' (string or number expected, got " .. t .. ")", 2)
end

-- C library calls that can run long or build huge values go through a check in
-- src/lua/bounds.rs first: nil runs the call, true yields the used-up slice first, a string
-- is raised, false (string.rep) means the result is "". (find, match, gmatch and gsub need
-- none: the matcher itself is bounded while it runs, vendor/lua-src/MOONHOST.md.)
local bounds = raw.bounds
local function bounded(check, f)
  return function(...)
    local verdict = check(...)
    if verdict ~= nil then
      if verdict == false then return "" end
      if verdict ~= true then error(verdict, 2) end
      if co_isyieldable() then co_yield(PREEMPT) end
    end
    return f(...)
  end
end

local string_lib = {}
for k, v in pairs(string) do string_lib[k] = v end
for _, k in ipairs({ "rep", "pack", "packsize", "unpack" }) do
  string_lib[k] = bounded(bounds[k], string[k])
end
local table_lib = {}
for k, v in pairs(table) do table_lib[k] = v end
table_lib.move = bounded(bounds.move, table.move)
-- `string.dump` refuses the runtime's built-ins as stock Lua refuses C functions (the
-- prelude is loaded stripped of its source name and lines, src/lua/mod.rs).
local string_dump, is_builtin = string.dump, raw.is_builtin
string_lib.dump = function(f, strip)
  if type(f) == "function" and is_builtin(f) then
    error("unable to dump given function", 2)
  end
  return string_dump(f, strip)
end
local string_proxy = {}
READONLY[string_proxy] = "string"
setmetatable(string_proxy, {
  __index = string_lib,
  __newindex = function(_, k)
    error("attempt to modify read-only table 'string' (field '" .. tostring(k) .. "')", 2)
  end,
  __call = to_string_cast,
  __pairs = pairs_of(string_lib),
  __metatable = false,
})
local string_mt = getmetatable("")
string_mt.__index = string_lib
string_mt.__metatable = false

local write_line = raw.write
local function print(...)
  local n = select("#", ...)
  local parts = {}
  for i = 1, n do parts[i] = tostring((select(i, ...))) end
  write_line(concat(parts, "\t"))
end

local os_clock = os.clock
local os_lib = {
  time = function(t)
    if t == nil then return raw.unix_now() end
    return os.time(t)
  end,
  -- CPU seconds; on the virtual clock, virtual seconds (so a seeded run repeats).
  clock = function()
    local v = raw.virtual_seconds()
    if v then return v end
    return os_clock()
  end,
  -- The current time as the runtime's clock reads it (virtual in a simulation, skewed
  -- for a process a `skew` fault chose), not the machine's.
  date = function(format, t)
    if t == nil then t = raw.unix_now() end
    return os.date(format, t)
  end,
  difftime = os.difftime,
}

-- The collector is shared by every process: a script may run it or ask about it, never
-- stop or retune it.
local base_collect = collectgarbage
local GC_ALLOWED = { collect = true, count = true, step = true, isrunning = true }
-- A full collection runs in basic steps charged to the slice (`full_collect` above).
local gc_step = bounds.step
local function sandbox_collect(opt, ...)
  if opt == nil then opt = "collect" end
  if not GC_ALLOWED[opt] then
    error("collectgarbage: option '" .. tostring(opt) ..
      "' is not allowed (the collector is shared by all processes)", 2)
  end
  if opt == "collect" then
    full_collect(2)
    return 0
  elseif opt == "step" then
    local done, verdict = gc_step()
    if verdict == true then
      if co_isyieldable() then co_yield(PREEMPT) end
    elseif verdict ~= nil then
      error(verdict, 2)
    end
    return done
  end
  return base_collect(opt, ...)
end

-- Finalizers are refused: Lua runs `__gc` in whichever coroutine triggers the collection
-- (another process, the scheduler, with hooks off), so a finalizer could act as that
-- process or never end. Lua marks an object for finalization only when its metatable has a
-- `__gc` field at `setmetatable` time, so refusing it there is enough.
local base_setmetatable = setmetatable
local function sandbox_setmetatable(t, mt)
  if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
    error("setmetatable: __gc metamethods are not allowed (finalizers would run in " ..
      "whichever process collects the object)", 2)
  end
  return base_setmetatable(t, mt)
end

local BASE = {
  _VERSION = _VERSION,
  string = string_proxy,
  table = readonly(table_lib, "table"),
  math = readonly(math, "math"),
  utf8 = readonly(utf8, "utf8"),
  os = readonly(os_lib, "os"),
  coroutine = readonly(sandbox_coroutine, "coroutine"),
  debug = readonly({ traceback = raw.traceback }, "debug"),
  process = readonly(process, "process"),
  channel = readonly(channel, "channel"),
  time = readonly(time, "time"),
  errors = readonly(errors, "errors"),
  print = print,
  unpack = table.unpack,
  -- raw C functions (src/ffi/protect.rs): they count the C-call depth across preemption
  -- and re-raise a doomed process's reason after a catch, as `after_catch` does.
  pcall = raw.pcall,
  collectgarbage = sandbox_collect,
  xpcall = raw.xpcall,
  rawset = guarded_rawset,
  setmetatable = sandbox_setmetatable,
}
for _, k in ipairs({
  "assert", "error", "ipairs", "next", "pairs", "select", "tonumber",
  "tostring", "type", "rawequal", "rawget", "rawlen", "getmetatable",
}) do
  BASE[k] = _G[k]
end

-- Stock names of the runtime's built-ins, which tracebacks show as C functions
-- (src/ffi/traceback.rs); stock Lua's own functions are named from `package.loaded`.
local function builtin_names()
  local names = { [raw.pcall] = "pcall", [raw.xpcall] = "xpcall" }
  local function name_all(lib, prefix)
    for k, v in pairs(lib) do
      if type(v) == "function" and names[v] == nil and is_builtin(v) then names[v] = prefix .. k end
    end
  end
  name_all(BASE, "")
  for mod, lib in pairs({ string = string_lib, table = table_lib, os = os_lib,
    coroutine = sandbox_coroutine, process = process, channel = channel, time = time,
    errors = errors }) do
    name_all(lib, mod .. ".")
  end
  return names
end

local BUILTIN = {
  time = BASE.time,
  uuid = readonly(uuid, "uuid"),
  ctx = readonly(ctx, "ctx"),
  security = readonly(security, "security"),
  process = BASE.process,
  channel = BASE.channel,
  sim = readonly(raw.load_sim(finish), "sim"),
}

------------------------------------------------------------------------------------------
-- entries and the per-process environment

-- Entries live in Rust (entry.rs): their ids, methods, imports and compiled chunks
-- (compiled on first use, once per runtime).
local raw_compile, raw_entry, raw_import = raw.compile, raw.entry, raw.import
local LOADING = {}

local function chunk_of(e)
  return finish(raw_compile(e))
end

-- One `require` and one `load` for the whole runtime: each asks for the calling process's
-- globals, entry, host and module cache (src/lua/env.rs) instead of closing over them, so a
-- spawn makes no closure and no cache (issue 9).
local process_env, process_loaded = raw.process_env, raw.process_loaded
local module_require
-- Set below: the standard libraries `require` resolves, and what each host gives back.
local STD, HOST_ALLOW = {}, {}

-- `require(name)` from entry `e` (nil: the process's own), raising at level `lvl`.
local function require_in(e, name, lvl)
  if type(name) ~= "string" then
    error("bad argument #1 to 'require' (string expected, got " .. type(name) .. ")", lvl)
  end
  local env, pe, h = process_env("require")
  if env == nil then error(pe, lvl) end
  -- As stock `package.loaded`: the standard libraries the process has, without files.
  if name == "_G" then return env end
  local allowed = HOST_ALLOW[h]
  local m = allowed and allowed[name]
  if m == nil then m = STD[name] end
  if m ~= nil then return m end
  local lib = raw_import(e or pe, name)
  if lib then
    local loaded, err = process_loaded()
    if loaded == nil then error(err, lvl) end
    local v = loaded[lib]
    if v == LOADING then
      error("loop or previous error loading module '" .. name .. "'", lvl)
    end
    if v == nil then
      loaded[lib] = LOADING
      local lenv = setmetatable({}, { __index = env, __newindex = env, __metatable = false })
      rawset(lenv, "require", module_require(lib))
      v = chunk_of(lib)(lenv)
      if v == nil then v = true end
      loaded[lib] = v
    end
    return v
  end
  m = BUILTIN[name]
  if m ~= nil then return m end
  error("module '" .. name .. "' not found", lvl)
end

local function shared_require(name)
  local v = require_in(nil, name, 3)
  return v
end

-- Stock `load`, except that binary chunks are refused whatever the mode (bytecode is not
-- checked by Lua, so it could break out of the sandbox). The default environment is the
-- calling process's globals.
local function sandbox_load(chunk, name, mode, ...)
  if mode == nil then mode = "bt" end
  if type(mode) == "number" then mode = tostring(mode) end
  if type(mode) ~= "string" then
    error("bad argument #3 to 'load' (string expected, got " .. type_name(1, mode) .. ")", 2)
  end
  local binary = type(chunk) == "string" and chunk:byte(1) == 27
  if binary then
    if not mode:find("b", 1, true) then
      return nil, "attempt to load a binary chunk (mode is '" .. mode .. "')"
    end
    return nil, "attempt to load a binary chunk"
  end
  if not mode:find("t", 1, true) then
    return nil, "attempt to load a text chunk (mode is '" .. mode .. "')"
  end
  if select("#", ...) > 0 then return load(chunk, name, "t", ...) end
  local env, err = process_env("load")
  if env == nil then error(err, 2) end
  return load(chunk, name, "t", env)
end
BASE.require, BASE.load = shared_require, sandbox_load

-- A loaded module's `require` resolves its own entry's imports: one closure per module
-- loaded, named by its prototype.
module_require = function(lib)
  return function(n)
    local r = require_in(lib, n, 3)
    return r
  end
end
raw.name_builtins(builtin_names(), { [module_require(0)] = "require" })

-- Standard modules a host can give back to its processes (manifest `allow: [io, os]`).
local ALLOWABLE = { io = readonly(io, "io"), os = readonly(os, "os") }

local function register_host(idx, names)
  local mods = {}
  for _, name in ipairs(names) do mods[name] = ALLOWABLE[name] end
  -- None: no table, so a spawn on the host runs no empty `pairs` loop.
  if next(mods) ~= nil then HOST_ALLOW[idx] = mods end
end

-- The standard library names `require` resolves (as stock `package.loaded` does).
for _, name in ipairs({ "string", "table", "math", "utf8", "coroutine", "debug", "os" }) do
  STD[name] = BASE[name]
end

-- A process's globals are its own table holding every name a script can use (so
-- `pairs(_G)` lists them and `getmetatable(_G)` is nil, as in stock Lua); the shared
-- libraries in it are read-only proxies.
-- A function that copies BASE into a new table in one pre-sized table constructor (a loop
-- of assignments rehashes the table six times). Made on the first spawn, when BASE is
-- complete.

local function make_base_copy()
  local parts, others = {}, {}
  for k, v in next, BASE do
    if type(k) == "string" then
      parts[#parts + 1] = string.format("[%q] = B[%q]", k, k)
    else
      others[k] = v
    end
  end
  -- `_G`, set right after the copy, gets its slot here too, so setting it does not grow
  -- (rehash) the table.
  parts[#parts + 1] = '["_G"] = false'
  local make = load("local B = ...; return function() return { " ..
    table.concat(parts, ", ") .. " } end", "=base", "t", {})
  local copy = make(BASE)
  if next(others) == nil then return copy end
  return function()
    local t = copy()
    for k, v in next, others do t[k] = v end
    return t
  end
end

-- A process's globals: a copy of BASE with `_G` and the host's standard modules, bound
-- as the running process's (src/lua/env.rs) for the shared `require` and `load`.
-- The copy is made in C from one template made on the first spawn (src/ffi/globals.rs).
local bind_env, copy_globals = raw.bind_env, raw.copy_globals
local template
local function new_env(h)
  if template == nil then template = make_base_copy()() end
  local env = copy_globals(template)
  env._G = env
  local allowed = HOST_ALLOW[h]
  if allowed then
    for name, mod in pairs(allowed) do env[name] = mod end
  end
  bind_env(env)
  return env
end

-- The built-in supervisor (lua/supervisor.lua): its module and the main of its processes.
local SUPERVISOR_MAIN
local SUPERVISOR_METHOD = raw.SUPERVISOR_METHOD

-- A process that returns `nil, err` with an error object ends with its message (SPEC §9.1).
local function ended(...)
  if select("#", ...) >= 2 and is_error((select(2, ...))) then
    return (...), tostring((select(2, ...))), select(3, ...)
  end
  return ...
end

-- Every main task starts here, with its entry's compiled chunk and method (handed over by
-- the scheduler from entry.rs, so a spawn makes no call back into Rust).
local function proc_main(chunk, method, e, h, ...)
  if method == SUPERVISOR_METHOD then return SUPERVISOR_MAIN(...) end
  local env = new_env(h)
  local mod = chunk(env)
  local f, kind = nil, type(mod)
  if kind == "function" then
    f = mod
  elseif kind == "table" then
    f = mod[method or "main"]
  end
  if type(f) ~= "function" then
    error("entry " .. raw_entry(e) .. ": method '" .. tostring(method or "main") ..
      "' not found in the table its chunk returns", 0)
  end
  return ended(f(...))
end

-- The main task of an upgraded process (SPEC §12.3) starts here: it closes the old code's
-- coroutines (errors of their to-be-closed variables are ignored), then runs the new entry
-- in a fresh environment, through its `code_change(old_entry_id, ...)` when it has one.
local raw_upgraded = raw.upgraded
local function proc_upgrade(chunk, method, e, h, ...)
  local old, threads = raw_upgraded()
  threads = threads or {}
  -- coroutine.close returns the errors of to-be-closed variables rather than raising them.
  for i = 1, #threads do co_close(threads[i]) end
  threads = nil
  local env = new_env(h)
  local mod = chunk(env)
  local f, change = mod, nil
  if type(mod) == "table" then
    f, change = mod[method or "main"], mod.code_change
  end
  if type(f) ~= "function" then
    error("entry " .. raw_entry(e) .. ": method '" .. tostring(method or "main") ..
      "' not found in the table its chunk returns", 0)
  end
  if type(change) == "function" then return ended(f(change(old, ...))) end
  return ended(f(...))
end

local result_mt = {
  __tostring = function(r)
    if r.error ~= nil then return tostring(r.error) end
    return tostring(r.value)
  end,
}

return {
  proc_main = proc_main,
  proc_upgrade = proc_upgrade,
  result_mt = result_mt,
  register_host = register_host,
  chan_methods = Channel,
  timer_methods = timer_methods,
  ticker_methods = ticker_methods,
  readonly = readonly,
  time_methods = time_methods,
  spawner_methods = wrapped(raw.spawner_methods),
  actor_methods = wrapped(raw.actor_methods),
  scope_methods = wrapped(raw.scope_methods),
  policy_methods = wrapped(raw.policy_methods),
  builtin = BUILTIN,
  finish = finish,
  modules = { process = process, channel = channel, time = time },
  install_supervisor = function(sup)
    BUILTIN.supervisor = readonly(sup.module, "supervisor")
    SUPERVISOR_MAIN = sup.main
  end,
}
