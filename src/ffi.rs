//! The only module with `unsafe` code: questions about the Lua VM that mlua's safe API
//! cannot answer. Every block says why it is sound.
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use mlua::ffi;
use std::ffi::CStr;

/// Whether the running coroutine `state` may yield here (false inside Lua called from C
/// without a continuation: a `table.sort` comparator, a `__tostring`, a finalizer).
pub fn is_yieldable(state: *mut ffi::lua_State) -> bool {
    // SAFETY: `state` is the coroutine mlua is running (handed to a hook or read from
    // `Lua::state()` inside a callback), alive for the whole call; lua_isyieldable only reads
    // its call-depth counter.
    unsafe { ffi::lua_isyieldable(state) != 0 }
}

/// The traceback of coroutine `co`, built on the stack of `main` (which must not be
/// running Lua code of its own right now: the scheduler calls this between resumes).
pub fn traceback(main: *mut ffi::lua_State, co: *mut ffi::lua_State) -> String {
    // SAFETY: both states belong to the one Lua instance of the caller and are alive
    // (the caller holds the coroutine's handle). luaL_traceback only reads `co`'s call
    // info and pushes one string on `main`, which has room after lua_checkstack; the
    // string is copied out before lua_settop restores `main`'s stack.
    unsafe {
        if ffi::lua_checkstack(main, 8) == 0 {
            return String::new();
        }
        let top = ffi::lua_gettop(main);
        ffi::luaL_traceback(main, co, std::ptr::null(), 0);
        let mut len = 0usize;
        let p = ffi::lua_tolstring(main, -1, &mut len);
        let text = if p.is_null() {
            String::new()
        } else {
            String::from_utf8_lossy(std::slice::from_raw_parts(p as *const u8, len)).into_owned()
        };
        ffi::lua_settop(main, top);
        text
    }
}

/// Instructions between hook calls on coroutine `state`.
pub fn hook_interval(state: *mut ffi::lua_State) -> u64 {
    // SAFETY: `state` is the running coroutine handed to the hook; lua_gethookcount only
    // reads a field.
    u64::try_from(unsafe { ffi::lua_gethookcount(state) })
        .unwrap_or(1)
        .max(1)
}

/// Makes the count hook of coroutine `co` (inherited from its creator) fire every `count`
/// instructions.
pub fn set_hook_interval(co: *mut ffi::lua_State, count: i32) {
    // SAFETY: `co` is a live coroutine (the caller holds its handle) that is not running;
    // lua_sethook with the hook function and mask it already has only changes its count
    // fields.
    unsafe {
        let f = ffi::lua_gethook(co);
        if f.is_some() {
            let mask = ffi::lua_gethookmask(co);
            ffi::lua_sethook(co, f, mask, count);
        }
    }
}

/// Whether the suspended coroutine `state` was stopped by the preemption hook rather than
/// by `coroutine.yield`: a hook yield leaves a Lua function on top of its stack, a
/// `coroutine.yield` leaves the C function `yield`.
pub fn is_hook_yielded(state: *mut ffi::lua_State) -> bool {
    // SAFETY: `state` comes from a live `mlua::Thread` (the caller holds it), so the
    // coroutine is not collected during the call. lua_getstack/lua_getinfo only read its
    // call info into `ar`, a zeroed lua_Debug owned by this frame; `ar.what` points to a
    // static string set by lua_getinfo when it returns non-zero.
    unsafe {
        let mut ar = std::mem::zeroed::<ffi::lua_Debug>();
        ffi::lua_getstack(state, 0, &mut ar) != 0
            && ffi::lua_getinfo(state, c"S".as_ptr(), &mut ar) != 0
            && !ar.what.is_null()
            && CStr::from_ptr(ar.what).to_bytes() != b"C"
    }
}
