//! A process's globals as a copy of one template table (issue 9): the template's hash part
//! is copied node for node into a new table of the same size, instead of inserting its
//! ~35 names one by one (each insert hashes, finds a free node and chains it).
//!
//! The node copy relies on the layout of Lua 5.4's `Table` and `Node` (lobject.h of the
//! vendored Lua). [`layout_ok`] checks that layout once on tables it makes and reads back;
//! where it does not hold, [`copy`] inserts the names with `lua_next`/`lua_rawset` instead,
//! with the same result.
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use mlua::{Function, Lua, ffi};
use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicU8, Ordering};

/// Lua 5.4's `Table` (lobject.h): `CommonHeader` (`next`, `tt`, `marked`), then its fields
/// (`ffi::cases` reads the array part through it too).
#[repr(C)]
pub(super) struct Table {
    next: *mut c_void,
    pub(super) tt: u8,
    marked: u8,
    flags: u8,
    lsizenode: u8,
    pub(super) alimit: u32,
    /// The array part: `alimit` (at most its real size) `TValue`s.
    pub(super) array: *mut c_void,
    node: *mut u8,
    lastfree: *mut u8,
    metatable: *mut c_void,
    gclist: *mut c_void,
}

/// `sizeof(Node)`: a `TValue`'s value and tag, the key's tag, the chain offset (`int`) and
/// the key's value.
const NODE_SIZE: usize = 24;

/// Lua's tag of a table value (`LUA_VTABLE`: type 5, variant 0).
pub(super) const VTABLE: u8 = 5;

/// 0: not checked yet, 1: the layout holds, 2: it does not.
static LAYOUT: AtomicU8 = AtomicU8::new(0);

/// `copy(template)`: a new table with the template's keys and values (hash part only; no
/// metatable), as a C function for the prelude.
///
/// # Errors
/// Only Lua allocation failures.
pub fn function(lua: &Lua) -> mlua::Result<Function> {
    // SAFETY: `copy_fn` follows the lua_CFunction contract: it uses the C API only on the
    // state calling it, and raises through Lua's own errors.
    unsafe { lua.create_c_function(copy_fn) }
}

unsafe extern "C-unwind" fn copy_fn(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: `l` is the state calling this C function; luaL_checktype raises a Lua error
    // for a non-table (nothing here needs dropping), after which index 1 is a table.
    unsafe {
        ffi::luaL_checktype(l, 1, ffi::LUA_TTABLE);
        copy(l, 1);
        1
    }
}

/// Pushes a copy of the table at `idx` (a table without array part or metatable, whose
/// keys are never removed: the globals template).
///
/// # Safety
/// `l` is a running state with 3 free slots, inside a protected call (allocation may
/// raise), `idx` a positive index holding a table.
unsafe fn copy(l: *mut ffi::lua_State, idx: c_int) {
    // SAFETY: as the caller promises.
    unsafe {
        if !copy_nodes(l, idx) {
            insert_all(l, idx);
        }
    }
}

/// Pushes a node-for-node copy of the table at `idx` and says so, or pushes nothing and
/// returns false (the layout does not hold, or the table has an array part or metatable).
///
/// # Safety
/// As [`copy`].
unsafe fn copy_nodes(l: *mut ffi::lua_State, idx: c_int) -> bool {
    // SAFETY: lua_topointer of a table is its `Table`, alive while it is on the stack. The
    // node copy runs only where `layout_ok` found the layout (and the new table's node
    // array has the template's size, checked after lua_createtable, which may run the
    // collector but frees nothing reachable from the stack). The copied nodes point to the
    // template's keys and values, which the template keeps alive; the new table is white
    // (new), so it needs no barrier: the collector traverses it when it is reached.
    unsafe {
        let t = ffi::lua_topointer(l, idx) as *const Table;
        let plain = (*t).alimit == 0 && (*t).metatable.is_null() && (*t).array.is_null();
        if !plain || (*t).lsizenode == 0 || !layout_ok(l) {
            return false;
        }
        let size = 1usize << (*t).lsizenode;
        ffi::lua_createtable(l, 0, c_int::try_from(size).unwrap_or(c_int::MAX));
        let c = ffi::lua_topointer(l, -1) as *mut Table;
        if (*c).lsizenode != (*t).lsizenode || (*c).alimit != 0 {
            ffi::lua_pop(l, 1);
            return false;
        }
        std::ptr::copy_nonoverlapping((*t).node, (*c).node, size * NODE_SIZE);
        let used = (*t).lastfree.offset_from((*t).node);
        (*c).lastfree = (*c).node.offset(used);
        true
    }
}

/// Pushes a copy of the table at `idx` made by inserting its pairs one by one.
///
/// # Safety
/// As [`copy`].
unsafe fn insert_all(l: *mut ffi::lua_State, idx: c_int) {
    // SAFETY: lua_next walks the table at `idx` with the keys it returned (none removed);
    // each pair is set raw into the new table below them.
    unsafe {
        ffi::lua_createtable(l, 0, 0);
        ffi::lua_pushnil(l);
        while ffi::lua_next(l, idx) != 0 {
            ffi::lua_pushvalue(l, -2);
            ffi::lua_insert(l, -2);
            ffi::lua_rawset(l, -4);
        }
    }
}

/// Whether tables are laid out as [`Table`] says (checked once on tables made here).
///
/// # Safety
/// As [`copy`], with 2 free slots.
unsafe fn layout_ok(l: *mut ffi::lua_State) -> bool {
    match LAYOUT.load(Ordering::Relaxed) {
        1 => return true,
        2 => return false,
        _ => {}
    }
    // SAFETY: as the caller promises; the fields are only read, from tables this function
    // made and keeps on the stack while it reads them.
    let ok = unsafe {
        ffi::lua_createtable(l, 0, 35);
        ffi::lua_createtable(l, 0, 0);
        ffi::lua_pushvalue(l, -1);
        ffi::lua_setmetatable(l, -3);
        let t = ffi::lua_topointer(l, -2) as *const Table;
        let mt = ffi::lua_topointer(l, -1);
        let ok = (*t).tt == VTABLE
            && (*t).lsizenode == 6
            && (*t).alimit == 0
            && (*t).array.is_null()
            && !(*t).node.is_null()
            && (*t).lastfree == (*t).node.add(64 * NODE_SIZE)
            && std::ptr::eq((*t).metatable as *const c_void, mt);
        ffi::lua_pop(l, 2);
        ok
    };
    LAYOUT.store(if ok { 1 } else { 2 }, Ordering::Relaxed);
    ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlua::{Table as LuaTable, Value};

    /// Copies `t` both ways inside a protected call.
    fn copies(lua: &Lua, t: &LuaTable) -> (Option<LuaTable>, LuaTable) {
        // SAFETY: inside exec_raw's protected call with `t` at index 1 and room for the
        // copies (LUA_MINSTACK); `t` is removed, so the two copies are what is returned.
        unsafe {
            lua.exec_raw::<(Value, LuaTable)>(t, |l| {
                if !copy_nodes(l, 1) {
                    ffi::lua_pushnil(l);
                }
                insert_all(l, 1);
                ffi::lua_remove(l, 1);
            })
            .map(|(a, b)| (a.as_table().cloned(), b))
            .unwrap()
        }
    }

    fn pairs_of(t: &LuaTable) -> Vec<(String, i64)> {
        let mut v: Vec<(String, i64)> = t.pairs().map(|p| p.unwrap()).collect();
        v.sort();
        v
    }

    #[test]
    fn node_copy_matches_the_template_and_stays_apart_from_it() {
        let lua = Lua::new();
        let t = lua.create_table().unwrap();
        for i in 0..35 {
            t.raw_set(format!("name{i}"), i).unwrap();
        }
        let (nodes, inserted) = copies(&lua, &t);
        let nodes = nodes.expect("the vendored Lua's table layout holds");
        assert_eq!(pairs_of(&nodes), pairs_of(&t));
        assert_eq!(pairs_of(&inserted), pairs_of(&t));
        // Growing, rehashing and emptying the copy leaves the template as it was.
        for i in 0..300 {
            nodes.raw_set(format!("more{i}"), i).unwrap();
        }
        for i in 0..35 {
            assert_eq!(nodes.raw_get::<i64>(format!("name{i}")).unwrap(), i);
            nodes.raw_set(format!("name{i}"), Value::Nil).unwrap();
        }
        assert_eq!(pairs_of(&inserted), pairs_of(&t));
        assert_eq!(t.pairs::<String, i64>().count(), 35);
        assert_eq!(nodes.raw_get::<Value>("more0").unwrap(), Value::Integer(0));
        lua.gc_collect().unwrap();
        assert_eq!(pairs_of(&inserted), pairs_of(&t));
    }

    #[test]
    fn a_table_with_an_array_part_is_copied_by_inserting() {
        let lua = Lua::new();
        let t = lua.create_sequence_from([1, 2, 3]).unwrap();
        t.raw_set("k", 4).unwrap();
        let (nodes, inserted) = copies(&lua, &t);
        assert!(nodes.is_none());
        assert_eq!(inserted.raw_len(), 3);
        assert_eq!(inserted.raw_get::<i64>("k").unwrap(), 4);
    }
}
