-- SPEC §2.1 Spawning (plus process.pid()/process.id() and PID rules from §2).
-- One test per method; each method name is the behaviour it checks.
local assert = require("assert")
local helpers = require("helpers")

local HOST = "app:processes"
local LIMITED = "app:spawn_limited"
local W = "test.spawn:workers:"

local VARIANTS = { "spawn", "spawn_monitored", "spawn_linked", "spawn_linked_monitored" }

local PID_PATTERN = "^{app:processes|%d+}$"

local T = {}
local recv, assert_quiet, wait_event = helpers.recv, helpers.assert_quiet, helpers.wait_event

-- ----- the four variants and their return values ----------------------------------------

function T.spawn_returns_child_pid_string()
  local pid, err = process.spawn(W .. "waiter", HOST)
  assert.eq(err, nil)
  assert.eq(type(pid), "string")
  assert.truthy(pid:match(PID_PATTERN), "pid " .. tostring(pid))
  return true
end

function T.spawn_does_not_monitor_the_child()
  local pid = assert(process.spawn(W .. "instant", HOST))
  assert_quiet(process.events(), "unexpected event", "100ms")
  return true
end

function T.spawn_monitored_returns_child_pid_and_delivers_exit()
  local pid, err = process.spawn_monitored(W .. "instant", HOST)
  assert.eq(err, nil)
  assert.truthy(type(pid) == "string" and pid:match(PID_PATTERN), "pid " .. tostring(pid))
  local ev = wait_event("pid.exit", pid)
  assert.eq(ev.from, pid)
  assert.eq(ev.result.value, "done")
  assert.eq(ev.error, nil)
  return true
end

function T.spawn_linked_returns_child_pid_and_links_child()
  assert.eq(process.set_options({ trap_links = true }), true)
  local pid, err = process.spawn_linked(W .. "instant_fail", HOST)
  assert.eq(err, nil)
  assert.truthy(type(pid) == "string" and pid:match(PID_PATTERN), "pid " .. tostring(pid))
  local ev = wait_event("pid.link.down", pid)
  assert.eq(ev.from, pid)
  assert.contains(ev.error, "instant failure")
  return true
end

function T.spawn_linked_does_not_monitor_the_child()
  local pid = assert(process.spawn_linked(W .. "instant", HOST))
  assert_quiet(process.events(), "unexpected event", "100ms")
  return true
end

function T.spawn_linked_child_failure_kills_untrapped_parent()
  -- Observed from outside: a middle process spawn_links a failing child and then blocks.
  local pid = assert(process.spawn_monitored(W .. "linked_parent", HOST))
  local ev = wait_event("pid.exit", pid)
  assert.eq(ev.error, "linked process failed")
  return true
end

function T.spawn_linked_monitored_returns_child_pid_with_monitor_and_link()
  assert.eq(process.set_options({ trap_links = true }), true)
  local pid, err = process.spawn_linked_monitored(W .. "instant_fail", HOST)
  assert.eq(err, nil)
  assert.truthy(type(pid) == "string" and pid:match(PID_PATTERN), "pid " .. tostring(pid))
  local seen = {}
  for _ = 1, 2 do
    local e = recv(process.events())
    assert.eq(e.from, pid)
    assert.contains(e.error, "instant failure")
    seen[e.kind] = (seen[e.kind] or 0) + 1
  end
  assert.same(seen, { ["pid.exit"] = 1, ["pid.link.down"] = 1 })
  return true
end

-- ----- errors ----------------------------------------------------------------------------

local function check_too_few(name)
  local f = process[name]
  local pid, err = f()
  assert.eq(pid, nil)
  assert.eq(err, name .. " requires at least id and host arguments", "no arguments")
  pid, err = f(W .. "waiter")
  assert.eq(pid, nil)
  assert.eq(err, name .. " requires at least id and host arguments", "one argument")
  return true
end

function T.spawn_with_fewer_than_two_arguments_fails()
  return check_too_few("spawn")
end

function T.spawn_monitored_with_fewer_than_two_arguments_fails()
  return check_too_few("spawn_monitored")
end

function T.spawn_linked_with_fewer_than_two_arguments_fails()
  return check_too_few("spawn_linked")
end

function T.spawn_linked_monitored_with_fewer_than_two_arguments_fails()
  return check_too_few("spawn_linked_monitored")
end

function T.spawn_on_unknown_host_fails_with_host_not_found()
  for _, name in ipairs(VARIANTS) do
    local pid, err = process[name](W .. "waiter", "app:no_such_host")
    assert.eq(pid, nil, name)
    assert.eq(err, "host not found", name)
  end
  return true
end

function T.spawn_of_unknown_entry_fails_with_entry_not_found()
  for _, name in ipairs(VARIANTS) do
    local pid, err = process[name](W .. "no_such_entry", HOST)
    assert.eq(pid, nil, name)
    assert.eq(err, "entry not found: test.spawn:workers:no_such_entry", name)
  end
  return true
end

function T.spawn_of_library_entry_fails_with_entry_not_found()
  for _, name in ipairs(VARIANTS) do
    local pid, err = process[name]("test:helpers", HOST)
    assert.eq(pid, nil, name)
    assert.eq(err, "entry not found: test:helpers", name)
  end
  return true
end

function T.spawn_of_host_entry_fails_with_entry_not_found()
  local pid, err = process.spawn(LIMITED, HOST)
  assert.eq(pid, nil)
  assert.eq(err, "entry not found: " .. LIMITED)
  return true
end

-- HELPERS decision: functions documented as returning `nil, err` report bad argument types
-- as `nil, "<func>: bad argument #n (expected X, got Y)"` (send uses the prefix "send:").
function T.spawn_with_non_string_entry_returns_bad_argument()
  local pid, err = process.spawn(5, HOST)
  assert.eq(pid, nil)
  assert.eq(err, "spawn: bad argument #1 (expected string, got number)")
  return true
end

function T.spawn_with_non_string_host_returns_bad_argument()
  local pid, err = process.spawn(W .. "waiter", 5)
  assert.eq(pid, nil)
  assert.eq(err, "spawn: bad argument #2 (expected string, got number)")
  return true
end

function T.spawn_refuses_function_argument()
  local pid, err = process.spawn(W .. "return_args", HOST, function() end)
  assert.eq(pid, nil)
  assert.eq(err, "cannot send function")
  return true
end

-- The test itself may or may not run on the limited host (it runs on the app's first host),
-- so count it when it does.
local function self_on_limited()
  return process.pid():find("{" .. LIMITED .. "|", 1, true) == 1 and 1 or 0
end

local function fill_limited_host()
  local pids = {}
  for _ = 1, 3 do
    local pid, err = process.spawn(W .. "waiter", LIMITED)
    if not pid then return pids, err end
    pids[#pids + 1] = pid
  end
  return pids, nil
end

function T.spawn_on_full_host_fails_with_max_processes_limit_exceeded()
  local pids, err = fill_limited_host()
  assert.eq(err, "max processes limit exceeded")
  assert.eq(#pids + self_on_limited(), 2, "processes that fit on a max_processes: 2 host")
  return true
end

function T.every_spawn_variant_fails_on_full_host()
  local _, err = fill_limited_host()
  assert.eq(err, "max processes limit exceeded")
  for _, name in ipairs(VARIANTS) do
    local pid, err2 = process[name](W .. "waiter", LIMITED)
    assert.eq(pid, nil, name)
    assert.eq(err2, "max processes limit exceeded", name)
  end
  return true
end

function T.spawn_on_named_host_puts_host_id_in_pid()
  local pid = assert(process.spawn(W .. "waiter", LIMITED))
  assert.truthy(pid:match("^{app:spawn_limited|%d+}$"), "pid " .. pid)
  return true
end

function T.full_host_accepts_spawn_again_after_child_exits()
  local pids, err = fill_limited_host()
  assert.eq(err, "max processes limit exceeded")
  assert.truthy(#pids >= 1, "at least one child fits")
  local victim = pids[1]
  assert.eq(process.monitor(victim), true)
  assert.eq(process.send(victim, "stop"), true)
  wait_event("pid.exit", victim)
  local pid, err2 = process.spawn(W .. "waiter", LIMITED)
  assert.eq(err2, nil)
  assert.truthy(pid)
  return true
end

-- ----- the child right after spawn -------------------------------------------------------

function T.spawned_child_accepts_messages_before_it_runs()
  local pid = assert(process.spawn(W .. "collect", HOST, process.pid(), "seq", 3))
  assert.eq(process.send(pid, "seq", "a"), true)
  assert.eq(process.send(pid, "seq", "b"), true)
  assert.eq(process.send(pid, "seq", "c"), true)
  local got = recv(process.listen("collected"))
  assert.same(got, { "a", "b", "c" })
  return true
end

function T.instantly_exiting_child_still_produces_exit()
  local pids = {}
  for i = 1, 5 do
    pids[i] = assert(process.spawn_monitored(W .. "instant", HOST))
  end
  -- The children may end in any order (found by `--explore --strategy pct:3`): waiting for
  -- each in spawn order would skip, and so lose, the EXITs that came first.
  local seen = helpers.events_by_from(5, "pid.exit")
  for i = 1, 5 do
    assert.truthy(seen[pids[i]], "EXIT of child " .. i)
    assert.eq(seen[pids[i]].result.value, "done")
  end
  return true
end

function T.instantly_failing_child_still_produces_exit_error()
  local pid = assert(process.spawn_monitored(W .. "instant_fail", HOST))
  local ev = wait_event("pid.exit", pid)
  assert.eq(ev.result.value, nil)
  assert.contains(ev.error, "instant failure")
  assert.truthy(ev.error:match(":%d+: instant failure$"), "error " .. ev.error)
  return true
end

function T.instantly_failing_child_still_produces_link_down()
  assert.eq(process.set_options({ trap_links = true }), true)
  local pid = assert(process.spawn_linked(W .. "instant_fail", HOST))
  local ev = wait_event("pid.link.down", pid)
  assert.contains(ev.error, "instant failure")
  return true
end

-- ----- arguments -------------------------------------------------------------------------

function T.extra_spawn_arguments_become_main_positional_arguments()
  local pid = assert(process.spawn_monitored(W .. "return_args", HOST, 1, "two", nil, true, 2.5))
  local ev = wait_event("pid.exit", pid)
  local r = ev.result.value
  assert.eq(r.n, 5)
  assert.eq(r.args[1], 1)
  assert.eq(math.type(r.args[1]), "integer")
  assert.eq(r.args[2], "two")
  assert.eq(r.args[3], nil)
  assert.eq(r.args[4], true)
  assert.eq(r.args[5], 2.5)
  assert.eq(math.type(r.args[5]), "float")
  return true
end

-- Arguments that are all numbers, booleans and nils reach main without a table build
-- (src/runtime/scheduler.rs): the same values, types and count.
function T.plain_spawn_arguments_keep_their_values_types_and_count()
  local pid = assert(process.spawn_monitored(W .. "return_args", HOST,
    nil, math.mininteger, false, 0.5, nil, math.huge, 3, nil))
  local r = wait_event("pid.exit", pid).result.value
  assert.eq(r.n, 8)
  assert.eq(r.args[1], nil)
  assert.eq(r.args[2], math.mininteger)
  assert.eq(math.type(r.args[2]), "integer")
  assert.eq(r.args[3], false)
  assert.eq(r.args[4], 0.5)
  assert.eq(r.args[5], nil)
  assert.eq(r.args[6], math.huge)
  assert.eq(r.args[7], 3)
  assert.eq(math.type(r.args[7]), "integer")
  assert.eq(r.args[8], nil)
  return true
end

function T.spawn_keeps_trailing_nil_arguments()
  local pid = assert(process.spawn_monitored(W .. "return_args", HOST, 1, nil))
  local ev = wait_event("pid.exit", pid)
  assert.eq(ev.result.value.n, 2)
  return true
end

function T.spawn_without_extra_arguments_calls_main_with_none()
  local pid = assert(process.spawn_monitored(W .. "return_args", HOST))
  local ev = wait_event("pid.exit", pid)
  assert.eq(ev.result.value.n, 0)
  return true
end

function T.spawn_copies_table_arguments()
  local t = { a = 1, nested = { b = 2 }, list = { 10, 20 } }
  assert(process.spawn(W .. "report_args", HOST, process.pid(), t))
  -- Mutations after spawn returns (the child has not run yet) must not reach the child.
  t.a = 99
  t.nested.b = 99
  t.list[3] = 30
  local got = recv(process.listen("args"))
  assert.eq(got.n, 1)
  assert.same(got.args[1], { a = 1, nested = { b = 2 }, list = { 10, 20 } })
  return true
end

function T.child_mutating_its_argument_does_not_change_parent_table()
  local t = { a = 1, nested = { b = 2 } }
  local pid = assert(process.spawn_monitored(W .. "mutate_arg", HOST, t))
  local ev = wait_event("pid.exit", pid)
  assert.same(ev.result.value, { a = "changed by child", nested = { b = "changed by child" } })
  assert.same(t, { a = 1, nested = { b = 2 } })
  return true
end

function T.function_lua_entry_can_be_spawned()
  local pid, err = process.spawn("test.spawn:fn_worker", HOST, process.pid())
  assert.eq(err, nil)
  assert.truthy(pid:match(PID_PATTERN), "pid " .. tostring(pid))
  local got = recv(process.listen("fn"))
  assert.eq(got, "test.spawn:fn_worker")
  return true
end

-- ----- process.pid() / process.id() ------------------------------------------------------

function T.process_pid_returns_callers_pid_in_host_id_format()
  local me = process.pid()
  assert.eq(type(me), "string")
  assert.truthy(me:match("^{[^|{}]+|%d+}$"), "pid " .. me)
  assert.eq(process.pid(), me)
  return true
end

function T.process_pid_in_child_equals_pid_returned_by_spawn()
  local pid = assert(process.spawn(W .. "self_info", HOST, process.pid()))
  local info = recv(process.listen("info"))
  assert.eq(info.pid, pid)
  assert.ne(info.pid, process.pid())
  return true
end

function T.process_id_returns_the_running_entry_id()
  assert.eq(process.id(), "test.spawn:tests:process_id_returns_the_running_entry_id")
  assert(process.spawn(W .. "self_info", HOST, process.pid()))
  local info = recv(process.listen("info"))
  assert.eq(info.id, "test.spawn:workers:self_info")
  return true
end

-- ----- PIDs ------------------------------------------------------------------------------

function T.pids_of_live_processes_are_unique()
  local seen = { [process.pid()] = true }
  for i = 1, 50 do
    local pid = assert(process.spawn(W .. "waiter", HOST))
    assert.falsy(seen[pid], "pid " .. pid .. " returned twice (spawn #" .. i .. ")")
    seen[pid] = true
  end
  return true
end

function T.pids_are_never_reused_after_processes_end()
  local seen = { [process.pid()] = true }
  for i = 1, 30 do
    local pid = assert(process.spawn_monitored(W .. "instant", HOST))
    assert.falsy(seen[pid], "pid " .. pid .. " reused (spawn #" .. i .. ")")
    seen[pid] = true
    wait_event("pid.exit", pid)
  end
  return true
end

function T.pids_compare_with_equals()
  local pid = assert(process.spawn(W .. "self_info", HOST, process.pid()))
  local ch = process.listen("info", { message = true })
  local msg = recv(ch)
  -- A PID that travelled through a message, one read from msg:from() and one rebuilt from
  -- its parts all compare equal to the PID spawn returned.
  assert.truthy(msg:payload():data().pid == pid)
  assert.truthy(msg:from() == pid)
  local host, num = pid:match("^{(.-)|(%d+)}$")
  assert.truthy(("{" .. host .. "|" .. num .. "}") == pid)
  return true
end

-- ----- the EXIT event's table ------------------------------------------------------------

-- EXITs received while already queued (a normal exit with a scalar value is built by the
-- hot receive on the receiver's stack) are the same tables as any other: the same fields
-- in the same `pairs` order, the same `result` metatable.
function T.queued_exit_events_have_the_same_shape()
  local values = { { nil, "nil" }, { false, "boolean" }, { true, "boolean" }, { 7, "integer" },
    { 1.5, "float" }, { 0 / 0, "float" }, { "text", "string" }, { { a = 1 }, "table" } }
  local pids, want = {}, {}
  for i, v in ipairs(values) do
    local pid = assert(process.spawn_monitored(W .. "echo", HOST, v[1]))
    pids[i], want[pid] = pid, v
  end
  local none = assert(process.spawn_monitored(W .. "echo", HOST))
  want[none] = { nil, "nil" }
  time.sleep("20ms")
  local function keys(t)
    local ks = {}
    for k in pairs(t) do ks[#ks + 1] = k end
    return table.concat(ks, ",")
  end
  local events, order, mt = process.events(), nil, nil
  for _ = 1, #values + 1 do
    local ev, ok = events:receive()
    assert.eq(ok, true)
    local v = want[ev.from]
    assert.truthy(v, "EXIT from " .. tostring(ev.from))
    want[ev.from] = nil
    assert.eq(ev.kind, process.event.EXIT)
    assert.eq(math.type(ev.at), "integer")
    assert.eq(ev.error, nil)
    assert.eq(order or keys(ev), keys(ev))
    order = keys(ev)
    local value = ev.result.value
    if v[2] == "table" then
      assert.same(value, v[1])
    elseif v[1] ~= v[1] then
      assert.truthy(value ~= value, "NaN")
    else
      assert.eq(value, v[1])
      assert.eq(keys(ev.result), v[1] == nil and "" or "value")
      assert.eq(tostring(ev.result), tostring(v[1]))
    end
    assert.eq(math.type(value) or type(value), v[2] == "integer" and "integer"
      or v[2] == "float" and "float" or v[2])
    assert.eq(mt or getmetatable(ev.result), getmetatable(ev.result))
    mt = getmetatable(ev.result)
  end
  assert.eq(next(want), nil)
  -- One that the receive waits for is the same table too.
  local pid = assert(process.spawn_monitored(W .. "echo", HOST, 3))
  local ev = wait_event("pid.exit", pid)
  assert.eq(keys(ev), order)
  assert.eq(getmetatable(ev.result), mt)
  assert.eq(ev.result.value, 3)
  return true
end

-- Every kind of event is the same table whichever way the receive got it: found waiting,
-- handed to a receive that was blocked (both built on the receiver's stack), or through
-- select (built by the runtime): fields, their order, values, the `result` metatable.
function T.events_have_the_same_shape_on_every_route()
  assert.eq(process.set_options({ trap_links = true }), true)
  local me, events = process.pid(), process.events()
  local function keys(t)
    local ks = {}
    for k in pairs(t) do ks[#ks + 1] = tostring(k) end
    return table.concat(ks, ",")
  end
  local starts = {
    function() return assert(process.spawn_monitored(W .. "echo", HOST, { n = 1, s = { 2 } })) end,
    function() return assert(process.spawn_monitored(W .. "instant_fail", HOST)) end,
    function() return assert(process.spawn_linked(W .. "instant_fail", HOST)) end,
    function() return assert(process.spawn(W .. "canceller", HOST, me, "why")) end,
  }
  local mt
  local function describe(ev, pid)
    assert.eq(ev.from, pid)
    assert.eq(math.type(ev.at), "integer")
    local d = ev.kind .. "|" .. keys(ev) .. "|" .. tostring(ev.error) .. "|" .. tostring(ev.reason)
    if ev.result ~= nil then
      mt = mt or getmetatable(ev.result)
      assert.eq(getmetatable(ev.result), mt)
      local v = ev.result.value
      d = d .. "|" .. keys(ev.result) .. "|" .. tostring(ev.result.error) .. "|"
        .. (type(v) == "table" and (keys(v) .. "/" .. v.n .. "/" .. v.s[1]) or tostring(v))
    end
    return d
  end
  local queued, blocked, selected = {}, {}, {}
  local pids = {}
  for i, start in ipairs(starts) do pids[i] = start() end
  time.sleep("20ms")
  for i = 1, #starts do
    local ev, ok = events:receive()
    assert.eq(ok, true)
    for j, pid in ipairs(pids) do
      if ev.from == pid then queued[j] = describe(ev, pid) end
    end
    assert.truthy(ev.from, "event " .. i)
  end
  for i, start in ipairs(starts) do
    local pid = start()
    local ev, ok = events:receive()
    assert.eq(ok, true)
    blocked[i] = describe(ev, pid)
  end
  local kinds = { "pid.exit", "pid.exit", "pid.link.down", "pid.cancel" }
  for i, start in ipairs(starts) do
    local pid = start()
    selected[i] = describe(wait_event(kinds[i], pid), pid)
  end
  for i = 1, #starts do
    assert.eq(queued[i], selected[i], "found waiting, event " .. i)
    assert.eq(blocked[i], selected[i], "received while blocked, event " .. i)
  end
  assert.truthy(selected[1]:find("|value|nil|", 1, true), selected[1])
  assert.truthy(selected[1]:find("/1/2", 1, true), selected[1])
  assert.truthy(selected[2]:find("instant failure", 1, true), selected[2])
  assert.truthy(selected[4]:find("pid.cancel|", 1, true) == 1, selected[4])
  return true
end

return T
