//! The refusal hook of Lua's allocator: `vendor/lua-src`'s `lmem.c` (patched, see its
//! `MOONHOST.md`) calls the C function pointer `moonhost_alloc_hook` when an allocation
//! fails, before its emergency full collection; null in stock use. [`install`] points it at
//! [`on_refused`], which hands the decision to a plain Rust function (`softcap` decides
//! between the soft and the hard memory cap). mlua's allocator stays Lua's allocator, so
//! allocations pay nothing until one is refused, and `Lua::used_memory` stays mlua's count.

use mlua::ffi::{self, lua_State};
use mlua::{Lua, WeakLua};
use std::cell::RefCell;
use std::ffi::{c_int, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;

/// What a refused allocation does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// As stock Lua: an emergency full collection (when the collector can run one), then
    /// one more try.
    Stock,
    /// Try once more at once: the decision raised the limit.
    Retry,
    /// Fail without the emergency collection (Lua raises its memory error).
    Fail,
}

/// Decides on an allocation of `nsize` bytes (growing a block of `osize`, 0 for a new one)
/// that `lua`'s allocator refused on coroutine `state`. Must not raise a Lua error.
pub type RefusalCheck = fn(lua: &Lua, state: *mut lua_State, osize: usize, nsize: usize) -> Refused;

type Hook = unsafe extern "C-unwind" fn(*mut lua_State, usize, usize) -> c_int;

unsafe extern "C" {
    /// Defined (null) in the patched `lmem.c`; set once by [`install`].
    static mut moonhost_alloc_hook: Option<Hook>;
}

/// `lmem.c`'s answers (`MOONHOST_ALLOC_*`).
const STOCK: c_int = 0;
const RETRY: c_int = 1;
const FAIL: c_int = 2;

/// The check every runtime of this OS process uses.
static CHECK: OnceLock<RefusalCheck> = OnceLock::new();

thread_local! {
    /// The states of this thread whose refusals go to the check, by their allocator's
    /// userdata (one per state: mlua's memory state). Inside an allocation the Lua stack
    /// may be full, so the hook cannot ask mlua for its `Lua` (that pushes on the stack);
    /// `lua_getallocf` reads a field.
    static STATES: RefCell<Vec<(usize, WeakLua)>> = const { RefCell::new(Vec::new()) };
}

/// The allocator userdata of the state `l` belongs to.
fn key(l: *mut lua_State) -> usize {
    let mut ud: *mut c_void = std::ptr::null_mut();
    // SAFETY: `l` is a thread of a live state; lua_getallocf only reads the global state's
    // allocator fields into `ud`, a local.
    unsafe { ffi::lua_getallocf(l, &mut ud) };
    ud as usize
}

/// Makes refused allocations of `lua` call `check` from now on (the first check given
/// wins, in every state of this OS process: there is one). Until then a refusal is stock.
pub fn install(lua: &Lua, check: RefusalCheck) {
    let k = key(lua.state());
    STATES.with_borrow_mut(|states| {
        states.retain(|(_, w)| w.try_upgrade().is_some());
        states.push((k, lua.weak()));
    });
    super::set_c_hook_once(&CHECK, check, &raw mut moonhost_alloc_hook, on_refused);
}

/// What the patched `lmem.c` calls on a refused allocation.
///
/// # Safety
/// Called by `lmem.c` only, with the allocating thread `l` of a live state, inside an
/// allocation (where nothing may be pushed on the Lua stack, nor raised).
unsafe extern "C-unwind" fn on_refused(l: *mut lua_State, osize: usize, nsize: usize) -> c_int {
    let Some(check) = CHECK.get() else {
        return STOCK;
    };
    let k = key(l);
    let lua = STATES.with_borrow(|states| {
        let (_, weak) = states.iter().find(|(s, _)| *s == k)?;
        weak.try_upgrade()
    });
    // A state without the check, or one being closed: stock.
    let Some(lua) = lua else {
        return STOCK;
    };
    match catch_unwind(AssertUnwindSafe(|| check(&lua, l, osize, nsize))) {
        Ok(Refused::Retry) => RETRY,
        Ok(Refused::Fail) => FAIL,
        Ok(Refused::Stock) | Err(_) => STOCK,
    }
}
