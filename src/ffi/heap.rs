//! mlua's heap counter and limit read and written in place, for the scheduler's two looks
//! at the heap around every resume (the charge of a slice and its memory cap).
//!
//! `Lua::used_memory` and `Lua::set_memory_limit` take mlua's state lock and look up its
//! allocator state each time (~50–60 instructions a call, four calls per resume). The
//! allocator state is the userdata of Lua's allocator (`lua_getallocf`): mlua's
//! `memory::MemoryState`, a `#[repr(C)]` struct that starts with the bytes in use and the
//! limit. [`verify`] checks that layout against mlua's own accessors once per runtime; only
//! a state whose allocator is the one verified is read or written here, anything else (or a
//! failed check) leaves callers on mlua's API.
//!
//! mlua keeps a flag beside the limit (memory errors are "unlikely" when the limit is 0, and
//! some of its calls then skip protection), so a limit is written here only when both the
//! old and the new one are non-zero: the flag stays what mlua set.
//!
//! The runtime's own state runs on `ffi::allocator`, which keeps counting in the same
//! userdata (its layout checked when it is installed) and which mlua no longer recognises:
//! for such a state the counter and limit are only ever read and written here (any limit,
//! 0 included: mlua's flag was settled at the swap), and [`used`] and [`set_limit`] serve
//! callers that hold no coroutine.
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use mlua::{Lua, Thread, ffi};
use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The head of mlua's `MemoryState` (mlua 0.12, `src/memory.rs`).
#[repr(C)]
struct Counts {
    /// Bytes in use.
    used: isize,
    /// The limit (0: none).
    limit: isize,
}

/// The address of the allocator function whose userdata was verified to start with
/// [`Counts`] (0: none verified). mlua has one allocator function for all its states.
static VERIFIED: AtomicUsize = AtomicUsize::new(0);

/// The allocator state of `l`'s Lua, if its allocator is the verified one or
/// `ffi::allocator`'s (then the flag is true).
///
/// # Safety
/// `l` is a thread of a live state.
unsafe fn counts(l: *mut ffi::lua_State) -> Option<(*mut Counts, bool)> {
    let mut ud: *mut c_void = std::ptr::null_mut();
    // SAFETY: lua_getallocf only reads two fields of the global state into `ud`, a local,
    // and its return value.
    let f = unsafe { ffi::lua_getallocf(l, &mut ud) };
    if ud.is_null() {
        return None;
    }
    if super::allocator::is_ours(f) {
        return Some((ud as *mut Counts, true));
    }
    let verified = VERIFIED.load(Ordering::Relaxed);
    (verified != 0 && f as usize == verified).then_some((ud as *mut Counts, false))
}

/// Bytes `lua` uses (as `Lua::used_memory`, which cannot read a state on
/// `ffi::allocator`, also inside an allocation or a collection).
pub fn used(lua: &Lua) -> usize {
    // SAFETY: `lua.state()` is a live thread of `lua`.
    let found = unsafe { counts(lua.state()) };
    match found {
        // SAFETY: the allocator state of the live `lua`, read as in `Heap::used`.
        Some((c, _)) => unsafe { (*c).used as usize },
        None => lua.used_memory(),
    }
}

/// Limits `lua`'s heap to `limit` bytes, 0 for none (as `Lua::set_memory_limit`).
pub fn set_limit(lua: &Lua, limit: usize) {
    let heap = Heap {
        // SAFETY: `lua.state()` is a live thread of `lua`, which stays alive for the call.
        counts: unsafe { counts(lua.state()) },
        held: std::marker::PhantomData,
    };
    if !heap.set_limit(limit) {
        let _ = lua.set_memory_limit(limit);
    }
}

/// Checks, through mlua's own accessors, that `lua`'s allocator state starts with the bytes
/// in use and the limit, and if so lets [`Heap`] read and write it for
/// every state with the same allocator. Returns whether they will. Leaves the limit as it
/// found it.
pub fn verify(lua: &Lua) -> bool {
    let l = lua.state();
    let mut ud: *mut c_void = std::ptr::null_mut();
    // SAFETY: as in `counts`; `l` is the live main state of `lua`.
    let f = unsafe { ffi::lua_getallocf(l, &mut ud) };
    if ud.is_null() {
        return false;
    }
    if super::allocator::is_ours(f) {
        // Checked when it was installed.
        return true;
    }
    let at = ud as *const Counts;
    // SAFETY: `ud` is the non-null userdata of mlua's allocator. Reading the first word is
    // in bounds for any allocator state mlua makes (its `MemoryState` has two words before
    // a flag); the second word is read only after the first matched mlua's own count, and
    // set_memory_limit succeeding says the userdata is mlua's `MemoryState`.
    unsafe {
        let used = std::ptr::addr_of!((*at).used).read();
        if usize::try_from(used).ok() != Some(lua.used_memory()) {
            return false;
        }
        let Ok(prev) = lua.set_memory_limit(PROBE_LIMIT) else {
            return false;
        };
        let seen = std::ptr::addr_of!((*at).limit).read();
        let restored = lua.set_memory_limit(prev).ok() == Some(PROBE_LIMIT);
        let back = std::ptr::addr_of!((*at).limit).read();
        let ok = seen as usize == PROBE_LIMIT && restored && back as usize == prev;
        if ok {
            VERIFIED.store(f as usize, Ordering::Relaxed);
        }
        ok
    }
}

/// A limit no runtime sets, written and read back by [`verify`].
const PROBE_LIMIT: usize = 0x5eed_0000_0000 + 0x4d48;

/// The heap counter and limit of one Lua state, found once through one of its coroutines
/// and then read and written in place while that coroutine is held (`'a`).
#[derive(Debug, Clone, Copy)]
pub struct Heap<'a> {
    /// The allocator state (`None`: not verified, use mlua's API), and whether the
    /// allocator is `ffi::allocator`'s.
    counts: Option<(*mut Counts, bool)>,
    held: std::marker::PhantomData<&'a Thread>,
}

impl<'a> Heap<'a> {
    /// The heap of the Lua coroutine `co` belongs to.
    #[inline]
    pub fn of(co: &'a Thread) -> Heap<'a> {
        Heap {
            // SAFETY: `co` keeps its state alive.
            counts: unsafe { counts(co.state()) },
            held: std::marker::PhantomData,
        }
    }

    /// Bytes in use (as `Lua::used_memory`); `None` when the allocator was not verified.
    #[inline]
    pub fn used(&self) -> Option<usize> {
        // SAFETY: a verified allocator state starts with `Counts` and lives as long as the
        // state, which the held coroutine keeps alive; this thread is the only one using it.
        self.counts.map(|(c, _)| unsafe { (*c).used as usize })
    }

    /// Sets the limit (as `Lua::set_memory_limit`). Returns false, having changed nothing,
    /// when the allocator was not verified or when (mlua's allocator) the old or the new
    /// limit is 0 (mlua's flag beside the limit would have to change too).
    #[inline]
    pub fn set_limit(&self, limit: usize) -> bool {
        let limit = limit.min(isize::MAX as usize) as isize;
        // SAFETY: as in `used`; the limit is a plain word the allocator reads on each
        // allocation, none of which runs now.
        unsafe {
            match self.counts {
                Some((c, true)) => {
                    (*c).limit = limit;
                    true
                }
                Some((c, false)) if limit != 0 && (*c).limit != 0 => {
                    (*c).limit = limit;
                    true
                }
                _ => false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counter_read_in_place_is_mluas() {
        let lua = Lua::new();
        assert!(
            verify(&lua),
            "mlua's allocator state no longer starts as expected"
        );
        let co = lua
            .create_thread(lua.create_function(|_, ()| Ok(())).unwrap())
            .unwrap();
        let _grow: Vec<mlua::Table> = (0..100).map(|_| lua.create_table().unwrap()).collect();
        assert_eq!(Heap::of(&co).used(), Some(lua.used_memory()));
    }

    #[test]
    fn a_limit_set_in_place_is_the_one_mlua_enforces() {
        let lua = Lua::new();
        assert!(verify(&lua));
        let co = lua
            .create_thread(lua.create_function(|_, ()| Ok(())).unwrap())
            .unwrap();
        // No limit yet: mlua's flag beside it would change, so nothing is written.
        assert!(!Heap::of(&co).set_limit(1 << 30));
        lua.set_memory_limit(1 << 30).unwrap();
        let cap = lua.used_memory() + 4096;
        assert!(Heap::of(&co).set_limit(cap));
        // mlua reports the limit written here as the previous one.
        assert_eq!(lua.set_memory_limit(cap).unwrap(), cap);
        let big = lua
            .load("return string.rep('x', 100000)")
            .eval::<mlua::LuaString>();
        assert!(matches!(big, Err(mlua::Error::MemoryError(_))), "{big:?}");
        assert!(
            !Heap::of(&co).set_limit(0),
            "a limit of 0 goes through mlua"
        );
    }

    #[test]
    fn a_state_on_ffi_allocator_is_read_and_limited_in_place_zero_included() {
        let lua = Lua::new();
        let _installed = super::super::allocator::install(&lua).expect("installed");
        assert!(verify(&lua), "the swapped allocator needs no probe");
        let co = lua
            .create_thread(lua.create_function(|_, ()| Ok(())).unwrap())
            .unwrap();
        let heap = Heap::of(&co);
        assert_eq!(heap.used(), Some(used(&lua)));
        assert_eq!(used(&lua), lua.used_memory());
        // mlua cannot set it any more; here any limit is written, 0 included.
        assert!(lua.set_memory_limit(1 << 30).is_err());
        assert!(heap.set_limit(used(&lua) + 4096));
        let big = lua
            .load("return string.rep('x', 100000)")
            .eval::<mlua::LuaString>();
        assert!(matches!(big, Err(mlua::Error::MemoryError(_))), "{big:?}");
        assert!(heap.set_limit(0));
        assert!(lua.load("return string.rep('x', 100000)").exec().is_ok());
        set_limit(&lua, used(&lua) + 4096);
        assert!(lua.load("return string.rep('x', 100000)").exec().is_err());
    }
}
