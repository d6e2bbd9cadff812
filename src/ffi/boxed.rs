//! Rust values as plain Lua userdata: a 24-byte block holding a tag and a `Box<dyn Any>`,
//! under one metatable per kind (stored in the registry under the kind's static key) whose
//! `__gc` drops the box. The hot bindings read the value back with a size and tag check and
//! a downcast, not an mlua borrow, and build one without mlua's protected closure.
//!
//! A flat value (`push_flat`, a `Copy` type) lives inside its userdata instead, after a
//! pointer to it: it owns nothing, so its kind's metatable has no `__gc` and the collector
//! frees it like a string (a finalizer costs ~800 instructions per object).
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use mlua::{Function, Lua, Table, Value, ffi};
use std::any::Any;
use std::ffi::{c_int, c_void};

/// First word of a boxed value's block.
const TAG: u64 = 0x6d6f_6f6e_626f_7865; // "moonboxe"
/// First word of a flat value's block ([`push_flat`]).
const TAG_FLAT: u64 = 0x6d6f_6f6e_666c_6174; // "moonflat"
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

/// Installs the metatable of the flat `kind` ([`new_flat`]): the fields of registered
/// kind `like`'s (methods, name, `__tostring`, locked), without its `__gc` (a flat value
/// owns nothing to drop, and an object without a finalizer costs the collector nothing to
/// free).
///
/// # Errors
/// Only Lua allocation failures.
pub fn register_flat(lua: &Lua, kind: Kind, like: Kind) -> mlua::Result<()> {
    // SAFETY: exec_raw runs the closure in a protected call on mlua's state (room for the
    // four values it pushes at most): `like`'s metatable (or nil, when it was never
    // registered: then the copy is empty), the new table, one field in flight; the new
    // table goes into the registry under `kind`'s key and the stack is left as it was.
    unsafe {
        lua.exec_raw::<()>((), |state| {
            let like_mt = ffi::lua_rawgetp(state, ffi::LUA_REGISTRYINDEX, key(like));
            ffi::lua_createtable(state, 0, 4);
            if like_mt == ffi::LUA_TTABLE {
                for field in [c"__index", c"__name", c"__tostring", c"__metatable"] {
                    ffi::lua_getfield(state, -2, field.as_ptr());
                    ffi::lua_setfield(state, -2, field.as_ptr());
                }
            }
            ffi::lua_rawsetp(state, ffi::LUA_REGISTRYINDEX, key(kind));
            ffi::lua_pop(state, 1);
        })
    }
}

/// Pushes a new flat `value` of `kind` on `state`: the value itself inside the userdata,
/// after a pointer to it where a boxed value's box is, so [`read_at`] reads both alike.
///
/// # Safety
/// `state` is a running coroutine (or mlua's state inside `exec_raw`) with two free stack
/// slots; the allocation may raise a memory error (a `longjmp`) through the caller's frame
/// (a `Copy` value leaks nothing).
pub(super) unsafe fn push_flat<T: Any + Copy>(state: *mut ffi::lua_State, kind: Kind, value: T) {
    const { assert!(std::mem::align_of::<T>() <= 8) };
    // SAFETY: lua_newuserdatauv returns a block of the size asked aligned to Lua's maximal
    // alignment (at least 8: enough for the words and `T`, checked above); Lua never moves
    // a userdata's block, so the pointer to the value inside it stays right for its life.
    // The block is filled before anything else can see it, and `T: Copy` has no drop to
    // miss. The registry's metatable is set on it (a plain empty one for a kind never
    // registered: nothing to drop either).
    unsafe {
        let block = ffi::lua_newuserdatauv(state, SIZE + std::mem::size_of::<T>(), 0) as *mut u64;
        let data = block.add(SIZE / 8) as *mut T;
        data.write(value);
        let fat: *const dyn Any = data as *const T as *const dyn Any;
        (block.add(1) as *mut *const dyn Any).write(fat);
        block.write(TAG_FLAT);
        if ffi::lua_rawgetp(state, ffi::LUA_REGISTRYINDEX, key(kind)) != ffi::LUA_TTABLE {
            ffi::lua_pop(state, 1);
            ffi::lua_createtable(state, 0, 0);
            ffi::lua_pushvalue(state, -1);
            ffi::lua_rawsetp(state, ffi::LUA_REGISTRYINDEX, key(kind));
        }
        ffi::lua_setmetatable(state, -2);
    }
}

/// A new flat value of `kind` (see [`push_flat`]).
///
/// # Errors
/// Lua allocation failures.
pub fn new_flat<T: Any + Copy>(lua: &Lua, kind: Kind, value: T) -> mlua::Result<Value> {
    // SAFETY: exec_raw gives a protected call on mlua's state with room on its stack, and
    // returns the object `push_flat` leaves on top.
    unsafe { lua.exec_raw::<Value>((), |state| push_flat(state, kind, value)) }
}

/// A flat value of a kind for a hot binding or a receive to build on its own stack
/// ([`super::hot::Out::Take`], [`super::resume::Push::Take`]), followed by `true` when `ok`
/// (a receive's `value, ok`).
#[derive(Debug, Clone, Copy)]
pub struct FlatTake<T> {
    /// Its kind.
    pub kind: Kind,
    /// The value.
    pub value: T,
    /// Whether `true` follows it.
    pub ok: bool,
}

impl<T: Any + Copy + std::fmt::Debug> super::resume::Deferred for FlatTake<T> {
    unsafe fn push(&self, l: *mut ffi::lua_State) -> c_int {
        // SAFETY: as `Deferred::push` promises: `l` has LUA_MINSTACK free slots; a raise
        // leaves nothing to drop (the value is `Copy`).
        unsafe {
            push_flat(l, self.kind, self.value);
            if self.ok {
                ffi::lua_pushboolean(l, 1);
            }
        }
        1 + c_int::from(self.ok)
    }
}

/// Pushes a new boxed `value` of `kind` on `state`.
///
/// # Safety
/// `state` is a running coroutine (or mlua's state inside `exec_raw`) with three free stack
/// slots. The allocation may raise a memory error (a `longjmp`): `value` then leaks, and the
/// caller's frame must hold nothing to drop.
pub(super) unsafe fn push(state: *mut ffi::lua_State, kind: Kind, value: Box<dyn Any>) {
    let value = std::cell::Cell::new(Some(value));
    // SAFETY: as the caller promises; a raise leaks what `value` holds (never freed twice).
    unsafe { push_from(state, kind, &value) }
}

/// Pushes a new boxed value of `kind` on `state`, taken out of `value` only once the block
/// and its metatable are in place: a memory error raised before leaves it in `value` (its
/// owner drops it), after there is nothing left to raise. An empty `value` pushes `nil`.
///
/// # Safety
/// `state` is a running coroutine (or mlua's state inside `exec_raw`) with three free stack
/// slots; the allocation may raise a memory error (a `longjmp`) through the caller's frame.
pub(super) unsafe fn push_from(
    state: *mut ffi::lua_State,
    kind: Kind,
    value: &std::cell::Cell<Option<Box<dyn Any>>>,
) {
    // SAFETY: lua_newuserdatauv returns a block of SIZE bytes aligned to Lua's maximal
    // alignment (enough for a u64 and a fat pointer). Its first word is 0 until the box is
    // written, so a `__gc` of a block that never got one (impossible while it is on the
    // stack, but cheap to rule out) does nothing. The registry's metatable is set on it, or
    // the non-table popped; nothing after the take can raise.
    unsafe {
        let block = ffi::lua_newuserdatauv(state, SIZE, 0) as *mut u64;
        block.write(0);
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
        match value.take() {
            Some(v) => {
                (block.add(1) as *mut Box<dyn Any>).write(v);
                block.write(TAG);
            }
            None => {
                ffi::lua_pop(state, 1);
                ffi::lua_pushnil(state);
            }
        }
    }
}

/// A boxed value of a kind, for a receive to build on its own stack followed by `true`
/// (`value, ok`: [`super::resume::Push::Take`], [`super::hot::Out::Take`]).
pub struct Take {
    /// Its kind.
    kind: Kind,
    /// The value, until it is pushed.
    value: std::cell::Cell<Option<Box<dyn Any>>>,
}

impl Take {
    /// `value` of `kind`, to be pushed.
    pub fn new(kind: Kind, value: Box<dyn Any>) -> Take {
        Take {
            kind,
            value: std::cell::Cell::new(Some(value)),
        }
    }
}

impl std::fmt::Debug for Take {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("boxed::Take")
    }
}

impl super::resume::Deferred for Take {
    unsafe fn push(&self, l: *mut ffi::lua_State) -> c_int {
        // SAFETY: as `Deferred::push` promises: `l` has LUA_MINSTACK free slots, and a raise
        // leaves the value in `self` (dropped by its owner).
        unsafe {
            push_from(l, self.kind, &self.value);
            ffi::lua_pushboolean(l, 1);
        }
        2
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
    // SAFETY: a full userdata's block and length, as `decode` needs them.
    unsafe {
        if ffi::lua_type(state, idx) != ffi::LUA_TUSERDATA {
            return None;
        }
        decode(
            ffi::lua_touserdata(state, idx) as *const u64,
            ffi::lua_rawlen(state, idx),
        )
    }
}

/// The boxed or flat value in full userdata block `block` of `len` bytes, if it holds one.
///
/// # Safety
/// `block` is the start of a full userdata's block of `len` bytes, alive for `'a`.
pub(super) unsafe fn decode<'a>(block: *const u64, len: usize) -> Option<Boxed<'a>> {
    // SAFETY: the block is read only when it is exactly SIZE bytes with the tag, which
    // only `push` writes (and `collect` clears before dropping the box), or longer with the
    // flat tag, which only `push_flat` writes (a pointer to the value in the block, where a
    // box would be).
    unsafe {
        let tag = if len >= SIZE { block.read() } else { 0 };
        if tag == TAG && len == SIZE {
            let b = &*(block.add(1) as *const Box<dyn Any>);
            return Some(Boxed(&**b));
        }
        if tag == TAG_FLAT && len > SIZE {
            let b = (block.add(1) as *const *const dyn Any).read();
            return Some(Boxed(&*b));
        }
        None
    }
}

/// Calls `f` with the boxed `T` inside `v`, if `v` is one.
pub fn with<T: Any, R>(lua: &Lua, v: &Value, f: impl FnOnce(&T) -> R) -> Option<R> {
    with_any(lua, v, |b| b.get::<T>().map(f)).flatten()
}

/// Calls `f` with the boxed or flat value inside `v`, whatever its type, if `v` holds one.
pub fn with_any<R>(lua: &Lua, v: &Value, f: impl FnOnce(Boxed<'_>) -> R) -> Option<R> {
    // SAFETY: `read_at` only reads the pushed value, which stays on the stack (so alive)
    // while `f` reads the box; `f` may call Lua, which leaves the stack as it found it, and
    // `v` itself is held by the caller.
    unsafe { super::with_userdata_at(lua, v, |s| read_at(s, -1).map(f)) }
}

/// `__gc` of boxed values: clears the tag (a resurrected object is no boxed value any
/// more) and drops the box.
unsafe extern "C-unwind" fn collect(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua's collector with the object at index 1; `read_at` checked its
    // size and tag, so the box is read out exactly once (the tag is cleared first). A
    // panic in a destructor is caught: it must not unwind through the collector.
    unsafe {
        if read_at(l, 1).is_some() && (ffi::lua_touserdata(l, 1) as *const u64).read() == TAG {
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

    /// Whether the metatable of `kind` in the registry has a `__gc`.
    fn has_gc(lua: &Lua, kind: Kind) -> bool {
        // SAFETY: exec_raw gives a protected call with room on the stack; the pushes are
        // popped by it.
        unsafe {
            lua.exec_raw::<bool>((), |state| {
                ffi::lua_rawgetp(state, ffi::LUA_REGISTRYINDEX, key(kind));
                ffi::lua_getfield(state, -1, c"__gc".as_ptr());
                let gc = ffi::lua_type(state, -1) != ffi::LUA_TNIL;
                ffi::lua_pop(state, 2);
                ffi::lua_pushboolean(state, c_int::from(gc));
            })
            .unwrap()
        }
    }

    #[test]
    fn a_flat_value_reads_back_in_place_and_its_kind_has_no_finalizer() {
        static FLAT: u8 = 0;
        let lua = lua_with_kind();
        register_flat(&lua, &FLAT, &KIND).unwrap();
        assert!(has_gc(&lua, &KIND), "a boxed kind drops its box");
        assert!(!has_gc(&lua, &FLAT), "a flat kind owns nothing to drop");
        let values: Vec<Value> = (0..100u64)
            .map(|i| new_flat(&lua, &FLAT, (i, [i as u8; 13])).unwrap())
            .collect();
        lua.gc_collect().unwrap();
        for (i, v) in values.iter().enumerate() {
            let i = i as u64;
            assert_eq!(
                with(&lua, v, |x: &(u64, [u8; 13])| *x),
                Some((i, [i as u8; 13]))
            );
            assert_eq!(with(&lua, v, |c: &Counted| c.1), None, "wrong type");
        }
        let (name, mt): (String, bool) = lua
            .load("local v = ... return tostring(v), getmetatable(v)")
            .call(values[3].clone())
            .unwrap();
        assert_eq!(
            (name.as_str(), mt),
            ("boxed", false),
            "the fields of the kind it is like"
        );
        // A flat block is never taken for a boxed one, whose `__gc` would free a box.
        let boxed = new(&lua, &KIND, Box::new(5u64)).unwrap();
        assert_eq!(with(&lua, &boxed, |x: &u64| *x), Some(5));
        drop((values, boxed));
        lua.gc_collect().unwrap();
    }

    #[test]
    fn a_take_left_unpushed_drops_its_value_with_it() {
        let drops = Rc::new(Cell::new(0));
        drop(Take::new(&KIND, Box::new(Counted(drops.clone(), 1))));
        assert_eq!(drops.get(), 1);
    }
}
