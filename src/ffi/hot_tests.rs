//! Takes made while another builds.

use super::*;
use crate::ffi::resume::{Deferred, Taken, clear_takes};
use std::cell::Cell;
use std::rc::Rc;

/// Pushes one `true`; `inner`, if any, is taken (as a nested `Out::Take`) while it
/// pushes, and `dropped` is set when it is dropped.
struct Nest {
    inner: Cell<Option<Box<Nest>>>,
    lua: *const Lua,
    dropped: Rc<Cell<bool>>,
    dropped_while_pushing: Rc<Cell<bool>>,
}

impl std::fmt::Debug for Nest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Nest")
    }
}

impl Drop for Nest {
    fn drop(&mut self) {
        self.dropped.set(true);
    }
}

impl Deferred for Nest {
    unsafe fn push(&self, l: *mut ffi::lua_State) -> c_int {
        // SAFETY: `l` is the test's protected state, with room for the values; `lua`
        // outlives the test.
        unsafe {
            if let Some(inner) = self.inner.take() {
                let n = finish(l, &*self.lua, Out::Take(Taken::Boxed(inner)));
                ffi::lua_pop(l, n);
            }
            self.dropped_while_pushing.set(self.dropped.get());
            ffi::lua_pushboolean(l, 1);
        }
        1
    }
}

/// A take made while another builds (a finalizer run by the collector inside a build
/// may call a hot binding that takes) must not drop the outer build's box under it.
#[test]
fn a_nested_take_leaves_the_outer_box_alive_until_the_takes_are_cleared() {
    let lua = Lua::new();
    let flags = || Rc::new(Cell::new(false));
    let (outer_dropped, outer_during) = (flags(), flags());
    let inner = Box::new(Nest {
        inner: Cell::new(None),
        lua: &lua,
        dropped: flags(),
        dropped_while_pushing: flags(),
    });
    let outer = Box::new(Nest {
        inner: Cell::new(Some(inner)),
        lua: &lua,
        dropped: outer_dropped.clone(),
        dropped_while_pushing: outer_during.clone(),
    });
    // SAFETY: exec_raw gives a protected call on mlua's state with room for the values
    // `finish` pushes; they are the closure's results.
    let ok: bool = unsafe {
        lua.exec_raw((), |state| {
            finish(state, &lua, Out::Take(Taken::Boxed(outer)));
        })
    }
    .expect("runs");
    assert!(ok);
    assert!(
        !outer_during.get(),
        "the outer box was dropped while it built"
    );
    clear_takes();
    assert!(outer_dropped.get(), "cleared once no build runs");
}
