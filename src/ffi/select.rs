//! `channel.select` as one C function: the case list read off the Lua stack, the result
//! table (`{channel = ch, value = v, ok = ok}` or `{default = true, ok = true}`) built with
//! the C API, and a block that keeps the case list on the stack so the continuation builds
//! the result from it after the resume.
//!
//! The C closure has seven upvalues: the slow binding (a Lua function that handles every
//! case and returns the result table, or RAISE and a message), the fast binding, the `Lua`,
//! and the interned key strings `default`, `channel`, `value`, `ok`. The fast path takes a
//! plain case table (no metatable: `#` and the reads are raw) whose cases are all receive
//! cases (`{ch, false}`) on channel objects; anything else goes to the slow binding.
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use super::hot::{BLOCK_MARK, NO_YIELD_MARK};
use mlua::{Function, Lua, Value, ffi};
use std::ffi::{c_int, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Most cases the fast path reads; longer lists go to the slow binding.
pub const MAX_CASES: usize = 32;

/// What `channel.select` raises for an empty case list without a default.
pub const NO_CASES: &str =
    "channel.select: no cases (a select with nothing to wait on would block forever)";

/// A receive-only select the fast binding is asked to run.
#[derive(Debug)]
pub struct Select<'a> {
    /// The channel ids of the cases, in written order.
    pub chans: &'a [u64],
    /// Whether the list has `default = true`.
    pub default: bool,
    /// Whether the calling coroutine may yield here.
    pub can_yield: bool,
    /// The state's slot (`ffi::cell`), held by the closure as an upvalue.
    slot: *const super::cell::Slot,
}

impl Select<'_> {
    /// Borrows the runtime's shared state through the closure's slot (no registry lookup).
    ///
    /// # Errors
    /// As [`super::cell::held`].
    pub fn held<T: 'static>(&self) -> Result<super::cell::Held<T>, super::cell::CellError> {
        // SAFETY: `slot` is the state's slot, which lives in the registry as long as the
        // state (`function` read it when it made the closure).
        unsafe { &*self.slot }.held()
    }
}

/// What the fast binding did.
#[derive(Debug)]
pub enum Picked {
    /// Case `index` (from 0) received `value` (`ok` false: the channel is closed).
    Case(u32, Value, bool),
    /// Nothing ready and the list has a default.
    Default,
    /// The task's select request is recorded: yield BLOCK to the scheduler.
    Block,
    /// Raise the message at the caller.
    Raise(String),
    /// Not handled: call the slow binding.
    Slow,
}

/// A fast select binding.
pub type Fast = fn(&Lua, &Select<'_>) -> Picked;

// Upvalue 1 is the slow binding (`hot::call_slow` calls it).
const UP_FAST: c_int = 2;
const UP_LUA: c_int = 3;
const UP_DEFAULT: c_int = 4;
const UP_CHANNEL: c_int = 5;
const UP_VALUE: c_int = 6;
const UP_OK: c_int = 7;
const UP_SLOT: c_int = 8;

/// Makes `channel.select` over `fast` and `slow` (see the module's documentation).
///
/// # Errors
/// Only Lua allocation failures.
pub fn function(lua: &Lua, fast: Fast, slow: Function) -> mlua::Result<Function> {
    // SAFETY: exec_raw runs the closure inside a protected call with `slow` pushed on the
    // stack; it pushes the fast binding and the `Lua` (light userdata), the four key
    // strings and the state's slot's address (its userdata popped: it stays in the
    // registry), and pops all eight into the upvalues of one new C closure, which exec_raw
    // returns. The `Lua` lives in the state's extra data and the slot in the registry, as
    // long as the closure.
    unsafe {
        lua.exec_raw::<Function>(slow, |state| {
            ffi::lua_pushlightuserdata(state, fast as *mut c_void);
            let lua: *const Lua = Lua::get_or_init_from_ptr(state);
            ffi::lua_pushlightuserdata(state, lua as *mut c_void);
            for key in ["default", "channel", "value", "ok"] {
                ffi::lua_pushlstring(state, key.as_ptr() as *const _, key.len());
            }
            let slot = super::cell::push_slot(state);
            ffi::lua_pop(state, 1);
            ffi::lua_pushlightuserdata(state, slot as *mut c_void);
            ffi::lua_pushcclosure(state, select, 8);
        })
    }
}

/// The C function of `channel.select`.
unsafe extern "C-unwind" fn select(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: `l` is the running coroutine calling this closure, made by `function`. Every
    // value `read` pushes is popped before it returns; nothing with a destructor is alive
    // when `finish` may raise or yield.
    unsafe {
        let mut ids = [0u64; MAX_CASES];
        let picked = match read(l, &mut ids) {
            Read::Fast(n, default) => run_fast(l, &ids[..n], default),
            Read::NoCases => Picked::Raise(NO_CASES.into()),
            Read::Slow => Picked::Slow,
        };
        match picked {
            Picked::Slow => super::hot::call_slow(l, ffi::lua_gettop(l)),
            Picked::Raise(msg) => super::hot::raise_message(l, msg),
            Picked::Block => {
                // The case list stays at index 1 for the continuation.
                ffi::lua_settop(l, 1);
                ffi::lua_pushlightuserdata(l, &BLOCK_MARK as *const u8 as *mut c_void);
                ffi::lua_yieldk(l, 1, 0, Some(after_block))
            }
            Picked::Default => push_default(l),
            Picked::Case(i, v, ok) => {
                push_value(l, v);
                push_result(l, i64::from(i) + 1, ffi::lua_gettop(l), ok, true)
            }
        }
    }
}

/// What reading the arguments found.
enum Read {
    /// `n` receive-only cases (their channel ids written out) and the default flag.
    Fast(usize, bool),
    /// A plain, empty case list without a default.
    NoCases,
    /// Anything else.
    Slow,
}

/// Reads the case list at index 1, the channel ids of a fast one into `ids`.
///
/// # Safety
/// `l` is the running coroutine inside `select`.
unsafe fn read(l: *mut ffi::lua_State, ids: &mut [u64; MAX_CASES]) -> Read {
    // SAFETY: index 1 is checked to exist; a C function has LUA_MINSTACK free slots and at
    // most three values are pushed at a time (all popped again). The raw gets neither call
    // metamethods nor allocate; `lua_getmetatable` pushes only when it returns true. The
    // list is a table at index 1 (alive while there) when it is read in place, which
    // `ffi::cases` does only where its layout check held.
    unsafe {
        if ffi::lua_gettop(l) < 1 || ffi::lua_type(l, 1) != ffi::LUA_TTABLE {
            return Read::Slow;
        }
        if ffi::lua_getmetatable(l, 1) != 0 {
            ffi::lua_pop(l, 1);
            return Read::Slow;
        }
        let n = ffi::lua_rawlen(l, 1);
        if n > MAX_CASES {
            return Read::Slow;
        }
        ffi::lua_pushvalue(l, ffi::lua_upvalueindex(UP_DEFAULT));
        let default = ffi::lua_rawget(l, 1) == ffi::LUA_TBOOLEAN && ffi::lua_toboolean(l, -1) != 0;
        ffi::lua_pop(l, 1);
        if n == 0 && !default {
            return Read::NoCases;
        }
        let top = ffi::lua_gettop(l);
        let list = ffi::lua_topointer(l, 1);
        let in_place = super::cases::layout_ok();
        for (k, id) in ids.iter_mut().enumerate().take(n) {
            let case = if in_place {
                super::cases::receive_case(list, k + 1)
            } else {
                super::cases::Case::Unknown
            };
            let found = match case {
                super::cases::Case::Receive(c) => Some(c),
                super::cases::Case::Other => None,
                super::cases::Case::Unknown => receive_case(l, k as ffi::lua_Integer + 1, top),
            };
            match found {
                Some(c) => *id = c,
                None => return Read::Slow,
            }
        }
        Read::Fast(n, default)
    }
}

/// The channel id of receive case `k` of the list at index 1, if it is one.
///
/// # Safety
/// As in `read`.
unsafe fn receive_case(l: *mut ffi::lua_State, k: ffi::lua_Integer, top: c_int) -> Option<u64> {
    // SAFETY: as in `read`; at most three values are pushed, and the stack is set back to
    // `top` (its height on entry) before returning.
    unsafe {
        let id = if ffi::lua_rawgeti(l, 1, k) != ffi::LUA_TTABLE {
            None
        } else {
            // A receive case's direction is false (or missing): `nil` and `false` only.
            ffi::lua_rawgeti(l, -1, 2);
            if ffi::lua_toboolean(l, -1) == 0 {
                ffi::lua_rawgeti(l, -2, 1);
                super::chan::id_at(l, -1)
            } else {
                None
            }
        };
        ffi::lua_settop(l, top);
        id
    }
}

/// Calls the fast binding, turning a panic into an error to raise.
///
/// # Safety
/// `l` is the running coroutine inside `select`.
unsafe fn run_fast(l: *mut ffi::lua_State, ids: &[u64], default: bool) -> Picked {
    // SAFETY: upvalues 2, 3 and 8 were stored by `function` from a `Fast`, a `&Lua` and
    // the state's slot.
    unsafe {
        let lua = &*(ffi::lua_touserdata(l, ffi::lua_upvalueindex(UP_LUA)) as *const Lua);
        let slot = ffi::lua_touserdata(l, ffi::lua_upvalueindex(UP_SLOT)) as *const _;
        let f = ffi::lua_touserdata(l, ffi::lua_upvalueindex(UP_FAST));
        let fast = std::mem::transmute::<*mut c_void, Fast>(f);
        let sel = Select {
            chans: ids,
            default,
            can_yield: super::is_yieldable(l),
            slot,
        };
        catch_unwind(AssertUnwindSafe(|| fast(lua, &sel)))
            .unwrap_or_else(|_| Picked::Raise("moonhost: internal error in a binding".into()))
    }
}

/// Pushes `v` and drops it (before anything that may raise).
///
/// # Safety
/// `l` is the running coroutine inside `select`, with a free slot.
unsafe fn push_value(l: *mut ffi::lua_State, v: Value) {
    // SAFETY: upvalue 3 is the `Lua` `v` belongs to.
    unsafe {
        let lua = &*(ffi::lua_touserdata(l, ffi::lua_upvalueindex(UP_LUA)) as *const Lua);
        super::hot::push(l, lua, v);
    }
}

/// Where a blocked select continues: index 1 holds the case list, then the resume values
/// `index, value, ok` (or NO_YIELD: the block could not reach the scheduler).
unsafe extern "C-unwind" fn after_block(
    l: *mut ffi::lua_State,
    _status: c_int,
    _ctx: ffi::lua_KContext,
) -> c_int {
    // SAFETY: `l` is the resumed coroutine in `select`'s frame: the case list and the resume
    // values (the block left only the list there before yielding).
    unsafe {
        if ffi::lua_touserdata(l, 2) == &NO_YIELD_MARK as *const u8 as *mut c_void {
            return super::hot::raise_message(l, super::hot::CANNOT_YIELD.into());
        }
        ffi::lua_settop(l, 4);
        let index = ffi::lua_tointegerx(l, 2, std::ptr::null_mut());
        if index == 0 {
            return push_default(l);
        }
        let ok = ffi::lua_toboolean(l, 4) != 0;
        push_result(l, index, 3, ok, false)
    }
}

/// Returns `{default = true, ok = true}`.
///
/// # Safety
/// `l` is the running coroutine in `select`'s frame, with free slots.
unsafe fn push_default(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: as the caller promises; the upvalues are the key strings.
    unsafe {
        ffi::lua_createtable(l, 0, 2);
        set_true(l, UP_DEFAULT);
        set_true(l, UP_OK);
        1
    }
}

/// `t[key] = true` for the table on top.
///
/// # Safety
/// As in `push_default`.
unsafe fn set_true(l: *mut ffi::lua_State, key: c_int) {
    // SAFETY: as the caller promises.
    unsafe {
        ffi::lua_pushvalue(l, ffi::lua_upvalueindex(key));
        ffi::lua_pushboolean(l, 1);
        ffi::lua_rawset(l, -3);
    }
}

/// Returns `{channel = case[1], value = v, ok = ok}` for case `index` (from 1) of the list
/// at index 1, `v` at stack index `value` (a send case's value is `case[3]`; `receive`: the
/// list was just read and holds receive cases only). The fields
/// are set in the order the prelude's constructor set them, into a table of the same size,
/// so `pairs` visits them in the same order.
///
/// # Safety
/// `l` is the running coroutine in `select`'s frame, the list at index 1, free slots.
unsafe fn push_result(
    l: *mut ffi::lua_State,
    index: i64,
    value: c_int,
    ok: bool,
    receive: bool,
) -> c_int {
    // SAFETY: as the caller promises; raw gets and sets only, on the list, its case and the
    // new table. A list changed meanwhile (case `index` no longer a table) gives a result
    // without a channel.
    unsafe {
        ffi::lua_createtable(l, 0, 3);
        let t = ffi::lua_gettop(l);
        let mut v = value;
        if ffi::lua_rawgeti(l, 1, index) == ffi::LUA_TTABLE {
            ffi::lua_pushvalue(l, ffi::lua_upvalueindex(UP_CHANNEL));
            ffi::lua_rawgeti(l, -2, 1);
            ffi::lua_rawset(l, t);
            if !receive
                && ffi::lua_rawgeti(l, -1, 2) != ffi::LUA_TNIL
                && ffi::lua_toboolean(l, -1) != 0
            {
                ffi::lua_rawgeti(l, -2, 3);
                v = ffi::lua_gettop(l);
            }
        }
        ffi::lua_pushvalue(l, ffi::lua_upvalueindex(UP_VALUE));
        ffi::lua_pushvalue(l, v);
        ffi::lua_rawset(l, t);
        ffi::lua_pushvalue(l, ffi::lua_upvalueindex(UP_OK));
        ffi::lua_pushboolean(l, c_int::from(ok));
        ffi::lua_rawset(l, t);
        ffi::lua_settop(l, t);
        1
    }
}

/// Makes `ch:case_receive()` (`send` false) or `ch:case_send(v)`: a C function building
/// `{ch, false}` or `{ch, true, v}` with metatable `mt`, as the prelude's constructors did
/// (same array sizes), and raising `channel.case_receive: bad argument #1 (expected
/// channel, got T)` (or `case_send`) for anything but a channel object.
///
/// # Errors
/// Only Lua allocation failures.
pub fn case_function(lua: &Lua, mt: mlua::Table, send: bool) -> mlua::Result<Function> {
    // SAFETY: exec_raw runs the closure inside a protected call with `mt` pushed; the flag
    // is pushed above it and both become the upvalues of one new C closure.
    unsafe {
        lua.exec_raw::<Function>(mt, |state| {
            ffi::lua_pushboolean(state, c_int::from(send));
            ffi::lua_pushcclosure(state, case, 2);
        })
    }
}

/// The C function of `case_receive` / `case_send` (see [`case_function`]).
unsafe extern "C-unwind" fn case(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: `l` is the running coroutine calling the closure made by `case_function`
    // (upvalue 1 the metatable, 2 the flag). At most three values are pushed above the
    // arguments, within LUA_MINSTACK; nothing with a destructor is alive when an
    // allocation may raise, and the message to raise is moved into the stash.
    unsafe {
        let send = ffi::lua_toboolean(l, ffi::lua_upvalueindex(2)) != 0;
        if super::chan::id_at(l, 1).is_none() {
            let t = ffi::lua_type(l, 1).max(ffi::LUA_TNIL);
            let name = std::ffi::CStr::from_ptr(ffi::lua_typename(l, t)).to_string_lossy();
            let func = if send { "case_send" } else { "case_receive" };
            let msg = format!("channel.{func}: bad argument #1 (expected channel, got {name})");
            return super::hot::raise_message(l, msg);
        }
        ffi::lua_createtable(l, if send { 3 } else { 2 }, 0);
        ffi::lua_pushvalue(l, 1);
        ffi::lua_rawseti(l, -2, 1);
        ffi::lua_pushboolean(l, c_int::from(send));
        ffi::lua_rawseti(l, -2, 2);
        if send {
            ffi::lua_pushvalue(l, 2);
            ffi::lua_rawseti(l, -2, 3);
        }
        ffi::lua_pushvalue(l, ffi::lua_upvalueindex(1));
        ffi::lua_setmetatable(l, -2);
        1
    }
}
