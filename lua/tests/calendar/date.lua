-- SPEC §9.3: time.date normalisation, Go's wall-clock rule in DST gaps and overlaps,
-- time.unix, the supported range, leap years, year 0 and negative years.
local assert = require("assert")

local M = {}
local GO = "2006-01-02 15:04:05.999999999 -0700 MST"

local function d(y, mo, dd, h, mi, s, ns, loc)
  return time.date(y, mo, dd, h or 0, mi or 0, s or 0, ns or 0, loc or time.utc)
end

function M.date_normalises_like_go()
  assert.eq(tostring(d(2024, 14, 32, 25, 61, 61, 1000000005)),
    "2025-03-05 02:02:02.000000005 +0000 UTC")
  assert.eq(tostring(d(2024, 0, 0, -1, 0, 0, 0)), "2023-11-29 23:00:00 +0000 UTC")
  assert.eq(d(2023, 2, 30):format("2006-01-02"), "2023-03-02")
  assert.eq(d(2024, 2, 30):format("2006-01-02"), "2024-03-01")
  assert.eq(d(2024, 13, 1):format("2006-01-02"), "2025-01-01")
  assert.eq(d(2024, 3, 0):format("2006-01-02"), "2024-02-29")
  assert.eq(d(2024, -11, 1):format("2006-01-02"), "2023-01-01")
  assert.eq(d(2024, 1, 1, 0, 0, 0, -1):format(GO), "2023-12-31 23:59:59.999999999 +0000 UTC")
  assert.eq(d(2024, 1, 1, 0, 0, -86400):format("2006-01-02"), "2023-12-31")
  assert.eq(d(2024, 1, 1, 0, 0, 0, 0):format(GO), "2024-01-01 00:00:00 +0000 UTC")
  assert.eq(d(2024, 1, 366):format("2006-01-02"), "2024-12-31")
  assert.eq(d(2024, 1, 1, 48 * 365):format("2006-01-02 15"), "2025-12-31 00")
  return true
end

function M.date_arguments()
  -- integral floats are integers
  assert.eq(time.date(2024.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, time.utc):format(GO),
    "2024-01-02 03:04:05.000000006 +0000 UTC")
  assert.raises(function() time.date(1.5, 1, 1, 0, 0, 0, 0) end,
    "time.date: bad argument #1 (expected integer, got number)")
  assert.raises(function() time.date(2024, 1, "2", 0, 0, 0, 0) end,
    "time.date: bad argument #3 (expected integer, got string)")
  assert.raises(function() time.date(2024, 1, 1, 0, 0, 0) end,
    "time.date: bad argument #7 (expected integer, got nil)")
  assert.raises(function() time.date(2024, 1, 1, 0, 0, 0, 0, "UTC") end,
    "time.date: bad argument #8 (location expected)")
  assert.raises(function() time.date(2024, 1, 1, 0, 0, 0, 0, time.now()) end,
    "time.date: bad argument #8 (location expected)")
  return true
end

function M.date_without_location_is_local()
  -- reads the local zone: the result is in time.localtz, whatever TZ says
  local t = time.date(2024, 6, 1, 12, 0, 0, 0)
  assert.eq(t:location():string(), time.localtz:string())
  assert.eq(t:equal(time.date(2024, 6, 1, 12, 0, 0, 0, time.localtz)), true)
  assert.eq(time.date(2024, 6, 1, 12, 0, 0, 0, nil):equal(t), true)
  assert.eq(t:hour(), 12)
  return true
end

function M.date_out_of_range_raises()
  assert.eq(d(9999, 12, 31, 23, 59, 59, 999999999):format(GO),
    "9999-12-31 23:59:59.999999999 +0000 UTC")
  assert.eq(d(-9999, 1, 1):format("2006-01-02"), "-9999-01-01")
  assert.raises(function() d(10000, 1, 1) end, "time: out of range")
  assert.raises(function() d(-9999, 1, 1, 0, 0, -1) end, "time: out of range")
  assert.raises(function() d(2024, 1, 1, math.maxinteger) end, "time: out of range")
  assert.raises(function() d(math.mininteger, 1, 1) end, "time: out of range")
  assert.raises(function() d(9999, 12, 31, 23, 59, 59, 999999999):add(1) end, "time: out of range")
  assert.raises(function() d(2024, 1, 1):add_date(8000, 0, 0) end, "time: out of range")
  assert.raises(function() time.unix(253402300800, 0) end, "time: out of range")
  return true
end

function M.leap_years()
  assert.eq(d(2024, 2, 29):format("2006-01-02"), "2024-02-29")
  assert.eq(d(2023, 2, 29):format("2006-01-02"), "2023-03-01")
  assert.eq(d(1900, 2, 29):format("2006-01-02"), "1900-03-01")
  assert.eq(d(2000, 2, 29):format("2006-01-02"), "2000-02-29")
  assert.eq(d(2100, 2, 29):format("2006-01-02"), "2100-03-01")
  assert.eq(d(2024, 12, 31):year_day(), 366)
  assert.eq(d(2023, 12, 31):year_day(), 365)
  assert.eq(d(2024, 3, 1):year_day(), 61)
  assert.eq(d(2023, 3, 1):year_day(), 60)
  -- year 0 is a leap year (proleptic Gregorian); -1 is not, -4 is
  assert.eq(d(0, 2, 29):format("2006-01-02"), "0000-02-29")
  assert.eq(d(-1, 2, 29):format("2006-01-02"), "-0001-03-01")
  assert.eq(d(-4, 2, 29):format("2006-01-02"), "-0004-02-29")
  assert.eq(d(0, 12, 31):year_day(), 366)
  return true
end

function M.year_zero_and_negative_years()
  local z = d(0, 1, 1)
  assert.eq(z:year(), 0)
  assert.eq(z:format("2006-01-02 Mon"), "0000-01-01 Sat")
  assert.eq(z:weekday(), 6)
  local n = d(-5, 3, 1, 12)
  assert.eq(n:year(), -5)
  assert.eq(n:format("2006 06 Jan 2"), "-0005 -05 Mar 1")
  assert.eq(tostring(n), "-0005-03-01 12:00:00 +0000 UTC")
  -- one day before 0001-01-01 is 0000-12-31
  assert.eq(d(1, 1, 0):format("2006-01-02"), "0000-12-31")
  assert.eq(d(1, 1, 1):weekday(), 1)
  assert.eq(d(-9999, 1, 1):unix(), -377705116800)
  -- month overflow into negative years
  assert.eq(d(0, -11, 1):format("2006-01-02"), "-0001-01-01")
  return true
end

function M.dst_gap_new_york()
  local ny = assert(time.load_location("America/New_York"))
  -- 2024-03-10 02:00 EST jumps to 03:00 EDT; 02:30 does not exist and lands before the gap
  local t = d(2024, 3, 10, 2, 30, 0, 0, ny)
  assert.eq(tostring(t), "2024-03-10 01:30:00 -0500 EST")
  assert.eq(t:unix(), 1710052200)
  assert.eq(tostring(d(2024, 3, 10, 3, 0, 0, 0, ny)), "2024-03-10 03:00:00 -0400 EDT")
  assert.eq(tostring(d(2024, 3, 10, 1, 59, 59, 0, ny)), "2024-03-10 01:59:59 -0500 EST")
  -- an hour later on the instant is past the gap
  assert.eq(tostring(t:add("1h")), "2024-03-10 03:30:00 -0400 EDT")
  return true
end

function M.dst_overlap_new_york()
  local ny = assert(time.load_location("America/New_York"))
  -- 2024-11-03 02:00 EDT falls back to 01:00 EST; 01:30 happens twice: the earlier wins
  local t = d(2024, 11, 3, 1, 30, 0, 0, ny)
  assert.eq(tostring(t), "2024-11-03 01:30:00 -0400 EDT")
  assert.eq(t:unix(), 1730611800)
  assert.eq(tostring(t:add("1h")), "2024-11-03 01:30:00 -0500 EST")
  assert.eq(tostring(d(2024, 11, 3, 2, 0, 0, 0, ny)), "2024-11-03 02:00:00 -0500 EST")
  -- a day across the change is 25 hours on the instant
  local before = d(2024, 11, 2, 12, 0, 0, 0, ny)
  assert.eq(tostring(before:add_date(0, 0, 1):sub(before)), "25h0m0s")
  return true
end

function M.dst_gap_london()
  local london = assert(time.load_location("Europe/London"))
  -- 2024-03-31 01:00 GMT jumps to 02:00 BST. Go's rule reads 01:30 as UTC first: BST is in
  -- force then, 01:30 - 1h lies before BST began, so GMT (offset 0) is used: 01:30Z.
  local t = d(2024, 3, 31, 1, 30, 0, 0, london)
  assert.eq(tostring(t), "2024-03-31 02:30:00 +0100 BST")
  assert.eq(t:unix(), 1711848600)
  assert.eq(tostring(d(2024, 3, 31, 0, 59, 0, 0, london)), "2024-03-31 00:59:00 +0000 GMT")
  return true
end

function M.dst_overlap_london()
  local london = assert(time.load_location("Europe/London"))
  -- 2024-10-27 02:00 BST falls back to 01:00 GMT; 01:30 read as UTC is already GMT
  -- (offset 0), so Go keeps it: the later of the two instants
  local t = d(2024, 10, 27, 1, 30, 0, 0, london)
  assert.eq(tostring(t), "2024-10-27 01:30:00 +0000 GMT")
  assert.eq(t:unix(), 1729992600)
  assert.eq(tostring(t:add("-1h")), "2024-10-27 01:30:00 +0100 BST")
  assert.eq(tostring(d(2024, 10, 27, 0, 30, 0, 0, london)), "2024-10-27 00:30:00 +0100 BST")
  return true
end

function M.unix_builds_times()
  local t = time.unix(0, 0)
  assert.eq(tostring(t:utc()), "1970-01-01 00:00:00 +0000 UTC")
  assert.eq(time.unix(1, -1):unix_nano(), 999999999)
  assert.eq(time.unix(0, 1500000000):unix(), 1)
  assert.eq(time.unix(0, -1):unix(), -1)
  assert.eq(time.unix(1704067200, 5):utc():format(GO), "2024-01-01 00:00:00.000000005 +0000 UTC")
  assert.eq(time.unix(1.0, 0):unix(), 1)
  -- in the local zone (reads the local zone's name only)
  assert.eq(t:location():string(), time.localtz:string())
  assert.raises(function() time.unix(0) end,
    "time.unix: bad argument #2 (expected integer, got nil)")
  assert.raises(function() time.unix("0", 0) end,
    "time.unix: bad argument #1 (expected integer, got string)")
  assert.raises(function() time.unix(0.5, 0) end,
    "time.unix: bad argument #1 (expected integer, got number)")
  return true
end

return M
