//! The `ctx` Lua module (SPEC §10.3): reading the running process's spawn context values,
//! and the copying of string-keyed tables that spawners and actors share.
//!
//! Values live in the core as payloads (`SpawnContext`); every read rebuilds fresh Lua
//! values, so a script changing what it got changes nothing else.

use super::args::{Ret, arg, bad_arg, core, raise, ret, type_name};
use super::errors::{ErrorObj, INVALID, NOT_FOUND};
use crate::context::SpawnContext;
use crate::payload::Payload;
use mlua::{Lua, MultiValue, Table, Value};
use std::collections::BTreeMap;
use std::rc::Rc;

/// Adds `ctx_get` and `ctx_all` to the prelude's `raw` table.
pub fn open(lua: &Lua, raw: &Table) -> mlua::Result<()> {
    raw.set("ctx_get", lua.create_function(get)?)?;
    raw.set("ctx_all", lua.create_function(all)?)?;
    Ok(())
}

/// What to do with a key that is not a string when copying a table of values.
#[derive(Debug, Clone, Copy)]
pub(super) enum OtherKeys {
    /// Skip it (Wippy's `sp:with_context`, actor metadata).
    Skip,
    /// Refuse the table with `bad argument #1 to '<func>' (<what> keys must be strings)`.
    Refuse(&'static str, &'static str),
}

/// Copies the string-keyed entries of `t` (SPEC §5 copying per value), into `into` (later
/// keys win).
///
/// # Errors
/// The message to raise: a refused key, or `cannot send <type>` for a value §5 refuses.
pub(super) fn copy_keyed(
    t: &Table,
    keys: OtherKeys,
    into: &mut BTreeMap<String, Payload>,
) -> mlua::Result<Result<(), String>> {
    for pair in t.pairs::<Value, Value>() {
        let (k, v) = pair?;
        let Value::String(k) = k else {
            match keys {
                OtherKeys::Skip => continue,
                OtherKeys::Refuse(func, what) => {
                    return Ok(Err(format!(
                        "bad argument #1 to '{func}' ({what} keys must be strings)"
                    )));
                }
            }
        };
        match Payload::copy(&v) {
            Ok(p) => into.insert(k.to_string_lossy(), p),
            Err(e) => return Ok(Err(e.to_string())),
        };
    }
    Ok(Ok(()))
}

/// A fresh Lua table of `values`.
pub(super) fn keyed_table(lua: &Lua, values: &BTreeMap<String, Payload>) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(0, values.len())?;
    for (k, v) in values {
        t.raw_set(k.as_str(), v.to_lua(lua)?)?;
    }
    Ok(t)
}

/// The running process's spawn context (`None` outside a process or when it has none).
pub(super) fn current(lua: &Lua) -> mlua::Result<Option<Rc<SpawnContext>>> {
    let c = core(lua)?;
    Ok(c.current_proc().and_then(|p| c.spawn_context(p)))
}

/// `ctx.get(key)` -> `value, nil`; `nil, err` (kind `NotFound`, `key not found: <key>`;
/// kind `Invalid`, `empty key`). Raises `ctx.get: bad argument #1 (expected string, got
/// <type>)`.
fn get(lua: &Lua, args: MultiValue) -> Ret {
    let key = match arg(&args, 1) {
        Value::String(s) => s.to_string_lossy(),
        other => return raise(lua, bad_arg("ctx.get", 1, "string", &other)),
    };
    if key.is_empty() {
        return ret(lua, (Value::Nil, ErrorObj::new(INVALID, "empty key")));
    }
    let ctx = current(lua)?;
    match ctx.as_ref().and_then(|c| c.values.get(&key)) {
        Some(v) => ret(lua, (v.to_lua(lua)?, Value::Nil)),
        None => ret(
            lua,
            (
                Value::Nil,
                ErrorObj::new(NOT_FOUND, format!("key not found: {key}")),
            ),
        ),
    }
}

/// `ctx.all()` -> `table, nil`: a fresh table of every value (`{}` when none).
fn all(lua: &Lua, _: MultiValue) -> Ret {
    let t = match current(lua)? {
        Some(c) => keyed_table(lua, &c.values)?,
        None => lua.create_table()?,
    };
    ret(lua, (t, Value::Nil))
}

/// `bad argument #<n> to '<func>' (<what>)`, the form SPEC §10–§11 use for methods.
pub(super) fn bad_method_arg(func: &str, n: usize, what: &str) -> String {
    format!("bad argument #{n} to '{func}' ({what})")
}

/// `bad argument #<n> to '<func>' (<expected> expected, got <type>)`.
pub(super) fn wrong_type(func: &str, n: usize, expected: &str, got: &Value) -> String {
    bad_method_arg(
        func,
        n,
        &format!("{expected} expected, got {}", type_name(got)),
    )
}
