//! The runtime's state reached without mlua's app-data map (issue 9): an [`Anchor`] owns
//! it in an `Rc<RefCell<_>>` and publishes its address in one slot per Lua state, a userdata
//! in the registry that every hot C closure also holds. A hot binding reaches the state
//! through its closure (no registry or hash lookup), a slow binding through the registry;
//! both borrow the one `RefCell`, so a re-entrant borrow (a finalizer calling a binding
//! while the runtime works) is refused, never aliased.
//!
//! The anchor empties the slot when it is dropped: the Lua state (and the closures) may
//! outlive it, and a binding called then finds nothing rather than a freed value. A
//! [`Held`] borrow holds a strong reference of its own, so it stays valid even then.
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use mlua::{Lua, ffi};
use std::any::TypeId;
use std::cell::{Cell, RefCell, RefMut};
use std::ffi::c_void;
use std::rc::Rc;

/// What one Lua state's slot holds: the installed state's type and address, if any.
#[derive(Default)]
pub struct Slot(Cell<Option<(TypeId, *const c_void)>>);

/// Why the shared state could not be borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellError {
    /// Nothing of that type is installed in this Lua state (or its anchor is gone).
    Absent,
    /// It is borrowed already (a re-entrant call).
    Busy,
}

impl std::fmt::Display for CellError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CellError::Absent => "no runtime in this Lua state",
            CellError::Busy => "runtime is busy",
        })
    }
}

/// The owner of a shared state, installed in one Lua state's slot.
pub struct Anchor<T: 'static> {
    rc: Rc<RefCell<T>>,
    slot: *const Slot,
    // Keeps the state, and so the slot, alive while the anchor points into it.
    _lua: Lua,
}

impl<T: 'static> Anchor<T> {
    /// Installs `value` as the shared state of `lua`'s bindings (replacing any other).
    ///
    /// # Errors
    /// Only a Lua allocation failure (making the slot).
    pub fn install(lua: &Lua, value: T) -> mlua::Result<Anchor<T>> {
        let slot = slot_of(lua)?;
        let rc = Rc::new(RefCell::new(value));
        // SAFETY: the slot lives as long as the state, which `_lua` keeps.
        unsafe { &*slot }
            .0
            .set(Some((TypeId::of::<T>(), Rc::as_ptr(&rc) as *const c_void)));
        Ok(Anchor {
            rc,
            slot,
            _lua: lua.clone(),
        })
    }

    /// Borrows the state.
    ///
    /// # Errors
    /// When it is borrowed already.
    pub fn try_borrow_mut(&self) -> Result<RefMut<'_, T>, CellError> {
        self.rc.try_borrow_mut().map_err(|_| CellError::Busy)
    }
}

impl<T: 'static> Drop for Anchor<T> {
    fn drop(&mut self) {
        // SAFETY: as in `install`: `_lua` is dropped after this.
        let slot = unsafe { &*self.slot };
        if slot.0.get().map(|(_, p)| p) == Some(Rc::as_ptr(&self.rc) as *const c_void) {
            slot.0.set(None);
        }
    }
}

impl<T: 'static> std::fmt::Debug for Anchor<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Anchor")
    }
}

/// A mutable borrow of the shared state that also keeps it alive.
pub struct Held<T: 'static> {
    // Declared first, so dropped before `_keep`: the borrow ends while the value lives.
    r: RefMut<'static, T>,
    _keep: Rc<RefCell<T>>,
}

impl<T: 'static> std::ops::Deref for Held<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.r
    }
}

impl<T: 'static> std::ops::DerefMut for Held<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.r
    }
}

impl<T: 'static> std::fmt::Debug for Held<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Held")
    }
}

impl Slot {
    /// Borrows the installed state as a `T`.
    #[inline]
    pub fn held<T: 'static>(&self) -> Result<Held<T>, CellError> {
        let Some((ty, p)) = self.0.get() else {
            return Err(CellError::Absent);
        };
        if ty != TypeId::of::<T>() {
            return Err(CellError::Absent);
        }
        let p = p as *const RefCell<T>;
        // SAFETY: a filled slot names a live anchor (it empties the slot before its `Rc`
        // drops), whose `Rc<RefCell<T>>` (the type id says `T`) points at `p`: taking one
        // more strong reference is sound. The `RefCell` lives in that allocation, which
        // does not move and stays alive while the `Held` owns `keep`; the borrow `r` is
        // dropped before `keep` (field order) and never handed out beyond a borrow of the
        // `Held` itself.
        let (keep, cell) = unsafe {
            Rc::increment_strong_count(p);
            (Rc::from_raw(p), &*p)
        };
        let r = cell.try_borrow_mut().map_err(|_| CellError::Busy)?;
        Ok(Held { r, _keep: keep })
    }
}

/// The registry key of the slot: this static's address.
static SLOT_KEY: u8 = 0;

fn key() -> *const c_void {
    &SLOT_KEY as *const u8 as *const c_void
}

/// Pushes the slot of `l`'s Lua state, making it on first use.
///
/// # Safety
/// `l` is a state of the Lua, in a protected call (the first use allocates), with two free
/// stack slots.
pub(super) unsafe fn push_slot(l: *mut ffi::lua_State) -> *const Slot {
    // SAFETY: as the caller promises. A slot owns nothing (a `Cell` of plain values), so it
    // needs no `__gc`; it lives in the registry, and so as long as the state.
    unsafe {
        if ffi::lua_rawgetp(l, ffi::LUA_REGISTRYINDEX, key()) == ffi::LUA_TUSERDATA {
            return ffi::lua_touserdata(l, -1) as *const Slot;
        }
        ffi::lua_pop(l, 1);
        let p = ffi::lua_newuserdatauv(l, std::mem::size_of::<Slot>(), 0) as *mut Slot;
        p.write(Slot::default());
        ffi::lua_pushvalue(l, -1);
        ffi::lua_rawsetp(l, ffi::LUA_REGISTRYINDEX, key());
        p
    }
}

/// The slot of `lua`'s state (made on first use).
fn slot_of(lua: &Lua) -> mlua::Result<*const Slot> {
    let mut p: *const Slot = std::ptr::null();
    // SAFETY: exec_raw runs the closure in a protected call with room for three values;
    // the slot is left on the stack, which exec_raw's stack guard clears.
    unsafe {
        lua.exec_raw::<()>((), |l| {
            p = push_slot(l);
        })?;
    }
    Ok(p)
}

/// Borrows the shared state of `lua` as a `T` (outside the hot closures, which hold the
/// slot themselves).
///
/// # Errors
/// [`CellError::Absent`] when none is installed, [`CellError::Busy`] when it is borrowed.
pub fn held<T: 'static>(lua: &Lua) -> Result<Held<T>, CellError> {
    let mut p: *const Slot = std::ptr::null();
    // SAFETY: lua_rawgetp reads the registry without metamethods or allocation; the value
    // is popped at once. A userdata under this key can only be a slot (`push_slot`), which
    // lives as long as the Lua state.
    let found = lua.exec_raw_lua(|raw| unsafe {
        let l = raw.state();
        if ffi::lua_checkstack(l, 1) == 0 {
            return false;
        }
        if ffi::lua_rawgetp(l, ffi::LUA_REGISTRYINDEX, key()) == ffi::LUA_TUSERDATA {
            p = ffi::lua_touserdata(l, -1) as *const Slot;
        }
        ffi::lua_pop(l, 1);
        !p.is_null()
    });
    if !found {
        return Err(CellError::Absent);
    }
    // SAFETY: see above: the slot outlives this call.
    unsafe { &*p }.held()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_borrow_is_refused_not_aliased() {
        let lua = Lua::new();
        let anchor = Anchor::install(&lua, 7u32).unwrap();
        let mut a = held::<u32>(&lua).unwrap();
        *a += 1;
        assert_eq!(held::<u32>(&lua).unwrap_err(), CellError::Busy);
        assert_eq!(anchor.try_borrow_mut().unwrap_err(), CellError::Busy);
        drop(a);
        assert_eq!(*anchor.try_borrow_mut().unwrap(), 8);
        assert_eq!(*held::<u32>(&lua).unwrap(), 8);
        assert_eq!(CellError::Busy.to_string(), "runtime is busy");
    }

    #[test]
    fn gone_or_other_types_are_absent() {
        let lua = Lua::new();
        assert_eq!(held::<u32>(&lua).unwrap_err(), CellError::Absent);
        let anchor = Anchor::install(&lua, 1u32).unwrap();
        assert_eq!(held::<String>(&lua).unwrap_err(), CellError::Absent);
        drop(anchor);
        assert_eq!(held::<u32>(&lua).unwrap_err(), CellError::Absent);
        // A newer anchor is not emptied by an older one's drop.
        let old = Anchor::install(&lua, 2u32).unwrap();
        let new = Anchor::install(&lua, 3u32).unwrap();
        drop(old);
        assert_eq!(*held::<u32>(&lua).unwrap(), 3);
        drop(new);
        assert_eq!(held::<u32>(&lua).unwrap_err(), CellError::Absent);
    }

    #[test]
    fn a_held_borrow_keeps_the_value_alive() {
        let lua = Lua::new();
        let anchor = Anchor::install(&lua, String::from("core")).unwrap();
        let h = held::<String>(&lua).unwrap();
        drop(anchor);
        assert_eq!(*h, "core");
        drop(h);
        assert_eq!(held::<String>(&lua).unwrap_err(), CellError::Absent);
    }
}
