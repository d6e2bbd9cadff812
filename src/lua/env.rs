//! The raw side of the per-process environment (issue 9): each process binds its globals
//! table as it starts, and the one `require` and `load` of the runtime (prelude) ask for the
//! calling process's globals, entry, host and `require` cache here instead of closing over
//! them per process.

use super::args::{Ret, core, fail, ret};
use mlua::{Lua, MultiValue, Table};

/// Adds `copy_globals`, `bind_env`, `process_env` and `process_loaded` to the prelude's
/// `raw` table.
pub fn open(lua: &Lua, raw: &Table) -> mlua::Result<()> {
    raw.set("copy_globals", crate::ffi::globals::function(lua)?)?;
    let slow = lua.create_function(bind_env)?;
    raw.set(
        "bind_env",
        crate::ffi::hot::function(lua, fast_bind_env, slow)?,
    )?;
    raw.set("process_env", lua.create_function(process_env)?)?;
    raw.set("process_loaded", lua.create_function(process_loaded)?)
}

/// `raw.bind_env(env)`: `env` becomes the running process's globals, its cache empty.
fn bind_env(lua: &Lua, env: Table) -> mlua::Result<()> {
    core(lua)?.bind_env(env);
    Ok(())
}

/// [`bind_env`] as a hot binding: once per spawn, without mlua's callback machinery.
fn fast_bind_env(lua: &Lua, call: &crate::ffi::hot::Call<'_>) -> crate::ffi::hot::Out {
    use crate::ffi::hot::Out;
    let (1, Some(env)) = (call.count(), call.table(lua, 1)) else {
        return Out::Slow;
    };
    match call.held::<crate::core::Core>() {
        Ok(mut c) => {
            c.bind_env(env);
            Out::One(mlua::Value::Nil)
        }
        Err(_) => Out::Slow,
    }
}

/// `raw.process_env(func)` -> globals, entry index, host index of the running process;
/// `nil, "<func>: must be called from a process"` where there is none.
fn process_env(lua: &Lua, func: mlua::LuaString) -> Ret {
    let found = core(lua)?.current_env();
    match found {
        Some(p) => ret(lua, (p.env, p.entry, p.host)),
        None => fail(
            lua,
            format!("{}: must be called from a process", func.to_string_lossy()),
        ),
    }
}

/// `raw.process_loaded()` -> the running process's `require` cache, made on first use
/// (`nil, err` outside a process)
/// (outside the core's borrow: making it may run the collector).
fn process_loaded(lua: &Lua, _: MultiValue) -> Ret {
    if let Some(t) = core(lua)?.current_loaded() {
        return ret(lua, t);
    }
    let t = lua.create_table()?;
    if !core(lua)?.set_loaded(t.clone()) {
        return fail(lua, "require: must be called from a process");
    }
    ret(lua, t)
}
