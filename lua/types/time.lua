---@meta time
-- LuaLS type stubs for moonhost's `time` module (SPEC §4 and §9). Editor support only.
-- `local time = require("time")`; `time` is also a global with the same table.

---A duration: integer nanoseconds, a Go duration string (`"100ms"`, `"1m30s"`, `"1.5h"`;
---units ns us µs ms s m h) or a `Duration` object.
---@alias DurationLike integer|string|Duration

---@class time
---@field NANOSECOND integer 1
---@field MICROSECOND integer 1000
---@field MILLISECOND integer 1000000
---@field SECOND integer 1000000000
---@field MINUTE integer
---@field HOUR integer
---@field JANUARY integer 1
---@field FEBRUARY integer
---@field MARCH integer
---@field APRIL integer
---@field MAY integer
---@field JUNE integer
---@field JULY integer
---@field AUGUST integer
---@field SEPTEMBER integer
---@field OCTOBER integer
---@field NOVEMBER integer
---@field DECEMBER integer 12
---@field SUNDAY integer 0
---@field MONDAY integer
---@field TUESDAY integer
---@field WEDNESDAY integer
---@field THURSDAY integer
---@field FRIDAY integer
---@field SATURDAY integer 6
---@field RFC3339 string `"2006-01-02T15:04:05Z07:00"`
---@field RFC3339NANO string `"2006-01-02T15:04:05.999999999Z07:00"`
---@field DATE_TIME string `"2006-01-02 15:04:05"`
---@field DATE_ONLY string `"2006-01-02"`
---@field TIME_ONLY string `"15:04:05"`
---@field RFC822 string `"02 Jan 06 15:04 MST"`
---@field RFC822Z string `"02 Jan 06 15:04 -0700"`
---@field RFC850 string `"Monday, 02-Jan-06 15:04:05 MST"`
---@field RFC1123 string `"Mon, 02 Jan 2006 15:04:05 MST"`
---@field RFC1123Z string `"Mon, 02 Jan 2006 15:04:05 -0700"`
---@field KITCHEN string `"3:04PM"`
---@field STAMP string `"Jan _2 15:04:05"`
---@field STAMP_MILLI string `"Jan _2 15:04:05.000"`
---@field STAMP_MICRO string `"Jan _2 15:04:05.000000"`
---@field STAMP_NANO string `"Jan _2 15:04:05.000000000"`
---@field utc Location UTC
---@field localtz Location the local zone (UTC rules under `--seed`)
time = {}

---Blocks the caller for `d`; `d <= 0` returns at once.
---@param d DurationLike
---@return true|nil ok
---@return string|nil err a bad duration, e.g. `time: invalid duration "x"`
function time.sleep(d) end

---A channel that receives one `Time` when `d` has passed and is then closed.
---@param d DurationLike must be > 0
---@return Channel|nil ch
---@return string|nil err `"time.after: duration must be > 0"`
function time.after(d) end

---A one-shot timer firing after `d`.
---@param d DurationLike
---@return Timer|nil timer
---@return string|nil err
function time.timer(d) end

---A ticker firing every `d`.
---@param d DurationLike must be > 0
---@return Ticker|nil ticker
---@return string|nil err `"time.ticker: duration must be > 0"`
function time.ticker(d) end

---The current time of the runtime clock (virtual under `--seed`), in the local zone.
---@return Time
function time.now() end

---Parses a duration. Errors are error objects of kind `INVALID` (SPEC §9.6).
---@param v DurationLike
---@return Duration|nil d
---@return Error|nil err
function time.parse_duration(v) end

---A Time from calendar fields; out-of-range fields normalise as Go's `time.Date` does.
---@param year integer
---@param month integer 1..12 (0 and 13 carry into the year)
---@param day integer
---@param hour integer
---@param min integer
---@param sec integer
---@param nsec integer
---@param loc? Location default `time.localtz`
---@return Time
function time.date(year, month, day, hour, min, sec, nsec, loc) end

---The Time `sec` seconds plus `nsec` nanoseconds after the Unix epoch, in the local zone.
---@param sec integer
---@param nsec integer
---@return Time
function time.unix(sec, nsec) end

---Parses `value` with a Go layout (reference time `Mon Jan 2 15:04:05 MST 2006`).
---Errors are error objects of kind `INVALID` with Go's messages.
---@param layout string
---@param value string
---@param loc? Location zone of values without zone information (default: local)
---@return Time|nil t
---@return Error|nil err
function time.parse(layout, value, loc) end

---A Location from the bundled IANA database (`"UTC"`, `"Local"`, `"America/New_York"`).
---@param name string case-sensitive
---@return Location|nil loc
---@return Error|nil err `empty location name` (INVALID), `unknown time zone <name>` (NOT_FOUND)
function time.load_location(name) end

---A Location with one fixed offset.
---@param name string its name and abbreviation (may be `""`)
---@param offset_seconds integer east of UTC positive
---@return Location
function time.fixed_zone(name, offset_seconds) end

---A set of zone rules. `tostring(loc)` gives its name.
---@class Location
local Location = {}

---The location's name.
---@return string
function Location:string() end

---An instant with nanosecond precision plus a Location. Never modified: methods return new
---values. `==`, `<`, `<=` compare instants. `tostring(t)` gives
---`2024-01-01 00:00:00.000000005 -0500 EST`.
---@class Time
---@operator sub(Time): Duration
local Time = {}

---@return integer
function Time:year() end
---@return integer 1..12
function Time:month() end
---@return integer
function Time:day() end
---@return integer
function Time:hour() end
---@return integer
function Time:minute() end
---@return integer
function Time:second() end
---@return integer
function Time:nanosecond() end
---@return integer 0 (Sunday) .. 6
function Time:weekday() end
---@return integer 1..366
function Time:year_day() end

---Year, month and day.
---@return integer year
---@return integer month
---@return integer day
function Time:date() end

---Hour, minute and second.
---@return integer hour
---@return integer minute
---@return integer second
function Time:clock() end

---Whether this is Go's zero time, 0001-01-01T00:00:00Z.
---@return boolean
function Time:is_zero() end

---@return Location
function Time:location() end
---The same instant in UTC.
---@return Time
function Time:utc() end
---The same instant in the local zone.
---@return Time
function Time:in_local() end
---The same instant in `loc`.
---@param loc Location
---@return Time
function Time:in_location(loc) end

---This time plus `d` (a bad duration raises the Go message).
---@param d DurationLike
---@return Time
function Time:add(d) end

---The duration `self - t`, saturating at the int64 limits.
---@param t Time
---@return Duration
function Time:sub(t) end

---Calendar arithmetic, normalised like `time.date`.
---@param years integer
---@param months integer
---@param days integer
---@return Time
function Time:add_date(years, months, days) end

---The nearest multiple of `d` since Go's zero time (halfway rounds up); `d <= 0`: unchanged.
---@param d DurationLike
---@return Time
function Time:round(d) end

---The lower multiple of `d` since Go's zero time; `d <= 0`: unchanged.
---@param d DurationLike
---@return Time
function Time:truncate(d) end

---@param t Time
---@return boolean
function Time:equal(t) end
---@param t Time
---@return boolean
function Time:before(t) end
---@param t Time
---@return boolean
function Time:after(t) end

---Formats with a Go layout, e.g. `t:format(time.RFC1123)`.
---@param layout string
---@return string
function Time:format(layout) end

---`t:format("2006-01-02T15:04:05Z07:00")`.
---@return string
function Time:format_rfc3339() end

---Seconds since the Unix epoch (floor).
---@return integer
function Time:unix() end

---Nanoseconds since the Unix epoch.
---@return integer
function Time:unix_nano() end

---A span of time in nanoseconds. `tostring(d)` gives Go's form (`1h30m45s`); `==`, `<`, `<=`
---compare.
---@class Duration
local Duration = {}

---@return integer
function Duration:nanoseconds() end
---@return integer
function Duration:microseconds() end
---@return integer
function Duration:milliseconds() end
---@return number
function Duration:seconds() end
---@return number
function Duration:minutes() end
---@return number
function Duration:hours() end

---A one-shot timer from `time.timer`.
---@class Timer
local Timer = {}

---The channel that receives one `Time` when the timer fires, then closes (same object
---every call).
---@return Channel
function Timer:channel() end

---Stops the timer.
---@return boolean pending whether it had not fired yet
function Timer:stop() end

---Re-arms the timer for `d` from now; a stale fire is discarded.
---@param d DurationLike
---@return boolean pending whether it had not fired yet
function Timer:reset(d) end

---A periodic ticker from `time.ticker`.
---@class Ticker
local Ticker = {}

---The channel of ticks (buffer 16; ticks that find it full are dropped).
---@return Channel
function Ticker:channel() end

---The tick period (moonhost extra).
---@return Duration
function Ticker:period() end

---Stops the ticker and closes its channel.
function Ticker:stop() end

return time
