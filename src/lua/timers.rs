//! `time.timer` and `time.ticker` objects. Their methods are raw functions wrapped by the
//! prelude (so a wrong `self` raises a plain string like every other method), and the
//! channel a timer fires into is the object's user value: an object holds no mlua handle, so
//! any number of them costs Lua heap only (a handle each ran mlua out of reference slots).

use super::args::{Ret, arg, core, raise, ret};
use super::channel::new_object;
use super::object::chan_id;
use super::time::{DurationObj, to_duration};
use crate::core::{Core, Quota};
use crate::ids::{ChanId, ProcId};
use crate::message::ChanKind;
use mlua::{AnyUserData, Lua, MultiValue, Table, UserDataFields, UserDataMethods, Value};

/// A `time.timer` object.
#[derive(Debug)]
pub struct TimerObj {
    chan: ChanId,
}

/// A `time.ticker` object.
#[derive(Debug)]
pub struct TickerObj {
    chan: ChanId,
    period: u64,
}

/// Adds `timer_methods` and `ticker_methods` (raw method tables) to the prelude's `raw`.
pub fn open(lua: &Lua, raw: &Table) -> mlua::Result<()> {
    let t = lua.create_table()?;
    t.set("channel", lua.create_function(timer_channel)?)?;
    t.set("stop", lua.create_function(timer_stop)?)?;
    t.set("reset", lua.create_function(timer_reset)?)?;
    raw.set("timer_methods", t)?;
    let t = lua.create_table()?;
    t.set("channel", lua.create_function(ticker_channel)?)?;
    t.set("period", lua.create_function(ticker_period)?)?;
    t.set("stop", lua.create_function(ticker_stop)?)?;
    raw.set("ticker_methods", t)?;
    raw.set("COLLECT", collect_mark())?;
    Ok(())
}

/// Registers the timer and ticker userdata types with the prelude's wrapped methods.
pub fn register(lua: &Lua, timer: Table, ticker: Table) -> mlua::Result<()> {
    lua.register_userdata_type::<TimerObj>(move |reg| {
        reg.add_meta_field("__index", timer);
        reg.add_meta_field("__name", "timer");
        reg.add_meta_method("__tostring", |_, t: &TimerObj, ()| {
            Ok(format!("timer: {:?}", t.chan))
        });
    })?;
    lua.register_userdata_type::<TickerObj>(move |reg| {
        reg.add_meta_field("__index", ticker);
        reg.add_meta_field("__name", "ticker");
        reg.add_meta_method("__tostring", |_, t: &TickerObj, ()| {
            Ok(format!("ticker: {:?}", t.chan))
        });
    })
}

/// Arms a new timer channel owned by the running process: fires after `d` ns (then every
/// `tick` ns when given). `Err` names the quota the process reached (see `core/quota.rs`).
fn arm_channel(lua: &Lua, d: i64, tick: Option<u64>) -> mlua::Result<Armed> {
    let check = |c: &mut Core, p| {
        if tick.is_some() {
            c.ticker_room(p)
        } else {
            c.timer_room(p)
        }
    };
    if let Err(q) = room(lua, check)? {
        return Ok(Err(q));
    }
    let obj = new_object(lua, ChanKind::Timer, if tick.is_some() { 16 } else { 1 })?;
    let id = chan_id(lua, &Value::UserData(obj.clone())).expect("just made");
    let mut c = core(lua)?;
    let deadline = c.clock().now().saturating_add(d.max(0) as u64);
    c.arm_chan(id, deadline, tick);
    Ok(Ok((id, obj)))
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
    let mut c = core(lua)?;
    let Some(p) = c.current_proc() else {
        return Ok(Ok(()));
    };
    match check(&mut c, p) {
        Ok(()) => Ok(Ok(())),
        Err(_) if c.quota_may_collect(p) => Ok(Err(Refused::Collect)),
        Err(q) => Ok(Err(Refused::Quota(q.to_string()))),
    }
}

/// A new timer channel and its object, or why not.
type Armed = Result<(ChanId, AnyUserData), Refused>;
/// A new object, or why not.
pub type Made = Result<AnyUserData, Refused>;

/// `time.after(d)`: the channel alone.
pub fn after_channel(lua: &Lua, d: i64) -> mlua::Result<Made> {
    Ok(arm_channel(lua, d, None)?.map(|(_, obj)| obj))
}

/// `time.timer(d)`: a timer object.
pub fn new_timer(lua: &Lua, d: i64) -> mlua::Result<Made> {
    let (chan, obj) = match arm_channel(lua, d, None)? {
        Ok(made) => made,
        Err(e) => return Ok(Err(e)),
    };
    let t = lua.create_any_userdata(TimerObj { chan })?;
    t.set_user_value(obj)?;
    Ok(Ok(t))
}

/// `time.ticker(d)` with `d > 0`: a ticker object.
pub fn new_ticker(lua: &Lua, d: i64) -> mlua::Result<Made> {
    let period = d as u64;
    let (chan, obj) = match arm_channel(lua, d, Some(period))? {
        Ok(made) => made,
        Err(e) => return Ok(Err(e)),
    };
    let t = lua.create_any_userdata(TickerObj { chan, period })?;
    t.set_user_value(obj)?;
    Ok(Ok(t))
}

/// Returns a made object, or `nil, "<func>: <quota>"`.
pub fn made(lua: &Lua, func: &str, m: Made) -> Ret {
    match m {
        Ok(obj) => ret(lua, obj),
        Err(Refused::Collect) => ret(lua, collect_mark()),
        Err(Refused::Quota(q)) => super::args::fail(lua, format!("{func}: {q}")),
    }
}

/// The object argument #1 of `method` as a `T`, or the plain error to raise.
fn this<T: 'static>(args: &MultiValue, method: &str) -> Result<AnyUserData, String> {
    let v = arg(args, 1);
    match &v {
        Value::UserData(ud) if ud.is::<T>() => Ok(ud.clone()),
        other => {
            let what = if method.starts_with("Timer") {
                "timer"
            } else {
                "ticker"
            };
            Err(super::args::bad_arg(method, 1, what, other))
        }
    }
}

fn timer_chan(args: &MultiValue, method: &str) -> Result<(AnyUserData, ChanId), String> {
    let ud = this::<TimerObj>(args, method)?;
    let chan = ud.borrow::<TimerObj>().map_err(|e| e.to_string())?.chan;
    Ok((ud, chan))
}

fn ticker_of(args: &MultiValue, method: &str) -> Result<(AnyUserData, ChanId, u64), String> {
    let ud = this::<TickerObj>(args, method)?;
    let (chan, period) = {
        let t = ud.borrow::<TickerObj>().map_err(|e| e.to_string())?;
        (t.chan, t.period)
    };
    Ok((ud, chan, period))
}

fn timer_channel(lua: &Lua, args: MultiValue) -> Ret {
    match timer_chan(&args, "Timer:channel") {
        Ok((ud, _)) => ret(lua, ud.user_value::<Value>()?),
        Err(e) => raise(lua, e),
    }
}

fn timer_stop(lua: &Lua, args: MultiValue) -> Ret {
    match timer_chan(&args, "Timer:stop") {
        Ok((_, chan)) => ret(lua, core(lua)?.stop_chan_timer(chan)),
        Err(e) => raise(lua, e),
    }
}

fn timer_reset(lua: &Lua, args: MultiValue) -> Ret {
    let chan = match timer_chan(&args, "Timer:reset") {
        Ok((_, chan)) => chan,
        Err(e) => return raise(lua, e),
    };
    let d = match to_duration(&arg(&args, 2), "Timer:reset") {
        Ok(d) => d,
        Err(e) => return raise(lua, e),
    };
    let mut c = core(lua)?;
    let deadline = c.clock().now().saturating_add(d.max(0) as u64);
    ret(lua, c.reset_chan_timer(chan, deadline).unwrap_or(false))
}

fn ticker_channel(lua: &Lua, args: MultiValue) -> Ret {
    match ticker_of(&args, "Ticker:channel") {
        Ok((ud, _, _)) => ret(lua, ud.user_value::<Value>()?),
        Err(e) => raise(lua, e),
    }
}

fn ticker_period(lua: &Lua, args: MultiValue) -> Ret {
    match ticker_of(&args, "Ticker:period") {
        Ok((_, _, period)) => ret(lua, DurationObj(period as i64)),
        Err(e) => raise(lua, e),
    }
}

fn ticker_stop(lua: &Lua, args: MultiValue) -> Ret {
    match ticker_of(&args, "Ticker:stop") {
        Ok((_, chan, _)) => {
            let mut c = core(lua)?;
            c.stop_chan_timer(chan);
            c.close(chan);
            ret(lua, true)
        }
        Err(e) => raise(lua, e),
    }
}
