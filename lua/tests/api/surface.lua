-- Tripwire: the whole Lua-visible API. When this fails, the API changed: update LUA_API.md
-- and the expected lists below together.
local assert = require("assert")

local function keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = tostring(k) end
  table.sort(out)
  return table.concat(out, " ")
end

local M = {}

function M.surface_is_exactly_the_documented_api()
  assert.eq(keys(process), "cancel event events get_options id inbox link listen monitor pid "
    .. "registry send set_options spawn spawn_linked spawn_linked_monitored spawn_monitored "
    .. "terminate unlink unlisten unmonitor")
  assert.eq(keys(process.registry), "lookup register unregister")
  assert.eq(keys(process.event), "CANCEL EXIT LINK_DOWN")
  assert.eq(keys(channel), "new select")
  assert.eq(keys(require("uuid")), "v4")
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
  local methods = { "year", "month", "day", "hour", "minute", "second", "nanosecond",
    "weekday", "year_day", "date", "clock", "is_zero", "location", "utc", "in_local",
    "in_location", "add", "sub", "add_date", "round", "truncate", "equal", "before", "after",
    "format", "format_rfc3339", "unix", "unix_nano" }
  for _, t in ipairs({ time.now(), time.date(2024, 1, 1, 0, 0, 0, 0, time.utc) }) do
    for _, m in ipairs(methods) do
      assert.eq(type(t[m]), "function", "time method " .. m)
    end
  end
  local loc = time.utc
  assert.eq(type(loc.string), "function")
  local ch = channel.new(1)
  for _, m in ipairs({ "send", "receive", "close", "case_send", "case_receive" }) do
    assert.eq(type(ch[m]), "function", "channel method " .. m)
  end
  return true
end

return M
