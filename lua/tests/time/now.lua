-- SPEC §4: Time values from time.now().
local assert = require("assert")

local M = {}
local S = 1000000000

function M.time_methods()
  local t = time.now()
  local u = t:unix()
  assert.eq(math.type(u), "integer")
  assert.truthy(math.abs(u - os.time()) <= 2, "unix() far from os.time()")
  local un = t:unix_nano()
  assert.eq(math.type(un), "integer")
  assert.eq(un // S, u)
  -- add / sub
  local later = t:add("1h30m45s")
  local d = later:sub(t)
  assert.eq(d:nanoseconds(), 5445 * S)
  assert.eq(tostring(d), "1h30m45s")
  assert.eq(later:unix(), u + 5445)
  assert.eq(later:unix_nano(), un + 5445 * S)
  assert.eq(t:sub(later):nanoseconds(), -5445 * S)
  assert.eq(t:add(-S):unix_nano(), un - S)
  -- comparisons
  assert.eq(later:after(t), true)
  assert.eq(later:before(t), false)
  assert.eq(t:before(later), true)
  assert.eq(t:after(later), false)
  assert.eq(t:equal(t), true)
  assert.eq(t:equal(t:add(0)), true)
  assert.eq(t:after(t), false)
  assert.eq(t:before(t), false)
  assert.eq(t:equal(later), false)
  assert.eq(later:add("-1h30m45s"):equal(t), true)
  -- add does not change the receiver
  assert.eq(t:unix_nano(), un)
  -- time moves forward
  time.sleep("2ms")
  local t2 = time.now()
  assert.truthy(t2:after(t))
  assert.truthy(t2:sub(t):nanoseconds() >= 2000000)
  return true
end

function M.clock_fields_and_format()
  local t = time.now()
  local h, m, s = t:hour(), t:minute(), t:second()
  for _, v in ipairs { h, m, s } do assert.eq(math.type(v), "integer") end
  assert.truthy(h >= 0 and h <= 23)
  assert.truthy(m >= 0 and m <= 59)
  assert.truthy(s >= 0 and s <= 59)
  local f = t:format_rfc3339()
  local Y, Mo, D, fh, fm, fs, zone =
    f:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)T(%d%d):(%d%d):(%d%d)(.*)$")
  assert.truthy(Y, "not RFC 3339: " .. f)
  assert.truthy(zone == "Z" or zone:match("^[+-]%d%d:%d%d$"), "bad zone in " .. f)
  assert.eq(tonumber(fh), h)
  assert.eq(tonumber(fm), m)
  assert.eq(tonumber(fs), s)
  -- fields follow the instant: one minute later is one minute further on the clock
  local plus = t:add("1m")
  assert.eq((plus:minute() - m) % 60, 1)
  -- tostring gives a non-empty description
  local str = tostring(t)
  assert.eq(type(str), "string")
  assert.truthy(#str > 0)
  assert.contains(str, Y .. "-" .. Mo .. "-" .. D)
  return true
end

function M.time_across_processes_is_refused()
  -- Time is userdata: it cannot travel as a payload (SPEC §5)
  local v, err = process.send(process.pid(), "t", time.now())
  assert.eq(v, nil)
  assert.eq(err, "cannot send userdata")
  return true
end

return M
