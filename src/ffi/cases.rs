//! `channel.select`'s case list read in place (issue 9, `select`): the channel id of each
//! receive case taken straight from the list's array part and the case table's, instead of
//! six C API calls per case (`lua_rawgeti` of the case, of its direction and of its channel,
//! `lua_toboolean`, `lua_touserdata`, `lua_rawlen`, `lua_settop`; ~250 instructions a case,
//! ~2,200 for the benchmark's nine).
//!
//! The reads rely on the layout of Lua 5.4's `Table`, `TValue` and `Udata` (lobject.h of the
//! vendored Lua; the `Table` struct is `ffi::globals`'). [`check`] checks it once against
//! what the C API answers for tables and userdata it makes; where it does not hold, or a value is not where an array part
//! keeps it (a list or case table whose entries sit in its hash part), [`receive_case`]
//! says so and `ffi::select` reads that case through the C API as before.
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use mlua::ffi;
use std::ffi::c_void;
use std::sync::atomic::{AtomicU8, Ordering};

use super::globals::{Table, VTABLE};

/// Lua 5.4's `TValue`: the value (a pointer for collectable values) and its tag.
#[repr(C)]
struct TValue {
    value: *const c_void,
    tt: u8,
}

/// Lua 5.4's `Udata` up to its fields read here (`Udata0` has the same head).
#[repr(C)]
struct Udata {
    next: *mut c_void,
    tt: u8,
    marked: u8,
    nuvalue: u16,
    len: usize,
}

/// Where a userdata's block starts: `udatamemoffset` (lobject.h) for no user values
/// (`Udata0`'s `bindata`) and for `n` of them (`Udata`'s `uv`, 16 bytes each).
fn block_offset(nuvalue: u16) -> usize {
    if nuvalue == 0 {
        32
    } else {
        40 + 16 * usize::from(nuvalue)
    }
}

/// Value tags (lobject.h, `ctb` for collectable ones): a table, a full userdata, `false`.
/// An object's own header holds its tag without the collectable bit (0x40): `VTABLE`.
const TAG_TABLE: u8 = 0x45;
const TAG_USERDATA: u8 = 0x47;
const TAG_FALSE: u8 = 0x01;

/// 0: not checked yet, 1: the layout holds, 2: it does not.
static LAYOUT: AtomicU8 = AtomicU8::new(0);

/// What [`receive_case`] found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Case {
    /// A receive case on the channel with these id bits.
    Receive(u64),
    /// Not a receive case on a channel object (a send case, anything else).
    Other,
    /// Not readable in place: read it through the C API.
    Unknown,
}

/// Entry `k` (1-based) of the list table `list`, read in place.
///
/// # Safety
/// `list` is `lua_topointer` of a table on the stack of a running state (alive while it is
/// there), and [`layout_ok`] is true.
pub unsafe fn receive_case(list: *const c_void, k: usize) -> Case {
    // SAFETY: `list` is a live table (the caller's promise) laid out as `Table` says
    // (`layout_ok`). An array index below `alimit` is inside the array part (`alimit` is at
    // most its real size). Values in a live table are live: a table value's `Table`, a
    // userdata value's `Udata`, whose block of `len` bytes starts where `block_offset` says.
    unsafe {
        let Some(case) = entry(list as *const Table, k) else {
            return Case::Unknown;
        };
        if case.tt != TAG_TABLE {
            return Case::Other;
        }
        let case = case.value as *const Table;
        let (Some(ch), Some(dir)) = (entry(case, 1), entry(case, 2)) else {
            return Case::Unknown;
        };
        // A receive case's direction is false or missing (`nil` and its empty variants).
        if !(dir.tt == TAG_FALSE || dir.tt & 0x0F == 0) || ch.tt != TAG_USERDATA {
            return Case::Other;
        }
        let u = ch.value as *const Udata;
        let block = (u as *const u8).add(block_offset((*u).nuvalue)) as *const u64;
        match super::chan::decode(block, (*u).len) {
            Some(id) => Case::Receive(id),
            None => Case::Other,
        }
    }
}

/// The array entry `k` (1-based) of `t`, when `t` keeps it in its array part.
///
/// # Safety
/// As [`receive_case`], for table `t`.
unsafe fn entry<'a>(t: *const Table, k: usize) -> Option<&'a TValue> {
    // SAFETY: as the caller promises; `k - 1 < alimit` keeps the read in the array part.
    unsafe {
        let len = (*t).alimit as usize;
        let array = (*t).array as *const TValue;
        (k >= 1 && k <= len && !array.is_null()).then(|| &*array.add(k - 1))
    }
}

/// Whether [`check`] found the layout this module reads (false before it ran).
#[inline]
pub fn layout_ok() -> bool {
    LAYOUT.load(Ordering::Relaxed) == 1
}

/// Checks the layout once for the process (see [`layout_ok`]), on values made in `lua`;
/// the runtime calls it as it starts, so a select never allocates for it.
pub fn check(lua: &mlua::Lua) -> bool {
    if LAYOUT.load(Ordering::Relaxed) == 0 {
        // SAFETY: exec_raw runs the closure inside a protected call on a state with
        // LUA_MINSTACK free slots; `check_on` leaves the stack as it found it. An
        // allocation failure leaves the layout unchecked: not read in place.
        let _ = unsafe { lua.exec_raw::<()>((), |l| check_on(l)) };
    }
    layout_ok()
}

/// [`check`] on state `l`, which stores its finding in `LAYOUT`.
///
/// # Safety
/// `l` is a running state with 4 free slots, inside a protected call (allocation may
/// raise).
unsafe fn check_on(l: *mut ffi::lua_State) {
    // SAFETY: as the caller promises; the fields are only read, from values this function
    // made and keeps on the stack while it reads them.
    let ok = unsafe {
        ffi::lua_createtable(l, 3, 0);
        let mut ok = true;
        for (i, nuv) in [(1, 0), (2, 1), (3, 3)] {
            // (`lua_topointer` of a userdata is its block, not its `Udata`.)
            let block = ffi::lua_newuserdatauv(l, 24, nuv) as *const c_void;
            ffi::lua_rawseti(l, -2, i);
            let t = ffi::lua_topointer(l, -1) as *const Table;
            ok &= entry(t, i as usize).is_some_and(|v| {
                let u = v.value as *const Udata;
                v.tt == TAG_USERDATA
                    && (*u).nuvalue == nuv as u16
                    && (*u).len == 24
                    && std::ptr::eq(
                        (u as *const u8).add(block_offset((*u).nuvalue)) as *const c_void,
                        block,
                    )
            });
        }
        ffi::lua_pushboolean(l, 0);
        ffi::lua_rawseti(l, -2, 2);
        ffi::lua_pushvalue(l, -1);
        ffi::lua_rawseti(l, -2, 3);
        let t = ffi::lua_topointer(l, -1) as *const Table;
        ok &= (*t).tt == VTABLE
            && (*t).alimit == 3
            && entry(t, 2).is_some_and(|v| v.tt == TAG_FALSE)
            && entry(t, 3).is_some_and(|v| v.tt == TAG_TABLE && std::ptr::eq(v.value, t as _))
            && entry(t, 4).is_none();
        ffi::lua_pop(l, 1);
        ok
    };
    LAYOUT.store(if ok { 1 } else { 2 }, Ordering::Relaxed);
}

#[cfg(test)]
#[path = "cases_tests.rs"]
mod tests;
