//! The `time` Lua module (SPEC §4): durations, sleep, after, timer, ticker, now, Time and
//! Duration objects, constants. Every reading goes through the core's `Clock`, so a
//! virtual clock changes nothing here.
//!

use super::args::{Ret, arg, block_on, core, fail, ret};
use super::{duration, timers};
use crate::request::Request;
use mlua::{AnyUserData, Lua, MetaMethod, MultiValue, Table, UserData, UserDataMethods, Value};

/// A point in time: unix nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct TimeObj(pub i64);

/// A span of time in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct DurationObj(pub i64);

/// Reads argument #1 of `func` as a duration: integer/float nanoseconds, Go string, or
/// Duration.
///
/// # Errors
/// Go's parse messages, or `<func>: bad argument #1 (expected duration, got <type>)`.
pub fn to_duration(v: &Value, func: &str) -> Result<i64, String> {
    match v {
        Value::Integer(i) => Ok(*i),
        Value::Number(n) => float_duration(*n, func),
        Value::String(s) => duration::parse(&s.to_string_lossy()),
        Value::UserData(ud) => match ud.borrow::<DurationObj>() {
            Ok(d) => Ok(d.0),
            Err(_) => Err(super::args::bad_arg(func, 1, "duration", v)),
        },
        other => Err(super::args::bad_arg(func, 1, "duration", other)),
    }
}

/// A float number of nanoseconds, refused when it is NaN, infinite or outside the int64
/// nanosecond range (a saturated 292-year sleep would block forever).
fn float_duration(n: f64, func: &str) -> Result<i64, String> {
    // 2^63 is exactly representable; every float below it in magnitude fits an i64.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if n.is_finite() && (-LIMIT..LIMIT).contains(&n) {
        Ok(n as i64)
    } else {
        Err(format!("{func}: duration out of range ({n:e} nanoseconds)"))
    }
}

fn civil(unix_ns: i64) -> (i64, u32, u32, u32, u32, u32, u32) {
    let secs = unix_ns.div_euclid(1_000_000_000);
    let nanos = unix_ns.rem_euclid(1_000_000_000) as u32;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400) as u32;
    // Howard Hinnant's days -> civil date.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, sod / 3600, sod / 60 % 60, sod % 60, nanos)
}

/// RFC 3339 in UTC, with nanoseconds when `nano` and non-zero.
pub fn rfc3339(unix_ns: i64, nano: bool) -> String {
    let (y, mo, d, h, mi, s, ns) = civil(unix_ns);
    let mut out = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
    if nano && ns != 0 {
        let f = format!("{ns:09}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

// A TimeObj reads as a Time in the local zone; its methods (SPEC §9.4) live in
// lua/calendar.rs, shared with the calendar's own Time values.
impl UserData for TimeObj {
    fn register(reg: &mut mlua::UserDataRegistry<Self>) {
        super::calendar::time_metatable(reg);
    }
}

impl UserData for DurationObj {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        m.add_method("nanoseconds", |_, d, ()| Ok(d.0));
        m.add_method("microseconds", |_, d, ()| Ok(d.0 / 1_000));
        m.add_method("milliseconds", |_, d, ()| Ok(d.0 / 1_000_000));
        m.add_method("seconds", |_, d, ()| Ok(d.0 as f64 / 1e9));
        m.add_method("minutes", |_, d, ()| Ok(d.0 as f64 / 6e10));
        m.add_method("hours", |_, d, ()| Ok(d.0 as f64 / 3.6e12));
        m.add_meta_method(MetaMethod::ToString, |_, d, ()| Ok(duration::format(d.0)));
        m.add_meta_method(MetaMethod::Eq, |_, d, o: AnyUserData| {
            Ok(o.borrow::<DurationObj>()
                .map(|o| o.0 == d.0)
                .unwrap_or(false))
        });
        m.add_meta_method(MetaMethod::Lt, |_, d, o: AnyUserData| {
            Ok(d.0 < o.borrow::<DurationObj>()?.0)
        });
        m.add_meta_method(MetaMethod::Le, |_, d, o: AnyUserData| {
            Ok(d.0 <= o.borrow::<DurationObj>()?.0)
        });
    }
}

/// Adds the raw time functions and constants to the prelude's `raw` table.
pub fn open(lua: &Lua, raw: &Table) -> mlua::Result<()> {
    raw.set("sleep", lua.create_function(sleep)?)?;
    raw.set("after", lua.create_function(after)?)?;
    raw.set("timer", lua.create_function(timer)?)?;
    raw.set("ticker", lua.create_function(ticker)?)?;
    raw.set(
        "now",
        lua.create_function(|lua, ()| Ok(TimeObj(core(lua)?.wall_ns_seen())))?,
    )?;
    raw.set("parse_duration", lua.create_function(parse_duration)?)?;
    raw.set("time_consts", constants(lua)?)?;
    Ok(())
}

fn constants(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    let units: [(&str, i64); 6] = [
        ("NANOSECOND", 1),
        ("MICROSECOND", 1_000),
        ("MILLISECOND", 1_000_000),
        ("SECOND", 1_000_000_000),
        ("MINUTE", 60_000_000_000),
        ("HOUR", 3_600_000_000_000),
    ];
    for (k, v) in units {
        t.set(k, v)?;
    }
    let months = [
        "JANUARY",
        "FEBRUARY",
        "MARCH",
        "APRIL",
        "MAY",
        "JUNE",
        "JULY",
        "AUGUST",
        "SEPTEMBER",
        "OCTOBER",
        "NOVEMBER",
        "DECEMBER",
    ];
    for (i, m) in months.iter().enumerate() {
        t.set(*m, i as i64 + 1)?;
    }
    let days = [
        "SUNDAY",
        "MONDAY",
        "TUESDAY",
        "WEDNESDAY",
        "THURSDAY",
        "FRIDAY",
        "SATURDAY",
    ];
    for (i, d) in days.iter().enumerate() {
        t.set(*d, i as i64)?;
    }
    t.set("RFC3339", "2006-01-02T15:04:05Z07:00")?;
    t.set("RFC3339NANO", "2006-01-02T15:04:05.999999999Z07:00")?;
    t.set("DATE_TIME", "2006-01-02 15:04:05")?;
    t.set("DATE_ONLY", "2006-01-02")?;
    t.set("TIME_ONLY", "15:04:05")?;
    Ok(t)
}

/// `time.sleep(d)` -> `true` after `d`; `d <= 0` returns at once; bad duration -> `nil, err`.
fn sleep(lua: &Lua, args: MultiValue) -> Ret {
    let d = match to_duration(&arg(&args, 1), "time.sleep") {
        Ok(d) => d,
        Err(e) => return fail(lua, e),
    };
    if d <= 0 {
        return ret(lua, true);
    }
    let mut c = core(lua)?;
    let deadline = c.clock().now().saturating_add(d as u64);
    block_on(lua, &mut c, "time.sleep", Request::Sleep(deadline))
}

/// `time.after(d)` -> channel receiving one Time after `d`, then closed.
fn after(lua: &Lua, args: MultiValue) -> Ret {
    match to_duration(&arg(&args, 1), "time.after") {
        Ok(d) if d <= 0 => fail(lua, "time.after: duration must be > 0"),
        Ok(d) => timers::make(lua, timers::Kind::After, d),
        Err(e) => fail(lua, e),
    }
}

/// `time.timer(d)` -> timer object.
fn timer(lua: &Lua, args: MultiValue) -> Ret {
    match to_duration(&arg(&args, 1), "time.timer") {
        Ok(d) => timers::make(lua, timers::Kind::Timer, d),
        Err(e) => fail(lua, e),
    }
}

/// `time.ticker(d)` -> ticker object; `d <= 0` -> `nil, err`.
fn ticker(lua: &Lua, args: MultiValue) -> Ret {
    match to_duration(&arg(&args, 1), "time.ticker") {
        Ok(d) if d <= 0 => fail(lua, "time.ticker: duration must be > 0"),
        Ok(d) => timers::make(lua, timers::Kind::Ticker, d),
        Err(e) => fail(lua, e),
    }
}

/// `time.parse_duration(v)` -> Duration, or `nil, err` with an error object of kind
/// `INVALID` (SPEC §9.6): Go's message, or `invalid value type: <lua type>`.
fn parse_duration(lua: &Lua, args: MultiValue) -> Ret {
    let v = arg(&args, 1);
    let parsed = match &v {
        Value::Integer(_) | Value::String(_) => to_duration(&v, "time.parse_duration"),
        Value::Number(n) if n.is_finite() => to_duration(&v, "time.parse_duration"),
        Value::UserData(ud) if ud.is::<DurationObj>() => to_duration(&v, "time.parse_duration"),
        other => Err(format!(
            "invalid value type: {}",
            super::args::type_name(other)
        )),
    };
    match parsed {
        Ok(d) => ret(lua, DurationObj(d)),
        Err(e) => ret(
            lua,
            (
                Value::Nil,
                super::errors::ErrorObj::new(super::errors::INVALID, e),
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_and_rfc3339() {
        assert_eq!(rfc3339(0, false), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(951_782_400_000_000_000, false),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(
            rfc3339(1_500_000_000_123_000_000, true),
            "2017-07-14T02:40:00.123Z"
        );
        assert_eq!(rfc3339(-1_000_000_000, false), "1969-12-31T23:59:59Z");
    }
}
