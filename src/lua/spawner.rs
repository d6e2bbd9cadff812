//! Spawners (SPEC §10.2): `process.with_context` / `with_options` and the Spawner object,
//! an immutable recipe of context values, actor, scope and options that spawns children.
//!
//! A Spawner is userdata holding an `Rc` of the `SpawnContext` its children get; every
//! `with_*` builds a new one. Spawning goes through `process::spawn_from` like the plain
//! calls, with the spawner's context instead of the caller's.

use super::args::{Ret, arg, raise, ret, type_name};
use super::ctx::{OtherKeys, bad_method_arg, copy_keyed, current};
use super::process::{Mode, spawn_from};
use super::security::{actor_of, scope_of};
use crate::context::SpawnContext;
use crate::payload::Payload;
use mlua::{Lua, MultiValue, Table, UserDataFields, Value};
use std::collections::BTreeMap;
use std::rc::Rc;

/// The userdata of a Spawner.
#[derive(Debug, Clone)]
pub struct Spawner {
    /// What its children carry.
    context: Rc<SpawnContext>,
    /// Spawn options: accepted and kept, interpreted by nothing (SPEC §10.2).
    options: Rc<BTreeMap<String, Payload>>,
}

impl Spawner {
    /// Its options, as a host that interprets them would read them.
    pub fn options(&self) -> &BTreeMap<String, Payload> {
        &self.options
    }
}

type RawFn = fn(&Lua, MultiValue) -> Ret;

/// Adds `with_context`, `with_options` and `raw.spawner_methods` (wrapped by the prelude,
/// then given to [`register`]).
pub fn open(lua: &Lua, raw: &Table) -> mlua::Result<()> {
    raw.set("with_context", lua.create_function(with_context)?)?;
    raw.set("with_options", lua.create_function(with_options)?)?;
    let m = lua.create_table()?;
    let fns: [(&str, RawFn); 4] = [
        ("with_context", sp_with_context),
        ("with_options", sp_with_options),
        ("with_actor", sp_with_actor),
        ("with_scope", sp_with_scope),
    ];
    for (k, f) in fns {
        m.set(k, lua.create_function(f)?)?;
    }
    let modes = [
        ("spawn", 0),
        ("spawn_monitored", 1),
        ("spawn_linked", 2),
        ("spawn_linked_monitored", 3),
    ];
    for (k, bits) in modes {
        m.set(
            k,
            lua.create_function(move |lua, args| sp_spawn(lua, args, k, Mode::of(bits)))?,
        )?;
    }
    raw.set("spawner_methods", m)
}

/// Registers the Spawner userdata type with the prelude's wrapped methods as `__index`.
pub fn register(lua: &Lua, methods: Table) -> mlua::Result<()> {
    lua.register_userdata_type::<Spawner>(move |reg| {
        reg.add_meta_field("__index", methods);
        reg.add_meta_field("__name", "Spawner");
    })
}

/// `bad argument #1 to '<func>' (table expected, got <type>)`.
fn not_a_table(func: &str, v: &Value) -> String {
    bad_method_arg(func, 1, &format!("table expected, got {}", type_name(v)))
}

/// A spawner holding the caller's values plus `extra`, the caller's actor and scope.
fn from_caller(
    lua: &Lua,
    extra: BTreeMap<String, Payload>,
    options: BTreeMap<String, Payload>,
) -> mlua::Result<Spawner> {
    let mut context = current(lua)?.map(|c| (*c).clone()).unwrap_or_default();
    context.values.extend(extra);
    Ok(Spawner {
        context: Rc::new(context),
        options: Rc::new(options),
    })
}

/// Copies table argument `n` of `func` into a new map; `Err` carries the binding's result.
fn copied(
    lua: &Lua,
    args: &MultiValue,
    n: usize,
    func: &str,
    keys: OtherKeys,
) -> mlua::Result<Result<BTreeMap<String, Payload>, Ret>> {
    let Value::Table(t) = arg(args, n) else {
        return Ok(Err(raise(lua, not_a_table(func, &arg(args, n)))));
    };
    let mut out = BTreeMap::new();
    Ok(match copy_keyed(&t, keys, &mut out)? {
        Ok(()) => Ok(out),
        Err(msg) => Err(raise(lua, msg)),
    })
}

macro_rules! take {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
}

/// `process.with_context(values)` -> Spawner. Raises `bad argument #1 to 'with_context'
/// (table expected, got <type>)`, `... (context keys must be strings)`, `cannot send <type>`.
fn with_context(lua: &Lua, args: MultiValue) -> Ret {
    let keys = OtherKeys::Refuse("with_context", "context");
    let values = take!(copied(lua, &args, 1, "with_context", keys)?);
    ret(
        lua,
        lua.create_any_userdata(from_caller(lua, values, BTreeMap::new())?)?,
    )
}

/// `process.with_options(options)` -> Spawner. Raises `bad argument #1 to 'with_options'
/// (table expected, got <type>)`, `... (options keys must be strings)`, `cannot send <type>`.
fn with_options(lua: &Lua, args: MultiValue) -> Ret {
    let keys = OtherKeys::Refuse("with_options", "options");
    let options = take!(copied(lua, &args, 1, "with_options", keys)?);
    ret(
        lua,
        lua.create_any_userdata(from_caller(lua, BTreeMap::new(), options)?)?,
    )
}

/// The spawner `self` of method `func`, or the raise `bad argument #1 to '<func>' (Spawner
/// expected)`.
fn this(lua: &Lua, args: &MultiValue, func: &str) -> Result<Spawner, Ret> {
    match arg(args, 1) {
        Value::UserData(ud) => ud.borrow::<Spawner>().ok().map(|s| s.clone()),
        _ => None,
    }
    .ok_or_else(|| raise(lua, bad_method_arg(func, 1, "Spawner expected")))
}

/// `sp:with_context(values)` -> new Spawner with `values` added (later keys win; keys that
/// are not strings are skipped, as Wippy does).
fn sp_with_context(lua: &Lua, args: MultiValue) -> Ret {
    let mut sp = take!(this(lua, &args, "with_context"));
    let values = take!(copied(lua, &args, 2, "with_context", OtherKeys::Skip)?);
    Rc::make_mut(&mut sp.context).values.extend(values);
    ret(lua, lua.create_any_userdata(sp)?)
}

/// `sp:with_options(options)` -> new Spawner with the option tables merged (later keys
/// win). Raises `... (options keys must be strings)`.
fn sp_with_options(lua: &Lua, args: MultiValue) -> Ret {
    let mut sp = take!(this(lua, &args, "with_options"));
    let keys = OtherKeys::Refuse("with_options", "options");
    let options = take!(copied(lua, &args, 2, "with_options", keys)?);
    Rc::make_mut(&mut sp.options).extend(options);
    ret(lua, lua.create_any_userdata(sp)?)
}

/// `sp:with_actor(actor)` -> new Spawner with that actor. Raises `bad argument #1 to
/// 'with_actor' (actor cannot be nil)` / `(Actor expected)`.
fn sp_with_actor(lua: &Lua, args: MultiValue) -> Ret {
    let mut sp = take!(this(lua, &args, "with_actor"));
    let v = arg(&args, 2);
    let actor = match actor_of(&v) {
        Some(a) => a,
        None if v.is_nil() => {
            return raise(lua, bad_method_arg("with_actor", 1, "actor cannot be nil"));
        }
        None => return raise(lua, bad_method_arg("with_actor", 1, "Actor expected")),
    };
    Rc::make_mut(&mut sp.context).actor = Some(actor);
    ret(lua, lua.create_any_userdata(sp)?)
}

/// `sp:with_scope(scope)` -> new Spawner with that scope. Raises `bad argument #1 to
/// 'with_scope' (scope cannot be nil)` / `(Scope expected)`.
fn sp_with_scope(lua: &Lua, args: MultiValue) -> Ret {
    let mut sp = take!(this(lua, &args, "with_scope"));
    let v = arg(&args, 2);
    let scope = match scope_of(&v) {
        Some(s) => s,
        None if v.is_nil() => {
            return raise(lua, bad_method_arg("with_scope", 1, "scope cannot be nil"));
        }
        None => return raise(lua, bad_method_arg("with_scope", 1, "Scope expected")),
    };
    Rc::make_mut(&mut sp.context).scope = Some(scope);
    ret(lua, lua.create_any_userdata(sp)?)
}

/// `sp:spawn*(entry, host, ...)` -> PID, or `nil, err` as `process.spawn*`; fewer than two
/// arguments after self raises `spawn requires at least id and host arguments`.
fn sp_spawn(lua: &Lua, args: MultiValue, func: &str, mode: Mode) -> Ret {
    let sp = take!(this(lua, &args, func));
    if args.len() < 3 {
        return raise(lua, "spawn requires at least id and host arguments");
    }
    spawn_from(lua, func, &args, 2, mode, Some(sp.context))
}
