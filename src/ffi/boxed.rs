//! Rust values as plain Lua userdata: a 24-byte block holding a tag and a `Box<dyn Any>`,
//! under one metatable per kind (stored in the registry under the kind's static key) whose
//! `__gc` drops the box. The hot bindings read the value back with a size and tag check and
//! a downcast, not an mlua borrow, and build one without mlua's protected closure.
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use mlua::{Function, Lua, Table, Value, ffi};
use std::any::Any;
use std::ffi::{c_int, c_void};

/// First word of a boxed value's block.
const TAG: u64 = 0x6d6f_6f6e_626f_7865; // "moonboxe"
/// Size of the block: the tag and the box's fat pointer.
const SIZE: usize = 8 + std::mem::size_of::<Box<dyn Any>>();

/// A kind of boxed value: the address of its registry key.
pub type Kind = &'static u8;

fn key(kind: Kind) -> *const c_void {
    kind as *const u8 as *const c_void
}

/// A boxed value read off the stack, alive while its userdata is (for the call).
#[derive(Clone, Copy)]
pub struct Boxed<'a>(&'a dyn Any);

impl<'a> Boxed<'a> {
    /// The value as a `T`, if it is one.
    pub fn get<T: Any>(self) -> Option<&'a T> {
        self.0.downcast_ref::<T>()
    }
}

impl std::fmt::Debug for Boxed<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Boxed({:p})", self.0)
    }
}

impl PartialEq for Boxed<'_> {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::addr_eq(self.0, other.0)
    }
}

/// Installs the metatable of `kind`: `__index = methods`, `__name`, `__tostring`,
/// `__metatable = false`, and the `__gc` that drops the box.
///
/// # Errors
/// Only Lua allocation failures.
pub fn register(
    lua: &Lua,
    kind: Kind,
    name: &str,
    methods: Table,
    tostring: Function,
) -> mlua::Result<()> {
    let mt = lua.create_table()?;
    mt.raw_set("__index", methods)?;
    mt.raw_set("__name", name)?;
    mt.raw_set("__tostring", tostring)?;
    mt.raw_set("__metatable", false)?;
    // SAFETY: exec_raw runs the closure in a protected call with `mt` pushed at index 1: it
    // stores the `__gc` C function in `mt` and moves `mt` into the registry under the
    // kind's key, leaving the stack as it found it.
    unsafe {
        lua.exec_raw::<()>(mt, |state| {
            ffi::lua_pushcfunction(state, collect);
            ffi::lua_setfield(state, -2, c"__gc".as_ptr());
            ffi::lua_rawsetp(state, ffi::LUA_REGISTRYINDEX, key(kind));
        })
    }
}

/// Pushes a new boxed `value` of `kind` on `state`.
///
/// # Safety
/// `state` is a running coroutine (or mlua's state inside `exec_raw`) with three free stack
/// slots. The allocation may raise a memory error (a `longjmp`): `value` then leaks, and the
/// caller's frame must hold nothing to drop.
pub(super) unsafe fn push(state: *mut ffi::lua_State, kind: Kind, value: Box<dyn Any>) {
    // SAFETY: lua_newuserdatauv returns a block of SIZE bytes aligned to Lua's maximal
    // alignment (enough for a u64 and a fat pointer), filled before anything else can see
    // it; a memory error inside it longjmps past `value`, which leaks (never freed twice).
    // The registry's metatable is set on it, or the non-table popped.
    unsafe {
        let value = std::mem::ManuallyDrop::new(value);
        let block = ffi::lua_newuserdatauv(state, SIZE, 0) as *mut u64;
        block.write(TAG);
        (block.add(1) as *mut Box<dyn Any>).write(std::mem::ManuallyDrop::into_inner(value));
        if ffi::lua_rawgetp(state, ffi::LUA_REGISTRYINDEX, key(kind)) != ffi::LUA_TTABLE {
            // Not registered (a Lua without moonhost's bindings, as `PayloadBox::into_lua`
            // may be given): a metatable with only the `__gc`, so the box is still dropped.
            ffi::lua_pop(state, 1);
            ffi::lua_createtable(state, 0, 1);
            ffi::lua_pushcfunction(state, collect);
            ffi::lua_setfield(state, -2, c"__gc".as_ptr());
            ffi::lua_pushvalue(state, -1);
            ffi::lua_rawsetp(state, ffi::LUA_REGISTRYINDEX, key(kind));
        }
        ffi::lua_setmetatable(state, -2);
    }
}

/// A new boxed `value` of `kind`, as an mlua value.
///
/// # Errors
/// Lua allocation failures.
pub fn new(lua: &Lua, kind: Kind, value: Box<dyn Any>) -> mlua::Result<Value> {
    // SAFETY: exec_raw's protected call has room for the block and its metatable and
    // returns the object `push` leaves on top.
    unsafe { lua.exec_raw::<Value>((), |state| push(state, kind, value)) }
}

/// The boxed value at `idx` of `state`, if it is one.
///
/// # Safety
/// `idx` is a valid index of `state`, and the value stays there for `'a`.
pub(super) unsafe fn read_at<'a>(state: *mut ffi::lua_State, idx: c_int) -> Option<Boxed<'a>> {
    // SAFETY: the block is read only when it is a full userdata of exactly SIZE bytes with
    // the tag, which only `push` writes (and `collect` clears before dropping the box).
    unsafe {
        if ffi::lua_type(state, idx) != ffi::LUA_TUSERDATA || ffi::lua_rawlen(state, idx) != SIZE {
            return None;
        }
        let block = ffi::lua_touserdata(state, idx) as *const u64;
        if block.read() != TAG {
            return None;
        }
        let b = &*(block.add(1) as *const Box<dyn Any>);
        Some(Boxed(&**b))
    }
}

/// Calls `f` with the boxed `T` inside `v`, if `v` is one.
pub fn with<T: Any, R>(lua: &Lua, v: &Value, f: impl FnOnce(&T) -> R) -> Option<R> {
    // SAFETY: `read_at` only reads the pushed value, which stays on the stack (so alive)
    // while `f` reads the box; `f` may call Lua, which leaves the stack as it found it, and
    // `v` itself is held by the caller.
    unsafe { super::with_userdata_at(lua, v, |s| read_at(s, -1).and_then(|b| b.get::<T>()).map(f)) }
}

/// `__gc` of boxed values: clears the tag (a resurrected object is no boxed value any
/// more) and drops the box.
unsafe extern "C-unwind" fn collect(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua's collector with the object at index 1; `read_at` checked its
    // size and tag, so the box is read out exactly once (the tag is cleared first). A
    // panic in a destructor is caught: it must not unwind through the collector.
    unsafe {
        if read_at(l, 1).is_some() {
            let block = ffi::lua_touserdata(l, 1) as *mut u64;
            block.write(0);
            let b = (block.add(1) as *mut Box<dyn Any>).read();
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(b)));
        }
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    static KIND: u8 = 0;

    struct Counted(Rc<Cell<u32>>, u32);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }

    fn lua_with_kind() -> Lua {
        let lua = Lua::new();
        let tostring = lua.create_function(|_, ()| Ok("boxed")).unwrap();
        register(&lua, &KIND, "thing", lua.create_table().unwrap(), tostring).unwrap();
        lua
    }

    /// Fuzz finding 9: on a Lua where the kind was never registered the block had no
    /// metatable, so collecting it leaked the box.
    #[test]
    fn a_boxed_value_of_an_unregistered_kind_is_dropped_when_collected() {
        static OTHER: u8 = 0;
        let lua = Lua::new();
        let drops = Rc::new(Cell::new(0));
        for i in 0..3 {
            let v = new(&lua, &OTHER, Box::new(Counted(drops.clone(), i))).unwrap();
            assert_eq!(with(&lua, &v, |c: &Counted| c.1), Some(i));
        }
        lua.gc_collect().unwrap();
        lua.gc_collect().unwrap();
        assert_eq!(drops.get(), 3);
    }

    #[test]
    fn a_boxed_value_reads_back_and_is_dropped_once_when_collected() {
        let lua = lua_with_kind();
        let drops = Rc::new(Cell::new(0));
        let v = new(&lua, &KIND, Box::new(Counted(drops.clone(), 7))).unwrap();
        assert_eq!(with(&lua, &v, |c: &Counted| c.1), Some(7));
        assert_eq!(with(&lua, &v, |s: &String| s.len()), None, "wrong type");
        let (name, mt): (String, bool) = lua
            .load("local v = ... return tostring(v), getmetatable(v)")
            .call(v.clone())
            .unwrap();
        assert_eq!((name.as_str(), mt), ("boxed", false));
        drop(v);
        lua.gc_collect().unwrap();
        lua.gc_collect().unwrap();
        assert_eq!(drops.get(), 1);
        drop(lua);
        assert_eq!(drops.get(), 1, "closing the state drops nothing twice");
    }

    #[test]
    fn other_userdata_is_no_boxed_value() {
        let lua = lua_with_kind();
        let other = Value::UserData(lua.create_any_userdata([0u64; 3]).unwrap());
        assert_eq!(with(&lua, &other, |c: &Counted| c.1), None);
        assert_eq!(with(&lua, &Value::Integer(3), |c: &Counted| c.1), None);
    }
}
