//! Raw bindings behind `require("supervisor")` (SPEC §12.1): marking a process as a
//! supervisor, and calls whose replies travel on a private channel (`core/calls.rs`).
//!
//! The supervisor itself is Lua (`lua/supervisor.lua`); these functions only carry its
//! calls. Like every raw binding they never block or raise by themselves: `sup_wait`
//! records a receive on the reply channel and returns BLOCK for the wrapper to yield.

use super::args::{Ret, arg, bad_arg, block_on, core, fail, raise, ret};
use crate::error::ResolveError;
use crate::ids::ChanId;
use crate::payload::Payload;
use crate::request::{Done, Request};
use mlua::{Lua, MultiValue, Table, Value};
use slotmap::{Key, KeyData};

/// Adds the raw supervisor functions to the prelude's `raw` table.
pub fn open(lua: &Lua, raw: &Table) -> mlua::Result<()> {
    raw.set("SUPERVISOR_METHOD", crate::entry::SUPERVISOR_METHOD)?;
    raw.set("sup_mark", lua.create_function(sup_mark)?)?;
    raw.set("sup_call", lua.create_function(sup_call)?)?;
    raw.set("sup_wait", lua.create_function(sup_wait)?)?;
    raw.set("sup_done", lua.create_function(sup_done)?)?;
    raw.set("sup_reply", lua.create_function(sup_reply)?)?;
    Ok(())
}

/// `sup_mark()`: the calling process accepts supervisor calls from now on.
fn sup_mark(lua: &Lua, _: MultiValue) -> Ret {
    let mut c = core(lua)?;
    match c.current_proc() {
        Some(p) => {
            c.mark_supervisor(p);
            ret(lua, true)
        }
        None => raise(lua, "supervisor: must be called from a process"),
    }
}

/// `sup_call(sup, request, any)` -> reply token, or `nil, err` (`could not resolve ...`,
/// `process not found`, `not a supervisor`, `cannot send <type>`, `mailbox full`). The
/// request is delivered now; `sup_wait(token)` then waits for the reply.
fn sup_call(lua: &Lua, args: MultiValue) -> Ret {
    let dest = arg(&args, 1);
    let bytes = match &dest {
        Value::String(s) => s.as_bytes().to_vec(),
        other => {
            let shown = match other {
                Value::Integer(i) => i.to_string(),
                Value::Number(n) => n.to_string(),
                _ => return fail(lua, bad_arg("supervisor", 1, "PID or name", other)),
            };
            return fail(lua, ResolveError::Unknown(shown).to_string());
        }
    };
    let any = arg(&args, 3).as_boolean().unwrap_or(false);
    let request = match Payload::copy(&arg(&args, 2)) {
        Ok(p) => p,
        Err(e) => return fail(lua, e.to_string()),
    };
    let mut c = core(lua)?;
    let Some(me) = c.current_proc() else {
        return raise(lua, "supervisor: must be called from a process");
    };
    let target = match c.resolve(&bytes) {
        Ok(p) => p,
        Err(e) => return fail(lua, e.to_string()),
    };
    match c.start_call(me, target, smallvec::smallvec![request], any) {
        Ok(reply) => ret(lua, reply.data().as_ffi() as i64),
        Err(e) => fail(lua, e.to_string()),
    }
}

fn reply_chan(v: &Value) -> Option<ChanId> {
    v.as_integer()
        .map(|t| ChanId::from(KeyData::from_ffi(t as u64)))
}

/// `sup_wait(token)` -> `reply, true`, or `nil, false` when the supervisor ended first.
fn sup_wait(lua: &Lua, args: MultiValue) -> Ret {
    let Some(chan) = reply_chan(&arg(&args, 1)) else {
        return raise(lua, "supervisor: bad reply token");
    };
    let mut c = core(lua)?;
    match c.try_recv(chan) {
        Some(Done::Received(item, kind)) => {
            let v = super::object::item_value(lua, &mut c, item, kind)?;
            ret(lua, (v, true))
        }
        Some(_) => ret(lua, (Value::Nil, false)),
        None => block_on(lua, &mut c, "supervisor", Request::Recv(chan)),
    }
}

/// `sup_done(token)`: frees the reply channel of a finished call.
fn sup_done(lua: &Lua, args: MultiValue) -> Ret {
    if let Some(chan) = reply_chan(&arg(&args, 1)) {
        core(lua)?.free_reply(chan);
    }
    ret(lua, ())
}

/// `sup_reply(token, value)` -> whether a caller was waiting for it.
fn sup_reply(lua: &Lua, args: MultiValue) -> Ret {
    let Some(token) = arg(&args, 1).as_integer() else {
        return ret(lua, false);
    };
    let value = match Payload::copy(&arg(&args, 2)) {
        Ok(p) => p,
        Err(e) => return raise(lua, e.to_string()),
    };
    let mut c = core(lua)?;
    ret(lua, c.reply_call(token as u64, smallvec::smallvec![value]))
}
