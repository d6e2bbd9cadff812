//! `process.upgrade([entry] [, ...])` (SPEC §12.3): the binding of hot upgrade.
//!
//! Everything that can fail is checked here, before anything changes: the entry, the
//! arguments (copied as messages are), the entry's newest code. Then the binding makes the
//! new main coroutine and records a [`Request::Upgrade`]; the scheduler parks the caller on
//! it and the core switches the process (`core/upgrade.rs`). The caller never returns.

use super::Installed;
use super::args::{Ret, arg, bad_arg, block_on, core, fail, is_block, raise, ret};
use crate::error::UpgradeError;
use crate::payload::Payload;
use crate::request::{Request, Upgrade};
use mlua::{Lua, MultiValue, Table, Value};

/// Adds `raw.upgrade` (wrapped by the prelude) and `raw.upgraded` (for `proc_upgrade`).
pub fn open(lua: &Lua, raw: &Table) -> mlua::Result<()> {
    raw.set("upgrade", lua.create_function(upgrade)?)?;
    raw.set("upgraded", lua.create_function(upgraded)?)
}

/// `raw.upgraded()` -> old entry id, array of the old code's coroutines: what the new main
/// task of an upgraded process inherits (nil outside one).
fn upgraded(lua: &Lua, _: MultiValue) -> Ret {
    let mut c = core(lua)?;
    let Some((old, threads)) = c.take_upgraded() else {
        return ret(lua, ());
    };
    let id = c.entries().id(old).to_string();
    drop(c);
    ret(lua, (id, lua.create_sequence_from(threads)?))
}

/// `process.upgrade([entry] [, ...])`: does not return on success; otherwise `nil, err`
/// with `entry not found: <id>`, `cannot send <type>` or `upgrade failed: <compiler
/// message>`. Raises `process.upgrade: bad argument #1 (expected string or nil, got
/// <type>)`, `process.upgrade: must be called from a process`, and, where the caller
/// cannot yield, `attempt to block where the process cannot yield`.
fn upgrade(lua: &Lua, args: MultiValue) -> Ret {
    let mut c = core(lua)?;
    let Some(p) = c.current_proc() else {
        return raise(lua, "process.upgrade: must be called from a process");
    };
    let id = match arg(&args, 1) {
        Value::Nil => c.entry_id_of(p).to_string(),
        Value::String(s) => s.to_string_lossy(),
        other => {
            return raise(lua, bad_arg("process.upgrade", 1, "string or nil", &other));
        }
    };
    let Some(entry) = c.entries().find_upgradable(&id) else {
        return fail(lua, UpgradeError::EntryNotFound(id).to_string());
    };
    let (depth, bytes) = c.payload_limits(Some(p));
    let copied = match Payload::copy_limited(args.iter().skip(1), depth, bytes) {
        Ok(v) => v.into_vec(),
        Err(e) => return fail(lua, e.to_string()),
    };
    if let Err(msg) = c.entries_mut().prepare_upgrade(lua, entry) {
        return fail(lua, UpgradeError::Failed(msg).to_string());
    }
    let start = lua
        .app_data_ref::<Installed>()
        .map(|i| i.proc_upgrade.clone())
        .ok_or_else(|| mlua::Error::runtime("moonhost: bindings are not installed"))?;
    let thread = lua.create_thread(start)?;
    let r = block_on(lua, &mut c, "process.upgrade", Request::Upgrade)?;
    if r.front().is_some_and(is_block) {
        c.stage_upgrade(Upgrade {
            entry,
            args: copied,
            thread,
        });
    }
    Ok(r)
}
