//! Raw bindings of `process.list`, `process.info` and `process.traceback` (SPEC §12.2):
//! the core's snapshots ([`ProcessInfo`]) turned into fresh Lua tables.
//!
//! Nothing here resumes or changes a process. The traceback of the caller itself is
//! `debug.traceback()` at the call, which the prelude's wrapper produces when the binding
//! answers with the `SELF` marker string.

use super::args::{Ret, arg, core, fail, ret};
use super::time::TimeObj;
use crate::core::{Core, ProcessInfo};
use crate::error::ResolveError;
use crate::ids::ProcId;
use crate::preempt::Fuel;
use mlua::{Lua, MultiValue, Table, Value};
use std::rc::Rc;

/// What `traceback_of` returns for the caller itself.
const SELF: &str = "\0self";

/// Adds the raw introspection functions to the prelude's `raw` table.
pub fn open(lua: &Lua, raw: &Table, fuel: Rc<Fuel>) -> mlua::Result<()> {
    raw.set("list", lua.create_function(list)?)?;
    raw.set(
        "info",
        lua.create_function(move |lua, args| info(lua, args, &fuel))?,
    )?;
    raw.set("traceback_of", lua.create_function(traceback_of)?)?;
    raw.set("TRACEBACK_SELF", SELF)?;
    Ok(())
}

/// `process.list([host])` -> array of PIDs in spawn order, or `nil, "host not found"`.
fn list(lua: &Lua, args: MultiValue) -> Ret {
    let c = core(lua)?;
    let host = match arg(&args, 1) {
        Value::Nil => None,
        Value::String(s) => match c.find_host(&s.to_string_lossy()) {
            Some(h) => Some(h),
            None => return fail(lua, "host not found"),
        },
        _ => return fail(lua, "host not found"),
    };
    let procs = c.list_procs(host);
    let t = lua.create_table_with_capacity(procs.len(), 0)?;
    for (i, p) in procs.into_iter().enumerate() {
        t.raw_set(i + 1, c.pid_string_of(p))?;
    }
    ret(lua, t)
}

/// Resolves the destination argument of `func` (`info` or `traceback`).
fn target(c: &Core, args: &MultiValue, func: &str) -> Result<ProcId, String> {
    let bytes = match arg(args, 1) {
        Value::Nil => return Err(format!("{func} requires a destination argument")),
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Integer(i) => i.to_string().into_bytes(),
        Value::Number(n) => n.to_string().into_bytes(),
        other => {
            return Err(ResolveError::Unknown(super::args::type_name(&other).into()).to_string());
        }
    };
    c.resolve(&bytes).map_err(|e| e.to_string())
}

/// `process.info(dest)` -> a fresh table (SPEC §12.2), or `nil, err`.
/// The caller's own count includes what its current slice has run so far.
fn info(lua: &Lua, args: MultiValue, fuel: &Fuel) -> Ret {
    let c = core(lua)?;
    let snapshot = target(&c, &args, "info").map(|p| (p, c.process_info(p)));
    match snapshot {
        Ok((p, Some(mut i))) => {
            if c.current_proc() == Some(p) {
                let slice = c.instructions_left(p).unwrap_or(u64::MAX);
                i.instructions += slice.saturating_sub(fuel.budget.get());
            }
            ret(lua, info_table(lua, i)?)
        }
        Ok((_, None)) => fail(lua, "process not found"),
        Err(e) => fail(lua, e),
    }
}

fn string_array(lua: &Lua, items: Vec<String>) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, s) in items.into_iter().enumerate() {
        t.raw_set(i + 1, s)?;
    }
    Ok(t)
}

/// The Lua table of a snapshot.
pub fn info_table(lua: &Lua, i: ProcessInfo) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(0, 20)?;
    t.raw_set("pid", i.pid)?;
    t.raw_set("entry", i.entry)?;
    t.raw_set("host", i.host)?;
    t.raw_set("parent", i.parent)?;
    t.raw_set("state", i.state.name())?;
    t.raw_set("waiting_on", i.waiting_on.map(|w| w.name()))?;
    t.raw_set("mailbox", i.mailbox)?;
    t.raw_set("memory", i.memory)?;
    t.raw_set("instructions", i.instructions)?;
    t.raw_set("tasks", i.tasks)?;
    t.raw_set("timers", i.timers)?;
    t.raw_set("links", string_array(lua, i.links)?)?;
    t.raw_set("monitors", string_array(lua, i.monitors)?)?;
    t.raw_set("monitored_by", string_array(lua, i.monitored_by)?)?;
    t.raw_set("name", i.names.first().cloned())?;
    t.raw_set("names", string_array(lua, i.names)?)?;
    t.raw_set("trap_links", i.trap_links)?;
    t.raw_set("started_at", TimeObj(i.started_at))?;
    t.raw_set("upgrades", i.upgrades)?;
    Ok(t)
}

/// `process.traceback(dest)` -> the traceback of a suspended process's main coroutine
/// (`"stack traceback:"` before it starts), `SELF` for the caller, or `nil, err`.
fn traceback_of(lua: &Lua, args: MultiValue) -> Ret {
    let c = core(lua)?;
    let p = match target(&c, &args, "traceback") {
        Ok(p) => p,
        Err(e) => return fail(lua, e),
    };
    if c.current_proc() == Some(p) {
        return ret(lua, SELF);
    }
    match c.main_thread(p) {
        Some((thread, true)) => ret(lua, super::thread_traceback(lua, &thread)),
        Some((_, false)) => ret(lua, "stack traceback:"),
        None => fail(lua, "process not found"),
    }
}
