//! The `channel` Lua module: `channel.new`, send/receive/close, cases and `channel.select`.
//!
//! Channel objects are tagged userdata holding a [`ChanId`] (`ffi::chan`); their methods live
//! in a Lua table made by the prelude. `send`, `receive` and the select binding are hot C
//! functions (`ffi::hot`, fast paths in `lua/hot.rs`) over the mlua functions here, which
//! handle every other case. When Lua collects a channel object, its id goes to the core's
//! graveyard and the record is freed at the next sweep.

use super::args::{self, Ret, arg, bad_arg, block_on, core, fail, raise, ret};
use super::object::{chan_id, chan_object, outcome_values};
use super::timers::Refused;
use crate::core::{SelectResult, SendResult};
use crate::ids::ChanId;
use crate::message::{ChanKind, Item};
use crate::request::{Case, Outcome, Request};
use mlua::{AnyUserData, Lua, MultiValue, Table, Value};
use slotmap::Key;
use smallvec::SmallVec;

/// Adds the raw channel functions to the prelude's `raw` table.
pub fn open(lua: &Lua, raw: &Table) -> mlua::Result<()> {
    raw.set("chan_new", lua.create_function(chan_new)?)?;
    let hot = |fast, slow| crate::ffi::hot::function(lua, fast, slow);
    raw.set(
        "chan_send",
        hot(super::hot::chan_send, lua.create_function(chan_send)?)?,
    )?;
    raw.set(
        "chan_recv",
        hot(super::hot::recv, lua.create_function(chan_recv)?)?,
    )?;
    raw.set("chan_close", lua.create_function(chan_close)?)?;
    raw.set("chan_select", lua.create_function(chan_select)?)?;
    // The prelude hands over its slow `channel.select` and gets the C one back.
    raw.set(
        "select_over",
        lua.create_function(|lua, slow: mlua::Function| {
            crate::ffi::select::function(lua, super::hot::select, slow)
        })?,
    )?;
    // The prelude hands over the cases' metatable and gets the C case constructors back.
    raw.set(
        "cases_over",
        lua.create_function(|lua, mt: Table| {
            let receive = crate::ffi::select::case_function(lua, mt.clone(), false)?;
            Ok((receive, crate::ffi::select::case_function(lua, mt, true)?))
        })?,
    )?;
    raw.set(
        "hot_chan_new",
        lua.create_function(|lua, slow: mlua::Function| {
            crate::ffi::hot::function(lua, fast_new, slow)
        })?,
    )?;
    Ok(())
}

/// Creates a channel object for a new record owned by the running process.
pub fn new_object(lua: &Lua, kind: ChanKind, cap: usize) -> mlua::Result<AnyUserData> {
    let mut c = core(lua)?;
    let owner = c.current_proc().unwrap_or_default();
    let id = c.new_chan(owner, kind, cap);
    chan_object(lua, id)
}

/// `channel.new([size])` -> channel. Raises on a non-number size; negative means 0.
fn chan_new(lua: &Lua, args: MultiValue) -> Ret {
    let size = arg(&args, 1);
    let cap = match size {
        Value::Nil => 0,
        Value::Integer(i) => i.max(0) as usize,
        Value::Number(n) if n.is_finite() => n.max(0.0) as usize,
        Value::Number(_) => 0,
        ref other => return raise(lua, bad_arg("channel.new", 1, "number", other)),
    };
    match super::timers::room(lua, |c, p| c.channel_room(p))? {
        Ok(()) => {}
        Err(Refused::Collect) => return ret(lua, super::timers::collect_mark()),
        Err(Refused::Quota(q)) => return fail(lua, format!("channel.new: {q}")),
    }
    let obj = new_object(lua, ChanKind::User, cap)?;
    ret(lua, obj)
}

/// The fast half of `channel.new([size])`: a numeric or absent size under the quota, the
/// object built on the Lua stack; anything else (errors, the quota's collect-and-retry) is
/// the Lua binding's.
fn fast_new(_: &Lua, call: &crate::ffi::hot::Call<'_>) -> crate::ffi::hot::Out {
    use crate::ffi::hot::{Arg, Out};
    let cap = match call.arg(1) {
        Arg::Absent | Arg::Nil => 0,
        Arg::Int(i) => i.max(0) as usize,
        Arg::Num(n) if n.is_finite() => n.max(0.0) as usize,
        Arg::Num(_) => 0,
        _ => return Out::Slow,
    };
    let Ok(mut c) = call.held::<crate::core::Core>() else {
        return Out::Slow;
    };
    let owner = c.current_proc();
    if let Some(p) = owner
        && c.channel_room(p).is_err()
    {
        return Out::Slow;
    }
    let id = c.new_chan(owner.unwrap_or_default(), ChanKind::User, cap);
    Out::Made(crate::ffi::timerobj::Made::Chan(id.data().as_ffi()))
}

fn checked_chan(lua: &Lua, func: &str, v: &Value) -> Result<ChanId, Ret> {
    match chan_id(lua, v) {
        Some(id) => Ok(id),
        None => Err(raise(lua, bad_arg(func, 1, "channel", v))),
    }
}

/// `ch:send(v)` -> `true`; blocks while full; raises `send on closed channel`.
fn chan_send(lua: &Lua, args: MultiValue) -> Ret {
    let ch = match checked_chan(lua, "channel.send", &arg(&args, 1)) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut c = core(lua)?;
    match c.chan_kind(ch) {
        None => return raise(lua, "send on closed channel"),
        Some(k) if !k.is_user() => {
            return raise(lua, "channel.send: cannot send on a process channel");
        }
        Some(_) => {}
    }
    if c.chan_is_closed(ch) {
        return raise(lua, "send on closed channel");
    }
    match c.try_send(ch, Item::Lua(arg(&args, 2))) {
        SendResult::Done => ret(lua, true),
        SendResult::Closed => raise(lua, "send on closed channel"),
        SendResult::WouldBlock(item) => {
            block_on(lua, &mut c, "channel.send", Request::Send(ch, item))
        }
        SendResult::Quota(q, _) => fail(lua, format!("channel.send: {q}")),
    }
}

/// `ch:receive()` -> `value, true`, or `nil, false` once closed and drained; blocks while
/// empty.
fn chan_recv(lua: &Lua, args: MultiValue) -> Ret {
    let ch = match checked_chan(lua, "channel.receive", &arg(&args, 1)) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut c = core(lua)?;
    match c.try_recv(ch) {
        Some(done) => outcome_values(lua, &mut c, Outcome::plain(done)),
        None => block_on(lua, &mut c, "channel.receive", Request::Recv(ch)),
    }
}

/// `ch:close()`: wakes blocked receivers with `nil, false`; a second close is a no-op.
fn chan_close(lua: &Lua, args: MultiValue) -> Ret {
    let ch = match checked_chan(lua, "channel.close", &arg(&args, 1)) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut c = core(lua)?;
    match c.chan_kind(ch) {
        Some(k) if k.is_user() => {
            c.close(ch);
            ret(lua, ())
        }
        Some(_) => raise(lua, "channel.close: cannot close a process channel"),
        None => ret(lua, ()),
    }
}

/// Reads the cases of a select: `{channel, is_send, value}` tables made by
/// `case_receive` / `case_send`.
fn read_cases(
    lua: &Lua,
    cases: &Table,
    n: usize,
) -> mlua::Result<Result<SmallVec<[Case; 4]>, Ret>> {
    let mut list = SmallVec::with_capacity(n);
    for i in 1..=n {
        let case: Value = cases.raw_get(i)?;
        let Value::Table(t) = &case else {
            let msg = format!(
                "channel.select: case #{i} is not a case \
                 (use ch:case_receive() or ch:case_send(v)), got {}",
                args::type_name(&case)
            );
            return Ok(Err(raise(lua, msg)));
        };
        let ch: Value = t.raw_get(1)?;
        let Some(id) = chan_id(lua, &ch) else {
            return Ok(Err(raise(
                lua,
                format!("channel.select: case #{i} has no channel"),
            )));
        };
        let is_send: bool = t.raw_get::<Option<bool>>(2)?.unwrap_or(false);
        let v = if is_send {
            Some(Item::Lua(t.raw_get::<Value>(3)?))
        } else {
            None
        };
        list.push((id, v));
    }
    Ok(Ok(list))
}

/// `chan_select(cases, n, default)` -> `index, value, ok` (index 0 = default), or BLOCK.
fn chan_select(lua: &Lua, args: MultiValue) -> Ret {
    let Value::Table(cases) = arg(&args, 1) else {
        return raise(
            lua,
            bad_arg("channel.select", 1, "table of cases", &arg(&args, 1)),
        );
    };
    let n = match arg(&args, 2) {
        Value::Integer(n) => n.max(0) as usize,
        _ => cases.raw_len(),
    };
    let default = arg(&args, 3).as_boolean().unwrap_or(false);
    let list = match read_cases(lua, &cases, n)? {
        Ok(l) => l,
        Err(r) => return r,
    };
    let mut c = core(lua)?;
    if list.iter().any(|(id, _)| c.chan_kind(*id).is_none()) {
        return fail(lua, "channel.select: channel is gone");
    }
    match c.try_select(list) {
        SelectResult::Done(o) => outcome_values(lua, &mut c, o),
        SelectResult::SendClosed(_) => raise(lua, "send on closed channel"),
        SelectResult::WouldBlock(_) if default => ret(lua, (0, Value::Nil, true)),
        SelectResult::WouldBlock(list) => block_on(
            lua,
            &mut c,
            "channel.select",
            Request::Select(list.into_vec()),
        ),
    }
}
