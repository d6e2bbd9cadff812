local assert = require("assert")
local time = require("time")

local M = {}
local NS = "test.lifecycle:"
local HOST = "app:processes"

-- Receives from ch, raising (at the caller) if nothing comes within d (default 1s).
local function within(ch, what, d)
  local timeout = time.after(d or "1s")
  local r = channel.select { ch:case_receive(), timeout:case_receive() }
  if r.channel == timeout then error("timed out waiting for " .. what, 2) end
  return r.value, r.ok
end

-- True when nothing arrives on ch within d (default 50ms); else false and the value.
local function quiet(ch, d)
  local timeout = time.after(d or "50ms")
  local r = channel.select { ch:case_receive(), timeout:case_receive() }
  if r.channel == timeout then return true end
  return false, r.value
end

local function next_event() return within(process.events(), "an event") end
local function next_reply() return within(process.listen("reply"), "a reply") end

local function spawn(name, ...)
  local pid, err = process.spawn(NS .. name, HOST, ...)
  assert.eq(err, nil, "spawn " .. name)
  return pid
end

local function spawn_monitored(name, ...)
  local pid, err = process.spawn_monitored(NS .. name, HOST, ...)
  assert.eq(err, nil, "spawn_monitored " .. name)
  return pid
end

-- Sends a command to an agent and returns its reply table.
local function call(pid, cmd, arg)
  assert.eq(process.send(pid, cmd, arg), true, "send " .. cmd)
  return next_reply()
end

-- The next event, checked to be an EXIT from pid.
local function exit_from(pid)
  local ev = next_event()
  assert.eq(ev.kind, "pid.exit", "event kind")
  assert.eq(ev.from, pid, "event from")
  return ev
end

-- Waits until pid is no longer routable (send fails), polling every millisecond up to 1s.
local function wait_gone(pid)
  for _ = 1, 1000 do
    local ok, err = process.send(pid, "probe")
    if not ok then
      assert.eq(err, "process not found")
      return
    end
    time.sleep("1ms")
  end
  error("process " .. tostring(pid) .. " did not end", 2)
end

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
  within(process.listen("ready"), "forwarder ready")
  local linked = spawn_monitored("agent")
  assert.eq(call(linked, "link", watcher).ok, true)
  process.send(linked, "fail", "x")
  local seen = {}
  for _ = 1, 2 do
    local ev = next_event()
    seen[ev.from] = ev
  end
  assert.eq(assert(seen[watcher], "watcher survived").error, "linked process failed")
  return true
end

return M
