-- SPEC §9.4: Time methods. Times are built in explicit zones, so results do not depend on
-- TZ except where a test says it reads the local zone.
local assert = require("assert")

local M = {}
local S = 1000000000

local function d(y, mo, dd, h, mi, s, ns, loc)
  return time.date(y, mo, dd, h or 0, mi or 0, s or 0, ns or 0, loc or time.utc)
end

local function ny()
  return assert(time.load_location("America/New_York"))
end

function M.field_accessors()
  local t = d(2024, 2, 29, 13, 45, 30, 123456789, ny())
  local want = { year = 2024, month = 2, day = 29, hour = 13, minute = 45, second = 30,
    nanosecond = 123456789, weekday = 4, year_day = 60 }
  for m, v in pairs(want) do
    assert.eq(t[m](t), v, m)
    assert.eq(math.type(t[m](t)), "integer", m)
  end
  assert.same({ t:date() }, { 2024, 2, 29 })
  assert.same({ t:clock() }, { 13, 45, 30 })
  assert.eq(time.WEDNESDAY + 1, t:weekday())
  -- read in the Time's own zone
  local u = t:utc()
  assert.eq(u:hour(), 18)
  assert.same({ u:date() }, { 2024, 2, 29 })
  assert.eq(t:in_location(time.fixed_zone("far", 12 * 3600)):day(), 1)
  return true
end

function M.is_zero_is_go_zero_time()
  local z = d(1, 1, 1)
  assert.eq(z:is_zero(), true)
  assert.eq(z:in_location(ny()):is_zero(), true)
  assert.eq(tostring(z:in_location(ny())), "0000-12-31 19:03:58 -0456 LMT")
  assert.eq(d(1, 1, 1, 0, 0, 0, 1):is_zero(), false)
  assert.eq(time.unix(0, 0):is_zero(), false)
  assert.eq(d(1, 1, 1, 0, 0, 0, 0, time.fixed_zone("x", 3600)):is_zero(), false)
  return true
end

function M.location_and_zone_conversions()
  local t = d(2024, 7, 1, 12, 0, 0, 0, ny())
  assert.eq(t:location():string(), "America/New_York")
  assert.eq(d(2024, 1, 1):location():string(), "UTC")
  assert.eq(t:utc():location():string(), "UTC")
  assert.eq(tostring(t:utc()), "2024-07-01 16:00:00 +0000 UTC")
  local tokyo = assert(time.load_location("Asia/Tokyo"))
  local k = t:in_location(tokyo)
  assert.eq(tostring(k), "2024-07-02 01:00:00 +0900 JST")
  assert.eq(k:equal(t), true)
  assert.eq(k:unix_nano(), t:unix_nano())
  assert.raises(function() t:in_location("Asia/Tokyo") end,
    "bad argument #1 to 'in_location' (location expected)")
  assert.raises(function() t:in_location() end,
    "bad argument #1 to 'in_location' (location expected)")
  return true
end

function M.in_local_reads_the_local_zone()
  -- asks for the local zone: only agreement with time.localtz is checked
  local t = d(2024, 7, 1, 12, 0, 0, 0, ny())
  local l = t:in_local()
  assert.eq(l:location():string(), time.localtz:string())
  assert.eq(l:equal(t), true)
  -- now() and timer values are local too
  assert.eq(time.now():location():string(), time.localtz:string())
  local v = time.after("1ms"):receive()
  assert.eq(v:location():string(), time.localtz:string())
  assert.eq(time.now():in_location(time.utc):location():string(), "UTC")
  return true
end

function M.add_and_sub()
  local t = d(2024, 1, 1, 12, 0, 0, 0, ny())
  assert.eq(tostring(t:add("1h30m")), "2024-01-01 13:30:00 -0500 EST")
  assert.eq(tostring(t:add(90 * 60 * S)), "2024-01-01 13:30:00 -0500 EST")
  assert.eq(tostring(t:add(time.parse_duration("-12h"))), "2024-01-01 00:00:00 -0500 EST")
  assert.eq(t:add("1ns"):nanosecond(), 1)
  assert.raises(function() t:add("x") end, 'time: invalid duration "x"')
  local dur = t:add("1h"):sub(t)
  assert.eq(dur:nanoseconds(), 3600 * S)
  assert.eq(tostring(dur), "1h0m0s")
  -- zones do not matter to sub
  assert.eq(t:sub(t:utc()):nanoseconds(), 0)
  -- saturates at the int64 limits, as Go
  local hi, lo = d(9999, 1, 1), d(-9999, 1, 1)
  assert.eq(hi:sub(lo):nanoseconds(), math.maxinteger)
  assert.eq(lo:sub(hi):nanoseconds(), math.mininteger)
  assert.raises(function() t:sub(5) end, "bad argument #1 to 'sub' (time expected)")
  -- a Time is never modified
  assert.eq(t:hour(), 12)
  return true
end

function M.add_date_normalises()
  assert.eq(d(2024, 12, 29):add_date(1, 2, 3):format("2006-01-02"), "2026-03-04")
  assert.eq(d(2023, 1, 31):add_date(0, 1, 0):format("2006-01-02"), "2023-03-03")
  assert.eq(d(2024, 1, 31):add_date(0, 1, 0):format("2006-01-02"), "2024-03-02")
  assert.eq(d(2024, 3, 31):add_date(0, -1, 0):format("2006-01-02"), "2024-03-02")
  assert.eq(d(2024, 2, 29):add_date(1, 0, 0):format("2006-01-02"), "2025-03-01")
  assert.eq(d(2024, 1, 1, 10, 20, 30, 5):add_date(0, 0, -1):format("2006-01-02 15:04:05.999999999"),
    "2023-12-31 10:20:30.000000005")
  -- the wall clock is kept across a DST change: 23 hours on the instant
  local t = d(2024, 3, 9, 12, 0, 0, 0, ny())
  local n = t:add_date(0, 0, 1)
  assert.eq(tostring(n), "2024-03-10 12:00:00 -0400 EDT")
  assert.eq(tostring(n:sub(t)), "23h0m0s")
  assert.raises(function() t:add_date("x", 0, 0) end,
    "bad argument #1 to 'add_date' (integer expected, got string)")
  assert.raises(function() t:add_date(0, 1.5, 0) end,
    "bad argument #2 to 'add_date' (integer expected, got number)")
  return true
end

function M.round_and_truncate()
  local t = d(2024, 1, 1, 12, 34, 56, 789000000)
  assert.eq(t:round(time.parse_duration("1s")):format("15:04:05.999"), "12:34:57")
  assert.eq(t:truncate(time.parse_duration("1m")):format("15:04:05.999"), "12:34:00")
  assert.eq(d(2024, 1, 1, 12, 34, 56):round(time.parse_duration("7h")):format("15:04:05"), "14:00:00")
  -- strings and numbers are accepted too (moonhost extension)
  assert.eq(t:round("1h"):format("15:04"), "13:00")
  assert.eq(t:truncate(S):format("05.999"), "56")
  -- halfway rounds up
  assert.eq(d(2024, 1, 1, 12, 0, 0, 500000000):round("1s"):format("05"), "01")
  assert.eq(d(2024, 1, 1, 12, 0, 0, 499999999):round("1s"):format("05"), "00")
  -- d <= 0: unchanged
  assert.eq(t:round(0):equal(t), true)
  assert.eq(t:truncate("-1s"):equal(t), true)
  -- on the instant, not the wall clock: 10:45 at +05:30 is 05:15Z
  local ist = time.fixed_zone("IST", 5 * 3600 + 1800)
  assert.eq(d(2024, 1, 1, 10, 45, 0, 0, ist):truncate("1h"):format("15:04 MST"), "10:30 IST")
  -- counted from 0001-01-01, also before it
  assert.eq(d(0, 1, 1, 0, 0, 0, 500000000):round("1s"):format(time.DATE_TIME), "0000-01-01 00:00:01")
  assert.eq(d(0, 1, 1, 0, 0, 0, 500000000):truncate("1s"):format(time.DATE_TIME), "0000-01-01 00:00:00")
  assert.eq(d(2024, 1, 1, 1):truncate(24 * 3600 * S):format(time.DATE_TIME), "2024-01-01 00:00:00")
  assert.raises(function() t:round("x") end, 'time: invalid duration "x"')
  return true
end

function M.comparisons_use_instants()
  local a = d(2024, 1, 1, 12, 0, 0, 0, ny())
  local b = a:utc()
  local c = a:add(1)
  assert.eq(a:equal(b), true)
  assert.eq(a == b, true)
  assert.eq(a:before(c), true)
  assert.eq(c:after(b), true)
  assert.eq(a:after(c), false)
  assert.eq(a < c, true)
  assert.eq(a <= b, true)
  assert.eq(c <= a, false)
  assert.eq(a == time.now(), false)
  for _, m in ipairs({ "equal", "before", "after" }) do
    assert.raises(function() a[m](a, "2024") end,
      "bad argument #1 to '" .. m .. "' (time expected)")
  end
  return true
end

function M.wrong_self_raises_time_expected()
  local t = d(2024, 1, 1)
  for _, m in ipairs({ "year", "format", "add", "sub", "in_location", "unix_nano", "date" }) do
    assert.raises(function() t[m](5) end, "time expected")
    assert.raises(function() t[m]({}) end, "time expected")
    local ok, err = pcall(t[m], time.utc)
    assert.eq(ok, false)
    assert.eq(type(err), "string")
  end
  assert.raises(function() t:format(5) end, "bad argument #1 to 'format' (string expected, got number)")
  return true
end

function M.format_rfc3339_and_tostring()
  local t = d(2024, 1, 1, 0, 0, 0, 5, ny())
  assert.eq(t:format_rfc3339(), "2024-01-01T00:00:00-05:00")
  assert.eq(t:utc():format_rfc3339(), "2024-01-01T05:00:00Z")
  assert.eq(tostring(t), "2024-01-01 00:00:00.000000005 -0500 EST")
  assert.eq(tostring(t:utc()), "2024-01-01 05:00:00.000000005 +0000 UTC")
  assert.eq(tostring(d(2024, 1, 1, 0, 0, 0, 120000000)), "2024-01-01 00:00:00.12 +0000 UTC")
  return true
end

function M.unix_and_unix_nano()
  assert.eq(d(1969, 12, 31, 23, 59, 59, 500000000):unix(), -1)
  assert.eq(d(1969, 12, 31, 23, 59, 59, 500000000):unix_nano(), -500000000)
  assert.eq(math.type(d(2024, 1, 1):unix()), "integer")
  assert.eq(d(2024, 1, 1, 0, 0, 0, 0, ny()):unix(), 1704085200)
  -- outside 1678..2262 unix_nano wraps like Go's int64 arithmetic (Lua's does too)
  local far = d(2300, 1, 1)
  assert.eq(far:unix(), 10413792000)
  assert.eq(far:unix_nano(), far:unix() * 1000000000)
  assert.truthy(far:unix_nano() < 0, "wrapped")
  local early = d(1600, 1, 1)
  assert.eq(early:unix_nano(), early:unix() * 1000000000)
  return true
end

return M
