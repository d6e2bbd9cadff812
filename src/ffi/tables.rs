//! The bound on a table's growth: `vendor/lua-src`'s `ltable.c` (patched, see its
//! `MOONHOST.md`) asks the C function pointer `moonhost_table_hook` (null in stock use) for
//! the most hash entries a table may grow to whenever a table's hash part grows past 1024
//! entries or its array part past 32768 slots, and raises `table overflow (...)` past it.
//! [`install`] points it at [`on_grow`], which reads the bound the scheduler set for the
//! running slice with [`set_bound`] (a thread-local: a runtime runs on one thread, and the
//! hook may not touch the Lua stack, which can be full where a table grows).

use mlua::ffi::lua_State;
use std::cell::Cell;
use std::sync::OnceLock;

type Hook = unsafe extern "C-unwind" fn(*mut lua_State) -> usize;

unsafe extern "C" {
    /// Defined (null) in the patched `ltable.c`; set once by [`install`].
    static mut moonhost_table_hook: Option<Hook>;
}

thread_local! {
    /// The running slice's bound on one table's hash entries (0: none).
    static BOUND: Cell<usize> = const { Cell::new(0) };
}

/// Set once [`install`] has pointed the hook at [`on_grow`].
static INSTALLED: OnceLock<()> = OnceLock::new();

/// Makes table growth ask for the bound from now on, in every Lua state of this OS process.
/// Until then tables grow as in stock Lua; after it, as long as no bound is set.
pub fn install() {
    super::set_c_hook_once(&INSTALLED, (), &raw mut moonhost_table_hook, on_grow);
}

/// Sets the bound for what runs next on this thread: the most hash entries one table may
/// hold (a power of two), or 0 for none.
#[inline]
pub fn set_bound(entries: usize) {
    BOUND.with(|b| b.set(entries));
}

/// What the patched `ltable.c` calls before growing a big table: the bound (0: none). It
/// neither raises nor touches the Lua state.
///
/// # Safety
/// None needed: `l` is not used.
unsafe extern "C-unwind" fn on_grow(_l: *mut lua_State) -> usize {
    BOUND.with(Cell::get)
}
