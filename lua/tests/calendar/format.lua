-- SPEC §9.5 (formatting), §9.7 constants, §9.8 edge cases.
local assert = require("assert")

local M = {}

local MST = time.fixed_zone("MST", -7 * 3600)

local function ref(ns)
  return time.date(2006, 1, 2, 15, 4, 5, ns or 123456789, MST)
end

function M.every_token_formats_like_go()
  local t = ref()
  local cases = {
    { "2006", "2006" }, { "06", "06" }, { "01", "01" }, { "1", "1" }, { "Jan", "Jan" },
    { "January", "January" }, { "02", "02" }, { "2", "2" }, { "_2", " 2" }, { "002", "002" },
    { "__2", "  2" }, { "Mon", "Mon" }, { "Monday", "Monday" }, { "15", "15" }, { "03", "03" },
    { "3", "3" }, { "04", "04" }, { "4", "4" }, { "05", "05" }, { "5", "5" }, { "PM", "PM" },
    { "pm", "pm" }, { "MST", "MST" }, { "Z07:00:00", "-07:00:00" }, { "Z070000", "-070000" },
    { "Z07:00", "-07:00" }, { "Z0700", "-0700" }, { "Z07", "-07" },
    { "-07:00:00", "-07:00:00" }, { "-070000", "-070000" }, { "-07:00", "-07:00" },
    { "-0700", "-0700" }, { "-07", "-07" }, { ".000", ".123" }, { ",000", ",123" },
    { ".999", ".123" }, { ".999999999", ".123456789" }, { ".000000000", ".123456789" },
    { ",999999", ",123456" },
  }
  for _, c in ipairs(cases) do
    assert.eq(t:format(c[1]), c[2], "layout " .. c[1])
  end
  assert.eq(t:format("Mon Jan _2 15:04:05 MST 2006"), "Mon Jan  2 15:04:05 MST 2006")
  return true
end

function M.z_forms_print_z_at_utc_only()
  local u = time.date(2024, 1, 1, 0, 0, 0, 0, time.utc)
  for _, l in ipairs({ "Z07:00:00", "Z070000", "Z07:00", "Z0700", "Z07" }) do
    assert.eq(u:format(l), "Z", l)
  end
  assert.eq(u:format("-07:00"), "+00:00")
  assert.eq(u:format("-0700"), "+0000")
  assert.eq(u:format("-07"), "+00")
  local ny = assert(time.load_location("America/New_York"))
  assert.eq(u:in_location(ny):format("Z07:00"), "-05:00")
  assert.eq(u:in_location(ny):format("Z0700"), "-0500")
  assert.eq(u:in_location(time.fixed_zone("", 0)):format("Z07:00 MST"), "Z +0000")
  return true
end

function M.fractional_seconds()
  local t = ref(120000000)
  assert.eq(t:format("05.000"), "05.120")
  assert.eq(t:format("05.999"), "05.12")
  assert.eq(t:format("05.999999999"), "05.12")
  assert.eq(t:format("05,999"), "05,12")
  assert.eq(t:format("05.0"), "05.1")
  -- truncated, not rounded
  assert.eq(ref(999999999):format("05.00"), "05.99")
  -- all zeros: .999 prints nothing at all
  local z = ref(0)
  assert.eq(z:format("05.999"), "05")
  assert.eq(z:format("05.000"), "05.000")
  assert.eq(ref(5):format("05.999"), "05")
  assert.eq(ref(5):format("05.999999999"), "05.000000005")
  -- a run followed by a digit is not a fraction
  assert.eq(t:format(".0001"), ".0001")
  return true
end

function M.token_rules()
  local t = ref(0)
  assert.eq(t:format("Janet Month"), "Janet Month")
  assert.eq(t:format("JanX MonX"), "JanX MonX")
  assert.eq(t:format("_2006"), "_2006")
  assert.eq(t:format("15 1 5"), "15 1 5")
  assert.eq(t:format("0 07 08"), "0 07 08")
  assert.eq(t:format("2006-01-02T15:04:05Z07:00"), "2006-01-02T15:04:05-07:00")
  assert.eq(time.date(2024, 3, 9, 0, 0, 0, 0, time.utc):format("1 2 _2 002 __2 3 4 5"),
    "3 9  9 069  69 12 0 0")
  return true
end

function M.twelve_hour_clock()
  local function at(h) return time.date(2024, 1, 1, h, 5, 0, 0, time.utc) end
  assert.eq(at(0):format("3:04PM 03 pm"), "12:05AM 12 am")
  assert.eq(at(12):format("3:04PM 03 pm"), "12:05PM 12 pm")
  assert.eq(at(13):format("3:04PM 03 pm"), "1:05PM 01 pm")
  assert.eq(at(11):format(time.KITCHEN), "11:05AM")
  return true
end

function M.years_pad_to_four_digits()
  local function y(n) return time.date(n, 1, 1, 0, 0, 0, 0, time.utc) end
  assert.eq(y(5):format("2006"), "0005")
  assert.eq(y(0):format("2006 06"), "0000 00")
  assert.eq(y(-5):format("2006 06"), "-0005 -05")
  assert.eq(y(-1234):format("2006"), "-1234")
  assert.eq(y(2000):format("06"), "00")
  assert.eq(y(1999):format("06"), "99")
  return true
end

function M.non_ascii_bytes_are_literal()
  local t = time.date(2024, 2, 29, 0, 0, 0, 0, time.utc)
  assert.eq(t:format("2006年01月02日"), "2024年02月29日")
  assert.eq(t:format("Jan\xffMon"), "Feb\xffThu")
  return true
end

function M.format_never_fails_and_checks_its_argument()
  local t = ref()
  for _, l in ipairs({ "", "x", "%Y-%m-%d", "999", "..", "Z", "-", "__", "MS", "Mo" }) do
    assert.eq(type(t:format(l)), "string", l)
  end
  assert.eq(t:format(""), "")
  assert.eq(t:format("%Y"), "%Y")
  assert.raises(function() t:format() end, "bad argument #1 to 'format' (string expected, got nil)")
  assert.raises(function() t:format({}) end, "bad argument #1 to 'format' (string expected, got table)")
  return true
end

function M.layout_constants()
  local want = {
    RFC822 = "02 Jan 06 15:04 MST", RFC822Z = "02 Jan 06 15:04 -0700",
    RFC850 = "Monday, 02-Jan-06 15:04:05 MST", RFC1123 = "Mon, 02 Jan 2006 15:04:05 MST",
    RFC1123Z = "Mon, 02 Jan 2006 15:04:05 -0700", KITCHEN = "3:04PM", STAMP = "Jan _2 15:04:05",
    STAMP_MILLI = "Jan _2 15:04:05.000", STAMP_MICRO = "Jan _2 15:04:05.000000",
    STAMP_NANO = "Jan _2 15:04:05.000000000", RFC3339 = "2006-01-02T15:04:05Z07:00",
    RFC3339NANO = "2006-01-02T15:04:05.999999999Z07:00", DATE_TIME = "2006-01-02 15:04:05",
    DATE_ONLY = "2006-01-02", TIME_ONLY = "15:04:05",
  }
  for k, v in pairs(want) do assert.eq(time[k], v, "time." .. k) end
  -- the reference time prints as its own layout
  local t = ref(0)
  for _, k in ipairs({ "RFC822", "RFC822Z", "RFC850", "RFC1123", "RFC1123Z", "KITCHEN",
    "DATE_TIME", "DATE_ONLY", "TIME_ONLY" }) do
    assert.eq(t:format(want[k]), want[k], "format " .. k)
  end
  assert.eq(t:format(time.STAMP), "Jan  2 15:04:05")
  assert.eq(t:format(time.RFC3339), "2006-01-02T15:04:05-07:00")
  local ny = assert(time.load_location("America/New_York"))
  local j = time.date(2024, 1, 5, 9, 7, 3, 4000000, ny)
  assert.eq(j:format(time.RFC1123), "Fri, 05 Jan 2024 09:07:03 EST")
  assert.eq(j:format(time.RFC1123Z), "Fri, 05 Jan 2024 09:07:03 -0500")
  assert.eq(j:format(time.RFC850), "Friday, 05-Jan-24 09:07:03 EST")
  assert.eq(j:format(time.STAMP_MILLI), "Jan  5 09:07:03.004")
  assert.eq(j:format(time.RFC3339NANO), "2024-01-05T09:07:03.004-05:00")
  return true
end

return M
