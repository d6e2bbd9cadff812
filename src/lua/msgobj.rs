//! Message objects (SPEC §2.2): what the inbox and message-mode `listen` channels deliver.
//! A message object is a Rust value in plain userdata (`ffi::boxed`: no mlua handle) and
//! its methods `topic`, `from` and `payload` are hot C functions (`ffi::hot`) reading it
//! without an mlua borrow; a wrong `self` raises a plain string naming the method.
//!
//! A message with a short topic and sender and at most one scalar payload (most of them) is
//! a flat [`FlatMsg`] kept inside its userdata, and its payload a flat
//! [`ScalarBox`]: neither owns an allocation, so neither needs a finalizer. Any other is a
//! boxed [`MsgObj`] over the message itself, its payload object a boxed [`PayloadBox`]
//! sharing the message's copy of the value (`Rc`): `msg:payload()` copies nothing, and
//! `p:data()` builds a fresh value from it on the caller's own stack.

use super::args::{Ret, arg, bad_arg, raise, ret};
use crate::ffi::boxed::{self, FlatTake};
use crate::ffi::build::Shared;
use crate::ffi::hot::{Arg, Call, Fast, Out, text};
use crate::ffi::resume::Taken;
use crate::message::Message;
use crate::payload::{PAYLOAD_KIND, Payload, PayloadBox, SCALAR_KIND, Scalar, ScalarBox};
use mlua::{Lua, MultiValue, Value};
use std::rc::Rc;

/// A boxed message object's contents.
#[derive(Debug)]
pub struct MsgObj {
    /// The message (its payloads, unless there is exactly one).
    msg: Box<Message>,
    /// Sender PID string, `""` if none (inline: PID strings are short).
    from: PidText,
    /// The one payload of a one-payload message, shared with its payload objects.
    one: Option<Rc<Payload>>,
}

impl MsgObj {
    /// The object of `msg`, sent by `from`.
    pub fn new(mut msg: Box<Message>, from: PidText) -> MsgObj {
        let one = match msg.payloads.as_slice() {
            [_] => msg.payloads.pop().map(Rc::new),
            _ => None,
        };
        MsgObj { msg, from, one }
    }
}

/// A PID string held inline (heap only past 32 bytes, a very long host name).
pub use crate::ids::PidText;

/// Longest topic and sender PID string a [`FlatMsg`] holds.
pub const FLAT_TEXT: usize = 32;

/// A flat message object's contents: the whole message, inside the userdata.
#[derive(Debug, Clone, Copy)]
pub struct FlatMsg {
    /// The topic's bytes (`topic[..topic_len]`).
    topic: [u8; FLAT_TEXT],
    /// The topic's length.
    topic_len: u8,
    /// The sender PID string's bytes (`from[..from_len]`, empty if none).
    from: [u8; FLAT_TEXT],
    /// Its length.
    from_len: u8,
    /// The payload: none, or the one scalar.
    payload: Option<Scalar>,
}

impl FlatMsg {
    /// `msg` sent by `from` as a flat message, when it fits one.
    pub fn of(msg: &Message, from: &[u8]) -> Option<FlatMsg> {
        let payload = match msg.payloads.as_slice() {
            [] => None,
            [one] => Some(Scalar::of(one)?),
            _ => return None,
        };
        let (topic, from_text) = (msg.topic.as_bytes(), from);
        if topic.len() > FLAT_TEXT || from_text.len() > FLAT_TEXT {
            return None;
        }
        let mut flat = FlatMsg {
            topic: [0; FLAT_TEXT],
            topic_len: topic.len() as u8,
            from: [0; FLAT_TEXT],
            from_len: from_text.len() as u8,
            payload,
        };
        flat.topic[..topic.len()].copy_from_slice(topic);
        flat.from[..from_text.len()].copy_from_slice(from_text);
        Some(flat)
    }
}

/// A message object of either shape, as its methods read it.
#[derive(Clone, Copy)]
enum Msg<'a> {
    /// A boxed one.
    Boxed(&'a MsgObj),
    /// A flat one.
    Flat(&'a FlatMsg),
}

impl<'a> Msg<'a> {
    /// The message object `b` holds, if it holds one.
    fn of(b: boxed::Boxed<'a>) -> Option<Msg<'a>> {
        match b.get::<FlatMsg>() {
            Some(f) => Some(Msg::Flat(f)),
            None => b.get::<MsgObj>().map(Msg::Boxed),
        }
    }

    /// Its topic's bytes.
    fn topic(self) -> &'a [u8] {
        match self {
            Msg::Boxed(m) => m.msg.topic.as_bytes(),
            Msg::Flat(f) => &f.topic[..usize::from(f.topic_len)],
        }
    }

    /// Its sender PID string's bytes (empty if none).
    fn from(self) -> &'a [u8] {
        match self {
            Msg::Boxed(m) => &m.from,
            Msg::Flat(f) => &f.from[..usize::from(f.from_len)],
        }
    }
}

/// The kind key of boxed message objects.
static KIND: u8 = 0;
/// The kind key of flat message objects.
static FLAT_KIND: u8 = 0;

/// Installs the message and payload object types (boxed and flat) and their methods.
pub fn register(lua: &Lua) -> mlua::Result<()> {
    let hot = |fast: Fast, slow: fn(&Lua, MultiValue) -> Ret| {
        crate::ffi::hot::function(lua, fast, lua.create_function(slow)?)
    };
    let methods = lua.create_table()?;
    methods.raw_set("topic", hot(fast_topic, slow_topic)?)?;
    methods.raw_set("from", hot(fast_from, slow_from)?)?;
    methods.raw_set("payload", hot(fast_payload, slow_payload)?)?;
    let tostring = lua.create_function(|lua, v: Value| {
        Ok(with_msg(lua, &v, |m| {
            format!("message: {}", String::from_utf8_lossy(m.topic()))
        }))
    })?;
    boxed::register(lua, &KIND, "message", methods, tostring)?;
    boxed::register_flat(lua, &FLAT_KIND, &KIND)?;
    let methods = lua.create_table()?;
    methods.raw_set("data", hot(fast_data, slow_data)?)?;
    let tostring = lua.create_function(|_, ()| Ok("payload"))?;
    boxed::register(lua, &PAYLOAD_KIND, "payload", methods, tostring)?;
    boxed::register_flat(lua, &SCALAR_KIND, &PAYLOAD_KIND)
}

/// A new payload object (flat for a scalar).
///
/// # Errors
/// Lua allocation failures.
pub fn new_payload(lua: &Lua, p: Payload) -> mlua::Result<Value> {
    match Scalar::of(&p) {
        Some(s) => scalar_object(lua, s),
        None => PayloadBox::new(p).into_lua(lua),
    }
}

/// The kind of boxed message objects, for a receive to build one on its own stack.
pub fn kind() -> boxed::Kind {
    &KIND
}

/// A new boxed message object.
///
/// # Errors
/// Lua allocation failures.
pub fn new(lua: &Lua, obj: MsgObj) -> mlua::Result<Value> {
    boxed::new(lua, &KIND, Box::new(obj))
}

/// A new flat message object.
///
/// # Errors
/// Lua allocation failures.
pub fn new_flat(lua: &Lua, flat: FlatMsg) -> mlua::Result<Value> {
    boxed::new_flat(lua, &FLAT_KIND, flat)
}

/// A flat message object for a receive to build on its own stack (`msg, true`).
pub fn flat_take(flat: FlatMsg) -> FlatTake<FlatMsg> {
    FlatTake {
        kind: &FLAT_KIND,
        value: flat,
        ok: true,
    }
}

/// The message object of argument 1 of a hot call.
fn this<'a>(call: &Call<'a>) -> Option<Msg<'a>> {
    match call.arg(1) {
        Arg::Boxed(b) => Msg::of(b),
        _ => None,
    }
}

/// Calls `f` with the message object inside `v`, if `v` is one.
fn with_msg<R>(lua: &Lua, v: &Value, f: impl FnOnce(Msg<'_>) -> R) -> Option<R> {
    match boxed::with(lua, v, |m: &FlatMsg| *m) {
        Some(flat) => Some(f(Msg::Flat(&flat))),
        None => boxed::with(lua, v, |m: &MsgObj| f(Msg::Boxed(m))),
    }
}

/// The payload object of a message's one payload (flat for a scalar).
fn shared_payload(lua: &Lua, one: &Rc<Payload>) -> mlua::Result<Value> {
    match Scalar::of(one) {
        Some(s) => scalar_object(lua, s),
        None => PayloadBox(one.clone()).into_lua(lua),
    }
}

/// A flat payload object holding `s`.
fn scalar_object(lua: &Lua, s: Scalar) -> mlua::Result<Value> {
    boxed::new_flat(lua, &SCALAR_KIND, ScalarBox(s))
}

/// The value `msg:payload()` returns: `nil`, one payload object, or a table of them.
fn payload_value(lua: &Lua, m: Msg<'_>) -> mlua::Result<Value> {
    let all = match m {
        Msg::Flat(f) => return f.payload.map_or(Ok(Value::Nil), |s| scalar_object(lua, s)),
        Msg::Boxed(m) => match &m.one {
            Some(one) => return shared_payload(lua, one),
            // None, or several: a message's one payload is always in `one`.
            None => m.msg.payloads.as_slice(),
        },
    };
    match all {
        [] => Ok(Value::Nil),
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
    this(call).map_or(Out::Slow, |m| text(m.topic()))
}

fn fast_from(_: &Lua, call: &Call<'_>) -> Out {
    this(call).map_or(Out::Slow, |m| text(m.from()))
}

/// A flat payload object of `s` for a hot call to return.
fn scalar_out(s: Scalar) -> Out {
    Out::Take(Taken::inline(FlatTake {
        kind: &SCALAR_KIND,
        value: ScalarBox(s),
        ok: false,
    }))
}

fn fast_payload(lua: &Lua, call: &Call<'_>) -> Out {
    let m = this(call);
    match m {
        Some(Msg::Flat(f)) => return f.payload.map_or(Out::One(Value::Nil), scalar_out),
        Some(Msg::Boxed(b)) => {
            if let Some(one) = &b.one {
                return match Scalar::of(one) {
                    Some(s) => scalar_out(s),
                    None => Out::Boxed(&PAYLOAD_KIND, Box::new(PayloadBox(one.clone()))),
                };
            }
        }
        None => return Out::Slow,
    }
    match m.map(|m| payload_value(lua, m)) {
        Some(Ok(v)) => Out::One(v),
        Some(Err(e)) => Out::Raise(e.to_string()),
        None => Out::Slow,
    }
}

/// The slow half of method `name`: `f` over the message object of argument 1, or the plain
/// error for any other `self`.
fn slow(lua: &Lua, args: &MultiValue, name: &str, f: impl FnOnce(Msg<'_>) -> Ret) -> Ret {
    let v = arg(args, 1);
    match with_msg(lua, &v, f) {
        Some(r) => r,
        None => raise(lua, bad_arg(name, 1, "message", &v)),
    }
}

/// What `p:data()` returns for the payload object inside `v`, if `v` is one.
fn data_of(lua: &Lua, v: &Value) -> Option<mlua::Result<Value>> {
    match boxed::with(lua, v, |p: &ScalarBox| p.0) {
        Some(s) => Some(scalar_value(lua, &s)),
        None => boxed::with(lua, v, |p: &PayloadBox| p.0.to_lua(lua)),
    }
}

/// The Lua value of `s`.
fn scalar_value(lua: &Lua, s: &Scalar) -> mlua::Result<Value> {
    match (s.plain(), s.str_bytes()) {
        (Some(v), _) => Ok(v),
        (None, bytes) => Ok(Value::String(lua.create_string(bytes.unwrap_or(b""))?)),
    }
}

fn fast_data(_: &Lua, call: &Call<'_>) -> Out {
    let Arg::Boxed(b) = call.arg(1) else {
        return Out::Slow;
    };
    if let Some(ScalarBox(s)) = b.get::<ScalarBox>() {
        return match (s.plain(), s.str_bytes()) {
            (Some(v), _) => Out::One(v),
            (None, bytes) => text(bytes.unwrap_or(b"")),
        };
    }
    // Built on the caller's own stack from the shared value: no protected call, no copy.
    match b.get::<PayloadBox>() {
        Some(p) => Out::Take(Taken::Boxed(Box::new(Shared(p.0.clone())))),
        None => Out::Slow,
    }
}

fn slow_data(lua: &Lua, args: MultiValue) -> Ret {
    let v = arg(&args, 1);
    match data_of(lua, &v) {
        Some(r) => ret(lua, r?),
        None => raise(lua, bad_arg("Payload:data", 1, "payload", &v)),
    }
}

fn slow_topic(lua: &Lua, args: MultiValue) -> Ret {
    slow(lua, &args, "Message:topic", |m| {
        ret(lua, lua.create_string(m.topic())?)
    })
}

fn slow_from(lua: &Lua, args: MultiValue) -> Ret {
    slow(lua, &args, "Message:from", |m| {
        ret(lua, lua.create_string(m.from())?)
    })
}

fn slow_payload(lua: &Lua, args: MultiValue) -> Ret {
    slow(lua, &args, "Message:payload", |m| {
        ret(lua, payload_value(lua, m)?)
    })
}
