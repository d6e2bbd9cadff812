//! Event tables (SPEC §2.3) built with the C API in one raw protected call (`pcall`): a
//! handful of field stores instead of a call into a Lua constructor through mlua. The field
//! names and the event kinds are Lua strings made once (a registry table of them), so a
//! store is a raw set with a ready key, not a `lua_setfield` that looks its C string up.
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use mlua::{Lua, Table, Value, ffi};
use std::ffi::{c_int, c_void};

/// Registry key of the metatable of exit events' `result` tables.
static RESULT_MT_KEY: u8 = 0;
/// Registry key of the table of [`STRINGS`].
static STRINGS_KEY: u8 = 0;

fn key() -> *const c_void {
    &RESULT_MT_KEY as *const u8 as *const c_void
}

fn strings_key() -> *const c_void {
    &STRINGS_KEY as *const u8 as *const c_void
}

/// The strings events are made of, at their index (from 1) in the registry's table.
const STRINGS: [&str; 11] = [
    "kind",
    "from",
    "at",
    "error",
    "result",
    "value",
    "reason",
    "pid.exit",
    "pid.link.down",
    "pid.cancel",
    "pid.reload",
];
const KIND: ffi::lua_Integer = 1;
const FROM: ffi::lua_Integer = 2;
const AT: ffi::lua_Integer = 3;
const ERROR: ffi::lua_Integer = 4;
const RESULT: ffi::lua_Integer = 5;
const VALUE: ffi::lua_Integer = 6;
const REASON: ffi::lua_Integer = 7;
/// Index (from 0) of the first event kind in [`STRINGS`].
const KINDS: usize = 7;

/// The index (from 1) of event kind `kind` in the registry's table of [`STRINGS`], whose
/// string an event stores without making it again.
pub fn kind_index(kind: &str) -> Option<ffi::lua_Integer> {
    let i = STRINGS[KINDS..].iter().position(|k| *k == kind)?;
    Some((KINDS + i) as ffi::lua_Integer + 1)
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
    // lua_rawsetp pops it into the registry, then the table of strings is built (one
    // string pushed at a time) and stored the same way.
    unsafe {
        lua.exec_raw::<()>(result_mt, |state| {
            ffi::lua_rawsetp(state, ffi::LUA_REGISTRYINDEX, key());
            ffi::lua_createtable(state, STRINGS.len() as c_int, 0);
            for (i, text) in STRINGS.iter().enumerate() {
                ffi::lua_pushlstring(state, text.as_ptr() as *const _, text.len());
                ffi::lua_rawseti(state, -2, i as ffi::lua_Integer + 1);
            }
            ffi::lua_rawsetp(state, ffi::LUA_REGISTRYINDEX, strings_key());
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
/// value at index 2, and returns it alone. The fields are stored in the order (and into a
/// table of the size) they always were, so `pairs` visits them in the same order.
unsafe extern "C-unwind" fn build(s: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by `table` through `pcall::call`, index 1 a light userdata pointing to
    // a live `Event`, index 2 the value; the strings table goes to index 3 and the event to
    // index 4, with at most 4 slots above them (within LUA_MINSTACK); the event is the one
    // value returned.
    unsafe {
        let e = &*(ffi::lua_touserdata(s, 1) as *const Event<'_>);
        ffi::lua_rawgetp(s, ffi::LUA_REGISTRYINDEX, strings_key());
        ffi::lua_createtable(s, 0, 5);
        ffi::lua_rawgeti(s, 3, KIND);
        match kind_index(e.kind) {
            Some(i) => _ = ffi::lua_rawgeti(s, 3, i),
            None => push_str(s, e.kind),
        }
        ffi::lua_rawset(s, 4);
        set_str(s, FROM, e.from);
        ffi::lua_rawgeti(s, 3, AT);
        ffi::lua_pushinteger(s, e.at);
        ffi::lua_rawset(s, 4);
        match e.exit {
            Some(err) => {
                if let Some(err) = err {
                    set_str(s, ERROR, err);
                }
                ffi::lua_rawgeti(s, 3, RESULT);
                ffi::lua_createtable(s, 0, 2);
                ffi::lua_rawgeti(s, 3, VALUE);
                ffi::lua_pushvalue(s, 2);
                ffi::lua_rawset(s, -3);
                if let Some(err) = err {
                    ffi::lua_rawgeti(s, 3, ERROR);
                    push_str(s, err);
                    ffi::lua_rawset(s, -3);
                }
                ffi::lua_rawgetp(s, ffi::LUA_REGISTRYINDEX, key());
                ffi::lua_setmetatable(s, -2);
                ffi::lua_rawset(s, 4);
            }
            None => set_str(s, REASON, e.reason),
        }
        1
    }
}

/// `event[STRINGS[name]] = text` for the event at index 4 of `s`.
///
/// # Safety
/// Inside `build`, two free slots.
unsafe fn set_str(s: *mut ffi::lua_State, name: ffi::lua_Integer, text: &str) {
    // SAFETY: as the caller promises; the string is copied by Lua.
    unsafe {
        ffi::lua_rawgeti(s, 3, name);
        push_str(s, text);
        ffi::lua_rawset(s, 4);
    }
}

/// Pushes a copy of `text`.
///
/// # Safety
/// Inside a protected call, a free slot.
unsafe fn push_str(s: *mut ffi::lua_State, text: &str) {
    // SAFETY: as the caller promises; the string is copied by Lua.
    unsafe {
        ffi::lua_pushlstring(s, text.as_ptr() as *const _, text.len());
    }
}
