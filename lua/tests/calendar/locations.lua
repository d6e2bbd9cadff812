-- SPEC §9.2: Locations. Results do not depend on TZ, except where a test says it reads the
-- local zone.
local assert = require("assert")

local M = {}

local function fails(kind, message, v, err)
  assert.eq(v, nil)
  assert.eq(type(err), "userdata", "error object")
  assert.eq(err:kind(), kind)
  assert.eq(err:retryable(), false)
  assert.eq(tostring(err), message)
end

function M.utc_location()
  assert.eq(time.utc:string(), "UTC")
  assert.eq(tostring(time.utc), "UTC")
  local t = time.date(2024, 1, 1, 0, 0, 0, 0, time.utc)
  assert.eq(t:location():string(), "UTC")
  assert.eq(t:format("-0700 MST"), "+0000 UTC")
  return true
end

function M.load_location_finds_bundled_zones()
  local ny, err = time.load_location("America/New_York")
  assert.eq(err, nil)
  assert.eq(ny:string(), "America/New_York")
  assert.eq(tostring(ny), "America/New_York")
  local utc = assert(time.load_location("UTC"))
  assert.eq(utc:string(), "UTC")
  assert.eq(time.date(2024, 7, 1, 0, 0, 0, 0, utc):format("MST"), "UTC")
  local tokyo = assert(time.load_location("Asia/Tokyo"))
  assert.eq(time.date(2024, 7, 1, 9, 0, 0, 0, tokyo):unix(), 1719792000)
  -- links load under the name given
  local us = assert(time.load_location("US/Eastern"))
  assert.eq(us:string(), "US/Eastern")
  assert.eq(time.date(2024, 1, 1, 0, 0, 0, 0, us):format("MST"), "EST")
  return true
end

function M.load_location_errors()
  fails(errors.INVALID, "empty location name", time.load_location(""))
  fails(errors.NOT_FOUND, "time: invalid location name", time.load_location("../etc/passwd"))
  fails(errors.NOT_FOUND, "time: invalid location name", time.load_location("America/../UTC"))
  fails(errors.NOT_FOUND, "time: invalid location name", time.load_location("/etc/localtime"))
  fails(errors.NOT_FOUND, "time: invalid location name", time.load_location("\\UTC"))
  fails(errors.NOT_FOUND, "unknown time zone Mars/Olympus", time.load_location("Mars/Olympus"))
  -- exact and case-sensitive, as Go on Linux
  fails(errors.NOT_FOUND, "unknown time zone america/new_york",
    time.load_location("america/new_york"))
  fails(errors.NOT_FOUND, "unknown time zone utc", time.load_location("utc"))
  assert.raises(function() time.load_location(5) end,
    "time.load_location: bad argument #1 (expected string, got number)")
  assert.raises(function() time.load_location() end,
    "time.load_location: bad argument #1 (expected string, got nil)")
  return true
end

function M.load_location_local_reads_the_local_zone()
  -- asks for the local zone: its name follows TZ, so only its agreement is checked
  local l = assert(time.load_location("Local"))
  assert.eq(l:string(), time.localtz:string())
  assert.truthy(#time.localtz:string() > 0, "local zone name is empty")
  local t = time.date(2024, 1, 1, 0, 0, 0, 0, l)
  assert.eq(t:unix(), time.date(2024, 1, 1, 0, 0, 0, 0):unix())
  return true
end

function M.fixed_zone_offsets_and_names()
  local ist = time.fixed_zone("IST", 5 * 3600 + 1800)
  assert.eq(ist:string(), "IST")
  local t = time.date(2024, 1, 1, 12, 0, 0, 0, ist)
  assert.eq(t:format("15:04 -07:00 MST"), "12:00 +05:30 IST")
  assert.eq(t:utc():hour(), 6)
  assert.eq(t:utc():minute(), 30)
  -- an empty name prints the numeric form for MST
  local anon = time.fixed_zone("", -(3 * 3600 + 1800))
  assert.eq(anon:string(), "")
  assert.eq(time.date(2024, 1, 1, 0, 0, 0, 0, anon):format("MST"), "-0330")
  assert.eq(tostring(time.date(2024, 1, 1, 0, 0, 0, 0, anon)), "2024-01-01 00:00:00 -0330 -0330")
  -- seconds in an offset
  local odd = time.fixed_zone("", -(4 * 3600 + 56 * 60 + 2))
  assert.eq(time.date(2024, 1, 1, 0, 0, 0, 0, odd):format("-07:00:00 Z070000"), "-04:56:02 -045602")
  assert.eq(time.fixed_zone("z", 3600.0):string(), "z")
  return true
end

function M.fixed_zone_bad_arguments()
  assert.raises(function() time.fixed_zone(nil, 0) end,
    "time.fixed_zone: bad argument #1 (expected string, got nil)")
  assert.raises(function() time.fixed_zone("x", 1.5) end,
    "time.fixed_zone: bad argument #2 (expected integer, got number)")
  assert.raises(function() time.fixed_zone("x", "3600") end,
    "time.fixed_zone: bad argument #2 (expected integer, got string)")
  return true
end

function M.zone_data_is_bundled_and_dated()
  -- offsets and abbreviations come from the bundled IANA data, the same on every machine
  local london = assert(time.load_location("Europe/London"))
  assert.eq(time.date(2024, 7, 1, 12, 0, 0, 0, london):format("-0700 MST"), "+0100 BST")
  assert.eq(time.date(2024, 1, 1, 12, 0, 0, 0, london):format("-0700 MST"), "+0000 GMT")
  local ny = assert(time.load_location("America/New_York"))
  -- before the zone's first transition: local mean time (SPEC §9.8)
  assert.eq(time.date(1800, 1, 1, 0, 0, 0, 0, ny):format("-0700 MST -07:00:00"),
    "-0456 LMT -04:56:02")
  assert.eq(time.unix(-5000000000, 0):in_location(ny):format("-0700 MST"), "-0456 LMT")
  return true
end

return M
