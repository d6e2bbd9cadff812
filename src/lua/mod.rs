//! Lua bindings: `install` builds the raw Rust functions and runs the prelude that wraps
//! them into the `process`, `channel`, `time`, `uuid`, `ctx` and `security` modules.

pub mod args;
pub mod bounds;
pub mod calendar;
pub mod channel;
pub mod ctx;
pub mod duration;
mod env;
pub mod errors;
mod hot;
pub mod introspect;
mod misc;
mod msgobj;
mod names;
pub mod object;
pub mod process;
pub mod security;
pub mod sim;
pub mod spawner;
mod supervise;
pub mod time;
pub mod timers;
mod upgrade;

use crate::core::Core;
use crate::preempt::Fuel;
use mlua::{Function, Lua, Table, Thread, Value};
use std::io::Write;
use std::rc::Rc;

/// The prelude's source.
const PRELUDE: &str = include_str!("../../lua/prelude.lua");

/// The built-in supervisor (`require("supervisor")`, SPEC §12.1).
const SUPERVISOR: &str = include_str!("../../lua/supervisor.lua");

/// Where `print` writes.
pub struct Output(pub Box<dyn Write>);

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Output")
    }
}

/// What the runtime keeps from the prelude (also in the Lua state's app data, where the
/// bindings find it).
#[derive(Debug, Clone)]
pub struct Installed {
    /// Function every main task starts in.
    pub proc_main: Function,
    /// Function the main task of an upgraded process starts in (SPEC §12.3).
    pub proc_upgrade: Function,
    /// `register_host(idx, allowed_module_names)`.
    pub register_host: Function,
    /// Modules `require` finds by name.
    pub builtin: Table,
    /// `readonly(table, name)`: the read-only proxy scripts see of a shared table.
    pub readonly: Function,
}

/// Installs the bindings and the prelude into `lua`; `fuel` is what the preemption hook
/// counts (scripts reach it through `pcall`'s doom check and `collectgarbage`).
///
/// # Errors
/// Only if the prelude fails to load, which would be a bug.
pub fn install(lua: &Lua, fuel: Rc<Fuel>) -> mlua::Result<Installed> {
    let raw = lua.create_table()?;
    raw.set("BLOCK", args::block())?;
    raw.set("C_BLOCK", args::c_block())?;
    raw.set("RAISE", args::raise_mark())?;
    raw.set("PREEMPT", args::preempt())?;
    raw.set("NO_YIELD", args::no_yield())?;
    raw.set("CANNOT_YIELD", args::CANNOT_YIELD)?;
    channel::open(lua, &raw)?;
    process::open(lua, &raw)?;
    time::open(lua, &raw)?;
    // Calendar time and error objects (SPEC §9).
    calendar::open(lua, &raw)?;
    errors::open(lua, &raw)?;
    timers::open(lua, &raw)?;
    bounds::open(lua, &raw, fuel.clone())?;
    misc::open(lua, &raw, fuel.clone())?;
    env::open(lua, &raw)?;
    // Spawn context, spawners and security (SPEC §10–§11).
    ctx::open(lua, &raw)?;
    spawner::open(lua, &raw)?;
    security::open(lua, &raw)?;
    sim::open(lua, &raw)?;
    supervise::open(lua, &raw)?;
    introspect::open(lua, &raw, fuel)?;
    upgrade::open(lua, &raw)?;
    let exports: Table = stripped(lua, PRELUDE, "@prelude.lua")?.call(raw.clone())?;
    let sup: Table = stripped(lua, SUPERVISOR, "@supervisor.lua")?.call((raw, exports.clone()))?;
    exports
        .get::<Function>("install_supervisor")?
        .call::<()>(sup)?;
    object::register_channel(lua, exports.get("chan_methods")?)?;
    msgobj::register(lua)?;
    calendar::register(lua, exports.get("time_methods")?)?;
    timers::register(
        lua,
        exports.get("timer_methods")?,
        exports.get("ticker_methods")?,
    )?;
    spawner::register(lua, exports.get("spawner_methods")?)?;
    security::register(lua, &exports)?;
    crate::ffi::event::register(lua, exports.get("result_mt")?)?;
    let installed = Installed {
        proc_main: exports.get("proc_main")?,
        proc_upgrade: exports.get("proc_upgrade")?,
        register_host: exports.get("register_host")?,
        builtin: exports.get("builtin")?,
        readonly: exports.get("readonly")?,
    };
    lua.set_app_data(installed.clone());
    Ok(installed)
}

/// The runtime's Lua source `src` compiled and stripped of source name and lines: the
/// built-ins it defines add no position to their errors, as stock Lua's C functions, and
/// `string.dump` refuses them (issue 15).
fn stripped(lua: &Lua, src: &str, name: &str) -> mlua::Result<Function> {
    let code = lua.load(src).set_name(name).into_function()?.dump(true);
    lua.load(&code[..])
        .set_mode(mlua::chunk::ChunkMode::Binary)
        .into_function()
}

/// A coroutine for a new main task: a pooled one, or a fresh one starting in the prelude's
/// `proc_main`.
///
/// # Errors
/// Lua allocation failures.
pub fn task_thread(lua: &Lua, core: &mut Core) -> mlua::Result<Thread> {
    if let Some(t) = core.take_pooled_thread() {
        // A task ended while suspended inside a protected call leaves that call counted.
        crate::ffi::protect::reset(t.state());
        return Ok(t);
    }
    let main = lua
        .app_data_ref::<Installed>()
        .map(|i| i.proc_main.clone())
        .ok_or_else(|| mlua::Error::runtime("moonhost: bindings are not installed"))?;
    lua.create_thread(main)
}

/// Makes a finished main task's coroutine reusable and pools it (when the pool is full it
/// is dropped as it is: a reset costs ~700 instructions).
pub fn recycle(lua: &Lua, core: &mut Core, thread: Thread) {
    if !core.pool_has_room() {
        return;
    }
    let main = lua.app_data_ref::<Installed>().map(|i| i.proc_main.clone());
    if let Some(main) = main
        && thread.reset(main).is_ok()
    {
        core.pool_thread(thread);
    }
}

/// The Lua stack of a suspended (or finished) coroutine, as `debug.traceback` prints it.
pub fn thread_traceback(lua: &Lua, thread: &Thread) -> String {
    crate::ffi::traceback(lua.state(), thread.state())
}

/// Adds a module that `require(name)` returns in every process. A table is shared by every
/// process, so scripts get it read-only (like the standard libraries): assigning to it
/// raises `attempt to modify read-only table '<name>' (field '<key>')`.
///
/// # Errors
/// Only Lua allocation failures.
pub fn register_module(installed: &Installed, name: &str, module: Value) -> mlua::Result<()> {
    let module = match module {
        Value::Table(t) => installed.readonly.call::<Value>((t, name))?,
        other => other,
    };
    installed.builtin.set(name, module)
}
