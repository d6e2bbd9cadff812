//! `time.after`, `time.timer` and `time.ticker`, and the timer and ticker objects.
//!
//! The three constructors and the objects' methods are hot C functions (`ffi::hot`): the
//! common case (a numeric or string duration, room under the quotas, a right `self`) runs
//! as a plain Rust function here and its object is built on the Lua stack (`ffi::timerobj`:
//! a plain userdata whose user value is the channel object, made on the first `:channel()`;
//! no mlua handle, so any number of them costs Lua heap only). The channel record is made
//! and armed at once, so a value that fires before `:channel()` waits in its buffer. Everything else goes to the mlua function, which gives the
//! error texts and, at a quota, the prelude's collect-and-retry.

use super::args::{Ret, arg, core, raise, ret};
use super::object::chan_from_bits;
use super::time::{DurationObj, to_duration};
use crate::core::{Core, Quota};
use crate::ffi::hot::{Arg, Call, Fast, Out};
use crate::ffi::timerobj::{self, Clock, Made};
use crate::ids::{ChanId, ProcId};
use crate::message::ChanKind;
use mlua::{Function, Lua, MultiValue, Table, Value};
use slotmap::Key;

/// What a constructor makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `time.after`: the channel alone.
    After,
    /// `time.timer`: a timer object.
    Timer,
    /// `time.ticker`: a ticker object.
    Ticker,
}

impl Kind {
    fn func(self) -> &'static str {
        match self {
            Kind::After => "time.after",
            Kind::Timer => "time.timer",
            Kind::Ticker => "time.ticker",
        }
    }
}

/// Adds `timer_methods`, `ticker_methods` (hot method tables), `COLLECT` and
/// `hot_time(name, slow)` (the hot constructor over the prelude's `slow` wrapper) to the
/// prelude's `raw`.
pub fn open(lua: &Lua, raw: &Table) -> mlua::Result<()> {
    let hot = |fast: Fast, slow: fn(&Lua, MultiValue) -> Ret| {
        crate::ffi::hot::function(lua, fast, lua.create_function(slow)?)
    };
    let t = lua.create_table()?;
    t.set("channel", hot(fast_timer_channel, timer_channel)?)?;
    t.set("stop", hot(fast_timer_stop, timer_stop)?)?;
    t.set("reset", hot(fast_timer_reset, timer_reset)?)?;
    raw.set("timer_methods", t)?;
    let t = lua.create_table()?;
    t.set("channel", hot(fast_ticker_channel, ticker_channel)?)?;
    t.set("period", hot(|_, _| Out::Slow, ticker_period)?)?;
    t.set("stop", hot(fast_ticker_stop, ticker_stop)?)?;
    raw.set("ticker_methods", t)?;
    raw.set("COLLECT", collect_mark())?;
    raw.set(
        "hot_time",
        lua.create_function(|lua, (name, slow): (String, Function)| {
            let fast: Fast = match name.as_str() {
                "after" => fast_after,
                "timer" => fast_timer,
                "ticker" => fast_ticker,
                other => {
                    return Err(mlua::Error::runtime(format!("no hot time.{other}")));
                }
            };
            crate::ffi::hot::function(lua, fast, slow)
        })?,
    )?;
    Ok(())
}

/// Registers the timer and ticker object types with the prelude's method tables.
pub fn register(lua: &Lua, timer: Table, ticker: Table) -> mlua::Result<()> {
    let tostring = |name: &'static str| {
        lua.create_function(move |lua, v: Value| {
            Ok(timerobj::read(lua, &v).map(|c| format!("{name}: {:?}", chan_from_bits(c.chan))))
        })
    };
    timerobj::register(
        lua,
        (timer, tostring("timer")?),
        (ticker, tostring("ticker")?),
        super::object::bury,
    )
}

/// Makes the channel record of a new timer owned by the running process and arms it: it
/// fires after `d` ns, then every `tick` ns when given.
fn arm(c: &mut Core, d: i64, tick: Option<u64>) -> ChanId {
    let owner = c.current_proc().unwrap_or_default();
    let id = c.new_chan(owner, ChanKind::Timer, if tick.is_some() { 16 } else { 1 });
    let deadline = c.clock().now().saturating_add(d.max(0) as u64);
    c.arm_chan(id, deadline, tick);
    id
}

/// What `kind` makes from a channel id: the object for the trampoline to push.
fn made_of(kind: Kind, id: ChanId, d: i64) -> Made {
    let chan = id.data().as_ffi();
    match kind {
        Kind::After => Made::Chan(chan),
        Kind::Timer => Made::Clock(Clock {
            ticker: false,
            chan,
            period: 0,
        }),
        Kind::Ticker => Made::Clock(Clock {
            ticker: true,
            chan,
            period: d as u64,
        }),
    }
}

/// The quota check for `kind`'s timer.
fn quota(kind: Kind) -> fn(&mut Core, ProcId) -> Result<(), Quota> {
    if kind == Kind::Ticker {
        Core::ticker_room
    } else {
        Core::timer_room
    }
}

/// Why a call that makes a timer or channel does not make it.
#[derive(Debug)]
pub enum Refused {
    /// The quota reached (`nil, err` with this text after the function's name).
    Quota(String),
    /// The quota is reached, but what the process dropped still counts until Lua collects
    /// it: the prelude collects (in bounded steps, as `collectgarbage()` does) and calls
    /// once more. Returned to Lua as the COLLECT marker.
    Collect,
}

static COLLECT_MARK: u8 = 0;

/// The marker a binding returns for [`Refused::Collect`].
pub fn collect_mark() -> Value {
    Value::LightUserData(mlua::LightUserData(&COLLECT_MARK as *const u8 as *mut _))
}

/// Checks a quota of the running process (`core/quota.rs`). At the quota it asks the
/// prelude to collect first, at most once per `MADE_PER_FORCED_COLLECT` made (see
/// `Core::quota_may_collect`), so the call after that collection gets the refusal: the
/// collection runs in the process's own slices, never as one long call here.
pub fn room(
    lua: &Lua,
    check: impl Fn(&mut Core, ProcId) -> Result<(), Quota>,
) -> mlua::Result<Result<(), Refused>> {
    Ok(room_in(&mut *core(lua)?, check))
}

fn room_in(
    c: &mut Core,
    check: impl Fn(&mut Core, ProcId) -> Result<(), Quota>,
) -> Result<(), Refused> {
    let Some(p) = c.current_proc() else {
        return Ok(());
    };
    match check(c, p) {
        Ok(()) => Ok(()),
        Err(_) if c.quota_may_collect(p) => Err(Refused::Collect),
        Err(q) => Err(Refused::Quota(q.to_string())),
    }
}

/// The slow half of `time.after`/`timer`/`ticker` once the duration `d` is read (and, for
/// `after` and `ticker`, checked > 0): the object, `nil, "<func>: <quota>"`, or COLLECT.
pub fn make(lua: &Lua, kind: Kind, d: i64) -> Ret {
    let made = {
        let mut c = core(lua)?;
        match room_in(&mut c, quota(kind)) {
            Ok(()) => made_of(
                kind,
                arm(&mut c, d, (kind == Kind::Ticker).then_some(d as u64)),
                d,
            ),
            Err(Refused::Collect) => return ret(lua, collect_mark()),
            Err(Refused::Quota(q)) => {
                return super::args::fail(lua, format!("{}: {q}", kind.func()));
            }
        }
    };
    ret(lua, timerobj::new(lua, made)?)
}

/// A duration argument the fast path takes: an integer or float number of nanoseconds in
/// range, or a duration string that parses. Anything else (a Duration object, an error to
/// report) is the slow binding's.
fn fast_duration(a: Arg<'_>) -> Option<i64> {
    match a {
        Arg::Int(i) => Some(i),
        Arg::Num(n) => to_duration(&Value::Number(n), "").ok(),
        Arg::Str(s) => super::duration::parse(std::str::from_utf8(s).ok()?).ok(),
        _ => None,
    }
}

/// The fast half of a constructor: the object, or a quota's `nil, err`.
fn fast_make(_lua: &Lua, call: &Call<'_>, kind: Kind) -> Out {
    let Some(d) = fast_duration(call.arg(1)).filter(|&d| kind == Kind::Timer || d > 0) else {
        return Out::Slow;
    };
    let Ok(mut c) = call.held::<Core>() else {
        return Out::Slow;
    };
    // At a quota the slow binding decides (it may ask the prelude's wrapper to collect
    // and call again, which `quota_may_collect` allows once per so many made).
    if let Some(p) = c.current_proc()
        && quota(kind)(&mut c, p).is_err()
    {
        return Out::Slow;
    }
    let tick = (kind == Kind::Ticker).then_some(d as u64);
    Out::Made(made_of(kind, arm(&mut c, d, tick), d))
}

fn fast_after(lua: &Lua, call: &Call<'_>) -> Out {
    fast_make(lua, call, Kind::After)
}

fn fast_timer(lua: &Lua, call: &Call<'_>) -> Out {
    fast_make(lua, call, Kind::Timer)
}

fn fast_ticker(lua: &Lua, call: &Call<'_>) -> Out {
    fast_make(lua, call, Kind::Ticker)
}

/// The clock of argument 1 when it is a timer (`ticker` false) or a ticker.
fn clock_arg(call: &Call<'_>, ticker: bool) -> Option<Clock> {
    match call.arg(1) {
        Arg::Clock(c) if c.ticker == ticker => Some(c),
        _ => None,
    }
}

fn fast_timer_channel(_: &Lua, call: &Call<'_>) -> Out {
    match clock_arg(call, false) {
        Some(c) => Out::ClockChannel(c.chan),
        None => Out::Slow,
    }
}

fn fast_ticker_channel(_: &Lua, call: &Call<'_>) -> Out {
    match clock_arg(call, true) {
        Some(c) => Out::ClockChannel(c.chan),
        None => Out::Slow,
    }
}

fn fast_timer_stop(_: &Lua, call: &Call<'_>) -> Out {
    let (Some(t), Ok(mut c)) = (clock_arg(call, false), call.held::<Core>()) else {
        return Out::Slow;
    };
    Out::One(Value::Boolean(c.stop_chan_timer(chan_from_bits(t.chan))))
}

fn fast_ticker_stop(_: &Lua, call: &Call<'_>) -> Out {
    let (Some(t), Ok(mut c)) = (clock_arg(call, true), call.held::<Core>()) else {
        return Out::Slow;
    };
    stop_ticker(&mut c, chan_from_bits(t.chan));
    Out::One(Value::Boolean(true))
}

fn fast_timer_reset(_: &Lua, call: &Call<'_>) -> Out {
    let (Some(t), Some(d)) = (clock_arg(call, false), fast_duration(call.arg(2))) else {
        return Out::Slow;
    };
    let Ok(mut c) = call.held::<Core>() else {
        return Out::Slow;
    };
    Out::One(Value::Boolean(reset(&mut c, chan_from_bits(t.chan), d)))
}

fn stop_ticker(c: &mut Core, chan: ChanId) {
    c.stop_chan_timer(chan);
    c.close(chan);
}

fn reset(c: &mut Core, chan: ChanId, d: i64) -> bool {
    let deadline = c.clock().now().saturating_add(d.max(0) as u64);
    c.reset_chan_timer(chan, deadline).unwrap_or(false)
}

/// The clock argument #1 of `method` (`ticker` telling which kind), or the plain error to
/// raise.
fn this(lua: &Lua, args: &MultiValue, method: &str, ticker: bool) -> Result<Clock, String> {
    let v = arg(args, 1);
    match timerobj::read(lua, &v) {
        Some(c) if c.ticker == ticker => Ok(c),
        _ => Err(super::args::bad_arg(
            method,
            1,
            if ticker { "ticker" } else { "timer" },
            &v,
        )),
    }
}

fn channel_of(lua: &Lua, args: MultiValue, method: &str, ticker: bool) -> Ret {
    match this(lua, &args, method, ticker) {
        Ok(_) => ret(lua, timerobj::channel_of(lua, &arg(&args, 1))),
        Err(e) => raise(lua, e),
    }
}

fn timer_channel(lua: &Lua, args: MultiValue) -> Ret {
    channel_of(lua, args, "Timer:channel", false)
}

fn ticker_channel(lua: &Lua, args: MultiValue) -> Ret {
    channel_of(lua, args, "Ticker:channel", true)
}

fn timer_stop(lua: &Lua, args: MultiValue) -> Ret {
    match this(lua, &args, "Timer:stop", false) {
        Ok(t) => ret(lua, core(lua)?.stop_chan_timer(chan_from_bits(t.chan))),
        Err(e) => raise(lua, e),
    }
}

fn timer_reset(lua: &Lua, args: MultiValue) -> Ret {
    let t = match this(lua, &args, "Timer:reset", false) {
        Ok(t) => t,
        Err(e) => return raise(lua, e),
    };
    let d = match to_duration(&arg(&args, 2), "Timer:reset") {
        Ok(d) => d,
        Err(e) => return raise(lua, e),
    };
    let done = reset(&mut *core(lua)?, chan_from_bits(t.chan), d);
    ret(lua, done)
}

fn ticker_period(lua: &Lua, args: MultiValue) -> Ret {
    match this(lua, &args, "Ticker:period", true) {
        Ok(t) => ret(lua, DurationObj(t.period as i64)),
        Err(e) => raise(lua, e),
    }
}

fn ticker_stop(lua: &Lua, args: MultiValue) -> Ret {
    match this(lua, &args, "Ticker:stop", true) {
        Ok(t) => {
            stop_ticker(&mut *core(lua)?, chan_from_bits(t.chan));
            ret(lua, true)
        }
        Err(e) => raise(lua, e),
    }
}
