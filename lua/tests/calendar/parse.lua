-- SPEC §9.5 (parsing): Go's reference layouts, zone rules and exact error messages.
-- Every parse names its location, except the test that says it reads the local zone.
local assert = require("assert")

local M = {}
local GO = "2006-01-02 15:04:05.999999999 -0700 MST"
local UTC = time.utc

local function ny() return assert(time.load_location("America/New_York")) end

-- Parses and returns Go's String() form of the result.
local function p(layout, value, loc)
  local t, err = time.parse(layout, value, loc or UTC)
  assert.truthy(t, "parse(" .. layout .. ", " .. value .. "): " .. tostring(err))
  return t:format(GO), t
end

-- Expects parse to fail with exactly `msg` (an INVALID error object).
local function bad(layout, value, msg)
  local t, err = time.parse(layout, value, UTC)
  assert.eq(t, nil, "parse(" .. layout .. ", " .. value .. ") succeeded")
  assert.eq(type(err), "userdata")
  assert.eq(err:kind(), errors.INVALID)
  assert.eq(err:retryable(), false)
  assert.eq(tostring(err), msg)
end

function M.parse_spec_examples()
  bad("2006-01-02", "invalid-date",
    'parsing time "invalid-date" as "2006-01-02": cannot parse "invalid-date" as "2006"')
  bad("2006-01-02", "2024/12/29",
    'parsing time "2024/12/29" as "2006-01-02": cannot parse "/12/29" as "-"')
  bad("2006-01-02", "2024-13-01", 'parsing time "2024-13-01": month out of range')
  assert.eq(p(time.RFC3339, "2024-12-29T10:20:30Z"), "2024-12-29 10:20:30 +0000 UTC")
  return true
end

function M.parse_mismatch_messages()
  -- the whole literal run is named, and the value from the point of mismatch
  bad("2006-01-02 at 15h", "2024-01-02 on 10h",
    'parsing time "2024-01-02 on 10h" as "2006-01-02 at 15h": cannot parse "on 10h" as " at "')
  bad("Jan 2", "Foo 2", 'parsing time "Foo 2" as "Jan 2": cannot parse "Foo 2" as "Jan"')
  bad("01", "1", 'parsing time "1" as "01": cannot parse "1" as "01"')
  bad("2006", "24", 'parsing time "24" as "2006": cannot parse "24" as "2006"')
  bad("3PM", "3pm", 'parsing time "3pm" as "3PM": cannot parse "pm" as "PM"')
  bad("05.000", "01.12", 'parsing time "01.12" as "05.000": cannot parse ".12" as ".000"')
  bad("MST", "AB", 'parsing time "AB" as "MST": cannot parse "AB" as "MST"')
  bad("-07:00", "+0100", 'parsing time "+0100" as "-07:00": cannot parse "+0100" as "-07:00"')
  bad("Z07:00", "z", 'parsing time "z" as "Z07:00": cannot parse "z" as "Z07:00"')
  -- quoting: `"` and `\` escaped, control and non-ASCII bytes as \xhh
  bad("2006", 'a"b\\c\n\xc3\xa9',
    'parsing time "a\\"b\\\\c\\x0a\\xc3\\xa9" as "2006": cannot parse "a\\"b\\\\c\\x0a\\xc3\\xa9" as "2006"')
  return true
end

function M.parse_range_messages()
  bad("2006-01-02", "2024-00-10", 'parsing time "2024-00-10": month out of range')
  bad("2006-01-02", "2024-02-30", 'parsing time "2024-02-30": day out of range')
  bad("2006-01-02", "2023-02-29", 'parsing time "2023-02-29": day out of range')
  bad("2006-01-02", "2024-04-31", 'parsing time "2024-04-31": day out of range')
  bad("2006-01-02", "2024-01-00", 'parsing time "2024-01-00": day out of range')
  bad("15:04", "24:00", 'parsing time "24:00": hour out of range')
  bad("3:04", "13:00", 'parsing time "13:00": hour out of range')
  bad("15:04", "10:60", 'parsing time "10:60": minute out of range')
  bad("15:04:05", "10:00:60", 'parsing time "10:00:60": second out of range')
  bad("05.000", "01.-12", 'parsing time "01.-12": fractional second out of range')
  bad("-0700", "+2500", 'parsing time "+2500": time zone offset hour out of range')
  bad("-0700", "+0061", 'parsing time "+0061": time zone offset minute out of range')
  bad("-07:00:00", "+00:00:61", 'parsing time "+00:00:61": time zone offset second out of range')
  -- 24 hours, 60 minutes and 60 seconds are allowed in offsets
  assert.eq(p("2006 -07:00", "2024 +24:00"), "2024-01-01 00:00:00 +2400 +2400")
  bad("2006", "2024x", 'parsing time "2024x": extra text: "x"')
  bad("2006", "2024 ", 'parsing time "2024 ": extra text: " "')
  return true
end

function M.parse_day_of_year()
  assert.eq(p("2006 002", "2024 060"), "2024-02-29 00:00:00 +0000 UTC")
  assert.eq(p("2006 002", "2023 060"), "2023-03-01 00:00:00 +0000 UTC")
  assert.eq(p("2006 002", "2024 366"), "2024-12-31 00:00:00 +0000 UTC")
  assert.eq(p("2006 __2", "2024   5"), "2024-01-05 00:00:00 +0000 UTC")
  assert.eq(p("2006 __2", "2024 123"), "2024-05-02 00:00:00 +0000 UTC")
  assert.eq(p("2006-01-02 002", "2024-02-29 060"), "2024-02-29 00:00:00 +0000 UTC")
  bad("2006 002", "2023 366", 'parsing time "2023 366": day-of-year out of range')
  bad("2006 002", "2024 000", 'parsing time "2024 000": day-of-year out of range')
  bad("2006-01 002", "2024-02 001", 'parsing time "2024-02 001": day-of-year does not match month')
  bad("2006-01-02 002", "2024-01-02 001",
    'parsing time "2024-01-02 001": day-of-year does not match day')
  bad("2006 002", "2024 60", 'parsing time "2024 60" as "2006 002": cannot parse "60" as "002"')
  return true
end

function M.parse_defaults_and_fields()
  assert.eq(p("15:04", "10:30"), "0000-01-01 10:30:00 +0000 UTC")
  assert.eq(p("Jan 2", "Feb 3"), "0000-02-03 00:00:00 +0000 UTC")
  assert.eq(p("January 2, 2006", "march 9, 2024"), "2024-03-09 00:00:00 +0000 UTC")
  assert.eq(p("Jan _2 2006", "DEC  5 2024"), "2024-12-05 00:00:00 +0000 UTC")
  assert.eq(p("Jan _2 2006", "Dec 15 2024"), "2024-12-15 00:00:00 +0000 UTC")
  assert.eq(p("2 1 2006", "7 3 2024"), "2024-03-07 00:00:00 +0000 UTC")
  -- weekdays are parsed and ignored (2024-01-05 is a Friday)
  assert.eq(p("Mon Jan 2 2006", "Sun Jan 5 2024"), "2024-01-05 00:00:00 +0000 UTC")
  assert.eq(p("Monday 2006", "tuesday 2024"), "2024-01-01 00:00:00 +0000 UTC")
  -- two-digit years: 69-99 -> 19xx, 00-68 -> 20xx
  assert.eq(p("06", "69"):sub(1, 4), "1969")
  assert.eq(p("06", "68"):sub(1, 4), "2068")
  assert.eq(p("06", "00"):sub(1, 4), "2000")
  assert.eq(p("2006", "0000"):sub(1, 4), "0000")
  -- runs of spaces
  assert.eq(p("2006 01", "2024    03"), "2024-03-01 00:00:00 +0000 UTC")
  assert.eq(p("2006 ", "2024"), "2024-01-01 00:00:00 +0000 UTC")
  bad("2006 01", "2024-03", 'parsing time "2024-03" as "2006 01": cannot parse "-03" as " "')
  return true
end

function M.parse_fractional_seconds()
  local _, t = p("15:04:05", "10:30:00.123")
  assert.eq(t:nanosecond(), 123000000)
  _, t = p("15:04:05", "10:30:00,5")
  assert.eq(t:nanosecond(), 500000000)
  _, t = p("15:04:05.000", "10:30:00.120")
  assert.eq(t:nanosecond(), 120000000)
  _, t = p("15:04:05,000", "10:30:00.120")
  assert.eq(t:nanosecond(), 120000000)
  _, t = p("15:04:05.999", "10:30:00")
  assert.eq(t:nanosecond(), 0)
  _, t = p("15:04:05.999", "10:30:00.123456789123")
  assert.eq(t:nanosecond(), 123456789)
  _, t = p("15:04:05.999999999", "10:30:00.000000005")
  assert.eq(t:nanosecond(), 5)
  _, t = p(time.RFC3339NANO, "2024-01-01T00:00:00.5Z")
  assert.eq(t:nanosecond(), 500000000)
  return true
end

function M.parse_am_pm()
  assert.eq(p("3:04PM", "3:04PM"):sub(12, 16), "15:04")
  assert.eq(p("3:04PM", "12:00AM"):sub(12, 16), "00:00")
  assert.eq(p("3:04PM", "12:00PM"):sub(12, 16), "12:00")
  assert.eq(p("03:04pm", "11:59pm"):sub(12, 16), "23:59")
  assert.eq(p("3:04pm", "1:00am"):sub(12, 16), "01:00")
  -- PM with a 24-hour field above 12 is left alone
  assert.eq(p("15:04 PM", "13:00 PM"):sub(12, 16), "13:00")
  bad("3PM", "3XM", 'parsing time "3XM" as "3PM": cannot parse "XM" as "PM"')
  return true
end

function M.parse_zone_z_and_utc()
  local _, t = p(time.RFC3339, "2024-07-01T10:00:00Z", ny())
  assert.eq(t:location():string(), "UTC")
  _, t = p("2006-01-02 15:04 MST", "2024-07-01 10:00 UTC", ny())
  assert.eq(t:location():string(), "UTC")
  assert.eq(t:unix(), 1719828000)
  return true
end

function M.parse_zone_numeric_offsets()
  -- the offset matches the location at that instant: the result is in the location
  local s, t = p(time.RFC3339, "2024-07-01T10:00:00-04:00", ny())
  assert.eq(s, "2024-07-01 10:00:00 -0400 EDT")
  assert.eq(t:location():string(), "America/New_York")
  -- it does not: a fixed zone named "" with that offset
  s, t = p(time.RFC3339, "2024-07-01T10:00:00+02:00", ny())
  assert.eq(s, "2024-07-01 10:00:00 +0200 +0200")
  assert.eq(t:location():string(), "")
  assert.eq(t:unix(), 1719820800)
  -- winter offset in summer does not match
  s = p(time.RFC3339, "2024-07-01T10:00:00-05:00", ny())
  assert.eq(s, "2024-07-01 10:00:00 -0500 -0500")
  -- every numeric shape
  assert.eq(p("-07", "+05"):sub(21), "+0500 +0500")
  assert.eq(p("-070000", "-043015"):sub(21), "-0430 -0430")
  assert.eq(select(2, p("Z070000", "-043015")):format("-07:00:00"), "-04:30:15")
  assert.eq(p("Z07", "Z"):sub(21), "+0000 UTC")
  -- offset plus abbreviation: both must match the location
  s, t = p("2006-01-02 -0700 MST", "2024-01-15 -0500 EST", ny())
  assert.eq(t:location():string(), "America/New_York")
  s, t = p("2006-01-02 -0700 MST", "2024-01-15 -0500 CDT", ny())
  assert.eq(s, "2024-01-15 00:00:00 -0500 CDT")
  assert.eq(t:location():string(), "CDT")
  return true
end

function M.parse_zone_abbreviations()
  -- an abbreviation the location uses at that time: its offset
  local s, t = p("2006-01-02 15:04 MST", "2024-07-01 10:00 EDT", ny())
  assert.eq(s, "2024-07-01 10:00:00 -0400 EDT")
  assert.eq(t:location():string(), "America/New_York")
  assert.eq(t:unix(), 1719842400)
  s = p("2006-01-02 15:04 MST", "2024-01-01 10:00 EST", ny())
  assert.eq(s, "2024-01-01 10:00:00 -0500 EST")
  -- one it does not use: a fixed zone of that name at offset 0
  s, t = p("2006-01-02 15:04 MST", "2024-07-01 10:00 EDT", UTC)
  assert.eq(s, "2024-07-01 10:00:00 +0000 EDT")
  assert.eq(t:location():string(), "EDT")
  s = p("2006-01-02 15:04 MST", "2024-07-01 10:00 EST", ny())
  assert.eq(s, "2024-07-01 10:00:00 +0000 EST")
  -- GMT+h: offset h, the clock reading kept as UTC (Go's behaviour)
  s, t = p("15:04 MST", "10:00 GMT+3")
  assert.eq(s, "0000-01-01 13:00:00 +0300 GMT+3")
  assert.eq(t:utc():hour(), 10)
  s = p("15:04 MST", "10:00 GMT-11")
  assert.eq(s, "-0001-12-31 23:00:00 -1100 GMT-11")
  -- the shapes Go accepts as abbreviations
  for _, z in ipairs({ "CET", "AEST", "WITA", "CHAST", "ChST", "MeST", "GMT", "+03", "-0330" }) do
    local _, u = p("MST", z)
    assert.eq(u:location():string(), z)
  end
  for _, z in ipairs({ "AB", "ABCD", "ABCDE", "ABCDEF", "+", "cet" }) do
    bad("MST", z, 'parsing time "' .. z .. '" as "MST": cannot parse "' .. z .. '" as "MST"')
  end
  return true
end

function M.parse_without_zone_uses_the_location()
  -- the wall clock in the location, by Go's rule (here a DST gap)
  local s, t = p("2006-01-02 15:04", "2024-03-10 02:30", ny())
  assert.eq(s, "2024-03-10 01:30:00 -0500 EST")
  assert.eq(t:location():string(), "America/New_York")
  local london = assert(time.load_location("Europe/London"))
  s = p(time.DATE_TIME, "2024-10-27 01:30:00", london)
  assert.eq(s, "2024-10-27 01:30:00 +0000 GMT")
  return true
end

function M.parse_defaults_to_the_local_zone()
  -- reads the local zone (Wippy parses in Local, not UTC like Go's time.Parse)
  local t = assert(time.parse(time.DATE_TIME, "2024-06-01 12:00:00"))
  assert.eq(t:location():string(), time.localtz:string())
  assert.eq(t:equal(time.date(2024, 6, 1, 12, 0, 0, 0, time.localtz)), true)
  t = assert(time.parse(time.DATE_TIME, "2024-06-01 12:00:00", nil))
  assert.eq(t:hour(), 12)
  return true
end

function M.parse_bad_arguments()
  assert.raises(function() time.parse(5, "x") end,
    "time.parse: bad argument #1 (expected string, got number)")
  assert.raises(function() time.parse("2006", nil) end,
    "time.parse: bad argument #2 (expected string, got nil)")
  assert.raises(function() time.parse("2006", "2024", "UTC") end,
    "time.parse: bad argument #3 (location expected)")
  return true
end

function M.format_then_parse_round_trips()
  local ny_ = ny()
  for _, t in ipairs({
    time.date(2024, 2, 29, 23, 59, 59, 999999999, ny_),
    time.date(0, 3, 1, 12, 0, 0, 0, UTC),
    time.date(2024, 11, 3, 1, 30, 0, 0, ny_):add("1h"),
  }) do
    local s = t:format(time.RFC3339NANO)
    local back = assert(time.parse(time.RFC3339NANO, s, ny_))
    assert.eq(back:equal(t), true, s)
    assert.eq(back:format(time.RFC3339NANO), s)
  end
  return true
end

return M
