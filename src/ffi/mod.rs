//! The only module with `unsafe` code: questions about the Lua VM that mlua's safe API
//! cannot answer. Every block says why it is sound.
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod alloc;
pub mod allocator;
pub mod boxed;
pub mod build;
pub mod cases;
pub mod cell;
pub mod chan;
pub mod event;
pub mod globals;
pub mod heap;
pub mod hot;
pub mod pattern;
mod pcall;
pub mod protect;
pub mod resume;
pub mod select;
pub mod signal;
pub mod tables;
pub mod timerobj;
pub mod traceback;
pub mod walk;

use mlua::ffi;
use std::cell::Cell;
use std::ffi::{CStr, c_int};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Keeps `check` as the decision of every Lua state of this OS process (the first one given
/// wins: there is one) and, the first time, points the patched Lua's hook variable `hook`
/// (a pointer-sized C global, null until then: stock behaviour) at `on`, the C entry that
/// calls it. Used for `lmem.c`'s refusal hook and `lstrlib.c`'s step hook.
pub(crate) fn set_c_hook_once<C, H>(cell: &OnceLock<C>, check: C, hook: *mut Option<H>, on: H) {
    let mut first = false;
    cell.get_or_init(|| {
        first = true;
        check
    });
    if first {
        // SAFETY: written once, inside the `OnceLock` initialisation above having run on
        // this thread; `hook` points to a C global of the linked Lua (callers pass
        // `&raw mut` of the extern static). The states that call the hook for the caller's
        // runtime are built by the caller after this returns, and a state on another
        // thread sees either null (stock) or this value, both valid for a pointer-sized
        // aligned C variable.
        unsafe { hook.write_volatile(Some(on)) };
    }
}

/// Calls `read` with the userdata `v` pushed on mlua's current state (at index -1), and pops
/// it again; `None` for any other value or when it cannot be pushed.
///
/// # Safety
/// `read` must leave the stack as it found it. The userdata stays on the stack (so alive)
/// for the call.
pub(crate) unsafe fn with_userdata_at<R>(
    lua: &mlua::Lua,
    v: &mlua::Value,
    read: impl FnOnce(*mut ffi::lua_State) -> Option<R>,
) -> Option<R> {
    let mlua::Value::UserData(_) = v else {
        return None;
    };
    // SAFETY: mlua's current state gets room for one value, `v` pushed on it (a userdata is
    // moved from mlua's reference thread, no allocation) and popped again before returning;
    // `read` leaves the stack balanced, as the caller promises.
    unsafe {
        lua.exec_raw_lua(|raw| {
            let s = raw.state();
            if ffi::lua_checkstack(s, 2) == 0 || raw.push_value(v).is_err() {
                return None;
            }
            let r = read(s);
            ffi::lua_pop(s, 1);
            r
        })
    }
}

/// `bytes` as text when they are ASCII (a topic): one ASCII scan instead of a full UTF-8
/// validation. `None` for anything else, which the caller then validates itself.
#[inline]
pub fn ascii_str(bytes: &[u8]) -> Option<&str> {
    // SAFETY: ASCII bytes are valid UTF-8.
    bytes
        .is_ascii()
        .then(|| unsafe { std::str::from_utf8_unchecked(bytes) })
}

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
    traceback::render(main, co, None, 0)
}

/// Instructions between hook calls on coroutine `state`.
pub fn hook_interval(state: *mut ffi::lua_State) -> u64 {
    // SAFETY: `state` is the running coroutine handed to the hook; lua_gethookcount only
    // reads a field.
    u64::try_from(unsafe { ffi::lua_gethookcount(state) })
        .unwrap_or(1)
        .max(1)
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

/// The hook function mlua installs for [`mlua::Lua::set_global_hook`], read back from the
/// state it was set on, so hooks can be re-armed on coroutines that have none (0: unknown).
static GLOBAL_HOOK: AtomicUsize = AtomicUsize::new(0);

/// Hook events of the preemption hook: instruction counts only.
const COUNT_MASK: c_int = ffi::LUA_MASKCOUNT;

thread_local! {
    /// The coroutine the watchdog's signal arms a count hook on: the process coroutine the
    /// scheduler is running without a hook on this thread (null between such slices).
    static ARMABLE: Cell<*mut ffi::lua_State> = const { Cell::new(std::ptr::null_mut()) };
}

/// Remembers the hook mlua just installed on `state` with `set_global_hook`; false when
/// there is none.
pub fn remember_global_hook(state: *mut ffi::lua_State) -> bool {
    // SAFETY: `state` is the live main state of the caller's Lua; lua_gethook reads a field.
    let f = unsafe { ffi::lua_gethook(state) };
    match f {
        Some(f) => {
            GLOBAL_HOOK.store(f as usize, Ordering::Relaxed);
            true
        }
        None => false,
    }
}

fn global_hook() -> Option<ffi::lua_Hook> {
    let f = GLOBAL_HOOK.load(Ordering::Relaxed);
    if f == 0 {
        return None;
    }
    // SAFETY: a non-zero value was stored by `remember_global_hook` from a `lua_Hook`
    // function pointer of this very type, so transmuting it back yields that pointer.
    Some(unsafe { std::mem::transmute::<usize, ffi::lua_Hook>(f) })
}

/// Whether coroutine `co` has any hook.
pub fn has_hook(co: *mut ffi::lua_State) -> bool {
    // SAFETY: `co` is a live coroutine (the caller holds its handle); lua_gethook reads a
    // field.
    unsafe { ffi::lua_gethook(co).is_some() }
}

/// Gives coroutine `co` mlua's global count hook, firing every `count` instructions (no-op
/// before [`remember_global_hook`]). Restarts the coroutine's count.
pub fn set_count_hook(co: *mut ffi::lua_State, count: i32) {
    if let Some(f) = global_hook() {
        // SAFETY: `co` is a live coroutine of the Lua the hook was read from (the caller
        // holds its handle); lua_sethook only sets its hook fields and call-info traps.
        unsafe { ffi::lua_sethook(co, Some(f), COUNT_MASK, count.max(1)) };
    }
}

/// Removes every hook from coroutine `co`: its Lua code then runs at full VM speed.
pub fn clear_hook(co: *mut ffi::lua_State) {
    // SAFETY: as in `set_count_hook`; a null hook with mask 0 clears the fields.
    unsafe { ffi::lua_sethook(co, None, 0, 0) };
}

/// Names the coroutine the watchdog's signal arms on this thread (null: none).
pub fn set_armable(co: *mut ffi::lua_State) {
    ARMABLE.with(|a| a.set(co));
}

/// Instructions between hook calls once the watchdog has armed a coroutine.
pub const ARMED_COUNT: i32 = 1_000;

/// The signal the watchdog sends (harmless by default, rarely used by programs).
const WATCHDOG_SIGNAL: c_int = libc::SIGURG;

extern "C" fn on_watchdog_signal(_sig: c_int) {
    let co = ARMABLE.with(|a| a.get());
    if co.is_null() {
        return;
    }
    if let Some(f) = global_hook() {
        // SAFETY: `co` was set by the scheduler on this thread and stays a live coroutine
        // while it is set (it is cleared before the resume that it names returns). Lua
        // documents lua_sethook as callable from a signal handler on the thread running the
        // state (lua.c's Ctrl-C handler does the same): it stores the hook, mask and counts
        // and sets the traps of the coroutine's call infos, and the hook is checked before
        // each call. The thread-local was already touched by `set_armable` on this thread,
        // so reading it allocates nothing.
        unsafe { ffi::lua_sethook(co, Some(f), COUNT_MASK, ARMED_COUNT) };
    }
}

/// Installs the watchdog's signal handler (once per OS process).
///
/// # Errors
/// The OS error when `sigaction` fails.
pub fn install_watchdog_handler() -> std::io::Result<()> {
    static DONE: std::sync::OnceLock<std::io::Result<()>> = std::sync::OnceLock::new();
    let r = DONE.get_or_init(|| {
        // SAFETY: `act` is a zeroed sigaction owned by this frame, filled with a handler of
        // the plain `fn(c_int)` form (no SA_SIGINFO) that only touches a thread-local
        // `Cell` and calls lua_sethook (see `on_watchdog_signal`); SA_RESTART keeps
        // interrupted system calls (poll, read) going.
        unsafe {
            let mut act = std::mem::zeroed::<libc::sigaction>();
            act.sa_sigaction = on_watchdog_signal as extern "C" fn(c_int) as libc::sighandler_t;
            act.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut act.sa_mask);
            if libc::sigaction(WATCHDOG_SIGNAL, &act, std::ptr::null_mut()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    });
    match r {
        Ok(()) => Ok(()),
        Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
    }
}

/// The calling OS thread, as the watchdog names it.
pub fn this_thread() -> u64 {
    // SAFETY: pthread_self has no preconditions.
    let t = unsafe { libc::pthread_self() };
    t as u64
}

/// Sends the watchdog's signal to OS thread `t` (from [`this_thread`]), which must still be
/// running: the watchdog only signals threads whose runtime is registered, and a runtime
/// unregisters (under the watchdog's lock) before its thread can end.
pub fn interrupt_thread(t: u64) {
    // SAFETY: `t` is a pthread_t read by `this_thread` on a thread that, per this
    // function's contract, has not ended; pthread_kill only queues a signal.
    unsafe {
        libc::pthread_kill(t as libc::pthread_t, WATCHDOG_SIGNAL);
    }
}

#[cfg(test)]
mod tests {
    use super::ascii_str;

    #[test]
    fn ascii_text_passes_and_anything_else_is_left_to_the_caller() {
        assert_eq!(ascii_str(b"ping"), Some("ping"));
        assert_eq!(ascii_str(b""), Some(""));
        assert_eq!(ascii_str("caf\u{e9}".as_bytes()), None);
        assert_eq!(ascii_str(b"\xff\xfe"), None);
    }
}
