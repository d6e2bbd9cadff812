-- SPEC §4: duration forms, parse_duration, Duration methods, constants.
local assert = require("assert")

local M = {}

local NS, US, MS, S = 1, 1000, 1000000, 1000000000
local MIN, H = 60 * S, 3600 * S

function M.constants()
  local want = {
    NANOSECOND = 1, MICROSECOND = 1000, MILLISECOND = 1000000, SECOND = 1000000000,
    MINUTE = 60000000000, HOUR = 3600000000000,
    JANUARY = 1, FEBRUARY = 2, MARCH = 3, APRIL = 4, MAY = 5, JUNE = 6, JULY = 7,
    AUGUST = 8, SEPTEMBER = 9, OCTOBER = 10, NOVEMBER = 11, DECEMBER = 12,
    SUNDAY = 0, MONDAY = 1, TUESDAY = 2, WEDNESDAY = 3, THURSDAY = 4, FRIDAY = 5, SATURDAY = 6,
  }
  for name, v in pairs(want) do
    assert.eq(time[name], v, "time." .. name)
    assert.eq(math.type(time[name]), "integer", "time." .. name .. " type")
  end
  assert.eq(time.RFC3339, "2006-01-02T15:04:05Z07:00")
  assert.eq(time.RFC3339NANO, "2006-01-02T15:04:05.999999999Z07:00")
  assert.eq(time.DATE_TIME, "2006-01-02 15:04:05")
  assert.eq(time.DATE_ONLY, "2006-01-02")
  assert.eq(time.TIME_ONLY, "15:04:05")
  -- the global and require("time") are the same module
  assert.eq(require("time"), time)
  return true
end

function M.parse_duration_forms()
  local cases = {
    { "100ms", 100 * MS }, { "1m30s", 90 * S }, { "1.5h", 90 * MIN }, { "0", 0 },
    { "2ns", 2 * NS }, { "3us", 3 * US }, { "3µs", 3 * US }, { "7s", 7 * S }, { "2m", 2 * MIN },
    { "1h30m45s", H + 30 * MIN + 45 * S }, { "-1.5s", -1500 * MS }, { "+5ms", 5 * MS },
    { "1h1ms", H + MS }, { ".5s", 500 * MS }, { "0s", 0 },
  }
  for _, c in ipairs(cases) do
    local d, err = time.parse_duration(c[1])
    assert.truthy(d, "parse_duration(" .. c[1] .. "): " .. tostring(err))
    assert.eq(d:nanoseconds(), c[2], "parse_duration(" .. c[1] .. ")")
    assert.eq(math.type(d:nanoseconds()), "integer")
  end
  -- numbers are nanoseconds
  assert.eq(time.parse_duration(1500):nanoseconds(), 1500)
  assert.eq(time.parse_duration(0):nanoseconds(), 0)
  assert.eq(time.parse_duration(-7):nanoseconds(), -7)
  -- a Duration is accepted as a duration
  local d = time.parse_duration("250ms")
  assert.eq(time.parse_duration(d):nanoseconds(), 250 * MS)
  return true
end

function M.duration_methods()
  local d = time.parse_duration("1h30m45s")
  assert.eq(d:nanoseconds(), 5445 * S)
  assert.eq(d:microseconds(), 5445 * 1000000)
  assert.eq(d:milliseconds(), 5445000)
  assert.eq(math.type(d:nanoseconds()), "integer")
  assert.eq(math.type(d:microseconds()), "integer")
  assert.eq(math.type(d:milliseconds()), "integer")
  assert.eq(d:seconds(), 5445.0)
  assert.eq(math.type(d:seconds()), "float")
  assert.eq(d:minutes(), 90.75)
  assert.eq(math.type(d:minutes()), "float")
  assert.near(d:hours(), 1.5125, 1e-12)
  assert.eq(math.type(d:hours()), "float")
  -- integer accessors truncate like Go
  local odd = time.parse_duration(1999999)
  assert.eq(odd:milliseconds(), 1)
  assert.eq(odd:microseconds(), 1999)
  assert.eq(time.parse_duration("1500ms"):seconds(), 1.5)
  return true
end

function M.duration_tostring_go_form()
  local cases = {
    { "1h30m45s", "1h30m45s" }, { "0", "0s" }, { "100ms", "100ms" }, { "1.5s", "1.5s" },
    { "90s", "1m30s" }, { "1h", "1h0m0s" }, { "2ns", "2ns" }, { "1us", "1µs" },
    { "1500us", "1.5ms" }, { "-1s", "-1s" }, { "1m", "1m0s" },
  }
  for _, c in ipairs(cases) do
    assert.eq(tostring(time.parse_duration(c[1])), c[2], "tostring of " .. c[1])
  end
  assert.eq(tostring(time.parse_duration(1)), "1ns")
  return true
end

-- parse_duration fails with an error object (SPEC §9.6): kind INVALID, not retryable, and
-- `tostring`/`:message()` give Go's message.
local function duration_error(err, what)
  assert.eq(type(err), "userdata", what .. ": error object")
  assert.eq(err:kind(), errors.INVALID, what .. ": kind")
  assert.eq(err:retryable(), false, what .. ": retryable")
  assert.eq(err:message(), tostring(err), what .. ": message")
  return tostring(err)
end

function M.bad_duration_strings()
  for _, s in ipairs { "x", "", "1", "s", "1.s.", "--1s" } do
    local d, err = time.parse_duration(s)
    assert.eq(d, nil, "parse_duration(" .. s .. ")")
    local msg = duration_error(err, "parse_duration(" .. s .. ")")
    assert.contains(msg, "time: ")
    assert.contains(msg, '"' .. s .. '"')
  end
  local d, err = time.parse_duration("x")
  assert.eq(d, nil)
  assert.eq(duration_error(err, "x"), 'time: invalid duration "x"')
  d, err = time.parse_duration("")
  assert.eq(duration_error(err, "empty"), 'time: invalid duration ""')
  return true
end

function M.bad_duration_go_details()
  -- Go's exact messages for the other failure kinds
  local _, err = time.parse_duration("1x")
  assert.eq(duration_error(err, "1x"), 'time: unknown unit "x" in duration "1x"')
  _, err = time.parse_duration("1")
  assert.eq(duration_error(err, "1"), 'time: missing unit in duration "1"')
  _, err = time.parse_duration("9999999999h")
  assert.eq(duration_error(err, "9999999999h"), 'time: invalid duration "9999999999h"')
  -- a value of another type names its Lua type
  for _, v in ipairs { {}, true, print } do
    local d
    d, err = time.parse_duration(v)
    assert.eq(d, nil)
    assert.eq(duration_error(err, type(v)), "invalid value type: " .. type(v))
  end
  return true
end

function M.bad_duration_everywhere()
  -- every call that takes a duration rejects a bad string with the Go message
  local calls = {
    sleep = function(d) return time.sleep(d) end,
    after = function(d) return time.after(d) end,
    timer = function(d) return time.timer(d) end,
    ticker = function(d) return time.ticker(d) end,
    add = function(d) return time.now():add(d) end,
    reset = function(d) return time.timer("1h"):reset(d) end,
  }
  for name, f in pairs(calls) do
    local ok, v, err = pcall(f, "x")
    local msg = ok and err or v
    assert.truthy(not ok or v == nil, name .. " accepted a bad duration")
    assert.contains(tostring(msg), 'time: invalid duration "x"', name)
  end
  -- sleep documents nil, err
  local v, err = time.sleep("x")
  assert.eq(v, nil)
  assert.eq(err, 'time: invalid duration "x"')
  -- a wrong type is an error too
  v, err = time.sleep({})
  assert.eq(v, nil)
  assert.contains(err, "time.sleep: bad argument #1")
  return true
end

function M.duration_objects_accepted()
  local d = time.parse_duration("3ms")
  local t0 = time.now()
  assert.eq(time.sleep(d), true)
  assert.truthy(time.now():sub(t0):nanoseconds() >= 3 * MS)
  local a = time.after(d)
  local v, ok = a:receive()
  assert.eq(ok, true)
  local t = time.timer(d)
  v, ok = t:channel():receive()
  assert.eq(ok, true)
  local tk = time.ticker(d)
  v, ok = tk:channel():receive()
  assert.eq(ok, true)
  tk:stop()
  local base = time.now()
  assert.eq(base:add(d):sub(base):nanoseconds(), 3 * MS)
  assert.eq(base:add(3 * MS):sub(base):nanoseconds(), 3 * MS)
  assert.eq(base:add("3ms"):sub(base):nanoseconds(), 3 * MS)
  -- numbers are nanoseconds everywhere
  t0 = time.now()
  time.sleep(4 * MS)
  assert.truthy(time.now():sub(t0):nanoseconds() >= 4 * MS)
  return true
end

return M
