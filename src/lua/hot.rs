//! The fast halves of the hot bindings (see `ffi::hot`): plain Rust functions over the
//! arguments a C function read off the Lua stack. Each handles the common case and leaves
//! everything else (other argument types, error texts that need the Lua values) to the
//! binding's mlua function by returning [`Out::Slow`].

use super::args::record_block;
use super::object::{
    builds_itself, chan_from_bits, gets_msg_objects, handoff, msg_take, owned_event, plain_values,
    ready_event,
};
use super::process::{Mode, deliver_to, spawn_in};
use crate::core::{Core, RecvSelect, SendResult};
use crate::ffi::hot::{Arg, Call, Out};
use crate::ffi::resume::Taken;
use crate::ffi::select::{Picked, Select};
use crate::message::Item;
use crate::payload::Payload;
use crate::request::{Done, Request};
use mlua::{Lua, Value};

/// `process.send(dest, topic, ...)` with a string destination: the payloads are copied
/// straight off the Lua stack.
pub fn send(lua: &Lua, call: &Call<'_>) -> Out {
    let (Arg::Str(dest), Arg::Str(topic)) = (call.arg(1), call.arg(2)) else {
        return Out::Slow;
    };
    // Topics are short and nearly always ASCII: checked as such before a full validation.
    let Some(topic) = crate::ffi::ascii_str(topic).or_else(|| std::str::from_utf8(topic).ok())
    else {
        return Out::Slow;
    };
    if topic.starts_with('@') {
        return Out::Slow;
    }
    let Ok(mut c) = call.held::<Core>() else {
        return Out::Slow;
    };
    let me = c.current_proc();
    let (max_depth, max_bytes) = c.payload_limits(me);
    // The copy runs no Lua code (see `ffi::walk`), so the core may stay borrowed.
    let payloads = match Payload::copy_args(lua, call, 3, max_depth, max_bytes) {
        Ok(p) => p,
        Err(e) => return Out::Fail(e.to_string()),
    };
    match deliver_to(&mut c, me, dest, topic, payloads) {
        Ok(()) => Out::One(Value::Boolean(true)),
        Err(e) => Out::Fail(e),
    }
}

/// `ch:receive()`: the value at once when one is there, else the request recorded and BLOCK.
pub fn recv(lua: &Lua, call: &Call<'_>) -> Out {
    let (Arg::Chan(bits), 1) = (call.arg(1), call.count()) else {
        return Out::Slow;
    };
    let ch = chan_from_bits(bits);
    let Ok(mut c) = call.held::<Core>() else {
        return Out::Slow;
    };
    match c.try_recv(ch) {
        // An event: its table is built on the receiver's stack (a normal EXIT with a scalar
        // value without an allocation).
        Some(Done::Received(Item::Event(e), kind)) => match ready_event(&e) {
            Some(r) => Out::Event(r),
            None => match owned_event(e) {
                Ok(d) => Out::Take(Taken::Boxed(d)),
                Err(e) => received(lua, &mut c, Done::Received(Item::Event(e), kind)),
            },
        },
        // A raw-mode message with a table: built on the receiver's stack too.
        Some(Done::Received(Item::Msg(m), kind)) if builds_itself(&m, kind) => {
            Out::Take(Taken::Boxed(handoff(&mut c, m)))
        }
        Some(Done::Received(Item::Msg(m), kind)) if gets_msg_objects(kind) => {
            Out::Take(msg_take(&mut c, m))
        }
        Some(done) => received(lua, &mut c, done),
        None => block_on(&mut c, call, "channel.receive", Request::Recv(ch)),
    }
}

/// What a receive that got `done` returns.
fn received(lua: &Lua, c: &mut Core, done: Done) -> Out {
    match plain_values(lua, c, done) {
        Ok((a, b)) => out_of(a, b),
        Err(e) => Out::Raise(e.to_string()),
    }
}

/// `ch:send(v)` of a scalar on a user channel: done at once when there is room or a
/// receiver, else the request recorded and BLOCK.
pub fn chan_send(_lua: &Lua, call: &Call<'_>) -> Out {
    let (Arg::Chan(bits), 2) = (call.arg(1), call.count()) else {
        return Out::Slow;
    };
    let v = match call.arg(2) {
        Arg::Nil => Value::Nil,
        Arg::Bool(b) => Value::Boolean(b),
        Arg::Int(i) => Value::Integer(i),
        Arg::Num(n) => Value::Number(n),
        _ => return Out::Slow,
    };
    let ch = chan_from_bits(bits);
    let Ok(mut c) = call.held::<Core>() else {
        return Out::Slow;
    };
    if !c.chan_kind(ch).is_some_and(|k| k.is_user()) || c.chan_is_closed(ch) {
        // Closed, gone or a process channel: the slow binding raises the right error.
        return Out::Slow;
    }
    match c.try_send(ch, Item::Lua(v)) {
        SendResult::Done => Out::One(Value::Boolean(true)),
        SendResult::Closed => Out::Raise("send on closed channel".into()),
        SendResult::WouldBlock(item) => {
            block_on(&mut c, call, "channel.send", Request::Send(ch, item))
        }
        SendResult::Quota(q, _) => Out::Fail(format!("channel.send: {q}")),
    }
}

/// Records `req` for the running task and blocks, as `args::block_on` does.
fn block_on(c: &mut Core, call: &Call<'_>, func: &str, req: Request) -> Out {
    match record_block(c, func, call.can_yield(), req) {
        Ok(()) => Out::Block,
        Err(msg) => Out::Raise(msg),
    }
}

fn out_of(a: Value, b: Option<Value>) -> Out {
    match b {
        Some(b) => Out::Two(a, b),
        None => Out::One(a),
    }
}

/// `process.spawn*(entry, host, ...)` (`MODE`: 1 = monitor, 2 = link) with string entry and
/// host; the arguments are copied straight off the Lua stack.
pub fn spawn<const MODE: i64>(lua: &Lua, call: &Call<'_>) -> Out {
    let (Arg::Str(entry), Arg::Str(host)) = (call.arg(1), call.arg(2)) else {
        return Out::Slow;
    };
    // Entry ids and host names are nearly always ASCII: checked as such first, as topics are.
    let text = |b| crate::ffi::ascii_str(b).or_else(|| std::str::from_utf8(b).ok());
    let (Some(entry), Some(host)) = (text(entry), text(host)) else {
        return Out::Slow;
    };
    // One borrow of the core for the whole spawn: the copy runs no Lua code (`ffi::walk`),
    // and making the coroutine runs none either.
    let Ok(mut c) = call.held::<Core>() else {
        return Out::Slow;
    };
    let (max_depth, max_bytes) = c.payload_limits(c.current_proc());
    let args = match Payload::copy_args(lua, call, 3, max_depth, max_bytes) {
        Ok((a, _)) => a.into_vec(),
        Err(e) => return Out::Fail(e.to_string()),
    };
    let mode = Mode::of(MODE);
    match spawn_in(lua, &mut c, entry, host, args, mode, None) {
        // The string made at its spawn, copied to the buffer: no allocation.
        Ok(Ok(pid)) => match c.live_pid_text(pid) {
            Some(t) => crate::ffi::hot::text(t),
            None => Out::Str(c.pid_string(pid)),
        },
        Ok(Err(e)) => Out::Fail(e.to_string()),
        Err(e) => Out::Raise(e.to_string()),
    }
}

/// `process.pid()` in a process: its PID string, the one made at its spawn.
pub fn pid(_: &Lua, call: &Call<'_>) -> Out {
    let Ok(c) = call.held::<Core>() else {
        return Out::Slow;
    };
    match c.current_proc().and_then(|p| c.pid_of(p)) {
        Some(pid) if call.count() == 0 => match c.live_pid_text(pid) {
            Some(t) => crate::ffi::hot::text(t),
            None => Out::Slow,
        },
        _ => Out::Slow,
    }
}

/// `channel.select` when every case receives (`ffi::select` read the list): the first
/// ready case, the default, or the request recorded and BLOCK.
pub fn select(lua: &Lua, sel: &Select<'_>) -> Picked {
    let Ok(mut c) = sel.held::<Core>() else {
        return Picked::Slow;
    };
    let chans = sel.chans.iter().map(|b| chan_from_bits(*b));
    match c.try_select_recv(chans.clone()) {
        RecvSelect::Done(i, done) => match plain_values(lua, &mut c, done) {
            Ok((v, ok)) => Picked::Case(i, v, !matches!(ok, Some(Value::Boolean(false)))),
            Err(e) => Picked::Raise(e.to_string()),
        },
        // The slow binding fails with the right message.
        RecvSelect::Gone => Picked::Slow,
        RecvSelect::Idle if sel.default => Picked::Default,
        RecvSelect::Idle => {
            let req = Request::Select(chans.map(|ch| (ch, None)).collect());
            match record_block(&mut c, "channel.select", sel.can_yield, req) {
                Ok(()) => Picked::Block,
                Err(msg) => Picked::Raise(msg),
            }
        }
    }
}
