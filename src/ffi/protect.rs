//! Stock `pcall` and `xpcall` as raw C functions that count the C-call depth themselves.
//!
//! Stock Lua stops recursion through protected calls with `C stack overflow` when a
//! coroutine's C-call count (`L->nCcalls`) reaches LUAI_MAXCCALLS. A preemption yield loses
//! that count: `lua_resume` recomputes it from the resumer, and the protected calls below
//! the yield point go on as continuations that no longer count. So each coroutine keeps its
//! own count in its extra space (`lua_getextraspace`): the protected calls in progress in it
//! (`depth`), and the count of the coroutine that last resumed it (`base`, set by
//! [`resume`]); the count at a new protected call is `1 + base + depth + 1`, as stock's
//! would be with nothing but protected calls and resumes in between. At the limit the call
//! raises `C stack overflow` inside its protection, as stock does (a pcall returns it, an
//! xpcall hands it to its handler). Lua's own count still applies too, so other C calls
//! (metamethods, `string.gsub` callbacks) count as in stock wherever no preemption came
//! between. After a catch, a process the runtime has doomed re-raises its reason.

use mlua::ffi::{self, lua_KContext, lua_State};
use std::ffi::{CStr, c_int};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Stock Lua's LUAI_MAXCCALLS: the C-call count that raises `C stack overflow`.
pub const MAX_C_CALLS: u32 = 200;

/// Registry field holding the function that tells whether the running process is doomed
/// (returns its reason, or nil).
pub const DOOMED_KEY: &str = "moonhost.doomed";
const DOOMED_KEY_C: &CStr = c"moonhost.doomed";

/// Stock `coroutine.resume`, read once from the standard library (0: not yet).
static STOCK_RESUME: AtomicUsize = AtomicUsize::new(0);

/// `(depth, base)` of coroutine `co`.
///
/// # Safety
/// `co` must be a live coroutine of a Lua 5.4 state (its extra space is
/// `LUA_EXTRASPACE` = 8 bytes, copied from the main thread's into new ones; `functions`
/// zeroes the main thread's).
unsafe fn counts(co: *mut lua_State) -> (u32, u32) {
    // SAFETY: per this function's contract the 8 bytes before `co` are its extra space,
    // which nothing else in this program uses; read unaligned to assume nothing of it.
    let word = unsafe { (ffi::lua_getextraspace(co) as *const u64).read_unaligned() };
    (word as u32, (word >> 32) as u32)
}

/// Stores `(depth, base)` for coroutine `co`.
///
/// # Safety
/// As [`counts`].
unsafe fn set_counts(co: *mut lua_State, depth: u32, base: u32) {
    let word = u64::from(depth) | (u64::from(base) << 32);
    // SAFETY: as in `counts`.
    unsafe { (ffi::lua_getextraspace(co) as *mut u64).write_unaligned(word) };
}

/// The C-call count of coroutine `co` by its own tally (see the module doc).
///
/// # Safety
/// As [`counts`].
unsafe fn level(co: *mut lua_State) -> u32 {
    // SAFETY: as in `counts`.
    let (depth, base) = unsafe { counts(co) };
    1 + base + depth
}

/// Forgets coroutine `co`'s protected calls (it is starting afresh: a new or reused task, a
/// new coroutine): its count starts again as a task resumed from the scheduler.
pub fn reset(co: *mut lua_State) {
    // SAFETY: `co` is a live coroutine the caller holds a handle to (mlua's `Thread`).
    unsafe { set_counts(co, 0, 0) };
}

/// Raises stock's overflow error where the protected call would have run its function.
unsafe extern "C-unwind" fn raise_overflow(l: *mut lua_State) -> c_int {
    // SAFETY: called by Lua as a C function on a live state with room for one value.
    unsafe {
        ffi::lua_pushstring(l, c"C stack overflow".as_ptr());
        ffi::lua_error(l)
    }
}

/// Counts a protected call entering in `l`; when it is one too many, the function at stack
/// index `func` is replaced by one that raises `C stack overflow`.
///
/// # Safety
/// `l` is the running coroutine, inside a C function called by Lua, and `func` a valid
/// index of its stack.
unsafe fn enter(l: *mut lua_State, func: c_int) {
    // SAFETY: per this function's contract.
    unsafe {
        let (depth, base) = counts(l);
        if 1 + base + depth + 1 >= MAX_C_CALLS {
            ffi::lua_pushcfunction(l, raise_overflow);
            ffi::lua_replace(l, func);
        }
        set_counts(l, depth + 1, base);
    }
}

/// Ends a protected call of `l` (after it returned, raised, or was resumed through its
/// continuation), and returns its results as stock's `finishpcall` does: `extra` values
/// at the bottom of the frame are not results.
unsafe extern "C-unwind" fn finish(l: *mut lua_State, status: c_int, extra: lua_KContext) -> c_int {
    // SAFETY: Lua calls this as the continuation of the protected call made in `pcall` or
    // `xpcall` (or they call it directly), on the coroutine that made it; no Rust value with
    // a destructor is alive here when `re_raise_doomed` raises.
    unsafe {
        let (depth, base) = counts(l);
        set_counts(l, depth.saturating_sub(1), base);
        if status != ffi::LUA_OK && status != ffi::LUA_YIELD {
            re_raise_doomed(l);
            ffi::lua_pushboolean(l, 0);
            ffi::lua_pushvalue(l, -2);
            return 2;
        }
        ffi::lua_gettop(l) - extra as c_int
    }
}

/// Raises the doomed process's reason (the runtime ends it; catching must not keep it alive).
///
/// # Safety
/// `l` is the running coroutine inside a C function called by Lua.
unsafe fn re_raise_doomed(l: *mut lua_State) {
    // SAFETY: per this function's contract; the registry field is the runtime's Rust
    // function (or nil outside a runtime), called with no arguments for one result.
    unsafe {
        if ffi::lua_checkstack(l, 3) == 0 {
            return;
        }
        if ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, DOOMED_KEY_C.as_ptr()) != ffi::LUA_TFUNCTION
        {
            ffi::lua_pop(l, 1);
            return;
        }
        ffi::lua_call(l, 0, 1);
        if ffi::lua_type(l, -1) == ffi::LUA_TSTRING {
            ffi::lua_error(l);
        }
        ffi::lua_pop(l, 1);
    }
}

/// `pcall(f, ...)`, as stock's `luaB_pcall` plus the count.
unsafe extern "C-unwind" fn pcall(l: *mut lua_State) -> c_int {
    // SAFETY: called by Lua as a C function: `l` is running it, with its arguments at
    // 1..top. luaL_checkany raises (longjmp) with no Rust value alive. The pcallk call is
    // made with `finish` as continuation, so the callee may yield as under stock pcall.
    unsafe {
        ffi::luaL_checkany(l, 1);
        ffi::lua_pushboolean(l, 1);
        ffi::lua_insert(l, 1);
        enter(l, 2);
        let status = ffi::lua_pcallk(
            l,
            ffi::lua_gettop(l) - 2,
            ffi::LUA_MULTRET,
            0,
            0,
            Some(finish),
        );
        finish(l, status, 0)
    }
}

/// `xpcall(f, handler, ...)`, as stock's `luaB_xpcall` plus the count.
unsafe extern "C-unwind" fn xpcall(l: *mut lua_State) -> c_int {
    // SAFETY: as in `pcall`; after the rotation the stack is f, handler, true, f, args…, so
    // the function called is at index 4 and the handler at 2.
    unsafe {
        let n = ffi::lua_gettop(l);
        ffi::luaL_checktype(l, 2, ffi::LUA_TFUNCTION);
        ffi::lua_pushboolean(l, 1);
        ffi::lua_pushvalue(l, 1);
        ffi::lua_rotate(l, 3, 2);
        enter(l, 4);
        let status = ffi::lua_pcallk(l, n - 2, ffi::LUA_MULTRET, 2, 2, Some(finish));
        finish(l, status, 2)
    }
}

/// Whether coroutine `co` (not running) has not started yet: its body is at index 1.
///
/// # Safety
/// `co` is a live coroutine other than the running one.
unsafe fn is_fresh(co: *mut lua_State) -> bool {
    // SAFETY: per this function's contract; lua_getstack only reads call infos into `ar`,
    // a zeroed lua_Debug owned by this frame.
    unsafe {
        let mut ar = std::mem::zeroed::<ffi::lua_Debug>();
        ffi::lua_status(co) == ffi::LUA_OK
            && ffi::lua_gettop(co) > 0
            && ffi::lua_getstack(co, 0, &mut ar) == 0
    }
}

/// `resume(co, ...)`: stock `coroutine.resume`, after noting the resumer's count as `co`'s
/// base; at the limit it fails as stock's `lua_resume` does.
unsafe extern "C-unwind" fn resume(l: *mut lua_State) -> c_int {
    // SAFETY: called by Lua as a C function with its arguments at 1..top; `co` (when a
    // thread) is kept alive by the stack slot holding it. STOCK_RESUME was stored by
    // `functions` from `lua_tocfunction` of the standard library's `coroutine.resume`, so
    // calling it on this very frame is calling that C function as Lua would.
    unsafe {
        let co = ffi::lua_tothread(l, 1);
        if !co.is_null() && co != l {
            let from = level(l);
            if from >= MAX_C_CALLS {
                // As stock `lua_resume`: the coroutine does not start.
                ffi::lua_pushboolean(l, 0);
                ffi::lua_pushstring(l, c"C stack overflow".as_ptr());
                return 2;
            }
            let (depth, _) = counts(co);
            set_counts(co, depth, from);
            if from + 1 >= MAX_C_CALLS && is_fresh(co) {
                // Stock starts the body with one call more, which overflows inside the
                // coroutine (it dies with the error).
                ffi::lua_pushcfunction(co, raise_overflow);
                ffi::lua_replace(co, 1);
            }
        }
        let f = STOCK_RESUME.load(Ordering::Relaxed);
        if f == 0 {
            ffi::lua_pushstring(l, c"coroutine.resume is unavailable".as_ptr());
            ffi::lua_error(l);
        }
        let f = std::mem::transmute::<usize, ffi::lua_CFunction>(f);
        f(l)
    }
}

/// The raw functions: `pcall`, `xpcall` and the counting `coroutine.resume`, for
/// the prelude (which needs `coroutine.resume` of the standard library in `lua`'s globals).
///
/// # Errors
/// Lua allocation failures, or a `coroutine.resume` that is not the standard C function.
pub fn functions(lua: &mlua::Lua) -> mlua::Result<[mlua::Function; 3]> {
    let co: mlua::Table = lua.globals().get("coroutine")?;
    let stock: mlua::Function = co.get("resume")?;
    // SAFETY: `stock` is a live function value; lua_tocfunction only reads it (null for a
    // Lua function), and the pointer is to code of the linked Lua library, valid forever.
    // The main thread read from the registry is alive as long as the state.
    let f = unsafe {
        lua.exec_raw::<()>(stock, |state| {
            if let Some(f) = ffi::lua_tocfunction(state, -1) {
                STOCK_RESUME.store(f as usize, Ordering::Relaxed);
            }
            ffi::lua_pop(state, 1);
            // Lua leaves the main thread's extra space uninitialised, and new coroutines
            // copy it: zero it once, so every coroutine starts from no count.
            ffi::lua_rawgeti(state, ffi::LUA_REGISTRYINDEX, ffi::LUA_RIDX_MAINTHREAD);
            let main = ffi::lua_tothread(state, -1);
            if !main.is_null() {
                set_counts(main, 0, 0);
            }
            ffi::lua_pop(state, 1);
        })
    };
    f?;
    if STOCK_RESUME.load(Ordering::Relaxed) == 0 {
        return Err(mlua::Error::runtime(
            "coroutine.resume is not the standard library's",
        ));
    }
    // SAFETY: the three are C functions of the `lua_CFunction` contract above, which only
    // use the Lua C API on the state that calls them.
    unsafe {
        Ok([
            lua.create_c_function(pcall)?,
            lua.create_c_function(xpcall)?,
            lua.create_c_function(resume)?,
        ])
    }
}
