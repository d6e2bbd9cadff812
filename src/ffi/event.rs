//! Event tables (SPEC §2.3) built with the C API in one raw protected call (`pcall`): a
//! handful of field stores instead of a call into a Lua constructor through mlua. The field
//! names and the event kinds are Lua strings made once (a registry table of them), so a
//! store is a raw set with a ready key, not a `lua_setfield` that looks its C string up.
//! An event a receive takes (found waiting, or handed to it while it was blocked: [`Ready`]
//! for a normal EXIT with a scalar value, [`Owned`] for the others but a reload) is built
//! the same way straight on the receiving coroutine's stack, without the protected call.
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use mlua::{Lua, Table, Value, ffi};
use std::ffi::{c_int, c_void};

/// Registry key of the table of [`STRINGS`] (and, after them, the `result` metatable).
static STRINGS_KEY: u8 = 0;

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
/// Index (from 1) of the metatable of exit events' `result` tables in the registry's table
/// of [`STRINGS`]: right after them, so an event finds it with the table it already has.
const RESULT_MT: ffi::lua_Integer = STRINGS.len() as ffi::lua_Integer + 1;

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
    /// `from`: the PID string's bytes.
    pub from: &'a [u8],
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
    // SAFETY: inside exec_raw's protected call, with the metatable at the top of the
    // stack; the table of strings is built above it (one string pushed at a time), the
    // metatable moved into it after them (lua_rotate puts the new table under it, at -2)
    // and the table stored in the registry (lua_rawsetp pops it), which leaves the stack
    // as it was given.
    unsafe {
        lua.exec_raw::<()>(result_mt, |state| {
            ffi::lua_createtable(state, RESULT_MT as c_int, 0);
            for (i, text) in STRINGS.iter().enumerate() {
                ffi::lua_pushlstring(state, text.as_ptr() as *const _, text.len());
                ffi::lua_rawseti(state, -2, i as ffi::lua_Integer + 1);
            }
            ffi::lua_rotate(state, -2, 1);
            ffi::lua_rawseti(state, -2, RESULT_MT);
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
/// value at index 2, and returns it alone.
unsafe extern "C-unwind" fn build(s: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by `table` through `pcall::call`, index 1 a light userdata pointing to
    // a live `Event`, index 2 the value; the strings table goes to index 3 and the event to
    // index 4, with at most 4 slots above them (within LUA_MINSTACK); the event is the one
    // value returned.
    unsafe {
        let e = &*(ffi::lua_touserdata(s, 1) as *const Event<'_>);
        ffi::lua_rawgetp(s, ffi::LUA_REGISTRYINDEX, strings_key());
        fill(s, 3, e, |s| ffi::lua_pushvalue(s, 2));
        1
    }
}

/// Pushes the table of event `e` above the strings table at absolute index `t` of `s`,
/// `push_value` pushing an exit's value where the `result` table needs it. The fields are
/// stored in the order (and into a table of the size) they always were, so `pairs` visits
/// them in the same order.
///
/// # Safety
/// `s` runs (inside a protected call, or a coroutine where a raise is its own), the
/// strings table at `t` and the top, 4 free slots plus what `push_value` needs, and
/// nothing to drop in the frames up to where a raise lands.
unsafe fn fill(
    s: *mut ffi::lua_State,
    t: c_int,
    e: &Event<'_>,
    push_value: impl FnOnce(*mut ffi::lua_State),
) {
    // SAFETY: as the caller promises; the event sits at `t + 1` while its fields are set.
    unsafe {
        let ev = t + 1;
        ffi::lua_createtable(s, 0, 5);
        ffi::lua_rawgeti(s, t, KIND);
        match kind_index(e.kind) {
            Some(i) => _ = ffi::lua_rawgeti(s, t, i),
            None => push_str(s, e.kind.as_bytes()),
        }
        ffi::lua_rawset(s, ev);
        set_str(s, t, ev, FROM, e.from);
        ffi::lua_rawgeti(s, t, AT);
        ffi::lua_pushinteger(s, e.at);
        ffi::lua_rawset(s, ev);
        match e.exit {
            Some(err) => {
                if let Some(err) = err {
                    set_str(s, t, ev, ERROR, err.as_bytes());
                }
                ffi::lua_rawgeti(s, t, RESULT);
                ffi::lua_createtable(s, 0, 2);
                ffi::lua_rawgeti(s, t, VALUE);
                push_value(s);
                ffi::lua_rawset(s, -3);
                if let Some(err) = err {
                    ffi::lua_rawgeti(s, t, ERROR);
                    push_str(s, err.as_bytes());
                    ffi::lua_rawset(s, -3);
                }
                ffi::lua_rawgeti(s, t, RESULT_MT);
                ffi::lua_setmetatable(s, -2);
                ffi::lua_rawset(s, ev);
            }
            None => set_str(s, t, ev, REASON, e.reason.as_bytes()),
        }
    }
}

/// An event (not a reload) made of owned parts, built on the stack of the task it is handed
/// to with `true` after it (a receive's `value, ok`): the same table [`table`] makes, without
/// a protected call or an mlua handle; a normal exit's value is built there too.
#[derive(Debug)]
pub struct Owned<S> {
    /// `kind`.
    pub kind: &'static str,
    /// `from`: the PID string.
    pub from: String,
    /// `at`: seconds.
    pub at: i64,
    /// For an exit: whether it has one, and its error message (`None` for a normal exit).
    pub exit: Option<Option<String>>,
    /// `reason` of a non-exit event.
    pub reason: Box<str>,
    /// A normal exit's value.
    pub value: Option<S>,
}

impl<S: super::build::Source + std::fmt::Debug> super::resume::Deferred for Owned<S> {
    unsafe fn push(&self, l: *mut ffi::lua_State) -> c_int {
        let e = Event {
            kind: self.kind,
            from: self.from.as_bytes(),
            at: self.at,
            exit: self.exit.as_ref().map(|m| m.as_deref()),
            reason: &self.reason,
        };
        // SAFETY: as `Deferred::push` promises, which is what `on_stack` needs (`self` lives
        // in the resume's arguments or the hot binding's thread-local, which no Lua code can
        // reach).
        unsafe {
            on_stack(l, &e, |l| match &self.value {
                Some(v) => super::build::push_value(l, v),
                None => ffi::lua_pushnil(l),
            });
            ffi::lua_pushboolean(l, 1);
            2
        }
    }
}

impl super::resume::Deferred for Ready {
    unsafe fn push(&self, l: *mut ffi::lua_State) -> c_int {
        // SAFETY: as `Deferred::push` promises, which is what `push_ready` needs (`self`
        // lives in the resume's arguments, which no Lua code can reach).
        unsafe {
            push_ready(l, self);
            ffi::lua_pushboolean(l, 1);
            2
        }
    }
}

/// Pushes the table of event `e` on `l` (the strings table fetched for it and removed
/// again), `push_value` pushing an exit's value.
///
/// # Safety
/// `l` is the running coroutine inside a C function called from Lua (an allocation failure
/// raises a memory error from here, as any allocation of the coroutine's code does), and
/// neither this frame nor the callers up to that C function hold anything that needs
/// dropping. `e` must not live in memory that Lua code may change (a finalizer may run at
/// any allocation).
unsafe fn on_stack(
    l: *mut ffi::lua_State,
    e: &Event<'_>,
    push_value: impl FnOnce(*mut ffi::lua_State),
) {
    // SAFETY: as the caller promises. lua_checkstack gives room for the strings table, the
    // event, the result table, a key, the value and a build's scratch table (no raise: it
    // only reports failure, in which case a stack overflow is raised as Lua's own checks
    // do; a value's build checks its own room); the strings table sits at `t` until it is
    // removed from under the event.
    unsafe {
        if ffi::lua_checkstack(l, 8) == 0 {
            ffi::luaL_error(l, c"stack overflow".as_ptr());
        }
        ffi::lua_rawgetp(l, ffi::LUA_REGISTRYINDEX, strings_key());
        let t = ffi::lua_gettop(l);
        fill(l, t, e, push_value);
        ffi::lua_remove(l, t);
    }
}

/// `event[STRINGS[name]] = text` for the event at `ev`, the strings table at `t`.
///
/// # Safety
/// Inside `fill`, two free slots.
unsafe fn set_str(
    s: *mut ffi::lua_State,
    t: c_int,
    ev: c_int,
    name: ffi::lua_Integer,
    text: &[u8],
) {
    // SAFETY: as the caller promises; the string is copied by Lua.
    unsafe {
        ffi::lua_rawgeti(s, t, name);
        push_str(s, text);
        ffi::lua_rawset(s, ev);
    }
}

/// Pushes a copy of `text`.
///
/// # Safety
/// Inside a protected call, a free slot.
unsafe fn push_str(s: *mut ffi::lua_State, text: &[u8]) {
    // SAFETY: as the caller promises; the string is copied by Lua.
    unsafe {
        ffi::lua_pushlstring(s, text.as_ptr() as *const _, text.len());
    }
}

/// Longest PID string a [`Ready`] event holds (`{host|num}`); longer ones take the general
/// path.
pub const PID_MAX: usize = 54;

/// The value of a normal exit that is a scalar.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scalar {
    /// `nil` (also a process that returned nothing).
    Nil,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Num(f64),
}

/// A normal EXIT event whose value is a scalar: plain bytes and numbers (nothing with a
/// destructor), so the hot receive builds its table straight on the receiving coroutine's
/// stack ([`push_ready`]) where an allocation failure may raise.
#[derive(Clone, Copy, Debug)]
pub struct Ready {
    from: [u8; PID_MAX],
    from_len: u8,
    at: i64,
    value: Scalar,
}

impl Ready {
    /// The event of a normal exit of `from` (its PID string, written by `write`, which
    /// returns its length or `None` when it does not fit), at `at` seconds, with `value`.
    pub fn exit(
        write: impl FnOnce(&mut [u8; PID_MAX]) -> Option<usize>,
        at: i64,
        value: Scalar,
    ) -> Option<Ready> {
        let mut from = [0u8; PID_MAX];
        let len = write(&mut from)?;
        Some(Ready {
            from,
            from_len: u8::try_from(len)
                .ok()
                .filter(|&n| usize::from(n) <= PID_MAX)?,
            at,
            value,
        })
    }
}

/// Pushes the table of event `e` on `l`, the same table [`table`] makes for it (same
/// fields, stored in the same order into tables of the same sizes, the same `result`
/// metatable), and returns 1.
///
/// # Safety
/// As `on_stack`.
pub unsafe fn push_ready(l: *mut ffi::lua_State, e: &Ready) -> c_int {
    let ev = Event {
        kind: STRINGS[KINDS],
        from: &e.from[..usize::from(e.from_len)],
        at: e.at,
        exit: Some(None),
        reason: "",
    };
    // SAFETY: as the caller promises; a nil value's raw set into the new `result` table
    // inserts nothing, as the protected build's does.
    unsafe {
        on_stack(l, &ev, |l| match e.value {
            Scalar::Nil => ffi::lua_pushnil(l),
            Scalar::Bool(b) => ffi::lua_pushboolean(l, c_int::from(b)),
            Scalar::Int(i) => ffi::lua_pushinteger(l, i),
            Scalar::Num(n) => ffi::lua_pushnumber(l, n),
        });
    }
    1
}
