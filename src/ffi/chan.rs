//! Channel objects as plain Lua userdata the C hot bindings can read: a 16-byte block
//! holding a tag and the channel id, under one metatable per Lua state (stored in the
//! registry). Reading the id is two loads, not an mlua borrow; the `__gc` metamethod hands
//! the id to the runtime's graveyard through a plain Rust function.
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use mlua::{AnyUserData, Function, Lua, Table, Value, ffi};
use std::ffi::{c_int, c_void};

/// First word of a channel object's block (any other userdata of 16 bytes has another).
const TAG: u64 = 0x6d6f_6f6e_6368_616e; // "moonchan"
/// Size of a channel object's block: the tag and the id.
const SIZE: usize = 16;

/// Registry key of the channel metatable (the address of this static).
static METATABLE_KEY: u8 = 0;

/// What `__gc` calls with a collected channel's id.
pub type Bury = fn(&Lua, u64);

fn key() -> *const c_void {
    &METATABLE_KEY as *const u8 as *const c_void
}

/// Installs the channel metatable: `__index = methods`, `__name = "channel"`,
/// `__tostring = tostring`, `__metatable = false`, and a `__gc` that calls `bury`.
///
/// # Errors
/// Only Lua allocation failures.
pub fn register(lua: &Lua, methods: Table, tostring: Function, bury: Bury) -> mlua::Result<()> {
    let mt = lua.create_table()?;
    mt.raw_set("__index", methods)?;
    mt.raw_set("__name", "channel")?;
    mt.raw_set("__tostring", tostring)?;
    mt.raw_set("__metatable", false)?;
    // SAFETY: exec_raw runs the closure in a protected call with `mt` pushed at index 1: it
    // makes the `__gc` C closure over `bury` (a light userdata), stores it in `mt`, and
    // moves `mt` into the registry under this module's key, leaving the stack as it found it.
    unsafe {
        lua.exec_raw::<()>(mt, |state| {
            ffi::lua_pushlightuserdata(state, bury as *mut c_void);
            ffi::lua_pushcclosure(state, collect, 1);
            ffi::lua_setfield(state, -2, c"__gc".as_ptr());
            ffi::lua_rawsetp(state, ffi::LUA_REGISTRYINDEX, key());
        })
    }
}

/// A new channel object for id `bits` (see [`register`]).
///
/// # Errors
/// Lua allocation failures; a runtime error before [`register`].
pub fn new_object(lua: &Lua, bits: u64) -> mlua::Result<AnyUserData> {
    // SAFETY: inside exec_raw's protected call, whose state has room for the object and
    // the metatable; a nil metatable, before `register`, is caught below.
    let v = unsafe { lua.exec_raw::<Value>((), |state| push_object(state, bits))? };
    match v {
        Value::UserData(ud) => Ok(ud),
        _ => Err(mlua::Error::runtime(
            "moonhost: channel type not registered",
        )),
    }
}

/// Pushes a new channel object for id `bits` on `state` (without a metatable before
/// [`register`]).
///
/// # Safety
/// `state` is a running coroutine (or mlua's state inside `exec_raw`) with two free stack
/// slots; the call may raise a memory error, so the caller's frame holds nothing to drop.
pub(super) unsafe fn push_object(state: *mut ffi::lua_State, bits: u64) {
    // SAFETY: lua_newuserdatauv returns a block of SIZE bytes, suitably aligned for u64 (Lua
    // aligns userdata to its maximal alignment), which is filled before anything else can
    // see it; the registry's metatable is set on it, or the non-table popped.
    unsafe {
        let block = ffi::lua_newuserdatauv(state, SIZE, 0) as *mut u64;
        block.write(TAG);
        block.add(1).write(bits);
        if ffi::lua_rawgetp(state, ffi::LUA_REGISTRYINDEX, key()) == ffi::LUA_TTABLE {
            ffi::lua_setmetatable(state, -2);
        } else {
            ffi::lua_pop(state, 1);
        }
    }
}

/// The id inside the channel object at `idx` of `state`, if it is one.
///
/// # Safety
/// `idx` is a valid index of `state`.
pub(super) unsafe fn id_at(state: *mut ffi::lua_State, idx: c_int) -> Option<u64> {
    // SAFETY: the block is read only when it is a full userdata of exactly SIZE bytes, so
    // both words are in bounds; the tag tells a channel object from other 16-byte userdata.
    unsafe {
        // lua_touserdata is null for anything but userdata; a light userdata has length 0.
        let block = ffi::lua_touserdata(state, idx) as *const u64;
        if block.is_null() {
            return None;
        }
        decode(block, ffi::lua_rawlen(state, idx))
    }
}

/// The channel id in full userdata block `block` of `len` bytes, if it is a channel
/// object's.
///
/// # Safety
/// `block` is the start of a full userdata's block of `len` bytes.
pub(super) unsafe fn decode(block: *const u64, len: usize) -> Option<u64> {
    // SAFETY: both words are read only when the block is exactly SIZE bytes long; the tag
    // tells a channel object from other 16-byte userdata.
    unsafe { (len == SIZE && block.read() == TAG).then(|| block.add(1).read()) }
}

/// The id inside `v`, if it is a channel object.
pub fn id_of(lua: &Lua, v: &Value) -> Option<u64> {
    // SAFETY: `id_at` only reads the pushed value.
    unsafe { super::with_userdata_at(lua, v, |s| id_at(s, -1)) }
}

/// Whether `v` is a channel object (for code that holds a value but no `Lua`).
pub fn is_channel(v: &Value) -> bool {
    match v {
        Value::UserData(ud) => id_of(&ud.weak_lua().upgrade(), v).is_some(),
        _ => false,
    }
}

/// `__gc` of channel objects: clears the tag (a resurrected object is no channel any
/// more) and buries the id.
unsafe extern "C-unwind" fn collect(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua's collector with the object at index 1 and `bury`, stored by
    // `register` from a `Bury` of this very type, as upvalue 1. The tag is cleared in
    // bounds (`id_at` checked the size). A panic in `bury` is caught here: it must not
    // unwind through the collector.
    unsafe {
        if let Some(bits) = id_at(l, 1) {
            (ffi::lua_touserdata(l, 1) as *mut u64).write(0);
            let f = ffi::lua_touserdata(l, ffi::lua_upvalueindex(1));
            let bury = std::mem::transmute::<*mut c_void, Bury>(f);
            let lua = Lua::get_or_init_from_ptr(l);
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| bury(lua, bits)));
        }
        0
    }
}
