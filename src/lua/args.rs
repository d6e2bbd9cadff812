//! Shared argument checking and result conventions for the bindings.
//!
//! Raw bindings never raise through mlua (its errors reach Lua as userdata, while SPEC.md
//! promises plain strings). A binding that must raise returns the `RAISE` marker and the
//! message; one that would block records a `Request` for its task and returns the `BLOCK`
//! marker, which the prelude's wrapper (or, for the hot bindings, the C function of
//! `ffi::hot`) yields to the scheduler (the scheduler parks the task). Both markers are
//! light userdata the scripts cannot obtain.

use crate::core::Core;
use crate::ffi;
use crate::ffi::cell::{CellError, Held};
use crate::request::Request;
use mlua::{IntoLua, LightUserData, Lua, MultiValue, Value};

/// What a binding raises instead of blocking where its task cannot yield (a `table.sort`
/// comparator, a `string.gsub` callback, a `load` reader, a metamethod, a finalizer).
pub const CANNOT_YIELD: &str = ffi::hot::CANNOT_YIELD;

use ffi::hot::{BLOCK_MARK, C_BLOCK_MARK, NO_YIELD_MARK, RAISE_MARK};
static PREEMPT_MARK: u8 = 0;

/// The marker a binding returns after parking the current task.
pub fn block() -> Value {
    Value::LightUserData(LightUserData(&BLOCK_MARK as *const u8 as *mut _))
}

/// The marker a hot binding's own block yields (`ffi::hot`): BLOCK, from a C frame whose
/// continuation can build what the task receives.
pub fn c_block() -> Value {
    Value::LightUserData(LightUserData(&C_BLOCK_MARK as *const u8 as *mut _))
}

/// The marker that precedes an error message to raise.
pub fn raise_mark() -> Value {
    Value::LightUserData(LightUserData(&RAISE_MARK as *const u8 as *mut _))
}

/// The marker the prelude resumes a coroutine with when the block it asked for cannot
/// reach the scheduler (an enclosing coroutine cannot yield).
pub fn no_yield() -> Value {
    Value::LightUserData(LightUserData(&NO_YIELD_MARK as *const u8 as *mut _))
}

/// The marker the prelude yields to pass a preemption up through nested coroutines.
pub fn preempt() -> Value {
    Value::LightUserData(LightUserData(&PREEMPT_MARK as *const u8 as *mut _))
}

/// Whether `v` is the BLOCK marker.
pub fn is_block(v: &Value) -> bool {
    *v == block()
}

/// Result of a raw binding.
pub type Ret = mlua::Result<MultiValue>;

/// Returns `values` as a binding result.
pub fn ret(lua: &Lua, values: impl mlua::IntoLuaMulti) -> Ret {
    values.into_lua_multi(lua)
}

/// Blocks the running task on `req`: records the request and returns the BLOCK marker
/// for the prelude to yield. Raises [`CANNOT_YIELD`] and records nothing where the task
/// cannot yield, and `<func>: cannot block outside a process` outside any task.
pub fn block_on(lua: &Lua, c: &mut Core, func: &str, req: Request) -> Ret {
    match record_block(c, func, ffi::is_yieldable(lua.state()), req) {
        Ok(()) => Ok(MultiValue::from_iter([block()])),
        Err(msg) => raise(lua, msg),
    }
}

/// Records `req` for the running task (whose coroutine `can_yield` says whether it may
/// yield here), or says what to raise instead: `<func>: cannot block outside a process`, or
/// [`CANNOT_YIELD`] (and nothing is recorded).
pub fn record_block(c: &mut Core, func: &str, can_yield: bool, req: Request) -> Result<(), String> {
    if c.current_task().is_none() {
        return Err(format!("{func}: cannot block outside a process"));
    }
    if !can_yield {
        return Err(CANNOT_YIELD.to_string());
    }
    c.request(req);
    Ok(())
}

/// Raises `msg` in the calling Lua code (through the prelude).
pub fn raise(lua: &Lua, msg: impl AsRef<str>) -> Ret {
    Ok(MultiValue::from_iter([
        raise_mark(),
        Value::String(lua.create_string(msg.as_ref())?),
    ]))
}

/// Returns `nil, msg`.
pub fn fail(lua: &Lua, msg: impl AsRef<str>) -> Ret {
    Ok(MultiValue::from_iter([
        Value::Nil,
        Value::String(lua.create_string(msg.as_ref())?),
    ]))
}

/// Borrows the runtime core.
///
/// # Errors
/// When the core is already borrowed, which happens only if a Lua finalizer calls a binding
/// while the runtime is working; the finalizer's error becomes a Lua warning.
pub fn core(lua: &Lua) -> mlua::Result<Held<Core>> {
    match crate::ffi::cell::held::<Core>(lua) {
        Ok(c) => Ok(c),
        Err(CellError::Absent) => Err(mlua::Error::runtime(
            "moonhost: no runtime in this Lua state",
        )),
        Err(CellError::Busy) => Err(mlua::Error::runtime(
            "moonhost: runtime is busy (a finalizer may not call process functions)",
        )),
    }
}

/// Lua's name for a value's type.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Boolean(_) => "boolean",
        Value::LightUserData(_) => "userdata",
        Value::Integer(_) | Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Table(_) => "table",
        Value::Function(_) => "function",
        Value::Thread(_) => "thread",
        Value::UserData(_) => "userdata",
        _ => "userdata",
    }
}

/// `module.func: bad argument #n (expected what, got type)`.
pub fn bad_arg(func: &str, n: usize, expected: &str, got: &Value) -> String {
    format!(
        "{func}: bad argument #{n} (expected {expected}, got {})",
        type_name(got)
    )
}

/// The `n`th (1-based) argument, `nil` when absent.
pub fn arg(args: &MultiValue, n: usize) -> Value {
    args.get(n - 1).cloned().unwrap_or(Value::Nil)
}

/// Converts a value into a Lua value (shorthand for bindings).
pub fn val(lua: &Lua, v: impl IntoLua) -> mlua::Result<Value> {
    v.into_lua(lua)
}
