local assert = require("assert")
local helpers = require("helpers")
local time = require("time")

local M = {}
local next_event, exit_from = helpers.next_event, helpers.exit_from
local events_by_from, call = helpers.events_by_from, helpers.call
local workers = helpers.spawners("test.lifecycle:workers")
local spawn_monitored = workers.spawn_monitored

-- Rows of SPEC 2.3 "How a process ends" -------------------------------------------------

local function ending(mode, v)
  local pid = spawn_monitored("returner", mode, v)
  return exit_from(pid), pid
end

-- A normal exit: result.value is `value`, no error anywhere.
local function assert_normal(ev, value)
  assert.eq(ev.result.value, value, "result.value")
  assert.eq(ev.result.error, nil, "result.error")
  assert.eq(ev.error, nil, "error")
end

-- An abnormal exit: no value, `err` as both error and result.error.
local function assert_abnormal(ev, err)
  assert.eq(ev.result.value, nil, "result.value")
  assert.eq(ev.error, err, "error")
  assert.eq(ev.result.error, err, "result.error")
end

function M.return_of_a_value_is_a_normal_exit_carrying_that_value()
  local ev = ending("value", 42)
  assert_normal(ev, 42)
  assert.eq(math.type(ev.result.value), "integer")
  return true
end

function M.return_of_false_is_a_normal_exit_carrying_false()
  assert_normal(ending("value", false), false)
  return true
end

function M.return_of_nothing_is_a_normal_exit_with_nil_value()
  local ev = ending("nothing")
  assert.eq(type(ev.result), "table")
  assert_normal(ev, nil)
  return true
end

function M.return_of_a_value_and_a_string_is_an_abnormal_exit_with_that_string_as_error()
  assert_abnormal(ending("value_and_string", "ignored value"), "went wrong")
  return true
end

function M.return_of_a_value_and_a_number_is_a_normal_exit_carrying_the_value()
  assert_normal(ending("value_and_number", "kept"), "kept")
  return true
end

function M.return_of_a_value_and_a_table_is_a_normal_exit_carrying_the_value()
  assert_normal(ending("value_and_table", 3.5), 3.5)
  return true
end

function M.return_of_a_value_and_false_is_a_normal_exit_carrying_the_value()
  local ev = ending("value_and_false", "kept")
  assert.eq(ev.result.value, "kept")
  assert.eq(ev.error, nil)
  return true
end

function M.raised_error_is_an_abnormal_exit_with_the_chunk_line_prefixed_message()
  local pid = spawn_monitored("raiser", "kaboom")
  assert_abnormal(exit_from(pid), "lifecycle/workers.lua:6: kaboom")
  return true
end

function M.error_in_a_spawned_coroutine_fails_the_whole_process_with_its_prefixed_message()
  local pid = spawn_monitored("co_raiser", "coroutine kaboom")
  assert_abnormal(exit_from(pid), "lifecycle/workers.lua:11: coroutine kaboom")
  return true
end

function M.terminated_process_exit_carries_process_terminated()
  local pid = spawn_monitored("agent")
  assert.eq(process.terminate(pid), true)
  assert_abnormal(exit_from(pid), "process terminated")
  return true
end

function M.process_killed_by_a_linked_failure_exit_carries_linked_process_failed()
  local failing = spawn_monitored("agent")
  local partner = spawn_monitored("agent")
  local r = call(partner, "link", failing)
  assert.eq(r.ok, true)
  process.send(failing, "fail", "partner broke")
  local seen = events_by_from(2, "pid.exit")
  assert.contains(seen[failing].error, ": partner broke")
  assert_abnormal(assert(seen[partner], "no EXIT from the partner"), "linked process failed")
  return true
end

-- EXIT event shape -----------------------------------------------------------------------

function M.exit_event_has_kind_from_result_error_and_at()
  local pid = spawn_monitored("returner", "value", "v")
  local ev = next_event()
  assert.eq(type(ev), "table")
  assert.eq(ev.kind, "pid.exit")
  assert.eq(ev.kind, process.event.EXIT)
  assert.eq(ev.from, pid)
  assert.eq(type(ev.result), "table")
  assert.eq(ev.result.value, "v")
  assert.eq(type(ev.at), "number")
  return true
end

-- the keys of t, sorted
local function keys(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = tostring(k) end
  table.sort(ks)
  return table.concat(ks, ",")
end

function M.exit_events_hold_exactly_their_fields()
  local ev, pid = ending("value", "v")
  assert.eq(keys(ev), "at,from,kind,result")
  assert.eq(keys(ev.result), "value")
  assert.eq(getmetatable(ev), nil)
  assert.truthy(rawequal(ev.kind, process.event.EXIT) and ev.from == pid)
  ev = ending("value_and_string", "ignored value")
  assert.eq(keys(ev), "at,error,from,kind,result")
  assert.eq(keys(ev.result), "error")
  assert.eq(ev.result.error, "went wrong")
  -- a nil value leaves the result without keys, and the events are fresh tables
  local a, b = ending("nothing"), ending("nothing")
  assert.eq(keys(a.result), "")
  assert.falsy(rawequal(a, b) or rawequal(a.result, b.result), "events must not be shared")
  assert.eq(tostring(a.result), "nil")
  return true
end

function M.exit_event_at_is_the_unix_second_of_the_exit()
  local before = time.now():unix()
  spawn_monitored("returner", "value", 1)
  local ev = next_event()
  local after = time.now():unix()
  assert.eq(math.type(ev.at), "integer")
  assert.truthy(ev.at >= before and ev.at <= after,
    "at " .. tostring(ev.at) .. " not within [" .. before .. ", " .. after .. "]")
  return true
end

function M.tostring_of_a_normal_result_is_tostring_of_its_value()
  assert.eq(tostring(ending("value", 42).result), "42")
  assert.eq(tostring(ending("value", "hello").result), "hello")
  assert.eq(tostring(ending("value", false).result), "false")
  assert.eq(tostring(ending("nothing").result), "nil")
  return true
end

function M.tostring_of_an_abnormal_result_is_its_error()
  assert.eq(tostring(ending("value_and_string", 1).result), "went wrong")
  local pid = spawn_monitored("raiser", "kaboom")
  assert.eq(tostring(exit_from(pid).result), "lifecycle/workers.lua:6: kaboom")
  return true
end

function M.event_kind_constants_are_pid_exit_pid_link_down_and_pid_cancel()
  assert.eq(process.event.EXIT, "pid.exit")
  assert.eq(process.event.LINK_DOWN, "pid.link.down")
  assert.eq(process.event.CANCEL, "pid.cancel")
  return true
end

function M.events_returns_the_same_channel_on_every_call()
  local a, b = process.events(), process.events()
  assert.truthy(a ~= nil)
  assert.eq(a, b)
  return true
end

function M.a_process_that_exits_instantly_still_produces_its_exit()
  local pid = spawn_monitored("returner", "nothing")
  exit_from(pid)
  return true
end

-- Return value copying ---------------------------------------------------------------------

function M.returned_table_arrives_in_exit_as_a_deep_copy_without_metatable()
  local ev = ending("shaped_table")
  local v = ev.result.value
  assert.eq(ev.error, nil)
  assert.eq(type(v), "table")
  assert.eq(v.int, 7)
  assert.eq(math.type(v.int), "integer")
  assert.eq(v.float, 7.5)
  assert.eq(math.type(v.float), "float")
  assert.eq(v.str, "s")
  assert.eq(v.nested.deep.deeper, true)
  assert.eq(getmetatable(v), nil)
  assert.eq(v.missing, nil)
  return true
end

function M.returned_table_keeps_shared_references_and_cycles()
  local v = ending("shaped_table").result.value
  assert.eq(v.self, v)
  assert.same(v.a, { "shared" })
  assert.eq(v.a, v.b)
  return true
end

function M.returning_a_function_is_an_abnormal_exit_cannot_send_function()
  assert_abnormal(ending("function"), "cannot send function")
  return true
end

function M.returning_a_table_holding_a_function_is_an_abnormal_exit_cannot_send_function()
  local ev = ending("table_with_function")
  assert.eq(ev.result.value, nil)
  assert.eq(ev.error, "cannot send function")
  return true
end

function M.returning_a_coroutine_is_an_abnormal_exit_cannot_send_thread()
  local ev = ending("coroutine")
  assert.eq(ev.result.value, nil)
  assert.eq(ev.error, "cannot send thread")
  return true
end

return M
