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
  assert.eq(keys(require("sim")), "always buggify delay enabled kill protect seed sometimes")
  assert.eq(keys(coroutine), "close create isyieldable resume running spawn status wrap yield")
  local time = require("time")
  local fns = {}
  for k, v in pairs(time) do if type(v) == "function" then fns[#fns + 1] = k end end
  table.sort(fns)
  assert.eq(table.concat(fns, " "), "after now parse_duration sleep ticker timer")
  local ch = channel.new(1)
  for _, m in ipairs({ "send", "receive", "close", "case_send", "case_receive" }) do
    assert.eq(type(ch[m]), "function", "channel method " .. m)
  end
  return true
end

return M
