//! Lua-side objects of the runtime: channel objects, message objects, payload boxes, Time
//! values and event tables, and the conversion of what the core hands out (items and
//! outcomes) into Lua values inside the receiving task.

use super::msgobj::{FlatMsg, MsgObj};
use super::time::TimeObj;
use crate::core::Core;
use crate::ffi;
use crate::ffi::build::Handoff;
use crate::ffi::resume::{Deferred, Push, Taken};
use crate::ids::ChanId;
use crate::message::{ChanKind, Event, EventKind, Exit, Item, Message};
use crate::payload::Payload;
use crate::request::{Done, Outcome};
use mlua::{AnyUserData, Lua, MultiValue, Table, Value};
use slotmap::{Key, KeyData};
use std::cell::RefCell;
use std::rc::Rc;

/// Where collected channel objects' ids go (the core's graveyard), reachable while the core
/// itself is borrowed (a collection can run inside any allocation).
struct Graveyard(Rc<RefCell<Vec<ChanId>>>);

/// The channel id inside a Lua value, if it is a channel object.
pub fn chan_id(lua: &Lua, v: &Value) -> Option<ChanId> {
    ffi::chan::id_of(lua, v).map(chan_from_bits)
}

/// The channel id a channel object stores.
pub fn chan_from_bits(bits: u64) -> ChanId {
    ChanId::from(KeyData::from_ffi(bits))
}

/// Hands the id of a collected channel (or of a collected timer's channel) to the graveyard.
pub fn bury(lua: &Lua, bits: u64) {
    if let Some(g) = lua.try_app_data_ref::<Graveyard>().ok().flatten()
        && let Ok(mut g) = g.0.try_borrow_mut()
    {
        g.push(chan_from_bits(bits));
    }
}

/// Registers the channel object type with `methods` (from the prelude) as its `__index`.
pub fn register_channel(lua: &Lua, methods: Table) -> mlua::Result<()> {
    let tostring = lua.create_function(|lua, v: Value| {
        Ok(chan_id(lua, &v).map(|id| format!("channel: {id:?}")))
    })?;
    ffi::chan::register(lua, methods, tostring, bury)
}

/// Sends the ids of collected channel objects to `core`'s graveyard.
pub fn adopt_graveyard(lua: &Lua, core: &Core) {
    lua.set_app_data(Graveyard(core.graveyard()));
}

/// Wraps channel `id` in a new Lua object.
pub fn chan_object(lua: &Lua, id: ChanId) -> mlua::Result<AnyUserData> {
    ffi::chan::new_object(lua, id.data().as_ffi())
}

/// The Lua value a receiver of `kind` sees for `item`.
pub fn item_value(lua: &Lua, core: &mut Core, item: Item, kind: ChanKind) -> mlua::Result<Value> {
    match item {
        Item::Lua(v) => Ok(v),
        Item::Time(ns) => Ok(Value::UserData(lua.create_userdata(TimeObj(ns))?)),
        Item::Msg(m) => match kind {
            ChanKind::Listen { message: false } | ChanKind::Reply => {
                let v = raw_payload(lua, &m.payloads);
                core.recycle(m);
                v
            }
            _ => match msg_obj(core, m) {
                Ok(flat) => super::msgobj::new_flat(lua, flat),
                Err(obj) => super::msgobj::new(lua, obj),
            },
        },
        Item::Event(e) => event_table(lua, &e),
    }
}

/// The message object of `msg` (for a receiver that gets message objects): flat when it
/// fits one, its record then going back to the pool.
pub fn msg_obj(core: &mut Core, msg: Box<Message>) -> Result<FlatMsg, MsgObj> {
    let from = msg.from.map(|pid| core.pid_text(pid)).unwrap_or_default();
    match FlatMsg::of(&msg, &from) {
        Some(flat) => {
            core.recycle(msg);
            Ok(flat)
        }
        None => Err(MsgObj::new(msg, from)),
    }
}

/// Message `m` as a message object for the receive to build on its own stack (`msg, true`).
pub fn msg_take(core: &mut Core, m: Box<Message>) -> Taken {
    match msg_obj(core, m) {
        Ok(flat) => Taken::inline(super::msgobj::flat_take(flat)),
        Err(obj) => Taken::Boxed(Box::new(ffi::boxed::Take::new(
            super::msgobj::kind(),
            Box::new(obj),
        ))),
    }
}

/// Whether a receiver of `kind` gets message objects for messages.
pub fn gets_msg_objects(kind: ChanKind) -> bool {
    !matches!(kind, ChanKind::Listen { message: false } | ChanKind::Reply)
}

/// Builds an event table (SPEC §2.3).
fn event_table(lua: &Lua, e: &Event) -> mlua::Result<Value> {
    let mut ev = ffi::event::Event {
        kind: e.kind.name(),
        from: &e.from_text,
        at: e.at_ns.div_euclid(1_000_000_000),
        exit: None,
        reason: &e.reason,
    };
    let value = match &e.exit {
        Some(Exit::Normal(v)) => {
            ev.exit = Some(None);
            v.to_lua(lua)?
        }
        Some(Exit::Error(msg)) => {
            ev.exit = Some(Some(msg));
            Value::Nil
        }
        None if e.kind == EventKind::Reload => {
            return reload_event(lua, ev.kind, ev.at, &e.reason);
        }
        None => Value::Nil,
    };
    ffi::event::table(lua, &ev, value)
}

/// Event `e` as a `ffi::event::Ready` when it is a normal EXIT with a scalar value and a
/// PID string that fits: the hot receive builds its table on the receiver's stack.
pub fn ready_event(e: &Event) -> Option<ffi::event::Ready> {
    use ffi::event::Scalar;
    let (EventKind::Exit, Some(Exit::Normal(v))) = (e.kind, &e.exit) else {
        return None;
    };
    let value = match v {
        Payload::Nil => Scalar::Nil,
        Payload::Bool(b) => Scalar::Bool(*b),
        Payload::Int(i) => Scalar::Int(*i),
        Payload::Num(n) => Scalar::Num(*n),
        _ => return None,
    };
    ffi::event::Ready::exit(
        |out| {
            let t = &e.from_text;
            out.get_mut(..t.len())?.copy_from_slice(t);
            Some(t.len())
        },
        e.at_ns.div_euclid(1_000_000_000),
        value,
    )
}

/// `{kind = "pid.reload", from = "", entry = <id>, at}` (SPEC §12.3.1): rare, so built with
/// mlua calls rather than by `ffi::event::table`.
fn reload_event(lua: &Lua, kind: &str, at: i64, entry: &str) -> mlua::Result<Value> {
    let t = lua.create_table_with_capacity(0, 4)?;
    t.raw_set("kind", kind)?;
    t.raw_set("from", "")?;
    t.raw_set("entry", entry)?;
    t.raw_set("at", at)?;
    Ok(Value::Table(t))
}

/// The value of a message on a raw-mode `listen` channel: its one payload, or a table of
/// them.
fn raw_payload(lua: &Lua, payloads: &[Payload]) -> mlua::Result<Value> {
    match payloads {
        [] => Ok(Value::Nil),
        [one] => one.to_lua(lua),
        many => {
            let t = lua.create_table_with_capacity(many.len(), 0)?;
            for (i, v) in Payload::to_lua_many(lua, many)?.into_iter().enumerate() {
                t.raw_set(i + 1, v)?;
            }
            Ok(Value::Table(t))
        }
    }
}

/// The values an operation returns to Lua: `value, ok` for a receive, `true` for a send or
/// sleep, `nil, "send on closed channel"` for a woken send on a closed channel, and
/// `case, value, ok` (case from 1) for a select.
pub fn outcome_values(lua: &Lua, core: &mut Core, o: Outcome) -> mlua::Result<MultiValue> {
    let mut mv = MultiValue::with_capacity(3);
    match o.case {
        Some(i) => {
            let (value, ok) = done_value(lua, core, o.done)?;
            mv.push_back(Value::Integer(i64::from(i) + 1));
            mv.push_back(value.unwrap_or(Value::Nil));
            mv.push_back(Value::Boolean(ok));
        }
        None => {
            let (a, b) = plain_values(lua, core, o.done)?;
            mv.push_back(a);
            mv.extend(b);
        }
    }
    Ok(mv)
}

/// What a receive or send outside a select returns for `done`: `v, ok`, `true`, or
/// `nil, "send on closed channel"`.
pub fn plain_values(
    lua: &Lua,
    core: &mut Core,
    done: Done,
) -> mlua::Result<(Value, Option<Value>)> {
    Ok(match done_value(lua, core, done)? {
        (Some(v), ok) => (v, Some(Value::Boolean(ok))),
        (None, true) => (Value::Boolean(true), None),
        (None, false) => (
            Value::Nil,
            Some(Value::String(lua.create_string("send on closed channel")?)),
        ),
    })
}

/// The value (none for a send or sleep) and ok flag of `done`.
fn done_value(lua: &Lua, core: &mut Core, done: Done) -> mlua::Result<(Option<Value>, bool)> {
    Ok(match done {
        Done::Received(item, kind) => (Some(item_value(lua, core, item, kind)?), true),
        Done::Closed => (Some(Value::Nil), false),
        Done::Sent | Done::Slept => (None, true),
        Done::SendClosed => (None, false),
    })
}

/// [`plain_values`] as values to push on a resumed coroutine: a scalar received (a
/// `ch:send` of one, or a raw-mode message whose one payload is one) is pushed by type,
/// without an mlua value; anything else goes through [`plain_values`], except a raw-mode
/// message with a table for a task blocked in a hot binding's own block (`in_c`): that is
/// handed over for the task to build on its own stack (`Push::Take`: no protected call,
/// no mlua handle), its record going back to the pool at once.
pub fn plain_pushes(
    lua: &Lua,
    core: &mut Core,
    done: Done,
    in_c: bool,
) -> mlua::Result<(Push, Option<Push>)> {
    let ok = Some(Push::Bool(true));
    match done {
        Done::Sent | Done::Slept => Ok((Push::Bool(true), None)),
        Done::Received(Item::Lua(v), _) => Ok((Push::from(v), ok)),
        Done::Received(
            Item::Msg(m),
            kind @ (ChanKind::Listen { message: false } | ChanKind::Reply),
        ) => match scalar(&m.payloads) {
            Some(p) => {
                core.recycle(m);
                Ok((p, ok))
            }
            None if in_c => Ok((Push::Take(Taken::Boxed(handoff(core, m))), None)),
            None => {
                let (a, b) = plain_values(lua, core, Done::Received(Item::Msg(m), kind))?;
                Ok((Push::from(a), b.map(Push::from)))
            }
        },
        Done::Received(Item::Msg(m), kind) if in_c && gets_msg_objects(kind) => {
            Ok((Push::Take(msg_take(core, m)), None))
        }
        Done::Received(Item::Event(e), kind) if in_c => match event_handoff(e) {
            Ok(d) => Ok((Push::Take(d), None)),
            Err(e) => {
                let (a, b) = plain_values(lua, core, Done::Received(Item::Event(e), kind))?;
                Ok((Push::from(a), b.map(Push::from)))
            }
        },
        done => {
            let (a, b) = plain_values(lua, core, done)?;
            Ok((Push::from(a), b.map(Push::from)))
        }
    }
}

/// The payloads of a raw-mode message, for the receive to build on its own stack
/// (`value, true`); the record goes back to the pool.
pub fn handoff(core: &mut Core, mut m: Box<Message>) -> Box<Handoff<Payload>> {
    let roots = std::mem::take(&mut m.payloads);
    core.recycle(m);
    Box::new(Handoff { roots })
}

/// Event `e` for the receive to build on its own stack (`event, true`): `ffi::event::Ready`
/// for a normal EXIT with a scalar value, else its owned parts ([`owned_event`]).
pub fn event_handoff(e: Box<Event>) -> Result<Taken, Box<Event>> {
    match ready_event(&e) {
        Some(r) => Ok(Taken::inline(r)),
        None => owned_event(e).map(Taken::Boxed),
    }
}

/// Event `e` as owned parts for the receive to build on its own stack (`event, true`),
/// for an event [`ready_event`] did not take; a reload event (rare, built with mlua calls)
/// comes back as it was.
pub fn owned_event(e: Box<Event>) -> Result<Box<dyn Deferred>, Box<Event>> {
    if e.kind == EventKind::Reload {
        return Err(e);
    }
    let e = *e;
    let (exit, value) = match e.exit {
        Some(Exit::Normal(v)) => (Some(None), Some(v)),
        Some(Exit::Error(msg)) => (Some(Some(msg)), None),
        None => (None, None),
    };
    Ok(Box::new(ffi::event::Owned {
        kind: e.kind.name(),
        from: String::from_utf8_lossy(&e.from_text).into_owned(),
        at: e.at_ns.div_euclid(1_000_000_000),
        exit,
        reason: e.reason,
        value,
    }))
}

/// Whether `m` is a raw-mode message holding a table (not one scalar): what a receive
/// builds itself ([`handoff`]).
pub fn builds_itself(m: &Message, kind: ChanKind) -> bool {
    matches!(kind, ChanKind::Listen { message: false } | ChanKind::Reply)
        && scalar(&m.payloads).is_none()
}

/// The one scalar payload of a raw-mode message, if that is what it holds.
fn scalar(payloads: &[Payload]) -> Option<Push> {
    Payload::lone_plain(payloads).map(Push::from)
}
