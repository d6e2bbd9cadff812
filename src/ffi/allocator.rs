//! Lua's allocator for the runtime's state (issue 9, `spawn_exit`): mlua's accounting (bytes in use, the
//! limit, the same refusal) without mlua's callback layers, and small freed blocks kept in
//! a per-thread cache for the next allocation of the same size. A process's life allocates
//! and frees a dozen small blocks (its coroutine, its globals, its EXIT event); through
//! mlua's allocator and the C library each cost ~480 instructions, most of it the C
//! library's slow paths once its own small cache (seven blocks a size) overflows under the
//! collector's bursts of frees.
//!
//! [`install`] swaps the allocator of a state mlua made, keeping mlua's allocator userdata
//! (its `MemoryState`: bytes in use and the limit) as the userdata, so the accounting
//! carries on from mlua's count. mlua frees that userdata after closing the state only when
//! it finds its own allocator there, so the [`Installed`] guard [`install`] returns puts
//! mlua's allocator back when it is dropped (before the state: the runtime declares it
//! first); without that every state leaked its 24-byte `MemoryState` (fuzz run 7). The
//! swap relies on `MemoryState`'s layout in mlua 0.12 (`#[repr(C)]`: `used_memory`,
//! `memory_limit`, `ignore_limit`); [`install`] checks it on the state first and keeps
//! mlua's allocator where it does not hold. Afterwards mlua no longer recognises the
//! allocator: its `used_memory` reads Lua's own count (the same number, outside a
//! collection) and its `set_memory_limit` fails, so the runtime reads and sets them through
//! `ffi::heap` (in place in the same userdata), which falls back to mlua's calls for states
//! without this allocator.
//!
//! Blocks come from Rust's global allocator with mlua's layout (size, 16-byte alignment),
//! so a block either allocator made can be freed or grown by the other. The cache keeps
//! only blocks whose size is a multiple of 8 up to [`CACHE_MAX_BLOCK`] bytes, under a
//! class of exactly that size (a block is only ever handed out again for a request of its
//! own size: blocks mlua allocated before the swap have no slack), and at most
//! [`CACHE_MAX_BYTES`] per thread; the cache is returned to the global allocator when its
//! thread ends.
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use mlua::{Lua, ffi};
use std::alloc::{self, Layout};
use std::cell::UnsafeCell;
use std::ffi::c_void;
use std::ptr;

/// Largest block the cache keeps, in bytes (a process's globals node array is 1,536).
pub const CACHE_MAX_BLOCK: usize = 2048;
/// Bytes of free blocks one thread's cache holds at most. The collector frees in bursts of
/// megabytes; with 1 MiB most of a burst still went back to the C library (`spawn_exit`
/// 29,208 instructions per child against 27,080 with this).
pub const CACHE_MAX_BYTES: usize = 8 << 20;
/// Size classes: one per multiple of 8 up to [`CACHE_MAX_BLOCK`] (index = size / 8).
const CLASSES: usize = CACHE_MAX_BLOCK / 8 + 1;
/// mlua's block alignment.
const ALIGN: usize = ffi::SYS_MIN_ALIGN;

/// mlua 0.12's `MemoryState` (`src/memory.rs`, `#[repr(C)]`), the allocator's userdata.
#[repr(C)]
struct MemoryState {
    /// Bytes Lua has allocated and not freed.
    used_memory: isize,
    /// The limit, 0 for none.
    memory_limit: isize,
    /// Set by mlua around some calls for other Lua versions; honoured as mlua does.
    ignore_limit: bool,
}

/// A cached free block: its first word links to the next one of its class.
struct Free {
    next: *mut Free,
}

/// One thread's free blocks, by size class.
struct Cache {
    heads: [*mut Free; CLASSES],
    bytes: usize,
}

impl Drop for Cache {
    fn drop(&mut self) {
        for (class, head) in self.heads.iter_mut().enumerate() {
            let layout = block_layout(class * 8);
            let mut p = std::mem::replace(head, ptr::null_mut());
            while !p.is_null() {
                // SAFETY: every block in the list is a live block of exactly this class's
                // size from the global allocator, owned by the cache alone; its link is read
                // before it is freed.
                unsafe {
                    let next = (*p).next;
                    alloc::dealloc(p as *mut u8, layout);
                    p = next;
                }
            }
        }
        self.bytes = 0;
    }
}

thread_local! {
    static CACHE: UnsafeCell<Cache> = const {
        UnsafeCell::new(Cache { heads: [ptr::null_mut(); CLASSES], bytes: 0 })
    };
}

/// The layout mlua gives a block of `size` bytes.
fn block_layout(size: usize) -> Layout {
    // ALIGN is a power of two and `size` comes from Lua (below isize::MAX), so this holds;
    // the fallback only keeps the function total.
    Layout::from_size_align(size, ALIGN).unwrap_or(Layout::new::<u8>())
}

/// The cache class of a block of `size` bytes, if the cache keeps such blocks.
#[inline]
fn class_of(size: usize) -> Option<usize> {
    ((8..=CACHE_MAX_BLOCK).contains(&size) && size.is_multiple_of(8)).then_some(size / 8)
}

/// A block of `size` bytes: a cached one, or a new one (null when the global allocator
/// has none).
#[inline]
fn obtain(size: usize) -> *mut c_void {
    if let Some(class) = class_of(size) {
        let hit = CACHE
            .try_with(|c| {
                // SAFETY: the cache is this thread's and no reference to it outlives this
                // closure (nothing here re-enters the allocator); a non-null head is a
                // cached block of this class's size, whose link is read before it is
                // handed out.
                unsafe {
                    let c = &mut *c.get();
                    let p = c.heads[class];
                    if !p.is_null() {
                        c.heads[class] = (*p).next;
                        c.bytes -= size;
                    }
                    p
                }
            })
            .unwrap_or(ptr::null_mut());
        if !hit.is_null() {
            return hit as *mut c_void;
        }
    }
    // SAFETY: a layout of non-zero size (the allocator never asks for 0 bytes here).
    unsafe { alloc::alloc(block_layout(size)) as *mut c_void }
}

/// Frees block `p` of `size` bytes: into the cache when it keeps such blocks and has room.
///
/// # Safety
/// `p` is a live block of `size` bytes from the global allocator with mlua's layout, not
/// used again by the caller.
#[inline]
unsafe fn release(p: *mut c_void, size: usize) {
    if let Some(class) = class_of(size) {
        let kept = CACHE
            .try_with(|c| {
                // SAFETY: as in `obtain`; the block is at least 8 bytes and 16-aligned, so
                // its first word can hold the link, and the caller gave it up.
                unsafe {
                    let c = &mut *c.get();
                    if c.bytes + size > CACHE_MAX_BYTES {
                        return false;
                    }
                    let f = p as *mut Free;
                    (*f).next = c.heads[class];
                    c.heads[class] = f;
                    c.bytes += size;
                    true
                }
            })
            .unwrap_or(false);
        if kept {
            return;
        }
    }
    // SAFETY: as the caller promises.
    unsafe { alloc::dealloc(p as *mut u8, block_layout(size)) }
}

/// The allocator (`lua_Alloc`): mlua's, block for block, with the cache in front.
unsafe extern "C" fn allocate(
    ud: *mut c_void,
    p: *mut c_void,
    osize: usize,
    nsize: usize,
) -> *mut c_void {
    // SAFETY: `ud` is the state's mlua `MemoryState` (set with this function by `install`),
    // alive until after the state is closed; Lua calls its allocator from one thread at a
    // time.
    let m = unsafe { &mut *(ud as *mut MemoryState) };
    if nsize == 0 {
        if !p.is_null() {
            // SAFETY: Lua frees a block it allocated with this size through this
            // allocator or mlua's (same layout).
            unsafe { release(p, osize) };
            m.used_memory -= osize as isize;
        }
        return ptr::null_mut();
    }
    if nsize > isize::MAX as usize {
        return ptr::null_mut();
    }
    let mut diff = nsize as isize;
    if !p.is_null() {
        diff -= osize as isize;
    }
    let limit = m.memory_limit;
    let used = m.used_memory + diff;
    if diff > 0 && limit > 0 && used > limit && !m.ignore_limit {
        return ptr::null_mut();
    }
    let q = if p.is_null() {
        obtain(nsize)
    } else {
        // SAFETY: `p` is a live block of `osize` bytes with mlua's layout (as above) and
        // `nsize` is non-zero and below isize::MAX.
        unsafe { alloc::realloc(p as *mut u8, block_layout(osize), nsize) as *mut c_void }
    };
    if q.is_null() {
        // As mlua: the process (not Lua) is out of memory.
        alloc::handle_alloc_error(block_layout(nsize));
    }
    m.used_memory = used;
    q
}

/// Whether `f` is [`allocate`] (then its userdata is the state's `MemoryState`, whose
/// layout [`install`] checked).
pub(super) fn is_ours(f: ffi::lua_Alloc) -> bool {
    let mine: ffi::lua_Alloc = allocate;
    ptr::fn_addr_eq(f, mine)
}

/// The `MemoryState` of `lua` when its allocator is [`allocate`].
fn ours(lua: &Lua) -> Option<*mut MemoryState> {
    let mut ud: *mut c_void = ptr::null_mut();
    // SAFETY: `lua.state()` is a live thread of the state; lua_getallocf reads two fields.
    let f = unsafe { ffi::lua_getallocf(lua.state(), &mut ud) };
    is_ours(f).then_some(ud as *mut MemoryState)
}

/// [`allocate`] installed on a state: dropping it gives the state back mlua's allocator
/// (same userdata, same block layout, so blocks either made are freed by the other), after
/// which mlua recognises its allocator again and frees its `MemoryState` when it closes the
/// state. Drop it before the last handle of the state.
pub struct Installed {
    /// A handle of the state (so the state is open when the guard is dropped).
    lua: Lua,
    /// mlua's allocator, as `lua_getallocf` gave it before the swap.
    mlua_alloc: ffi::lua_Alloc,
    /// Its userdata (mlua's `MemoryState`, which [`allocate`] counts in too).
    ud: *mut c_void,
}

impl Drop for Installed {
    fn drop(&mut self) {
        if ours(&self.lua).is_some() {
            // SAFETY: `lua` is open (the guard holds a handle); mlua's allocator with its own
            // userdata frees and grows the blocks `allocate` made (same global allocator,
            // same layout), and the count in the userdata carries on.
            unsafe { ffi::lua_setallocf(self.lua.state(), self.mlua_alloc, self.ud) };
        }
    }
}

/// Makes [`allocate`] the allocator of `lua` (a state mlua made with its allocator), and
/// returns the guard that undoes it, or `None` where it did not: mlua's `MemoryState` must
/// read back as its layout says.
///
/// mlua is first given a (non-zero, unreachable) limit, so it treats memory errors as
/// possible and protects its calls from then on: it cannot learn of later limits.
pub fn install(lua: &Lua) -> Option<Installed> {
    let mut ud: *mut c_void = ptr::null_mut();
    // SAFETY: as in `ours`.
    let mlua_alloc = unsafe { ffi::lua_getallocf(lua.state(), &mut ud) };
    if ud.is_null() || ours(lua).is_some() {
        return None;
    }
    let m = ud as *mut MemoryState;
    let probe = 0x5eed_0000usize;
    let Ok(before) = lua.set_memory_limit(probe) else {
        return None;
    };
    // SAFETY: `ud` is mlua's allocator userdata, a live `MemoryState` of at least two
    // words whatever its layout (mlua 0.12's has three fields); only read here.
    let (limit, count) = unsafe { ((*m).memory_limit, (*m).used_memory) };
    let ok = limit == probe as isize
        && count == lua.used_memory() as isize
        && count as usize == lua_count(lua);
    let _ = lua.set_memory_limit(if ok { isize::MAX as usize } else { before });
    if ok {
        // SAFETY: the layout holds (checked above); the state runs nothing now, and the
        // new allocator frees and grows the blocks mlua's made (same layout, same global
        // allocator) and keeps counting in the same userdata.
        unsafe { ffi::lua_setallocf(lua.state(), allocate, ud) };
    }
    ok.then(|| Installed {
        lua: lua.clone(),
        mlua_alloc,
        ud,
    })
}

/// Lua's own count of its heap (what mlua reports for a state whose allocator it does not
/// know).
fn lua_count(lua: &Lua) -> usize {
    // SAFETY: outside any collection the two queries only read the global state's counters.
    unsafe {
        let kb = ffi::lua_gc(lua.state(), ffi::LUA_GCCOUNT, 0);
        let b = ffi::lua_gc(lua.state(), ffi::LUA_GCCOUNTB, 0);
        usize::try_from(kb).unwrap_or(0) * 1024 + usize::try_from(b).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::super::heap::{set_limit, used};
    use super::*;

    fn lua_with_heap() -> (Lua, Installed) {
        let lua = Lua::new();
        let installed = install(&lua).expect("mlua's MemoryState has the layout this module reads");
        (lua, installed)
    }

    #[test]
    fn install_swaps_the_allocator_once_and_keeps_mlua_s_count() {
        let lua = Lua::new();
        let before = lua.used_memory();
        let installed = install(&lua).expect("installed");
        assert!(ours(&lua).is_some());
        assert!(
            install(&lua).is_none(),
            "a second install finds the allocator already there"
        );
        // The count carries on from mlua's, and mlua's fallback (Lua's own count) agrees.
        assert!(used(&lua).abs_diff(before) < 4096);
        lua.load("t = {} for i = 1, 1000 do t[i] = {i} end")
            .exec()
            .unwrap();
        assert_eq!(used(&lua), lua.used_memory());
        assert_eq!(used(&lua), lua_count(&lua));
        lua.load("t = nil").exec().unwrap();
        lua.gc_collect().unwrap();
        assert_eq!(used(&lua), lua_count(&lua));
        // mlua no longer knows the allocator: limits go through `set_limit`.
        assert!(lua.set_memory_limit(1 << 20).is_err());
        drop(installed);
    }

    #[test]
    fn dropping_the_guard_gives_mlua_its_allocator_back_with_the_count() {
        // mlua frees its `MemoryState` on close only when it finds its own allocator: with
        // the swap left in place every state leaked it (LeakSanitizer, fuzz run 7).
        let (lua, installed) = lua_with_heap();
        lua.load("t = {} for i = 1, 1000 do t[i] = {i} end")
            .exec()
            .unwrap();
        let count = used(&lua);
        drop(installed);
        assert!(ours(&lua).is_none());
        assert!(
            lua.set_memory_limit(count + (1 << 20)).is_ok(),
            "mlua recognises its allocator again"
        );
        assert_eq!(
            lua.used_memory(),
            count,
            "the count carried on in the same userdata"
        );
        // Blocks made under `allocate` are freed and grown by mlua's allocator.
        lua.load("t = nil").exec().unwrap();
        lua.gc_collect().unwrap();
        assert_eq!(lua.used_memory(), lua_count(&lua));
        lua.load("t = {} for i = 1, 100 do t[i] = {i} end")
            .exec()
            .unwrap();
    }

    #[test]
    fn the_limit_refuses_as_mlua_s_did_and_zero_lifts_it() {
        let (lua, _installed) = lua_with_heap();
        set_limit(&lua, used(&lua) + 64 * 1024);
        let grow = "local t = {} for i = 1, 1e6 do t[i] = i end";
        let err = lua.load(grow).exec().unwrap_err();
        assert!(
            matches!(err, mlua::Error::MemoryError(_)),
            "expected a memory error, got {err:?}"
        );
        lua.gc_collect().unwrap();
        set_limit(&lua, 0);
        lua.load(grow).exec().unwrap();
    }

    #[test]
    fn a_state_without_the_allocator_uses_mlua_s_calls() {
        let lua = Lua::new();
        assert!(ours(&lua).is_none());
        assert_eq!(used(&lua), lua.used_memory());
        set_limit(&lua, 123_456_789);
        assert_eq!(lua.set_memory_limit(0).unwrap(), 123_456_789);
    }

    #[test]
    fn a_freed_block_is_reused_for_its_own_size_only() {
        let p = obtain(64);
        assert!(!p.is_null());
        // SAFETY: `p` is a block of 64 bytes from `obtain`, given up here.
        unsafe { release(p, 64) };
        let q = obtain(72);
        assert_ne!(p, q, "a block is not handed out for another size");
        let r = obtain(64);
        assert_eq!(p, r, "the cached block comes back for its size");
        // Sizes the cache does not keep go straight to the global allocator.
        assert_eq!(class_of(60), None);
        assert_eq!(class_of(CACHE_MAX_BLOCK + 8), None);
        assert_eq!(class_of(8), Some(1));
        // SAFETY: each block is live, of the size given, and not used again.
        unsafe {
            release(q, 72);
            release(r, 64);
        }
    }

    #[test]
    fn the_cache_holds_at_most_its_bytes() {
        let size = 1024;
        let blocks: Vec<_> = (0..2 * CACHE_MAX_BYTES / size)
            .map(|_| obtain(size))
            .collect();
        for &b in &blocks {
            // SAFETY: each block is live, of `size` bytes, and given up here.
            unsafe { release(b, size) };
        }
        let bytes = CACHE.with(|c| {
            // SAFETY: this thread's cache, read while nothing else uses it.
            unsafe { (*c.get()).bytes }
        });
        assert!(bytes <= CACHE_MAX_BYTES, "{bytes} bytes cached");
        assert!(bytes >= CACHE_MAX_BYTES - size);
    }

    #[test]
    fn a_thread_s_cache_is_freed_when_the_thread_ends() {
        // Blocks cached on a thread that ends go back to the global allocator (a leak here
        // shows under a sanitizer or Miri, a double free as a crash).
        std::thread::spawn(|| {
            let (lua, installed) = lua_with_heap();
            lua.load("for i = 1, 2000 do local t = {i, i} end")
                .exec()
                .unwrap();
            drop(installed);
            drop(lua);
            assert!(
                CACHE.with(|c| {
                    // SAFETY: as above.
                    unsafe { (*c.get()).bytes }
                }) > 0
            );
        })
        .join()
        .unwrap();
    }
}
