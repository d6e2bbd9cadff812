local assert = require("assert")
local helpers = require("helpers")

local M = {}
local recv, events_by_from, call = helpers.recv, helpers.events_by_from, helpers.call
local workers = helpers.spawners("test.lifecycle:workers")
local spawn_monitored = workers.spawn_monitored

-- SPEC 2.3 set_options / get_options --------------------------------------------------------

function M.trap_links_defaults_to_false()
  assert.same(process.get_options(), { trap_links = false })
  return true
end

function M.set_options_trap_links_true_returns_true_and_get_options_reports_it()
  assert.eq(process.set_options({ trap_links = true }), true)
  assert.same(process.get_options(), { trap_links = true })
  return true
end

function M.set_options_can_turn_trap_links_back_off()
  assert.eq(process.set_options({ trap_links = true }), true)
  assert.eq(process.set_options({ trap_links = false }), true)
  assert.same(process.get_options(), { trap_links = false })
  return true
end

function M.set_options_with_a_non_table_returns_options_parameter_must_be_a_table()
  for _, bad in ipairs({ "trap_links", 1, true }) do
    local ok, err = process.set_options(bad)
    assert.eq(ok, false, "set_options(" .. tostring(bad) .. ")")
    assert.eq(err, "options parameter must be a table")
  end
  return true
end

function M.set_options_without_argument_returns_options_parameter_must_be_a_table()
  local ok, err = process.set_options()
  assert.eq(ok, false)
  assert.eq(err, "options parameter must be a table")
  return true
end

function M.set_options_with_a_non_boolean_trap_links_returns_trap_links_must_be_a_boolean()
  for _, bad in ipairs({ "yes", 1, {} }) do
    local ok, err = process.set_options({ trap_links = bad })
    assert.eq(ok, false, "trap_links = " .. tostring(bad))
    assert.eq(err, "trap_links must be a boolean")
  end
  assert.same(process.get_options(), { trap_links = false })
  return true
end

function M.set_options_with_an_unknown_option_returns_option_name_is_not_supported()
  local ok, err = process.set_options({ trap_exits = true })
  assert.eq(ok, false)
  assert.eq(err, "option trap_exits is not supported")
  return true
end

function M.options_are_per_process()
  assert.eq(process.set_options({ trap_links = true }), true)
  local watcher = spawn_monitored("forwarder", process.pid(), false)
  recv(process.listen("ready"), "forwarder ready")
  local linked = spawn_monitored("agent")
  assert.eq(call(linked, "link", watcher).ok, true)
  process.send(linked, "fail", "x")
  local seen = events_by_from(2)
  assert.eq(assert(seen[watcher], "watcher survived").error, "linked process failed")
  return true
end

return M
