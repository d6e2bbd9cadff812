-- Acceptance: wrong argument types to every process/channel/time function give clear
-- errors (a string, or `nil`/`false` plus a string) and never take the host down.
local assert = require("assert")
local time = require("time")

local function values()
  return {
    { "nil", nil }, { "true", true }, { "int", 42 }, { "float", -1.5 }, { "nan", 0 / 0 },
    { "huge", math.huge }, { "string", "x" }, { "empty", "" }, { "at", "@t" },
    { "pidlike", "{app:processes|999999}" }, { "badpid", "{|}" }, { "table", {} },
    { "function", print }, { "thread", coroutine.create(function() end) },
    { "channel", channel.new(1) }, { "time", time.now() },
  }
end

local M = {}

-- Calls f with one argument of every kind, then two; checks the outcome is a value, a
-- `nil|false, string` failure (or an error object, SPEC §9.1, whose message is a string), or
-- a raised error whose message is a string.
local function hammer(name, f)
  local vs = values()
  for _, a in ipairs(vs) do
    for _, b in ipairs({ vs[1], vs[7], vs[12], vs[13] }) do
      local ok, r1, r2 = pcall(f, a[2], b[2])
      local where = name .. "(" .. a[1] .. ", " .. b[1] .. ")"
      if not ok then
        assert.eq(type(r1), "string", where .. " raised a non-string")
      elseif r1 == nil or r1 == false then
        if type(r2) == "userdata" then
          assert.eq(type(r2:message()), "string", where .. " error object message")
        elseif r2 ~= nil then
          assert.eq(type(r2), "string", where .. " error value")
        end
      end
    end
  end
end

local blocking = { ["time.sleep"] = true }

function M.every_function_survives_every_bad_argument()
  local fns = {}
  for k, v in pairs(process) do if type(v) == "function" then fns["process." .. k] = v end end
  for k, v in pairs(process.registry) do fns["process.registry." .. k] = v end
  for k, v in pairs(channel) do fns["channel." .. k] = v end
  for k, v in pairs(time) do if type(v) == "function" then fns["time." .. k] = v end end
  fns["uuid.v4"] = require("uuid").v4
  fns["coroutine.spawn"] = coroutine.spawn
  -- terminate would end this test when given our own pid; everything else is fair game
  fns["process.terminate"] = nil
  -- upgrade(nil, ...) would restart this test in its own code (lua/tests/upgrade covers it)
  fns["process.upgrade"] = nil
  local names = {}
  for k in pairs(fns) do names[#names + 1] = k end
  table.sort(names)
  for _, name in ipairs(names) do
    if blocking[name] then
      -- only non-blocking bad values: numbers and durations would really sleep
      for _, v in ipairs({ "x", {}, print, true }) do
        local ok, r1, r2 = pcall(fns[name], v)
        assert.truthy(not ok or r1 == nil, name .. " accepted garbage")
        assert.eq(type(ok and r2 or r1), "string", name)
      end
    else
      hammer(name, fns[name])
    end
  end
  -- still alive and still working
  local ch = channel.new(1)
  ch:send("ok")
  assert.eq(ch:receive(), "ok")
  return true
end

function M.object_methods_survive_bad_arguments()
  local ch = channel.new(1)
  local objs = {
    channel = { ch, { "send", "receive", "close", "case_send", "case_receive" } },
    time = { time.now(), { "sub", "add", "before", "after", "equal", "unix" } },
    duration = { time.parse_duration("1s"), { "seconds", "milliseconds" } },
    timer = { time.timer("1h"), { "stop", "reset", "channel" } },
    ticker = { time.ticker("1h"), { "stop", "channel" } },
  }
  for oname, pair in pairs(objs) do
    local obj, methods = pair[1], pair[2]
    for _, m in ipairs(methods) do
      for _, v in ipairs(values()) do
        if not (oname == "channel" and m == "receive") then
          local ok, err = pcall(obj[m], v[2], v[2])
          if not ok then
            assert.truthy(type(err) == "string" or tostring(err) ~= nil, oname .. ":" .. m)
          end
        end
      end
    end
  end
  -- methods called on the wrong object type
  local ok = pcall(ch.send, time.now(), 1)
  assert.falsy(ok)
  assert.truthy(pcall(ch.send, ch, 1) or true)
  return true
end

return M
