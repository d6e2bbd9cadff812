//! A process's memory limit as a soft cap plus a hard cap (issue 11). The limit used to be
//! mlua's allocator refusing an allocation, and on every refusal Lua's `lmem.c` ran an
//! emergency full collection over the whole shared heap (hundreds of milliseconds over a
//! few million tables) — once per try of a script that catches the memory error.
//!
//! Now the cap of a slice (the process's base plus its allowance, under the runtime's
//! ceiling) is soft: the allocation that crosses it is let through (mlua's limit is raised
//! by [`Fuel::headroom`] to the hard cap), the slice is marked [`Fuel::over`], and the
//! running coroutine stops at its next instruction where it can yield. The scheduler then
//! runs a bounded collection over the process's turns (`runtime/collector.rs`), other
//! processes running in between; if the process is still over its limit after that, its
//! next allocation over the cap fails ([`Fuel::refuse`]) with Lua's own memory error,
//! exactly where stock Lua's emergency collection would have failed it. Where the process
//! cannot yield, it may grow up to the hard cap, where the allocator refuses. A refusal
//! the limit made over a big shared heap skips the emergency collection
//! ([`FULL_COLLECTION_MAX_HEAP`]); one over a small heap, or not the limit's, is stock.

use crate::ffi::alloc::{self, Refused};
use crate::preempt::{self, Fuel};
use mlua::Lua;
use std::rc::Rc;

/// The shared heap over which a full collection could hold the thread past the 50 ms slice
/// bound (about 3 ms per MiB of small tables in a release build on this machine): a
/// refusal the limit made over a bigger heap fails without Lua's emergency collection.
/// Bytes, not time, so a simulation repeats.
pub const FULL_COLLECTION_MAX_HEAP: usize = 8 << 20;
/// The hard cap's headroom is an eighth of the process's limit, at most this.
pub const HEADROOM_MAX: usize = 32 << 20;

/// A collection after a crossing must leave the process this fraction of its limit free
/// (1/64: 4 MiB of 256 MiB, 128 KiB of 8 MiB), else the process counts as over its limit.
/// Without it a process just under its limit would cross again at once, and be collected
/// for again, over and over: charges are scaled to the live heap, so a process's share can
/// stay a few KiB under its limit while its live data grows.
pub const ROOM_FRACTION: usize = 64;

/// Whether a process charged `heap` bytes after its collection is over its `limit`: it
/// has less than [`ROOM_FRACTION`] of it free.
pub fn still_over(heap: usize, limit: usize) -> bool {
    heap.saturating_add(limit / ROOM_FRACTION) > limit
}

/// How far past its soft cap a process whose limit is `limit` bytes may grow.
pub fn headroom(limit: usize) -> usize {
    (limit / 8).min(HEADROOM_MAX)
}

/// The runtime's fuel, for the refusal hook.
struct SoftCap(Rc<Fuel>);

/// Makes refused allocations of `lua` go through [`on_refused`].
pub fn install(lua: &Lua, fuel: Rc<Fuel>) {
    lua.set_app_data(SoftCap(fuel));
    alloc::install(lua, on_refused);
}

/// The refusal hook ([`alloc::RefusalCheck`]).
fn on_refused(lua: &Lua, state: *mut mlua::ffi::lua_State, osize: usize, nsize: usize) -> Refused {
    let Some(fuel) = lua.app_data_ref::<SoftCap>() else {
        return Refused::Stock;
    };
    decide(lua, &fuel.0, state, nsize.saturating_sub(osize))
}

/// Decides on an allocation that would grow the heap by `grow` bytes, refused on
/// coroutine `state`.
fn decide(lua: &Lua, fuel: &Fuel, state: *mut mlua::ffi::lua_State, grow: usize) -> Refused {
    let cap = fuel.heap_cap.get();
    let used = crate::ffi::heap::used(lua);
    let wanted = used.saturating_add(grow);
    if cap == 0 || wanted <= cap {
        // Not the limit's refusal (a size mlua cannot allocate): stock.
        return Refused::Stock;
    }
    let headroom = fuel.headroom.get();
    if headroom > 0 && !fuel.over.get() && !fuel.refuse.get() {
        let hard = cap.saturating_add(headroom);
        if wanted <= hard {
            fuel.over.set(true);
            fuel.cap_heap(lua, hard);
            if crate::ffi::is_yieldable(state) {
                preempt::preempt_soon(fuel, state);
            }
            return Refused::Retry;
        }
    }
    // The hard cap, a refusal after the collection, or one allocation past the headroom.
    fuel.refuse.set(false);
    if used > FULL_COLLECTION_MAX_HEAP {
        Refused::Fail
    } else {
        Refused::Stock
    }
}

#[cfg(test)]
mod tests;
