-- moonhost built-in supervisor (SPEC §12.1): `require("supervisor")`.
--
-- Loaded once per runtime after the prelude, with the raw bindings and the prelude's
-- exports. Returns `module` (what `require` gives scripts) and `main` (what a process of
-- the built-in entry "supervisor" runs). A supervisor is an ordinary process: it watches
-- its children through spawn_linked_monitored EXIT events, traps links, and answers calls
-- that arrive in its inbox on topic "supervisor.call" through a private reply channel
-- (src/core/calls.rs), so replies never reach the caller's mailbox. Everything it decides
-- reads the runtime clock and the runtime's seeded random source, so a seeded run repeats.
local raw, exports = ...

local finish = exports.finish
local process, channel, time = exports.modules.process, exports.modules.channel, exports.modules.time
local sup_call, sup_wait, sup_done, sup_reply, sup_mark =
  raw.sup_call, raw.sup_wait, raw.sup_done, raw.sup_reply, raw.sup_mark
local type, tostring, pairs, ipairs, error, unpack = type, tostring, pairs, ipairs, error, table.unpack
local floor, random, huge = math.floor, math.random, math.huge
local math_type = math.type

local CALL_TOPIC, EVENT_TOPIC = "supervisor.call", "supervisor.event"
local EXIT, LINK_DOWN, CANCEL = "pid.exit", "pid.link.down", "pid.cancel"
local GIVE_UP, LINK_FAILED = "reached max restart intensity", "linked process failed"

------------------------------------------------------------------------------------------
-- validation

local function duration_ns(v)
  local d = time.parse_duration(v)
  return d and d:nanoseconds()
end

local STRATEGIES = { one_for_one = true, one_for_all = true, rest_for_one = true }
local RESTARTS = { permanent = true, transient = true, temporary = true }

local function check_backoff(b)
  if b == nil then return nil end
  if type(b) ~= "table" then return nil, "invalid backoff: table" end
  local out = {}
  out.initial = duration_ns(b.initial == nil and 0 or b.initial)
  if not out.initial or out.initial < 0 then return nil, "invalid backoff: initial" end
  out.max = duration_ns(b.max == nil and "30s" or b.max)
  if not out.max or out.max < 0 then return nil, "invalid backoff: max" end
  out.factor = b.factor == nil and 2.0 or b.factor
  if type(out.factor) ~= "number" or out.factor < 1 then return nil, "invalid backoff: factor" end
  out.jitter = b.jitter == nil and 0 or b.jitter
  if type(out.jitter) ~= "number" or out.jitter < 0 or out.jitter > 1 then
    return nil, "invalid backoff: jitter"
  end
  return out
end

-- A checked child spec, or nil and the SPEC error. `ids` holds the ids already taken.
local function check_child(c, ids)
  if type(c) ~= "table" or type(c.id) ~= "string" or c.id == "" then
    return nil, "child spec requires an id"
  end
  local id = c.id
  if ids[id] then return nil, "duplicate child id: " .. id end
  if (c.entry == nil) == (c.supervisor == nil) or
    (c.entry ~= nil and type(c.entry) ~= "string") or
    (c.supervisor ~= nil and type(c.supervisor) ~= "table") then
    return nil, "child '" .. id .. "' needs entry or supervisor"
  end
  local restart = c.restart == nil and "permanent" or c.restart
  if not RESTARTS[restart] then
    return nil, "child '" .. id .. "': restart must be permanent, transient or temporary"
  end
  local shutdown = c.shutdown
  if shutdown == nil then shutdown = c.supervisor and "infinity" or "5s" end
  local shutdown_ns
  if shutdown ~= "infinity" then
    shutdown_ns = duration_ns(shutdown)
    if not shutdown_ns or shutdown_ns < 0 then
      return nil, "child '" .. id .. "': shutdown must be a duration >= 0 or \"infinity\""
    end
  end
  if c.args ~= nil and type(c.args) ~= "table" then
    return nil, "child '" .. id .. "': args must be an array"
  end
  if c.name ~= nil and type(c.name) ~= "string" then
    return nil, "child '" .. id .. "': name must be a string"
  end
  return {
    id = id, entry = c.entry, sup = c.supervisor, host = c.host, args = c.args or {},
    nargs = c.args and #c.args or 0, restart = restart, shutdown = shutdown_ns,
    name = c.name, kind = c.supervisor and "supervisor" or "worker",
    status = "stopped", restarts = 0, attempt = 0,
  }
end

local function check_spec(spec)
  if type(spec) ~= "table" then return nil, "supervisor spec must be a table" end
  local strategy = spec.strategy == nil and "one_for_one" or spec.strategy
  if not STRATEGIES[strategy] then return nil, "unknown strategy: " .. tostring(strategy) end
  local max = spec.max_restarts == nil and 3 or spec.max_restarts
  if math_type(max) ~= "integer" or max < 0 then
    return nil, "max_restarts must be a non-negative integer"
  end
  local period = duration_ns(spec.period == nil and "5s" or spec.period)
  if not period or period <= 0 then return nil, "period must be a positive duration" end
  local backoff, berr = check_backoff(spec.backoff)
  if berr then return nil, berr end
  local notify = spec.notify
  if type(notify) ~= "table" then notify = { notify } end
  local S = {
    strategy = strategy, max_restarts = max, period = period, backoff = backoff,
    notify = notify, children = {}, ids = {}, log = {}, backlog = {}, name = spec.name,
  }
  for _, c in ipairs(spec.children or {}) do
    local child, err = check_child(c, S.ids)
    if not child then return nil, err end
    S.children[#S.children + 1] = child
    S.ids[child.id] = child
  end
  return S
end

------------------------------------------------------------------------------------------
-- the supervisor process

local function now_ns() return time.now():unix_nano() end

local function emit(S, ev)
  ev.supervisor = S.pid
  ev.at = time.now():unix()
  for _, target in ipairs(S.notify) do
    process.send(target, EVENT_TOPIC, ev)
  end
end

local function find_pid(S, pid)
  for i, c in ipairs(S.children) do
    if c.pid == pid then return c, i end
  end
end

local function remove_child(S, c)
  for i, x in ipairs(S.children) do
    if x == c then table.remove(S.children, i) break end
  end
  S.ids[c.id] = nil
end

-- Waits for the nested supervisor `pid` to start its children: nil, or its error.
local call

local function spawn_child(S, c)
  local host = c.host or S.host
  if c.sup then
    local pid, err = process.spawn_linked_monitored("supervisor", host, c.sup, S.pid)
    if not pid then return nil, err end
    local _, cerr = call(pid, { op = "await" }, true)
    if cerr then return nil, cerr end
    return pid
  end
  return process.spawn_linked_monitored(c.entry, host, unpack(c.args, 1, c.nargs))
end

-- Starts one incarnation of `c`: its PID, or nil and the spawn error.
local function start_child(S, c)
  local pid, err = spawn_child(S, c)
  if not pid then return nil, err end
  if c.name then process.registry.register(c.name, pid) end
  c.pid, c.status, c.started, c.timer = pid, "running", now_ns(), nil
  emit(S, { kind = "child.start", id = c.id, pid = pid, restarts = c.restarts })
  return pid
end

-- Takes the EXIT of `pid` from the events channel (or the backlog), setting aside other
-- events; waits at most `limit` ns (nil: no limit). The event, or nil on timeout.
local function await_exit(S, pid, limit)
  for i, ev in ipairs(S.backlog) do
    if ev.kind == EXIT and ev.from == pid then
      table.remove(S.backlog, i)
      return ev
    end
  end
  local events = process.events()
  local timeout = limit and time.after(limit)
  while true do
    local ev
    if timeout then
      local r = channel.select({ events:case_receive(), timeout:case_receive() })
      if r.channel == timeout then return nil end
      ev = r.value
    else
      ev = events:receive()
    end
    if ev.kind == EXIT and ev.from == pid then return ev end
    S.backlog[#S.backlog + 1] = ev
  end
end

-- The shutdown procedure of SPEC §12.1.1 for a running child; its EXIT event.
local function stop_child(S, c, action)
  local pid = c.pid
  if c.shutdown == 0 then
    process.terminate(pid)
  else
    process.cancel(pid, "shutdown")
  end
  local ev = await_exit(S, pid, c.shutdown ~= 0 and c.shutdown or nil)
  if not ev then
    process.terminate(pid)
    ev = await_exit(S, pid, nil)
  end
  c.pid, c.status = nil, "stopped"
  if c.restart == "temporary" then
    remove_child(S, c)
    action = "delete"
  end
  emit(S, { kind = "child.exit", id = c.id, pid = pid, error = ev.error, action = action })
  return ev
end

local function stop_all(S)
  for i = #S.children, 1, -1 do
    local c = S.children[i]
    if c and c.status == "running" then stop_child(S, c, "keep") end
  end
end

-- Ends the supervisor: children stopped in reverse start order, then supervisor.exit.
local function shutdown(S, err)
  stop_all(S)
  emit(S, { kind = "supervisor.exit", error = err })
  if err then error(err, 0) end
end

-- Logs a restart decision; false when the intensity is exceeded.
local function log_restart(S)
  local t, kept = now_ns(), {}
  for _, t0 in ipairs(S.log) do
    if t - t0 < S.period then kept[#kept + 1] = t0 end
  end
  kept[#kept + 1] = t
  S.log = kept
  return #kept <= S.max_restarts
end

-- The backoff delay of `c`'s next restart in ns (SPEC §12.1.3).
local function next_delay(S, c)
  local b = S.backoff
  c.attempt = c.attempt + 1
  if not b then return 0 end
  local base = b.initial * b.factor ^ (c.attempt - 1)
  if base > b.max then base = b.max end
  local delay = base
  if b.jitter > 0 then
    local u = random() * 2 - 1
    delay = base * (1 + b.jitter * u)
  end
  return floor(delay)
end

-- The children a restart of `c` starts again, in start order: `c` and, by strategy, the
-- running siblings, which are stopped first in reverse start order (temporary ones are
-- deleted by the stop instead).
local function restart_group(S, c)
  if S.strategy == "one_for_one" then return { c } end
  local after = S.strategy == "rest_for_one"
  local seen, picked = not after, {}
  local order = {}
  for _, x in ipairs(S.children) do
    if x == c then seen = true end
    if seen then order[#order + 1] = x end
  end
  for i = #order, 1, -1 do
    local x = order[i]
    if x ~= c and x.status == "running" then
      stop_child(S, x, "restart")
      picked[x] = true
    end
  end
  local group = {}
  for _, x in ipairs(order) do
    if (x == c or picked[x]) and S.ids[x.id] == x then group[#group + 1] = x end
  end
  return group
end

local crashed

-- Starts a group after its delay; a child that fails to spawn counts as a crash.
local function start_group(S, group)
  for _, x in ipairs(group) do
    if S.ids[x.id] == x and x.status ~= "running" then
      x.restarts = x.restarts + 1
      local pid, err = start_child(S, x)
      if not pid then
        x.status, x.started = "restarting", nil
        crashed(S, x, err, nil)
      end
    end
  end
end

-- Schedules (or does) the restart of `group` after `delay` ns, keyed on `c`.
local function schedule(S, c, group, delay)
  for _, x in ipairs(group) do x.status = "restarting" end
  if delay == 0 then
    start_group(S, group)
  else
    c.timer, c.group = time.after(delay), group
  end
end

-- `c` ended (or failed to restart) with `err` and must be restarted: intensity, backoff,
-- strategy. `ev_pid` is the ended incarnation for the child.exit event.
crashed = function(S, c, err, ev_pid)
  if not log_restart(S) then
    emit(S, { kind = "child.exit", id = c.id, pid = ev_pid, error = err, action = "give_up" })
    c.status = "stopped"
    shutdown(S, GIVE_UP)
  end
  if c.started and now_ns() - c.started >= S.period then c.attempt = 0 end
  local delay = next_delay(S, c)
  emit(S, { kind = "child.exit", id = c.id, pid = ev_pid, error = err, action = "restart",
    delay = delay })
  c.status = "restarting"
  local group = restart_group(S, c)
  schedule(S, c, group, delay)
end

local function child_exited(S, c, ev)
  local pid, err = c.pid, ev.error
  c.pid = nil
  if c.restart == "temporary" then
    remove_child(S, c)
    emit(S, { kind = "child.exit", id = c.id, pid = pid, error = err, action = "delete" })
  elseif c.restart == "transient" and err == nil then
    c.status = "stopped"
    emit(S, { kind = "child.exit", id = c.id, pid = pid, action = "keep" })
  else
    crashed(S, c, err, pid)
  end
end

------------------------------------------------------------------------------------------
-- calls

local CALLS = {}

function CALLS.which_children(S)
  local out = {}
  for i, c in ipairs(S.children) do
    out[i] = { id = c.id, pid = c.status == "running" and c.pid or nil, status = c.status,
      restart = c.restart, restarts = c.restarts, kind = c.kind }
  end
  return out
end

function CALLS.start_child(S, req)
  local c, err = check_child(req.spec, S.ids)
  if not c then return nil, err end
  local pid, serr = start_child(S, c)
  if not pid then return nil, "child '" .. c.id .. "' failed to start: " .. tostring(serr) end
  S.children[#S.children + 1] = c
  S.ids[c.id] = c
  return pid
end

local function child_of(S, id)
  local c = S.ids[id]
  if not c then return nil, "child not found: " .. tostring(id) end
  return c
end

function CALLS.terminate_child(S, req)
  local c, err = child_of(S, req.id)
  if not c then return nil, err end
  if c.status == "running" then
    stop_child(S, c, "keep")
  else
    c.timer, c.group, c.status = nil, nil, "stopped"
    if c.restart == "temporary" then remove_child(S, c) end
  end
  return true
end

function CALLS.restart_child(S, req)
  local c, err = child_of(S, req.id)
  if not c then return nil, err end
  if c.status == "running" then stop_child(S, c, "keep") end
  if S.ids[c.id] ~= c then return nil, "child not found: " .. tostring(req.id) end
  c.timer, c.group, c.attempt = nil, nil, 0
  c.restarts = c.restarts + 1
  local pid, serr = start_child(S, c)
  if not pid then
    c.status = "stopped"
    return nil, "child '" .. c.id .. "' failed to start: " .. tostring(serr)
  end
  return pid
end

function CALLS.delete_child(S, req)
  local c, err = child_of(S, req.id)
  if not c then return nil, err end
  if c.status ~= "stopped" then return nil, "child is running: " .. c.id end
  remove_child(S, c)
  return true
end

local function answer(token, value, err)
  sup_reply(token, { value = value, err = err })
end

-- Handles an inbox message: a call, or something to drop. Returns true after `stop`.
local function handle_message(S, m)
  if m:topic() ~= CALL_TOPIC then return false end
  local p = m:payload()
  if type(p) ~= "table" or #p ~= 2 then return false end
  local token, req = p[1]:data(), p[2]:data()
  if type(req) ~= "table" then return false end
  if req.op == "await" then
    answer(token, true)
  elseif req.op == "stop" then
    stop_all(S)
    emit(S, { kind = "supervisor.exit" })
    answer(token, true)
    return true
  elseif CALLS[req.op] then
    answer(token, CALLS[req.op](S, req))
  end
  return false
end

-- Handles a lifecycle event. Returns true when the supervisor must end normally.
local function handle_event(S, ev)
  if ev.kind == EXIT then
    local c = find_pid(S, ev.from)
    if c then child_exited(S, c, ev) end
  elseif ev.kind == LINK_DOWN then
    if ev.from == S.starter then shutdown(S, LINK_FAILED) end
  elseif ev.kind == CANCEL then
    shutdown(S, nil)
    return true
  end
  return false
end

local function next_timer(S)
  local cases, owners = {}, {}
  for _, c in ipairs(S.children) do
    if c.timer then
      cases[#cases + 1] = c.timer:case_receive()
      owners[#cases] = c
    end
  end
  return cases, owners
end

local function loop(S)
  local inbox, events = process.inbox(), process.events()
  while true do
    while #S.backlog > 0 do
      if handle_event(S, table.remove(S.backlog, 1)) then return true end
    end
    local cases, owners = next_timer(S)
    local n = #cases
    cases[n + 1] = inbox:case_receive()
    cases[n + 2] = events:case_receive()
    local r = channel.select(cases)
    if r.channel == inbox then
      if handle_message(S, r.value) then return true end
    elseif r.channel == events then
      if handle_event(S, r.value) then return true end
    else
      for i = 1, n do
        if cases[i][1] == r.channel then
          local c = owners[i]
          local group = c.group
          c.timer, c.group = nil, nil
          start_group(S, group)
          break
        end
      end
    end
  end
end

-- Sets up and starts every child; nil on success, or the error (children already started
-- are stopped in reverse order first).
local function start_all(S)
  if S.name then
    local ok, err = process.registry.register(S.name, S.pid)
    if not ok then return err end
  end
  for _, c in ipairs(S.children) do
    local pid, err = start_child(S, c)
    if not pid then
      stop_all(S)
      return "child '" .. c.id .. "' failed to start: " .. tostring(err)
    end
  end
end

local function host_of(pid)
  return pid:match("^{(.*)|%d+}$")
end

local function become(spec, starter)
  local S, err = check_spec(spec)
  if not S then return nil, err end
  S.pid, S.starter = process.pid(), starter
  S.host = host_of(S.pid)
  process.set_options({ trap_links = true })
  sup_mark()
  return S
end

-- Main of a supervisor process spawned by `start` or as a nested child. Answers the
-- starter's "await" call once its children run (or with the error, then ends normally).
local function main(spec, starter)
  local S, err = become(spec, starter)
  if S then err = start_all(S) end
  if err then
    -- Answer the starter's await with the error; nothing is left running.
    local m = process.inbox():receive()
    while m do
      if m:topic() == CALL_TOPIC then
        local p = m:payload()
        answer(p[1]:data(), nil, err)
        return
      end
      m = process.inbox():receive()
    end
    return
  end
  loop(S)
end

------------------------------------------------------------------------------------------
-- the module

call = function(sup, req, any)
  if type(sup) ~= "string" then
    return nil, "could not resolve '" .. tostring(sup) .. "' as PID or registered name"
  end
  local token, err = sup_call(sup, req, any)
  if not token then return nil, err end
  local reply, ok = finish(sup_wait(token))
  sup_done(token)
  if not ok then return nil, "process not found" end
  if reply.err ~= nil then return nil, reply.err end
  return reply.value
end

local M = {}

function M.start(spec)
  if type(spec) ~= "table" then return nil, "supervisor spec must be a table" end
  local _, err = check_spec(spec)
  if err then return nil, err end
  local host = spec.host or host_of(process.pid())
  local pid, serr = process.spawn_linked("supervisor", host, spec, process.pid())
  if not pid then return nil, serr end
  local _, cerr = call(pid, { op = "await" }, true)
  if cerr then return nil, cerr end
  return pid
end

function M.run(spec)
  local S, err = become(spec, nil)
  if S then err = start_all(S) end
  if err then error(err, 0) end
  loop(S)
  return true
end

function M.which_children(sup) return call(sup, { op = "which_children" }) end
function M.start_child(sup, spec) return call(sup, { op = "start_child", spec = spec }) end
function M.terminate_child(sup, id) return call(sup, { op = "terminate_child", id = id }) end
function M.restart_child(sup, id) return call(sup, { op = "restart_child", id = id }) end
function M.delete_child(sup, id) return call(sup, { op = "delete_child", id = id }) end
function M.stop(sup) return call(sup, { op = "stop" }) end

return { module = M, main = main }
