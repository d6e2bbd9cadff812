//! Error objects and the `errors` global (SPEC §9.1). An [`ErrorObj`] is userdata with a
//! kind, a message and a retryable flag; `tostring` and `..` give the message. Payload
//! copying (SPEC §5) sends one as its message string. Made by the calendar bindings and
//! `time.parse_duration`; `errors.new` lets scripts make their own.

use super::args::{Ret, arg, raise, ret, type_name};
use mlua::{Lua, MetaMethod, MultiValue, Table, UserData, UserDataFields, UserDataMethods, Value};

/// Kind of an invalid argument or value.
pub const INVALID: &str = "Invalid";
/// Kind of a missing thing (unknown time zone).
pub const NOT_FOUND: &str = "NotFound";

/// The kind constants of the `errors` global.
const KINDS: [(&str, &str); 11] = [
    ("NOT_FOUND", NOT_FOUND),
    ("ALREADY_EXISTS", "AlreadyExists"),
    ("INVALID", INVALID),
    ("PERMISSION_DENIED", "PermissionDenied"),
    ("UNAVAILABLE", "Unavailable"),
    ("INTERNAL", "Internal"),
    ("CANCELED", "Canceled"),
    ("CONFLICT", "Conflict"),
    ("TIMEOUT", "Timeout"),
    ("RATE_LIMITED", "RateLimited"),
    ("UNKNOWN", ""),
];

/// An error object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorObj {
    /// One of the kind strings (`""` when unknown).
    pub kind: String,
    /// What `tostring` gives.
    pub message: String,
    /// `None` when unknown; every error moonhost makes says `Some(false)`.
    pub retryable: Option<bool>,
}

impl ErrorObj {
    /// A non-retryable error of `kind`.
    pub fn new(kind: &str, message: impl Into<String>) -> ErrorObj {
        ErrorObj {
            kind: kind.to_string(),
            message: message.into(),
            retryable: Some(false),
        }
    }
}

/// The message of an error object, or `tostring` of a string or number, for `..`.
fn concat_part(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.to_string_lossy()),
        Value::Integer(i) => Some(i.to_string()),
        Value::Number(n) => Some(Value::Number(*n).to_string().ok()?),
        Value::UserData(ud) => ud.borrow::<ErrorObj>().ok().map(|e| e.message.clone()),
        _ => None,
    }
}

impl UserData for ErrorObj {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        m.add_method("kind", |_, e, ()| Ok(e.kind.clone()));
        m.add_method("message", |_, e, ()| Ok(e.message.clone()));
        m.add_method("retryable", |_, e, ()| Ok(e.retryable));
        m.add_method("details", |_, _, ()| Ok(Value::Nil));
        m.add_meta_method(MetaMethod::ToString, |_, e, ()| Ok(e.message.clone()));
        m.add_meta_function(MetaMethod::Concat, |_, (a, b): (Value, Value)| {
            match (concat_part(&a), concat_part(&b)) {
                (Some(a), Some(b)) => Ok(a + &b),
                _ => Err(mlua::Error::runtime(format!(
                    "attempt to concatenate a {} value",
                    type_name(if concat_part(&a).is_none() { &a } else { &b })
                ))),
            }
        });
    }

    fn add_fields<F: UserDataFields<Self>>(f: &mut F) {
        f.add_meta_field("__name", "error");
    }
}

/// The `errors` table: kind constants, `new`, `is`.
///
/// # Errors
/// Only Lua allocation failures.
pub fn open(lua: &Lua, raw: &Table) -> mlua::Result<()> {
    let t = lua.create_table()?;
    for (k, v) in KINDS {
        t.set(k, v)?;
    }
    t.set("new", lua.create_function(new)?)?;
    t.set(
        "is",
        lua.create_function(|_, (e, kind): (Value, Value)| {
            Ok(match (&e, kind) {
                (Value::UserData(ud), Value::String(k)) => ud
                    .borrow::<ErrorObj>()
                    .is_ok_and(|e| e.kind.as_bytes() == k.as_bytes().as_ref()),
                _ => false,
            })
        })?,
    )?;
    // Not in the `errors` global: the prelude's exit check.
    t.set(
        "is_error",
        lua.create_function(|_, v: Value| {
            Ok(matches!(&v, Value::UserData(ud) if ud.is::<ErrorObj>()))
        })?,
    )?;
    raw.set("errors", t)
}

/// `errors.new(msg | {message=, kind=, retryable=})` -> error object. Raises
/// `errors.new: bad argument #1 (expected string or table, got <type>)`.
fn new(lua: &Lua, args: MultiValue) -> Ret {
    match arg(&args, 1) {
        Value::String(s) => ret(lua, ErrorObj::new("", s.to_string_lossy())),
        Value::Table(t) => {
            let message: Option<String> = t.get("message").ok().flatten();
            let kind: Option<String> = t.get("kind").ok().flatten();
            let retryable: Option<bool> = t.get("retryable").ok().flatten();
            ret(
                lua,
                ErrorObj {
                    kind: kind.unwrap_or_default(),
                    message: message.unwrap_or_default(),
                    retryable,
                },
            )
        }
        other => raise(
            lua,
            super::args::bad_arg("errors.new", 1, "string or table", &other),
        ),
    }
}
