//! The `channel` Lua module: `channel.new`, send/receive/close, cases and `channel.select`.
//!
//! Channel objects are userdata wrapping a [`ChanId`]; their methods live in a Lua table made
//! by the prelude (blocking needs a Lua wrapper that can yield). When Lua collects a channel
//! object, its id goes to the core's graveyard and the record is freed at the next sweep.

use super::args::{self, Ret, arg, bad_arg, core, fail, raise, ret, ret_block};
use crate::core::ChanKind;
use crate::process::ChanId;
use mlua::{AnyUserData, Lua, MultiValue, Table, UserDataFields, UserDataMethods, Value};
use std::cell::RefCell;
use std::rc::Rc;

/// The userdata behind a Lua channel object.
#[derive(Debug)]
pub struct ChanRef {
    /// The channel record.
    pub id: ChanId,
    /// Where the id goes when Lua collects the object.
    pub grave: Rc<RefCell<Vec<ChanId>>>,
}

impl Drop for ChanRef {
    fn drop(&mut self) {
        if let Ok(mut g) = self.grave.try_borrow_mut() {
            g.push(self.id);
        }
    }
}

/// The channel id inside a Lua value, if it is a channel object.
pub fn chan_id(v: &Value) -> Option<ChanId> {
    match v {
        Value::UserData(ud) => ud.borrow::<ChanRef>().ok().map(|c| c.id),
        _ => None,
    }
}

/// Registers the channel userdata type with `methods` (from the prelude) as its `__index`.
pub fn register(lua: &Lua, methods: Table) -> mlua::Result<()> {
    lua.register_userdata_type::<ChanRef>(move |reg| {
        reg.add_meta_field("__index", methods);
        reg.add_meta_field("__name", "channel");
        reg.add_meta_method("__tostring", |_, c: &ChanRef, ()| {
            Ok(format!("channel: {:?}", c.id))
        });
    })
}

/// Adds the raw channel functions to the prelude's `raw` table.
pub fn open(lua: &Lua, raw: &Table) -> mlua::Result<()> {
    raw.set("chan_new", lua.create_function(chan_new)?)?;
    raw.set("chan_send", lua.create_function(chan_send)?)?;
    raw.set("chan_recv", lua.create_function(chan_recv)?)?;
    raw.set("chan_close", lua.create_function(chan_close)?)?;
    raw.set("chan_select", lua.create_function(chan_select)?)?;
    raw.set(
        "is_chan",
        lua.create_function(|_, v: Value| Ok(chan_id(&v).is_some()))?,
    )?;
    Ok(())
}

/// Creates a channel object for a new record owned by the running process.
pub fn new_object(lua: &Lua, kind: ChanKind, cap: usize) -> mlua::Result<AnyUserData> {
    let mut c = core(lua)?;
    let owner = c.current_proc().unwrap_or_default();
    let id = c.new_chan(owner, kind, cap);
    c.chan_object(lua, id)
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
    let obj = new_object(lua, ChanKind::User, cap)?;
    ret(lua, obj)
}

fn checked_chan(lua: &Lua, func: &str, v: &Value) -> Result<ChanId, Ret> {
    match chan_id(v) {
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
    let Some(rec) = c.chans.get(ch) else {
        return raise(lua, "send on closed channel");
    };
    if !matches!(rec.kind, ChanKind::User | ChanKind::Timer) {
        return raise(lua, "channel.send: cannot send on a process channel");
    }
    if rec.q.is_closed() {
        return raise(lua, "send on closed channel");
    }
    if c.current.is_none() && !rec.q.can_send() {
        return raise(lua, "channel.send: cannot block outside a process");
    }
    match c.send(lua, ch, arg(&args, 2))? {
        Ok(true) => ret(lua, true),
        Ok(false) => ret_block(),
        Err(()) => raise(lua, "send on closed channel"),
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
    let Some(rec) = c.chans.get(ch) else {
        return ret(lua, (Value::Nil, false));
    };
    if c.current.is_none() && !rec.q.can_recv() {
        return raise(lua, "channel.receive: cannot block outside a process");
    }
    match c.recv(lua, ch)? {
        Some((v, ok)) => ret(lua, (v, ok)),
        None => ret_block(),
    }
}

/// `ch:close()`: wakes blocked receivers with `nil, false`; a second close is a no-op.
fn chan_close(lua: &Lua, args: MultiValue) -> Ret {
    let ch = match checked_chan(lua, "channel.close", &arg(&args, 1)) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut c = core(lua)?;
    match c.chans.get(ch).map(|r| r.kind) {
        Some(ChanKind::User | ChanKind::Timer) => {
            c.close(lua, ch)?;
            ret(lua, ())
        }
        Some(_) => raise(lua, "channel.close: cannot close a process channel"),
        None => ret(lua, ()),
    }
}

/// `chan_select(cases, n, default)` -> `index, value, ok` (index 0 = default), or BLOCK.
/// Each case is a table `{channel, is_send, value}` made by `case_receive` / `case_send`.
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
    let mut list = Vec::with_capacity(n);
    for i in 1..=n {
        let case: Value = cases.raw_get(i)?;
        let Value::Table(t) = &case else {
            return raise(
                lua,
                format!(
                    "channel.select: case #{i} is not a case \
                     (use ch:case_receive() or ch:case_send(v)), got {}",
                    args::type_name(&case)
                ),
            );
        };
        let ch: Value = t.raw_get(1)?;
        let Some(id) = chan_id(&ch) else {
            return raise(lua, format!("channel.select: case #{i} has no channel"));
        };
        let is_send: bool = t.raw_get::<Option<bool>>(2)?.unwrap_or(false);
        let v = if is_send {
            Some(t.raw_get::<Value>(3)?)
        } else {
            None
        };
        list.push((id, v));
    }
    let mut c = core(lua)?;
    if list.iter().any(|(id, _)| !c.chans.contains_key(*id)) {
        return fail(lua, "channel.select: channel is gone");
    }
    if c.current.is_none() && !default {
        return raise(lua, "channel.select: cannot block outside a process");
    }
    match c.select(lua, list, default)? {
        Ok(Some((i, v, ok))) => ret(lua, (i, v, ok)),
        Ok(None) => ret_block(),
        Err(_) => raise(lua, "send on closed channel"),
    }
}
