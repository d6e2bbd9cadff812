//! The step hook of Lua's pattern matcher: `vendor/lua-src`'s `lstrlib.c` (patched, see
//! its `MOONHOST.md`) counts the matcher's steps in `string.find`, `match`, `gmatch` and
//! `gsub`, and every `MOONHOST_HOOK_STEPS` steps calls the C function pointer
//! `moonhost_match_hook`, which is null in stock use. [`install`] points it at [`on_steps`],
//! which hands the decision to a plain Rust function (`lua::bounds` charges the steps to the
//! running slice) and raises what that returns inside the match.

use mlua::Lua;
use mlua::ffi::{self, lua_State};
use std::ffi::{CStr, c_char, c_int};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;

/// Decides after `steps` more matcher steps in the running call of `string.<what>`, which
/// has made `call_steps` in all, on coroutine `state` of `lua`: `None` go on, or the message
/// to raise inside the match.
pub type StepCheck = fn(
    lua: &Lua,
    state: *mut lua_State,
    what: &'static str,
    steps: u64,
    call_steps: u64,
) -> Option<&'static str>;

type Hook = unsafe extern "C-unwind" fn(*mut lua_State, *const c_char, usize, usize) -> c_int;

unsafe extern "C" {
    /// Defined (null) in the patched `lstrlib.c`; set once by [`install`].
    static mut moonhost_match_hook: Option<Hook>;
}

/// The check every runtime of this OS process uses.
static CHECK: OnceLock<StepCheck> = OnceLock::new();

/// Makes the matcher call `check` from now on, in every Lua state of this OS process (the
/// first check given wins: there is one). Until then matching is stock Lua's, unbounded.
pub fn install(check: StepCheck) {
    super::set_c_hook_once(&CHECK, check, &raw mut moonhost_match_hook, on_steps);
}

/// The names `lstrlib.c` passes (static C strings), as Rust strings.
fn name(what: *const c_char) -> &'static str {
    if what.is_null() {
        return "match";
    }
    // SAFETY: `lstrlib.c` passes one of its string literals ("find", "match", "gmatch",
    // "gsub"), NUL-terminated and static.
    let s = unsafe { CStr::from_ptr(what) };
    match s.to_bytes() {
        b"find" => "find",
        b"gmatch" => "gmatch",
        b"gsub" => "gsub",
        _ => "match",
    }
}

/// What the patched `lstrlib.c` calls: returns 0 to go on, or 1 with an error message
/// pushed, which the matcher raises.
///
/// # Safety
/// Called by `lstrlib.c` only, with the running coroutine `l` of a state built by mlua
/// (every state this program makes), from inside a C function of the string library.
unsafe extern "C-unwind" fn on_steps(
    l: *mut lua_State,
    what: *const c_char,
    steps: usize,
    call_steps: usize,
) -> c_int {
    let Some(check) = CHECK.get() else {
        return 0;
    };
    let what = name(what);
    // SAFETY: `l` is a coroutine of a live state that mlua created (and so has mlua's
    // extra data), running this C call; mlua's own callbacks reach their `Lua` the same way.
    let lua = unsafe { Lua::get_or_init_from_ptr(l) };
    let verdict = catch_unwind(AssertUnwindSafe(|| {
        check(lua, l, what, steps as u64, call_steps as u64)
    }));
    let msg = match verdict {
        Ok(None) => return 0,
        Ok(Some(msg)) => msg,
        Err(panic) => {
            drop(panic);
            "internal error in the pattern matcher's step hook"
        }
    };
    // SAFETY: `l` has LUA_MINSTACK free slots in a C function; `msg` is static, so nothing
    // with a destructor is alive here if pushing the string raises a memory error.
    unsafe { ffi::lua_pushlstring(l, msg.as_ptr().cast(), msg.len()) };
    1
}
