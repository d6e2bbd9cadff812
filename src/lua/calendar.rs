//! Lua bindings of calendar time (SPEC §9): Locations, `time.date`, `time.unix`,
//! `time.parse`, `time.load_location`, `time.fixed_zone`, and the Time methods
//! (`calendar/methods.rs`). The calendar itself is plain Rust in `crate::calendar`.
//!
//! Two userdata types are Times to Lua: [`TimeValue`] (made here, carrying its zone) and
//! the core's [`TimeObj`] (unix nanoseconds from `time.now()` and timer channels), which
//! reads as a Time in the local zone. Both share one metatable whose `__index` is the
//! prelude's table of method wrappers, so a method can raise a plain-string error.

mod methods;

use super::args::{Ret, arg, bad_arg, raise, ret};
use super::errors::{ErrorObj, INVALID, NOT_FOUND};
use super::time::TimeObj;
use crate::calendar::{Time, Zone, layout, parse};
use mlua::{
    Lua, MetaMethod, MultiValue, Table, UserData, UserDataFields, UserDataMethods,
    UserDataRegistry, Value,
};

/// Registry key of the prelude's Time method table.
const TIME_METHODS_KEY: &str = "moonhost.time_methods";

/// Go's `Time.String` layout (without the monotonic suffix).
pub const STRING_LAYOUT: &str = "2006-01-02 15:04:05.999999999 -0700 MST";

/// A Time made by the calendar bindings: an instant plus its zone.
#[derive(Debug, Clone)]
pub struct TimeValue(pub Time);

/// A Location; `None` stands for the runtime's local zone (`time.localtz`), resolved when
/// used because the prelude is built before the runtime knows its clock.
#[derive(Debug, Clone)]
pub struct LocationObj(pub Option<Zone>);

/// The runtime's local zone, kept in the Lua state's app data once resolved.
#[derive(Debug, Clone)]
pub struct LocalZone(pub Zone);

/// Sets the local zone of the runtime that owns `lua` (embedders: SPEC §9.2 "the Rust
/// builder may set it explicitly"). Times already made keep their zone.
pub fn set_local_zone(lua: &Lua, zone: Zone) {
    lua.set_app_data(LocalZone(zone));
}

/// The local zone: UTC on a virtual clock (simulation), otherwise from `TZ` (SPEC §9.2).
pub fn local_zone(lua: &Lua) -> Zone {
    if let Some(z) = lua.app_data_ref::<LocalZone>() {
        return z.0.clone();
    }
    let from_env = || Zone::local_from_tz(std::env::var("TZ").ok().as_deref());
    let zone = match crate::ffi::cell::held::<crate::core::Core>(lua) {
        Ok(c) if c.clock().is_virtual() => Zone::utc(),
        Err(crate::ffi::cell::CellError::Absent) | Ok(_) => from_env(),
        // The core is busy (a finalizer's call): answer without caching a guess.
        Err(crate::ffi::cell::CellError::Busy) => return from_env(),
    };
    set_local_zone(lua, zone.clone());
    zone
}

/// The Time a value holds (either userdata type), if it is one.
pub fn time_of(lua: &Lua, v: &Value) -> Option<Time> {
    let Value::UserData(ud) = v else {
        return None;
    };
    if let Ok(t) = ud.borrow::<TimeValue>() {
        return Some(t.0.clone());
    }
    let ns = ud.borrow::<TimeObj>().ok()?.0;
    Time::from_nanos(i128::from(ns), local_zone(lua)).ok()
}

/// The zone a Location value names, if it is one.
pub fn zone_of(lua: &Lua, v: &Value) -> Option<Zone> {
    let Value::UserData(ud) = v else {
        return None;
    };
    let loc = ud.borrow::<LocationObj>().ok()?;
    Some(loc.0.clone().unwrap_or_else(|| local_zone(lua)))
}

/// A Time as a Lua value.
pub fn time_value(lua: &Lua, t: Time) -> mlua::Result<Value> {
    Ok(Value::UserData(lua.create_userdata(TimeValue(t))?))
}

/// Go's `String()` form of a Time.
pub fn time_string(t: &Time) -> String {
    String::from_utf8_lossy(&layout::format(t, STRING_LAYOUT.as_bytes())).into_owned()
}

/// The metatable both Time userdata types share: methods from the prelude's table,
/// `tostring` in Go's form, `==`/`<`/`<=` on instants.
pub fn time_metatable<T: 'static>(reg: &mut UserDataRegistry<T>) {
    reg.add_meta_field_with("__index", |lua| {
        lua.named_registry_value::<Table>(TIME_METHODS_KEY)
    });
    reg.add_meta_field("__name", "time");
    reg.add_meta_function(MetaMethod::ToString, |lua, v: Value| {
        Ok(time_of(lua, &v)
            .map(|t| time_string(&t))
            .unwrap_or_default())
    });
    reg.add_meta_function(MetaMethod::Eq, |lua, (a, b): (Value, Value)| {
        Ok(match (time_of(lua, &a), time_of(lua, &b)) {
            (Some(a), Some(b)) => a.nanos() == b.nanos(),
            _ => false,
        })
    });
    reg.add_meta_function(MetaMethod::Lt, |lua, (a, b): (Value, Value)| {
        let (a, b) = both(lua, &a, &b)?;
        Ok(a.nanos() < b.nanos())
    });
    reg.add_meta_function(MetaMethod::Le, |lua, (a, b): (Value, Value)| {
        let (a, b) = both(lua, &a, &b)?;
        Ok(a.nanos() <= b.nanos())
    });
}

fn both(lua: &Lua, a: &Value, b: &Value) -> mlua::Result<(Time, Time)> {
    match (time_of(lua, a), time_of(lua, b)) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(mlua::Error::runtime(
            "attempt to compare a time with a non-time",
        )),
    }
}

impl UserData for TimeValue {
    fn register(reg: &mut UserDataRegistry<Self>) {
        time_metatable(reg);
    }
}

impl UserData for LocationObj {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        m.add_method("string", |lua, l, ()| Ok(location_name(lua, l)));
        m.add_meta_method(MetaMethod::ToString, |lua, l, ()| Ok(location_name(lua, l)));
    }

    fn add_fields<F: UserDataFields<Self>>(f: &mut F) {
        f.add_meta_field("__name", "location");
    }
}

fn location_name(lua: &Lua, l: &LocationObj) -> String {
    match &l.0 {
        Some(z) => z.name().to_string(),
        None => local_zone(lua).name().to_string(),
    }
}

/// Stores the prelude's wrapped Time methods for the Time metatable.
///
/// # Errors
/// Only Lua allocation failures.
pub fn register(lua: &Lua, methods: Table) -> mlua::Result<()> {
    lua.set_named_registry_value(TIME_METHODS_KEY, methods)
}

/// Adds the raw calendar functions, `utc`/`localtz` and the raw Time methods to `raw`.
///
/// # Errors
/// Only Lua allocation failures.
pub fn open(lua: &Lua, raw: &Table) -> mlua::Result<()> {
    raw.set("cal_date", lua.create_function(date)?)?;
    raw.set("cal_unix", lua.create_function(unix)?)?;
    raw.set("cal_parse", lua.create_function(parse_time)?)?;
    raw.set("load_location", lua.create_function(load_location)?)?;
    raw.set("fixed_zone", lua.create_function(fixed_zone)?)?;
    raw.set("utc", LocationObj(Some(Zone::utc())))?;
    raw.set("localtz", LocationObj(None))?;
    raw.set("time_methods", methods::table(lua)?)?;
    let consts: Table = raw.get("time_consts")?;
    for (k, v) in LAYOUTS {
        consts.set(k, v)?;
    }
    Ok(())
}

/// The layout constants of SPEC §9.7 (the §4 ones are in `time.rs`), Go's values.
const LAYOUTS: [(&str, &str); 10] = [
    ("RFC822", "02 Jan 06 15:04 MST"),
    ("RFC822Z", "02 Jan 06 15:04 -0700"),
    ("RFC850", "Monday, 02-Jan-06 15:04:05 MST"),
    ("RFC1123", "Mon, 02 Jan 2006 15:04:05 MST"),
    ("RFC1123Z", "Mon, 02 Jan 2006 15:04:05 -0700"),
    ("KITCHEN", "3:04PM"),
    ("STAMP", "Jan _2 15:04:05"),
    ("STAMP_MILLI", "Jan _2 15:04:05.000"),
    ("STAMP_MICRO", "Jan _2 15:04:05.000000"),
    ("STAMP_NANO", "Jan _2 15:04:05.000000000"),
];

/// An integer argument: a Lua integer, or a float with an integral value.
pub fn int_of(v: &Value) -> Option<i64> {
    match v {
        Value::Integer(i) => Some(*i),
        Value::Number(n) if n.fract() == 0.0 && n.abs() < 9.2e18 => Some(*n as i64),
        _ => None,
    }
}

/// The optional Location argument `n` of `func`: absent or nil is the local zone.
fn loc_arg(lua: &Lua, args: &MultiValue, n: usize, func: &str) -> Result<Zone, String> {
    match arg(args, n) {
        Value::Nil => Ok(local_zone(lua)),
        v => {
            zone_of(lua, &v).ok_or_else(|| format!("{func}: bad argument #{n} (location expected)"))
        }
    }
}

/// `time.date(year, month, day, hour, min, sec, nsec [, loc])` -> Time, normalised like
/// Go's `time.Date`. Raises `time.date: bad argument #N (expected integer, got <type>)`,
/// `time.date: bad argument #8 (location expected)`, `time: out of range`.
fn date(lua: &Lua, args: MultiValue) -> Ret {
    let mut f = [0i128; 7];
    for (i, slot) in f.iter_mut().enumerate() {
        let v = arg(&args, i + 1);
        match int_of(&v) {
            Some(x) => *slot = i128::from(x),
            None => return raise(lua, bad_arg("time.date", i + 1, "integer", &v)),
        }
    }
    let zone = match loc_arg(lua, &args, 8, "time.date") {
        Ok(z) => z,
        Err(e) => return raise(lua, e),
    };
    match Time::date(f, zone) {
        Ok(t) => ret(lua, TimeValue(t)),
        Err(e) => raise(lua, e.to_string()),
    }
}

/// `time.unix(sec, nsec)` -> Time in the local zone. Raises
/// `time.unix: bad argument #N (expected integer, got <type>)`, `time: out of range`.
fn unix(lua: &Lua, args: MultiValue) -> Ret {
    let mut parts = [0i128; 2];
    for (i, slot) in parts.iter_mut().enumerate() {
        let v = arg(&args, i + 1);
        match int_of(&v) {
            Some(x) => *slot = i128::from(x),
            None => return raise(lua, bad_arg("time.unix", i + 1, "integer", &v)),
        }
    }
    match Time::from_unix(parts[0], parts[1], local_zone(lua)) {
        Ok(t) => ret(lua, TimeValue(t)),
        Err(e) => raise(lua, e.to_string()),
    }
}

/// `time.parse(layout, value [, loc])` -> Time, or `nil, err` (kind `INVALID`, Go's
/// message). Raises `time.parse: bad argument #N (expected string, got <type>)` and
/// `time.parse: bad argument #3 (location expected)`.
fn parse_time(lua: &Lua, args: MultiValue) -> Ret {
    let (layout, value) = match (arg(&args, 1), arg(&args, 2)) {
        (Value::String(l), Value::String(v)) => (l, v),
        (Value::String(_), v) => return raise(lua, bad_arg("time.parse", 2, "string", &v)),
        (l, _) => return raise(lua, bad_arg("time.parse", 1, "string", &l)),
    };
    let zone = match loc_arg(lua, &args, 3, "time.parse") {
        Ok(z) => z,
        Err(e) => return raise(lua, e),
    };
    match parse::parse(&layout.as_bytes(), &value.as_bytes(), &zone) {
        Ok(t) => ret(lua, TimeValue(t)),
        Err(parse::ParseError::Range(e)) => raise(lua, e.to_string()),
        Err(e) => ret(lua, (Value::Nil, ErrorObj::new(INVALID, e.to_string()))),
    }
}

/// `time.load_location(name)` -> Location, or `nil, err` (SPEC §9.2 kinds and messages).
/// Raises `time.load_location: bad argument #1 (expected string, got <type>)`.
fn load_location(lua: &Lua, args: MultiValue) -> Ret {
    let name = match arg(&args, 1) {
        Value::String(s) => s.to_string_lossy(),
        v => return raise(lua, bad_arg("time.load_location", 1, "string", &v)),
    };
    if name == "Local" {
        return ret(lua, LocationObj(None));
    }
    match Zone::load(&name) {
        Ok(z) => ret(lua, LocationObj(Some(z))),
        Err(e) => {
            let kind = match e {
                crate::calendar::zone::LoadError::Empty => INVALID,
                _ => NOT_FOUND,
            };
            ret(lua, (Value::Nil, ErrorObj::new(kind, e.to_string())))
        }
    }
}

/// `time.fixed_zone(name, offset_seconds)` -> Location. Raises
/// `time.fixed_zone: bad argument #1 (expected string, got <type>)` and
/// `time.fixed_zone: bad argument #2 (expected integer, got <type>)`.
fn fixed_zone(lua: &Lua, args: MultiValue) -> Ret {
    let name = match arg(&args, 1) {
        Value::String(s) => s.to_string_lossy(),
        v => return raise(lua, bad_arg("time.fixed_zone", 1, "string", &v)),
    };
    let off = arg(&args, 2);
    match int_of(&off).and_then(|o| i32::try_from(o).ok()) {
        Some(o) => ret(lua, LocationObj(Some(Zone::fixed(&name, o)))),
        None => raise(lua, bad_arg("time.fixed_zone", 2, "integer", &off)),
    }
}
