//! The `security` Lua module (SPEC §11): Actor, Scope and Policy objects over the plain data
//! of `crate::security`, and the running process's actor and scope.
//!
//! The objects are userdata (not sendable) wrapping an `Rc` of immutable data; their methods
//! are raw functions the prelude wraps so errors reach Lua as plain strings. Nothing here
//! checks a permission for the runtime (SPEC §11.5).

use super::args::{Ret, arg, bad_arg, core, raise, ret};
use super::ctx::{OtherKeys, bad_method_arg, copy_keyed, current, keyed_table, wrong_type};
use super::errors::ErrorObj;
use crate::security::{Actor, Decision, Policy, Scope};
use mlua::{AnyUserData, Lua, MultiValue, Table, UserDataFields, Value};
use std::collections::BTreeMap;
use std::rc::Rc;

/// The userdata of an Actor.
#[derive(Debug, Clone)]
pub struct ActorObj(pub Rc<Actor>);
/// The userdata of a Scope.
#[derive(Debug, Clone)]
pub struct ScopeObj(pub Rc<Scope>);
/// The userdata of a Policy.
#[derive(Debug, Clone)]
pub struct PolicyObj(pub Rc<Policy>);

/// A new Lua object for one of the three (registered with [`register`]).
fn obj<T: 'static>(lua: &Lua, v: T) -> mlua::Result<AnyUserData> {
    lua.create_any_userdata(v)
}

/// Kind of the not-found errors of `security.policy` / `named_scope`.
const INTERNAL: &str = "Internal";

type RawFn = fn(&Lua, MultiValue) -> Ret;

/// Adds `raw.security` (module functions) and `raw.actor_methods`, `raw.scope_methods`,
/// `raw.policy_methods` (wrapped by the prelude, then given to [`register`]).
pub fn open(lua: &Lua, raw: &Table) -> mlua::Result<()> {
    let set = |name: &str, fns: &[(&str, RawFn)]| -> mlua::Result<()> {
        let t = lua.create_table()?;
        for (k, f) in fns {
            t.set(*k, lua.create_function(*f)?)?;
        }
        raw.set(name, t)
    };
    set(
        "security",
        &[
            ("new_actor", new_actor),
            ("new_scope", new_scope),
            ("policy", policy),
            ("named_scope", named_scope),
            ("actor", actor),
            ("scope", scope),
            ("can", can),
        ],
    )?;
    set("actor_methods", &[("id", actor_id), ("meta", actor_meta)])?;
    set(
        "scope_methods",
        &[
            ("policies", scope_policies),
            ("with", scope_with),
            ("without", scope_without),
            ("contains", scope_contains),
            ("evaluate", scope_evaluate),
        ],
    )?;
    set(
        "policy_methods",
        &[("id", policy_id), ("evaluate", policy_evaluate)],
    )
}

/// Registers the three userdata types with the prelude's wrapped method tables.
pub fn register(lua: &Lua, exports: &Table) -> mlua::Result<()> {
    let actor: Table = exports.get("actor_methods")?;
    lua.register_userdata_type::<ActorObj>(move |reg| {
        reg.add_meta_field("__index", actor);
        reg.add_meta_field("__name", "Actor");
    })?;
    let scope: Table = exports.get("scope_methods")?;
    lua.register_userdata_type::<ScopeObj>(move |reg| {
        reg.add_meta_field("__index", scope);
        reg.add_meta_field("__name", "Scope");
    })?;
    let policy: Table = exports.get("policy_methods")?;
    lua.register_userdata_type::<PolicyObj>(move |reg| {
        reg.add_meta_field("__index", policy);
        reg.add_meta_field("__name", "Policy");
    })
}

/// The actor inside `v`, if it is an Actor object.
pub(super) fn actor_of(v: &Value) -> Option<Rc<Actor>> {
    match v {
        Value::UserData(ud) => ud.borrow::<ActorObj>().ok().map(|a| a.0.clone()),
        _ => None,
    }
}

/// The scope inside `v`, if it is a Scope object.
pub(super) fn scope_of(v: &Value) -> Option<Rc<Scope>> {
    match v {
        Value::UserData(ud) => ud.borrow::<ScopeObj>().ok().map(|s| s.0.clone()),
        _ => None,
    }
}

fn policy_of(v: &Value) -> Option<Rc<Policy>> {
    match v {
        Value::UserData(ud) => ud.borrow::<PolicyObj>().ok().map(|p| p.0.clone()),
        _ => None,
    }
}

/// Takes `$e: Result<T, Ret>` apart, returning the binding's result on `Err`.
macro_rules! take {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
}

fn this<T>(
    lua: &Lua,
    args: &MultiValue,
    func: &str,
    what: &str,
    f: fn(&Value) -> Option<T>,
) -> Result<T, Ret> {
    f(&arg(args, 1)).ok_or_else(|| raise(lua, bad_method_arg(func, 1, &format!("{what} expected"))))
}

/// String argument `n`, shown as argument `shown`: a module function (`security.x`) raises
/// in the module form, a method in Lua's form.
fn string_arg(
    lua: &Lua,
    args: &MultiValue,
    n: usize,
    func: &str,
    shown: usize,
) -> Result<String, Ret> {
    match arg(args, n) {
        Value::String(s) => Ok(s.to_string_lossy()),
        other if func.contains('.') => Err(raise(lua, bad_arg(func, shown, "string", &other))),
        other => Err(raise(lua, wrong_type(func, shown, "string", &other))),
    }
}

// ----- module functions ----------------------------------------------------------------------

/// `security.new_actor(id [, meta])` -> Actor. Raises `security.new_actor: bad argument #1
/// (expected string, got <type>)`, `... #2 (expected table, ...)`, `cannot send <type>`.
fn new_actor(lua: &Lua, args: MultiValue) -> Ret {
    let id = match arg(&args, 1) {
        Value::String(s) => s.to_string_lossy(),
        other => return raise(lua, bad_arg("security.new_actor", 1, "string", &other)),
    };
    let mut meta = BTreeMap::new();
    match arg(&args, 2) {
        Value::Nil => {}
        Value::Table(t) => {
            if let Err(e) = copy_keyed(&t, OtherKeys::Skip, &mut meta)? {
                return raise(lua, e);
            }
        }
        other => return raise(lua, bad_arg("security.new_actor", 2, "table", &other)),
    }
    ret(lua, obj(lua, ActorObj(Rc::new(Actor { id, meta })))?)
}

/// `security.new_scope([policies])` -> Scope of the Policy objects in the array (others
/// skipped). Raises `security.new_scope: bad argument #1 (expected table, got <type>)`.
fn new_scope(lua: &Lua, args: MultiValue) -> Ret {
    let list = match arg(&args, 1) {
        Value::Nil => Vec::new(),
        Value::Table(t) => {
            let mut out = Vec::new();
            for v in t.sequence_values::<Value>() {
                if let Some(p) = policy_of(&v?) {
                    out.push(p);
                }
            }
            out
        }
        other => return raise(lua, bad_arg("security.new_scope", 1, "table", &other)),
    };
    ret(lua, obj(lua, ScopeObj(Rc::new(Scope::of(list))))?)
}

/// `security.policy(id)` -> `policy, nil`, or `nil, err` (kind `Internal`, `policy not
/// found`).
fn policy(lua: &Lua, args: MultiValue) -> Ret {
    let id = take!(string_arg(lua, &args, 1, "security.policy", 1));
    let found = core(lua)?.entries().policies().get(&id);
    match found {
        Some(p) => ret(lua, (obj(lua, PolicyObj(p))?, Value::Nil)),
        None => ret(
            lua,
            (Value::Nil, ErrorObj::new(INTERNAL, "policy not found")),
        ),
    }
}

/// `security.named_scope(id)` -> `scope, nil` of every policy in group `id`, or `nil, err`
/// (kind `Internal`, `policy group not found`).
fn named_scope(lua: &Lua, args: MultiValue) -> Ret {
    let id = take!(string_arg(lua, &args, 1, "security.named_scope", 1));
    let found = core(lua)?.entries().policies().group(&id);
    match found {
        Some(s) => ret(lua, (obj(lua, ScopeObj(Rc::new(s)))?, Value::Nil)),
        None => ret(
            lua,
            (
                Value::Nil,
                ErrorObj::new(INTERNAL, "policy group not found"),
            ),
        ),
    }
}

/// `security.actor()` -> the process's actor (a fresh object), or `nil`.
fn actor(lua: &Lua, _: MultiValue) -> Ret {
    let a = current(lua)?.and_then(|c| c.actor.clone());
    match a {
        Some(a) => ret(lua, obj(lua, ActorObj(a))?),
        None => ret(lua, Value::Nil),
    }
}

/// `security.scope()` -> the process's scope (a fresh object), or `nil`.
fn scope(lua: &Lua, _: MultiValue) -> Ret {
    let s = current(lua)?.and_then(|c| c.scope.clone());
    match s {
        Some(s) => ret(lua, obj(lua, ScopeObj(s))?),
        None => ret(lua, Value::Nil),
    }
}

/// `security.can(action, resource [, meta])` -> `true` only when the process has an actor
/// and a scope and the scope allows. Raises `security.can: bad argument #n (expected
/// string, got <type>)`.
fn can(lua: &Lua, args: MultiValue) -> Ret {
    let mut words = [String::new(), String::new()];
    for (i, w) in words.iter_mut().enumerate() {
        *w = match arg(&args, i + 1) {
            Value::String(s) => s.to_string_lossy(),
            other => return raise(lua, bad_arg("security.can", i + 1, "string", &other)),
        };
    }
    let allowed = current(lua)?.is_some_and(|c| {
        c.actor.is_some()
            && c.scope
                .as_ref()
                .is_some_and(|s| s.evaluate(&words[0], &words[1]) == Decision::Allow)
    });
    ret(lua, allowed)
}

// ----- Actor -------------------------------------------------------------------------------------

/// `actor:id()` -> the id.
fn actor_id(lua: &Lua, args: MultiValue) -> Ret {
    let a = take!(this(lua, &args, "id", "Actor", actor_of));
    ret(lua, a.id.clone())
}

/// `actor:meta()` -> a fresh copy of the metadata (`{}` when none).
fn actor_meta(lua: &Lua, args: MultiValue) -> Ret {
    let a = take!(this(lua, &args, "meta", "Actor", actor_of));
    ret(lua, keyed_table(lua, &a.meta)?)
}

// ----- Scope -------------------------------------------------------------------------------------

/// `scope:policies()` -> a fresh array of the Policy objects, ordered by id.
fn scope_policies(lua: &Lua, args: MultiValue) -> Ret {
    let s = take!(this(lua, &args, "policies", "Scope", scope_of));
    let t = lua.create_table()?;
    for (i, p) in s.policies().enumerate() {
        t.raw_set(i + 1, obj(lua, PolicyObj(p.clone()))?)?;
    }
    ret(lua, t)
}

/// `scope:with(policy)` -> new Scope with it (replacing the same id). Raises `bad argument
/// #1 to 'with' (Policy expected)`.
fn scope_with(lua: &Lua, args: MultiValue) -> Ret {
    let s = take!(this(lua, &args, "with", "Scope", scope_of));
    let Some(p) = policy_of(&arg(&args, 2)) else {
        return raise(lua, bad_method_arg("with", 1, "Policy expected"));
    };
    ret(lua, obj(lua, ScopeObj(Rc::new(s.with(p))))?)
}

/// The policy id `v` names: an `ns:name` string, a Policy, or `{ns =, name =}`.
fn policy_id_arg(lua: &Lua, v: &Value, func: &str) -> Result<String, Ret> {
    let bad = |what: &str| raise(lua, bad_method_arg(func, 1, what));
    match v {
        Value::String(s) => Ok(s.to_string_lossy()),
        Value::Table(t) => {
            let ns: Option<String> = t.get("ns").ok().flatten();
            let name: Option<String> = t.get("name").ok().flatten();
            match (ns, name) {
                (Some(ns), Some(name)) => Ok(format!("{ns}:{name}")),
                _ => Err(bad("ID table must have ns and name fields")),
            }
        }
        Value::UserData(_) => match policy_of(v) {
            Some(p) => Ok(p.id.clone()),
            None => Err(bad("Policy or policy ID string expected")),
        },
        _ => Err(bad("Policy ID expected as string, table, or policy object")),
    }
}

/// `scope:without(p)` -> new Scope without the policy `p` names (absent is not an error).
fn scope_without(lua: &Lua, args: MultiValue) -> Ret {
    let s = take!(this(lua, &args, "without", "Scope", scope_of));
    let id = take!(policy_id_arg(lua, &arg(&args, 2), "without"));
    ret(lua, obj(lua, ScopeObj(Rc::new(s.without(&id))))?)
}

/// `scope:contains(p)` -> whether the scope holds the policy `p` names.
fn scope_contains(lua: &Lua, args: MultiValue) -> Ret {
    let s = take!(this(lua, &args, "contains", "Scope", scope_of));
    let id = take!(policy_id_arg(lua, &arg(&args, 2), "contains"));
    ret(lua, s.contains(&id))
}

/// Checks `evaluate`'s arguments after self: an Actor, then action and resource strings.
fn evaluate_args(lua: &Lua, args: &MultiValue) -> Result<(String, String), Ret> {
    if actor_of(&arg(args, 2)).is_none() {
        return Err(raise(lua, bad_method_arg("evaluate", 1, "Actor expected")));
    }
    let action = string_arg(lua, args, 3, "evaluate", 2)?;
    let resource = string_arg(lua, args, 4, "evaluate", 3)?;
    Ok((action, resource))
}

/// `scope:evaluate(actor, action, resource [, meta])` -> `"allow"`, `"deny"` or
/// `"undefined"`. Raises `Actor expected` / `string expected` argument errors.
fn scope_evaluate(lua: &Lua, args: MultiValue) -> Ret {
    let s = take!(this(lua, &args, "evaluate", "Scope", scope_of));
    let (action, resource) = take!(evaluate_args(lua, &args));
    ret(lua, s.evaluate(&action, &resource).as_str())
}

// ----- Policy ------------------------------------------------------------------------------------

/// `policy:id()` -> `ns:name`.
fn policy_id(lua: &Lua, args: MultiValue) -> Ret {
    let p = take!(this(lua, &args, "id", "Policy", policy_of));
    ret(lua, p.id.clone())
}

/// `policy:evaluate(actor, action, resource [, meta])` -> `"allow" | "deny" | "undefined"`.
fn policy_evaluate(lua: &Lua, args: MultiValue) -> Ret {
    let p = take!(this(lua, &args, "evaluate", "Policy", policy_of));
    let (action, resource) = take!(evaluate_args(lua, &args));
    ret(lua, p.evaluate(&action, &resource).as_str())
}
