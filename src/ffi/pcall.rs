//! One raw protected call on mlua's current state: the way `ffi` builds Lua values with
//! the C API (payload rebuilds, event tables) where an allocation may raise, without
//! mlua's closure-protection machinery (a boxed Rust closure per call).
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use mlua::{Lua, Value, ffi};
use std::ffi::c_void;

/// Calls `f` in a protected call on mlua's current state with two arguments: `job` as a
/// light userdata (index 1) and `arg` (index 2); hands `f`'s results, in order, to `take`
/// as handles. `what` names the work in the error when Lua's message is not a string.
///
/// # Safety
/// `f` must read `job` only as what the caller passed, and raise (through Lua) only with
/// nothing of its own frames left to drop; `job` must outlive the call.
///
/// # Errors
/// `f`'s raise: a memory error stays one, anything else is a runtime error.
pub(super) unsafe fn call(
    lua: &Lua,
    f: ffi::lua_CFunction,
    job: *mut c_void,
    arg: &Value,
    what: &str,
    mut take: impl FnMut(Value),
) -> mlua::Result<()> {
    lua.exec_raw_lua(|raw| {
        let s = raw.state();
        // SAFETY: `s` is mlua's current state, given room for the function and its two
        // arguments; the call leaves either the results or one error value above `top`, and
        // both are taken off again (pop_value pops), so the stack ends as it began.
        unsafe {
            if ffi::lua_checkstack(s, 3) == 0 {
                return Err(mlua::Error::MemoryError("stack overflow".into()));
            }
            let top = ffi::lua_gettop(s);
            ffi::lua_pushcfunction(s, f);
            ffi::lua_pushlightuserdata(s, job);
            if let Err(e) = raw.push_value(arg) {
                ffi::lua_settop(s, top);
                return Err(e);
            }
            let rc = ffi::lua_pcall(s, 2, ffi::LUA_MULTRET, 0);
            if rc != ffi::LUA_OK {
                let mut len = 0usize;
                let p = ffi::lua_tolstring(s, -1, &mut len);
                let msg = if p.is_null() {
                    format!("error {what}")
                } else {
                    String::from_utf8_lossy(std::slice::from_raw_parts(p as *const u8, len))
                        .into_owned()
                };
                ffi::lua_settop(s, top);
                return Err(match rc {
                    ffi::LUA_ERRMEM => mlua::Error::MemoryError(msg),
                    _ => mlua::Error::RuntimeError(msg),
                });
            }
            while ffi::lua_gettop(s) > top {
                ffi::lua_rotate(s, top + 1, -1);
                take(raw.pop_value());
            }
            Ok(())
        }
    })
}
