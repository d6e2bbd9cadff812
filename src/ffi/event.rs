//! Event tables (SPEC §2.3) built with the C API in one raw protected call (`pcall`): a
//! handful of field stores instead of a call into a Lua constructor through mlua.
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use mlua::{Lua, Table, Value, ffi};
use std::ffi::{CStr, c_int, c_void};

/// Registry key of the metatable of exit events' `result` tables.
static RESULT_MT_KEY: u8 = 0;

fn key() -> *const c_void {
    &RESULT_MT_KEY as *const u8 as *const c_void
}

/// What an event says.
#[derive(Debug)]
pub struct Event<'a> {
    /// `kind`.
    pub kind: &'a str,
    /// `from`: the PID string.
    pub from: &'a str,
    /// `at`: seconds.
    pub at: i64,
    /// For an exit: whether it has one, and its error message (`nil` for a normal exit).
    pub exit: Option<Option<&'a str>>,
    /// `reason` of a non-exit event.
    pub reason: &'a str,
}

/// Makes `result_mt` the metatable of exit events' `result` tables.
///
/// # Errors
/// Only Lua allocation failures.
pub fn register(lua: &Lua, result_mt: Table) -> mlua::Result<()> {
    // SAFETY: inside exec_raw's protected call, with the table at the top of the stack;
    // lua_rawsetp pops it into the registry.
    unsafe {
        lua.exec_raw::<()>(result_mt, |state| {
            ffi::lua_rawsetp(state, ffi::LUA_REGISTRYINDEX, key());
        })
    }
}

/// The event table for `e`; `value` is an exit's value (`nil` otherwise).
///
/// # Errors
/// Only Lua allocation failures.
pub fn table(lua: &Lua, e: &Event<'_>, value: Value) -> mlua::Result<Value> {
    let mut out = Value::Nil;
    let job = e as *const Event<'_> as *mut c_void;
    // SAFETY: `build` reads its light userdata as the `Event` passed here, which outlives
    // the call, and raises (an allocation failure) with nothing of its own to drop.
    unsafe { super::pcall::call(lua, build, job, &value, "building an event", |v| out = v)? };
    Ok(out)
}

/// The protected body: builds the event table from the `Event` at index 1 with the exit's
/// value at index 2, and returns it alone.
unsafe extern "C-unwind" fn build(s: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by `table` through `pcall::call`, index 1 a light userdata pointing to
    // a live `Event`, index 2 the value; the table is built on top (at most 4 slots above,
    // within LUA_MINSTACK) and is the one value returned.
    unsafe {
        let e = &*(ffi::lua_touserdata(s, 1) as *const Event<'_>);
        ffi::lua_createtable(s, 0, 5);
        set_str(s, c"kind", e.kind);
        set_str(s, c"from", e.from);
        ffi::lua_pushinteger(s, e.at);
        ffi::lua_setfield(s, -2, c"at".as_ptr());
        match e.exit {
            Some(err) => {
                if let Some(err) = err {
                    set_str(s, c"error", err);
                }
                ffi::lua_createtable(s, 0, 2);
                ffi::lua_pushvalue(s, 2);
                ffi::lua_setfield(s, -2, c"value".as_ptr());
                if let Some(err) = err {
                    set_str(s, c"error", err);
                }
                ffi::lua_rawgetp(s, ffi::LUA_REGISTRYINDEX, key());
                ffi::lua_setmetatable(s, -2);
                ffi::lua_setfield(s, -2, c"result".as_ptr());
            }
            None => set_str(s, c"reason", e.reason),
        }
        1
    }
}

/// `t[name] = text` for the table on top of `s`.
///
/// # Safety
/// Inside a protected call, a table on top, a free slot.
unsafe fn set_str(s: *mut ffi::lua_State, name: &CStr, text: &str) {
    // SAFETY: as the caller promises; the string is copied by Lua.
    unsafe {
        ffi::lua_pushlstring(s, text.as_ptr() as *const _, text.len());
        ffi::lua_setfield(s, -2, name.as_ptr());
    }
}
