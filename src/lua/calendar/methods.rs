//! The Time methods (SPEC §9.4) as raw functions taking the Time first. The prelude wraps
//! each one so a `RAISE` result becomes a plain-string error at the caller; the wrapped
//! table is the `__index` of both Time userdata types.

use super::{LocationObj, TimeValue, int_of, local_zone, time_of, zone_of};
use crate::calendar::{OutOfRange, Time, layout};
use crate::lua::args::{Ret, arg, raise, ret, type_name};
use crate::lua::time::{DurationObj, to_duration};
use mlua::{Lua, MultiValue, Table, Value};

/// A method body: the Time and the method's own arguments (argument #1 is `args[1]`).
type Method = fn(&Lua, &Time, &MultiValue) -> Ret;

/// Every Time method by name.
const METHODS: &[(&str, Method)] = &[
    ("year", |lua, t, _| ret(lua, t.fields().year)),
    ("month", |lua, t, _| ret(lua, t.fields().month)),
    ("day", |lua, t, _| ret(lua, t.fields().day)),
    ("hour", |lua, t, _| ret(lua, t.fields().hour)),
    ("minute", |lua, t, _| ret(lua, t.fields().min)),
    ("second", |lua, t, _| ret(lua, t.fields().sec)),
    ("nanosecond", |lua, t, _| ret(lua, t.fields().nsec)),
    ("weekday", |lua, t, _| ret(lua, t.fields().weekday)),
    ("year_day", |lua, t, _| ret(lua, t.fields().yday)),
    ("date", |lua, t, _| {
        let f = t.fields();
        ret(lua, (f.year, f.month, f.day))
    }),
    ("clock", |lua, t, _| {
        let f = t.fields();
        ret(lua, (f.hour, f.min, f.sec))
    }),
    ("is_zero", |lua, t, _| ret(lua, t.is_zero())),
    ("location", |lua, t, _| {
        ret(lua, LocationObj(Some(t.zone().clone())))
    }),
    ("utc", |lua, t, _| {
        ret(lua, TimeValue(t.with_zone(crate::calendar::Zone::utc())))
    }),
    ("in_local", |lua, t, _| {
        ret(lua, TimeValue(t.with_zone(local_zone(lua))))
    }),
    ("in_location", in_location),
    ("add", add),
    ("sub", sub),
    ("add_date", add_date),
    ("round", |lua, t, a| {
        by_duration(lua, t, a, "round", Time::round)
    }),
    ("truncate", |lua, t, a| {
        by_duration(lua, t, a, "truncate", Time::truncate)
    }),
    ("equal", |lua, t, a| {
        compare(lua, t, a, "equal", |x, y| x == y)
    }),
    ("before", |lua, t, a| {
        compare(lua, t, a, "before", |x, y| x < y)
    }),
    ("after", |lua, t, a| {
        compare(lua, t, a, "after", |x, y| x > y)
    }),
    ("format", format),
    ("format_rfc3339", |lua, t, _| {
        let s = layout::format(t, b"2006-01-02T15:04:05Z07:00");
        ret(lua, lua.create_string(s)?)
    }),
    ("unix", |lua, t, _| ret(lua, t.unix())),
    ("unix_nano", |lua, t, _| ret(lua, t.unix_nano())),
];

/// The raw method table: each entry takes `(self, ...)` and raises `time expected` for a
/// `self` that is not a Time.
///
/// # Errors
/// Only Lua allocation failures.
pub fn table(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    for &(name, body) in METHODS {
        let f = lua.create_function(move |lua, args: MultiValue| {
            let Some(this) = time_of(lua, &arg(&args, 1)) else {
                return raise(lua, "time expected");
            };
            let rest: MultiValue = args.into_iter().skip(1).collect();
            body(lua, &this, &rest)
        })?;
        t.set(name, f)?;
    }
    Ok(t)
}

/// Argument `n` (1-based) of a method.
fn marg(args: &MultiValue, n: usize) -> Value {
    arg(args, n)
}

fn done(lua: &Lua, r: Result<Time, OutOfRange>) -> Ret {
    match r {
        Ok(t) => ret(lua, TimeValue(t)),
        Err(e) => raise(lua, e.to_string()),
    }
}

fn other_time(lua: &Lua, args: &MultiValue, method: &str) -> Result<Time, String> {
    time_of(lua, &marg(args, 1))
        .ok_or_else(|| format!("bad argument #1 to '{method}' (time expected)"))
}

fn in_location(lua: &Lua, t: &Time, args: &MultiValue) -> Ret {
    match zone_of(lua, &marg(args, 1)) {
        Some(z) => ret(lua, TimeValue(t.with_zone(z))),
        None => raise(lua, "bad argument #1 to 'in_location' (location expected)"),
    }
}

fn add(lua: &Lua, t: &Time, args: &MultiValue) -> Ret {
    match to_duration(&marg(args, 1), "Time:add") {
        Ok(d) => done(lua, t.add(d)),
        Err(e) => raise(lua, e),
    }
}

fn sub(lua: &Lua, t: &Time, args: &MultiValue) -> Ret {
    match other_time(lua, args, "sub") {
        Ok(o) => ret(lua, DurationObj(t.sub(&o))),
        Err(e) => raise(lua, e),
    }
}

fn add_date(lua: &Lua, t: &Time, args: &MultiValue) -> Ret {
    let mut n = [0i64; 3];
    for (i, slot) in n.iter_mut().enumerate() {
        let v = marg(args, i + 1);
        match int_of(&v) {
            Some(x) => *slot = x,
            None => {
                let got = type_name(&v);
                return raise(
                    lua,
                    format!(
                        "bad argument #{} to 'add_date' (integer expected, got {got})",
                        i + 1
                    ),
                );
            }
        }
    }
    done(lua, t.add_date(n[0], n[1], n[2]))
}

fn by_duration(
    lua: &Lua,
    t: &Time,
    args: &MultiValue,
    method: &str,
    op: fn(&Time, i64) -> Result<Time, OutOfRange>,
) -> Ret {
    match to_duration(&marg(args, 1), &format!("Time:{method}")) {
        Ok(d) => done(lua, op(t, d)),
        Err(e) => raise(lua, e),
    }
}

fn compare(
    lua: &Lua,
    t: &Time,
    args: &MultiValue,
    method: &str,
    op: fn(i128, i128) -> bool,
) -> Ret {
    match other_time(lua, args, method) {
        Ok(o) => ret(lua, op(t.nanos(), o.nanos())),
        Err(e) => raise(lua, e),
    }
}

fn format(lua: &Lua, t: &Time, args: &MultiValue) -> Ret {
    match marg(args, 1) {
        Value::String(s) => ret(lua, lua.create_string(layout::format(t, &s.as_bytes()))?),
        v => raise(
            lua,
            format!(
                "bad argument #1 to 'format' (string expected, got {})",
                type_name(&v)
            ),
        ),
    }
}
