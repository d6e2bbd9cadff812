-- Tripwire: the whole Lua-visible API. When this fails, the API changed: update LUA_API.md
-- and the expected lists below together.
local assert = require("assert")
local security = require("security")

local function keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = tostring(k) end
  table.sort(out)
  return table.concat(out, " ")
end

local M = {}

function M.surface_is_exactly_the_documented_api()
  assert.eq(keys(process), "cancel event events get_options id inbox info link list listen "
    .. "monitor pid registry send set_options spawn spawn_linked spawn_linked_monitored "
    .. "spawn_monitored terminate traceback unlink unlisten unmonitor upgrade with_context "
    .. "with_options")
  assert.eq(keys(process.registry), "lookup register unregister")
  assert.eq(keys(process.event), "CANCEL EXIT LINK_DOWN RELOAD")
  assert.eq(keys(channel), "new select")
  assert.eq(keys(require("uuid")), "v4")
  assert.eq(keys(require("supervisor")), "delete_child restart_child run start start_child "
    .. "stop terminate_child which_children")
  assert.eq(keys(require("ctx")), "all get")
  assert.eq(keys(require("security")), "actor can named_scope new_actor new_scope policy scope")
  assert.eq(keys(require("sim")), "always buggify delay enabled kill protect seed sometimes")
  assert.eq(keys(coroutine), "close create isyieldable resume running spawn status wrap yield")
  local time = require("time")
  local fns = {}
  for k, v in pairs(time) do if type(v) == "function" then fns[#fns + 1] = k end end
  table.sort(fns)
  assert.eq(table.concat(fns, " "), "after date fixed_zone load_location now parse "
    .. "parse_duration sleep ticker timer unix")
  assert.eq(tostring(time.utc), "UTC")
  assert.eq(type(time.localtz), "userdata")
  -- SPEC §9.1
  assert.eq(keys(errors), "ALREADY_EXISTS CANCELED CONFLICT INTERNAL INVALID NOT_FOUND "
    .. "PERMISSION_DENIED RATE_LIMITED TIMEOUT UNAVAILABLE UNKNOWN is new")
  -- SPEC §9.4: every Time method, on both kinds of Time (now() and date())
  local now = time.now()
  local date = time.date(2024, 1, 1, 0, 0, 0, 0, time.utc)
  for _, m in ipairs({ "year", "month", "day", "hour", "minute", "second", "nanosecond",
    "weekday", "year_day", "date", "clock", "is_zero", "location", "utc", "in_local",
    "in_location", "add", "sub", "add_date", "round", "truncate", "equal", "before", "after",
    "format", "format_rfc3339", "unix", "unix_nano" }) do
    assert.eq(type(now[m]), "function", "time method " .. m)
    assert.eq(type(date[m]), "function", "time method " .. m .. " (of time.date)")
  end
  local loc = time.utc
  assert.eq(type(loc.string), "function")
  local ch = channel.new(1)
  for _, m in ipairs({ "send", "receive", "close", "case_send", "case_receive" }) do
    assert.eq(type(ch[m]), "function", "channel method " .. m)
  end
  local sp = process.with_context({})
  for _, m in ipairs({ "with_context", "with_options", "with_actor", "with_scope", "spawn",
    "spawn_monitored", "spawn_linked", "spawn_linked_monitored" }) do
    assert.eq(type(sp[m]), "function", "spawner method " .. m)
  end
  local actor = security.new_actor("a")
  for _, m in ipairs({ "id", "meta" }) do
    assert.eq(type(actor[m]), "function", "actor method " .. m)
  end
  local scope = security.new_scope()
  for _, m in ipairs({ "policies", "with", "without", "contains", "evaluate" }) do
    assert.eq(type(scope[m]), "function", "scope method " .. m)
  end
  local policy = security.policy("test.security:read_docs")
  for _, m in ipairs({ "id", "evaluate" }) do
    assert.eq(type(policy[m]), "function", "policy method " .. m)
  end
  return true
end

return M
