//! The small raw functions of the prelude: output, entries and imports, coroutine checks,
//! uuid, clocks, traceback, the doom check and the sandboxed collector.

use super::args::{self, core};
use crate::preempt::{self, Fuel};
use crate::rng::{Rng, uuid_v4};
use mlua::{Lua, Table, Value};
use std::rc::Rc;

/// Adds the functions to the prelude's `raw` table.
pub fn open(lua: &Lua, raw: &Table, fuel: Rc<Fuel>) -> mlua::Result<()> {
    open_entries(lua, raw)?;
    open_coroutines(lua, raw)?;
    open_clocks(lua, raw)?;
    raw.set("write", lua.create_function(write)?)?;
    raw.set(
        "uuid_v4",
        lua.create_function(|lua, ()| {
            let mut rng = lua
                .app_data_mut::<Rng>()
                .ok_or_else(|| mlua::Error::runtime("no random source"))?;
            Ok(uuid_v4(&mut rng))
        })?,
    )?;
    raw.set("traceback", lua.create_function(traceback)?)?;
    let f = fuel.clone();
    let doomed = lua.create_function(move |_, ()| Ok(f.doomed.get()))?;
    // The raw C pcall and xpcall re-raise a doomed process's reason through it.
    lua.set_named_registry_value(crate::ffi::protect::DOOMED_KEY, &doomed)?;
    raw.set("doomed", doomed)?;
    let [pcall, xpcall, resume] = crate::ffi::protect::functions(lua)?;
    raw.set("pcall", pcall)?;
    raw.set("xpcall", xpcall)?;
    raw.set("resume", resume)?;
    raw.set(
        "name_builtins",
        lua.create_function(|lua, (names, protos): (Table, Table)| {
            // Closures made per process (`require`, `load`) are named by their prototype.
            for pair in protos.pairs::<mlua::Function, String>() {
                let (f, name) = pair?;
                let info = f.info();
                let key = crate::ffi::traceback::prototype_key(
                    info.line_defined.unwrap_or(0),
                    info.last_line_defined.unwrap_or(0),
                );
                names.raw_set(key, name)?;
            }
            lua.set_named_registry_value(crate::ffi::traceback::NAMES_KEY, names)
        })?,
    )?;
    // The prelude is loaded stripped (src/lua/mod.rs), so its functions have no source.
    raw.set(
        "is_builtin",
        lua.create_function(|_, f: mlua::Function| Ok(f.info().source.as_deref() == Some("=?")))?,
    )?;
    Ok(())
}

fn write(lua: &Lua, s: mlua::LuaString) -> mlua::Result<()> {
    if let Some(mut out) = lua.app_data_mut::<super::Output>() {
        let mut line = s.as_bytes().to_vec();
        line.push(b'\n');
        let _ = out.0.write_all(&line);
        let _ = out.0.flush();
    }
    Ok(())
}

use std::io::Write as _;

/// `compile(e)`, `entry(e)` -> id, method; `import(e, alias)` -> entry index, false, or nil.
fn open_entries(lua: &Lua, raw: &Table) -> mlua::Result<()> {
    raw.set(
        "compile",
        lua.create_function(|lua, e: u32| {
            let chunk = core(lua)?.entries_mut().chunk(lua, e);
            match chunk {
                Ok(f) => args::ret(lua, f),
                Err(err) => args::raise(lua, err.to_string()),
            }
        })?,
    )?;
    raw.set(
        "entry",
        lua.create_function(|lua, e: u32| {
            let c = core(lua)?;
            let info = c.entries().get(e);
            Ok((
                info.map(|i| i.id.clone()),
                info.and_then(|i| i.method.clone()),
            ))
        })?,
    )?;
    raw.set(
        "import",
        lua.create_function(|lua, (e, alias): (u32, mlua::LuaString)| {
            let c = core(lua)?;
            Ok(match c.entries().import(e, &alias.to_string_lossy()) {
                Some(Some(target)) => Value::Integer(i64::from(target)),
                Some(None) => Value::Boolean(false),
                None => Value::Nil,
            })
        })?,
    )?;
    Ok(())
}

/// `is_task(co)`, `tune_coroutine(co)`, `preempted(co)`, `yieldable()`, `drop_request()`.
fn open_coroutines(lua: &Lua, raw: &Table) -> mlua::Result<()> {
    raw.set(
        "is_task",
        lua.create_function(|lua, co: Value| match co {
            Value::Thread(t) => Ok(core(lua)?.is_task_thread(t.to_pointer() as usize)),
            _ => Ok(false),
        })?,
    )?;
    raw.set(
        "tune_coroutine",
        lua.create_function(|_, co: Value| {
            if let Value::Thread(t) = &co {
                preempt::tune_coroutine(t);
            }
            Ok(co)
        })?,
    )?;
    raw.set(
        "preempted",
        lua.create_function(|_, co: Value| match co {
            Value::Thread(t) => Ok(crate::ffi::is_hook_yielded(t.state())),
            _ => Ok(false),
        })?,
    )?;
    raw.set(
        "drop_request",
        lua.create_function(|lua, ()| {
            core(lua)?.drop_request();
            Ok(())
        })?,
    )?;
    Ok(())
}

/// `unix_now()`, `virtual_seconds()`.
fn open_clocks(lua: &Lua, raw: &Table) -> mlua::Result<()> {
    raw.set(
        "unix_now",
        lua.create_function(|lua, ()| Ok(core(lua)?.clock().wall_ns().div_euclid(1_000_000_000)))?,
    )?;
    raw.set(
        "virtual_seconds",
        lua.create_function(|lua, ()| {
            let c = core(lua)?;
            let clock = c.clock();
            Ok(clock.is_virtual().then(|| clock.now() as f64 / 1e9))
        })?,
    )?;
    Ok(())
}

/// `debug.traceback([msg [, level]])`: stock's text, with the runtime's Lua built-ins shown
/// as the C functions they stand for (src/ffi/traceback.rs).
fn traceback(lua: &Lua, (msg, level): (Value, Option<i64>)) -> mlua::Result<Value> {
    match msg {
        Value::String(_) | Value::Nil => {
            let text = msg.as_string().map(|s| s.to_string_lossy());
            let level = i32::try_from(level.unwrap_or(1)).unwrap_or(i32::MAX);
            let state = lua.state();
            let tb = crate::ffi::traceback::render(state, state, text.as_deref(), level);
            Ok(Value::String(lua.create_string(tb)?))
        }
        other => Ok(other),
    }
}
