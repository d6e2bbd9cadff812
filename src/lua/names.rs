//! `process.registry`: registering, looking up and releasing names (SPEC §2.4), raw
//! bindings the prelude wraps, as `process.rs`'s are.

use super::args::{Ret, arg, bad_arg, core, fail, ret};
use super::process::{dest_bytes, me};
use crate::core::MAX_NAME_BYTES;
use mlua::{Lua, MultiValue, Table, Value};

/// Adds the raw registry functions to the prelude's `raw` table.
pub fn open(lua: &Lua, raw: &Table) -> mlua::Result<()> {
    raw.set("register", lua.create_function(register)?)?;
    raw.set("lookup", lua.create_function(lookup)?)?;
    raw.set("unregister", lua.create_function(unregister)?)?;
    Ok(())
}

/// `process.registry.register(name [, pid])` -> `true`, or `nil, err`.
fn register(lua: &Lua, args: MultiValue) -> Ret {
    let name = match arg(&args, 1) {
        Value::String(s) if !s.as_bytes().is_empty() => s.to_string_lossy(),
        Value::String(_) => return fail(lua, "name cannot be empty"),
        other => return fail(lua, bad_arg("register", 1, "string", &other)),
    };
    if name.len() > MAX_NAME_BYTES {
        return fail(
            lua,
            format!("register: name too long (at most {MAX_NAME_BYTES} bytes)"),
        );
    }
    let mut c = core(lua)?;
    let who = match arg(&args, 2) {
        Value::Nil => match me(lua, &c, "process.registry.register") {
            Ok(p) => p,
            Err(r) => return r,
        },
        other => {
            let Some(bytes) = dest_bytes(&other) else {
                return fail(lua, bad_arg("register", 2, "string", &other));
            };
            match c.resolve(&bytes) {
                Ok(p) => p,
                Err(e) => return fail(lua, e.to_string()),
            }
        }
    };
    if c.lookup_name(&name).is_none()
        && let Err(q) = c.name_room(who)
    {
        return fail(lua, format!("register: {q}"));
    }
    match c.register_name(&name, who) {
        Ok(_) => ret(lua, true),
        Err(e) => fail(lua, e.to_string()),
    }
}

/// `process.registry.lookup(name)` -> PID, or `nil, "name not registered"`.
fn lookup(lua: &Lua, args: MultiValue) -> Ret {
    let mut c = core(lua)?;
    let found = match arg(&args, 1) {
        Value::String(s) => {
            c.note_name_lookup(s.as_bytes().as_ref());
            c.lookup_name(&s.to_string_lossy())
        }
        _ => None,
    };
    match found {
        Some(pid) => ret(lua, c.pid_string(pid)),
        None => fail(lua, "name not registered"),
    }
}

/// `process.registry.unregister(name)` -> whether a mapping was removed.
fn unregister(lua: &Lua, args: MultiValue) -> Ret {
    let mut c = core(lua)?;
    let Value::String(s) = arg(&args, 1) else {
        return ret(lua, false);
    };
    ret(lua, c.unregister_name(&s.to_string_lossy()))
}
