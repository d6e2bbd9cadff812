//! The `sim` module's bindings (SPEC §14.5): live in simulation mode, inert otherwise. The
//! Lua side (`lua/sim.lua`) checks names and finds call sites; these reach the core.

use super::args::{Ret, arg, bad_arg, core, fail, raise, ret};
use crate::request::Request;
use mlua::{Function, Lua, MultiValue, Table, Value};

/// The Lua half of the module.
const SIM_LUA: &str = include_str!("../../lua/sim.lua");

/// What `kill`/`delay` return outside simulation.
const NOT_IN_SIM: &str = "sim: not in simulation";

/// Adds `raw.load_sim(finish)`, which builds the `sim` module table.
///
/// # Errors
/// Lua allocation failures.
pub fn open(lua: &Lua, raw: &Table) -> mlua::Result<()> {
    let fns = lua.create_table()?;
    fns.set(
        "enabled",
        lua.create_function(|lua, ()| Ok(core(lua)?.sim_live()))?,
    )?;
    fns.set(
        "seed",
        lua.create_function(|lua, ()| {
            let c = core(lua)?;
            Ok(c.sim_live().then(|| c.seed() as i64))
        })?,
    )?;
    fns.set("buggify", lua.create_function(buggify)?)?;
    fns.set("site", lua.create_function(site)?)?;
    fns.set("kill", lua.create_function(kill)?)?;
    fns.set("delay", lua.create_function(delay)?)?;
    fns.set("protect", lua.create_function(protect)?)?;
    fns.set("always_failed", lua.create_function(always_failed)?)?;
    fns.set(
        "sometimes",
        lua.create_function(|lua, (name, hit): (String, bool)| {
            let mut c = core(lua)?;
            if c.sim_live() {
                c.sometimes(&name, hit);
            }
            Ok(())
        })?,
    )?;
    let chunk = lua.load(SIM_LUA).set_name("@sim.lua").into_function()?;
    raw.set(
        "load_sim",
        lua.create_function(move |_, finish: Function| chunk.call::<Table>((fns.clone(), finish)))?,
    )?;
    Ok(())
}

/// `chunk:line` of the function `level` calls up (0 is this one).
fn site(lua: &Lua, level: usize) -> mlua::Result<String> {
    Ok(lua
        .inspect_stack(level, |d| {
            let src = d
                .source()
                .short_src
                .map(|s| s.into_owned())
                .unwrap_or_default();
            format!("{src}:{}", d.current_line().unwrap_or(0))
        })
        .unwrap_or_else(|| "?".into()))
}

/// `sim.buggify(site, p)` (the Lua side found the site and checked `p`).
fn buggify(lua: &Lua, (site, p): (String, Option<f64>)) -> mlua::Result<bool> {
    let mut c = core(lua)?;
    Ok(c.sim_live() && c.buggify(&site, p))
}

/// `sim.kill(dest [, reason])`.
fn kill(lua: &Lua, args: MultiValue) -> Ret {
    let mut c = core(lua)?;
    if !c.sim_live() {
        return fail(lua, NOT_IN_SIM);
    }
    let t = match super::process::target(lua, &c, &args, "sim.kill", "process not found") {
        Ok(t) => t,
        Err(r) => return r,
    };
    let reason = match arg(&args, 2) {
        Value::Nil => crate::core::KILLED.to_string(),
        Value::String(s) => s.to_string_lossy(),
        other => return fail(lua, bad_arg("sim.kill", 2, "string", &other)),
    };
    c.sim_kill(t, &reason);
    if c.current_proc() == Some(t) && crate::ffi::is_yieldable(lua.state()) {
        return super::args::block_on(lua, &mut c, "sim.kill", Request::Exit);
    }
    ret(lua, true)
}

/// `sim.delay(dest, d)`.
fn delay(lua: &Lua, args: MultiValue) -> Ret {
    let mut c = core(lua)?;
    if !c.sim_live() {
        return fail(lua, NOT_IN_SIM);
    }
    if arg(&args, 1).is_nil() || arg(&args, 2).is_nil() {
        return fail(lua, "sim.delay requires destination and duration arguments");
    }
    let t = match super::process::target(lua, &c, &args, "sim.delay", "process not found") {
        Ok(t) => t,
        Err(r) => return r,
    };
    let ns = match arg(&args, 2) {
        Value::String(s) => match super::duration::parse(&s.to_string_lossy()) {
            Ok(ns) => ns,
            Err(e) => return fail(lua, e),
        },
        Value::Integer(n) => n,
        Value::Number(n) => n as i64,
        other => return fail(lua, bad_arg("sim.delay", 2, "string", &other)),
    };
    if ns <= 0 {
        return fail(lua, "sim.delay: duration must be > 0");
    }
    let Some(me) = c.current_proc() else {
        return fail(lua, "sim.delay: cannot delay outside a process");
    };
    c.script_delay(me, t, ns as u64);
    ret(lua, true)
}

/// `sim.protect([dest])`.
fn protect(lua: &Lua, args: MultiValue) -> Ret {
    let mut c = core(lua)?;
    if !c.sim_live() {
        return fail(lua, NOT_IN_SIM);
    }
    let p = if arg(&args, 1).is_nil() {
        match c.current_proc() {
            Some(p) => p,
            None => return fail(lua, "sim.protect: no process to protect"),
        }
    } else {
        match super::process::target(lua, &c, &args, "sim.protect", "process not found") {
            Ok(t) => t,
            Err(r) => return r,
        }
    };
    c.protect(p);
    ret(lua, true)
}

/// `sim.always` failed at `location`: the run ends; raises the failure in the caller.
fn always_failed(lua: &Lua, (name, location): (String, String)) -> Ret {
    let mut c = core(lua)?;
    let pid = c
        .current_proc()
        .map(|p| c.pid_string_of(p))
        .unwrap_or_default();
    c.always_failed(&name, &pid, &location);
    raise(lua, format!("sim.always failed: {name}"))
}
