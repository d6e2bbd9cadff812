//! Message objects (SPEC §2.2): what the inbox and message-mode `listen` channels deliver.
//! A message object is a boxed Rust value (`ffi::boxed`: plain userdata, no mlua handle) and
//! its methods `topic`, `from` and `payload` are hot C functions (`ffi::hot`) reading it
//! without an mlua borrow; a wrong `self` raises a plain string naming the method.

use super::args::{Ret, arg, bad_arg, raise, ret};
use crate::ffi::boxed;
use crate::ffi::hot::{Arg, Call, Fast, Out};
use crate::message::Message;
use crate::payload::{PAYLOAD_KIND, Payload, PayloadBox};
use mlua::{Lua, MultiValue, Value};

/// A message object's contents.
#[derive(Debug)]
pub struct MsgObj {
    /// The message.
    pub msg: Box<Message>,
    /// Sender PID string, `""` if none.
    pub from: String,
}

/// The kind key of message objects.
static KIND: u8 = 0;

/// Installs the message object type and its methods.
pub fn register(lua: &Lua) -> mlua::Result<()> {
    let hot = |fast: Fast, slow: fn(&Lua, MultiValue) -> Ret| {
        crate::ffi::hot::function(lua, fast, lua.create_function(slow)?)
    };
    let methods = lua.create_table()?;
    methods.raw_set("topic", hot(fast_topic, slow_topic)?)?;
    methods.raw_set("from", hot(fast_from, slow_from)?)?;
    methods.raw_set("payload", hot(fast_payload, slow_payload)?)?;
    let tostring = lua.create_function(|lua, v: Value| {
        Ok(boxed::with(lua, &v, |m: &MsgObj| {
            format!("message: {}", m.msg.topic)
        }))
    })?;
    boxed::register(lua, &KIND, "message", methods, tostring)?;
    let methods = lua.create_table()?;
    methods.raw_set("data", hot(fast_data, slow_data)?)?;
    let tostring = lua.create_function(|_, ()| Ok("payload"))?;
    boxed::register(lua, &PAYLOAD_KIND, "payload", methods, tostring)
}

/// A new payload object.
///
/// # Errors
/// Lua allocation failures.
pub fn new_payload(lua: &Lua, p: Payload) -> mlua::Result<Value> {
    PayloadBox(p).into_lua(lua)
}

/// A new message object.
///
/// # Errors
/// Lua allocation failures.
pub fn new(lua: &Lua, obj: MsgObj) -> mlua::Result<Value> {
    boxed::new(lua, &KIND, Box::new(obj))
}

/// The message object of argument 1 of a hot call.
fn this<'a>(call: &Call<'a>) -> Option<&'a MsgObj> {
    match call.arg(1) {
        Arg::Boxed(b) => b.get::<MsgObj>(),
        _ => None,
    }
}

/// The value `msg:payload()` returns: `nil`, one payload object, or a table of them.
fn payload_value(lua: &Lua, m: &MsgObj) -> mlua::Result<Value> {
    match m.msg.payloads.as_slice() {
        [] => Ok(Value::Nil),
        [one] => new_payload(lua, one.clone()),
        many => {
            let t = lua.create_table_with_capacity(many.len(), 0)?;
            for i in 0..many.len() {
                let alone = Payload::standalone(many, i);
                t.raw_set(i + 1, new_payload(lua, alone)?)?;
            }
            Ok(Value::Table(t))
        }
    }
}

fn fast_topic(_: &Lua, call: &Call<'_>) -> Out {
    this(call).map_or(Out::Slow, |m| Out::Str(m.msg.topic.clone()))
}

fn fast_from(_: &Lua, call: &Call<'_>) -> Out {
    this(call).map_or(Out::Slow, |m| Out::Str(m.from.clone()))
}

fn fast_payload(lua: &Lua, call: &Call<'_>) -> Out {
    let m = this(call);
    if let Some([one]) = m.map(|m| m.msg.payloads.as_slice()) {
        return Out::Boxed(&PAYLOAD_KIND, Box::new(PayloadBox(one.clone())));
    }
    match m.map(|m| payload_value(lua, m)) {
        Some(Ok(v)) => Out::One(v),
        Some(Err(e)) => Out::Raise(e.to_string()),
        None => Out::Slow,
    }
}

/// The slow half of method `name`: `f` over the message object of argument 1, or the plain
/// error for any other `self`.
fn slow(lua: &Lua, args: &MultiValue, name: &str, f: impl FnOnce(&MsgObj) -> Ret) -> Ret {
    let v = arg(args, 1);
    match boxed::with(lua, &v, f) {
        Some(r) => r,
        None => raise(lua, bad_arg(name, 1, "message", &v)),
    }
}

fn fast_data(lua: &Lua, call: &Call<'_>) -> Out {
    let Arg::Boxed(b) = call.arg(1) else {
        return Out::Slow;
    };
    match b.get::<PayloadBox>().map(|p| p.0.to_lua(lua)) {
        Some(Ok(v)) => Out::One(v),
        Some(Err(e)) => Out::Raise(e.to_string()),
        None => Out::Slow,
    }
}

fn slow_data(lua: &Lua, args: MultiValue) -> Ret {
    let v = arg(&args, 1);
    match boxed::with(lua, &v, |p: &PayloadBox| p.0.to_lua(lua)) {
        Some(r) => ret(lua, r?),
        None => raise(lua, bad_arg("Payload:data", 1, "payload", &v)),
    }
}

fn slow_topic(lua: &Lua, args: MultiValue) -> Ret {
    slow(lua, &args, "Message:topic", |m| {
        ret(lua, m.msg.topic.as_str())
    })
}

fn slow_from(lua: &Lua, args: MultiValue) -> Ret {
    slow(lua, &args, "Message:from", |m| ret(lua, m.from.as_str()))
}

fn slow_payload(lua: &Lua, args: MultiValue) -> Ret {
    slow(lua, &args, "Message:payload", |m| {
        ret(lua, payload_value(lua, m)?)
    })
}
