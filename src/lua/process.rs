//! The `process` Lua module: spawning, identity, messages, subscriptions, events, monitors,
//! links, options, cancel/terminate (SPEC §2); the name registry is in `names.rs`.
//!
//! Every function here is a raw binding the prelude wraps; they validate their arguments,
//! describe what must happen to the core, and never resume anything themselves.

use super::args::{Ret, arg, bad_arg, block_on, core, fail, raise, ret};
use super::object::{chan_id, chan_object};
use crate::context::SpawnContext;
use crate::core::{Core, MAX_REASON_BYTES, Parent};
use crate::error::{ResolveError, SpawnError};
use crate::ids::{PidRef, ProcId};
use crate::message::{ChanKind, Event, EventKind};
use crate::payload::Payload;
use crate::request::Request;
use mlua::{Lua, MultiValue, Table, Value};
use std::rc::Rc;

/// Adds the raw process functions to the prelude's `raw` table.
pub fn open(lua: &Lua, raw: &Table) -> mlua::Result<()> {
    for (name, fast, bits) in [
        ("spawn", super::hot::spawn::<0> as crate::ffi::hot::Fast, 0),
        ("spawn_monitored", super::hot::spawn::<1>, 1),
        ("spawn_linked", super::hot::spawn::<2>, 2),
        ("spawn_linked_monitored", super::hot::spawn::<3>, 3),
    ] {
        let mode = Mode::of(bits);
        let slow = lua.create_function(move |lua, args: MultiValue| {
            spawn_from(lua, mode.name(), &args, 1, mode, None)
        })?;
        raw.set(name, crate::ffi::hot::function(lua, fast, slow)?)?;
    }
    for (name, fast, slow) in [
        (
            "pid",
            super::hot::pid as crate::ffi::hot::Fast,
            pid as Plain,
        ),
        ("send", super::hot::send, send),
    ] {
        raw.set(name, hot(lua, fast, slow)?)?;
    }
    raw.set("id", lua.create_function(id)?)?;
    raw.set("listen", lua.create_function(listen)?)?;
    raw.set("unlisten", lua.create_function(unlisten)?)?;
    raw.set("inbox", lua.create_function(inbox)?)?;
    raw.set("events", lua.create_function(events)?)?;
    raw.set("monitor", lua.create_function(monitor)?)?;
    raw.set("unmonitor", lua.create_function(unmonitor)?)?;
    raw.set("link", lua.create_function(link)?)?;
    raw.set("unlink", lua.create_function(unlink)?)?;
    raw.set("set_options", lua.create_function(set_options)?)?;
    raw.set("get_options", lua.create_function(get_options)?)?;
    raw.set("cancel", lua.create_function(cancel)?)?;
    raw.set("terminate", lua.create_function(terminate)?)?;
    super::names::open(lua, raw)?;
    raw.set("spawn_task", lua.create_function(spawn_task)?)?;
    Ok(())
}

/// A binding's mlua function.
type Plain = fn(&Lua, MultiValue) -> Ret;

/// The hot binding over `fast` and `slow` (`ffi::hot`).
fn hot(lua: &Lua, fast: crate::ffi::hot::Fast, slow: Plain) -> mlua::Result<mlua::Function> {
    crate::ffi::hot::function(lua, fast, lua.create_function(slow)?)
}

pub(super) fn me(lua: &Lua, c: &Core, func: &str) -> Result<ProcId, Ret> {
    c.current_proc()
        .ok_or_else(|| raise(lua, format!("{func}: must be called from a process")))
}

macro_rules! me {
    ($lua:expr, $c:expr, $f:expr) => {
        match me($lua, &$c, $f) {
            Ok(p) => p,
            Err(r) => return r,
        }
    };
}

pub(super) fn dest_bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Integer(i) => Some(i.to_string().into_bytes()),
        Value::Number(n) => Some(n.to_string().into_bytes()),
        _ => None,
    }
}

/// `process.spawn*(entry, host, ...)` (the mode says which): returns the child's PID, or
/// `nil, err` (`<name> requires at least id and host arguments`, `host not found`,
/// `entry not found: <id>`, `max processes limit exceeded`, `cannot send <type>`).
pub(super) fn spawn_from(
    lua: &Lua,
    name: &str,
    args: &MultiValue,
    first: usize,
    mode: Mode,
    context: Option<Rc<SpawnContext>>,
) -> Ret {
    let missing = || format!("{name} requires at least id and host arguments");
    if args.len() < first + 1 {
        return fail(lua, missing());
    }
    let entry = match arg(args, first) {
        Value::String(s) => s,
        Value::Nil => return fail(lua, missing()),
        other => return fail(lua, bad_arg(name, 1, "string", &other)),
    };
    let host = match arg(args, first + 1) {
        Value::String(s) => s,
        Value::Nil => return fail(lua, missing()),
        other => return fail(lua, bad_arg(name, 2, "string", &other)),
    };
    let (depth, bytes) = {
        let c = core(lua)?;
        c.payload_limits(c.current_proc())
    };
    let copied = match Payload::copy_limited(args.iter().skip(first + 1), depth, bytes) {
        Ok(p) => p.into_vec(),
        Err(e) => return fail(lua, e.to_string()),
    };
    let host_s = host.to_string_lossy();
    let entry_s = entry.to_string_lossy();
    match spawn_child(lua, &entry_s, &host_s, copied, mode, context)? {
        Ok(pid) => ret(lua, pid),
        Err(e) => fail(lua, e.to_string()),
    }
}

/// How a child is tied to the process that spawns it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Mode {
    link: bool,
    monitor: bool,
}

impl Mode {
    /// From the mode bits: 1 = monitor, 2 = link.
    pub(super) fn of(bits: i64) -> Mode {
        Mode {
            link: bits & 2 != 0,
            monitor: bits & 1 != 0,
        }
    }

    /// The `process` function spawning this way.
    fn name(self) -> &'static str {
        match (self.link, self.monitor) {
            (false, true) => "spawn_monitored",
            (true, false) => "spawn_linked",
            (true, true) => "spawn_linked_monitored",
            _ => "spawn",
        }
    }
}

/// Spawns `entry` on `host` for the running process (or the host, outside any process);
/// the child's PID string. The child carries `context`, or else the parent's.
pub(super) fn spawn_child(
    lua: &Lua,
    entry: &str,
    host: &str,
    args: Vec<Payload>,
    mode: Mode,
    context: Option<Rc<SpawnContext>>,
) -> mlua::Result<Result<String, SpawnError>> {
    let mut c = core(lua)?;
    let spawned = spawn_in(lua, &mut c, entry, host, args, mode, context)?;
    Ok(spawned.map(|pid| c.pid_string(pid)))
}

/// [`spawn_child`] in a borrow of the core the caller holds.
pub(super) fn spawn_in(
    lua: &Lua,
    c: &mut Core,
    entry: &str,
    host: &str,
    args: Vec<Payload>,
    mode: Mode,
    context: Option<Rc<SpawnContext>>,
) -> mlua::Result<Result<PidRef, SpawnError>> {
    let Some(h) = c.find_host(host) else {
        return Ok(Err(SpawnError::HostNotFound(host.into())));
    };
    let Some(e) = c.entries().find_spawnable(entry) else {
        return Ok(Err(SpawnError::EntryNotFound(entry.into())));
    };
    if let Err(err) = c.check_spawn(h) {
        return Ok(Err(err));
    }
    let thread = super::task_thread(lua, c)?;
    let parent = c.current_proc().map(|proc| Parent {
        proc,
        link: mode.link,
        monitor: mode.monitor,
    });
    let context = context.or_else(|| c.current_proc().and_then(|p| c.spawn_context(p)));
    Ok(c.spawn(thread, e, h, args, parent, context))
}

/// `process.pid()` -> the caller's PID.
fn pid(lua: &Lua, _: MultiValue) -> Ret {
    let c = core(lua)?;
    let p = me!(lua, c, "process.pid");
    ret(lua, c.pid_string_of(p))
}

/// `process.id()` -> the running entry's id.
fn id(lua: &Lua, _: MultiValue) -> Ret {
    let c = core(lua)?;
    let p = me!(lua, c, "process.id");
    ret(lua, c.entry_id_of(p).to_string())
}

/// `process.send(dest, topic, ...)` -> `true`, or `nil, err`.
fn send(lua: &Lua, args: MultiValue) -> Ret {
    if args.len() < 2 {
        return fail(
            lua,
            "send requires at least destination and topic arguments",
        );
    }
    let topic = match arg(&args, 2) {
        Value::String(s) => s.to_string_lossy(),
        other => return fail(lua, bad_arg("send", 2, "string", &other)),
    };
    if topic.starts_with('@') {
        return fail(lua, "cannot send to @ topics");
    }
    let (depth, bytes) = {
        let c = core(lua)?;
        c.payload_limits(c.current_proc())
    };
    let payloads = match Payload::copy_limited(args.iter().skip(2), depth, bytes) {
        Ok(p) => p,
        Err(e) => return fail(lua, e.to_string()),
    };
    let mut c = core(lua)?;
    let dest = arg(&args, 1);
    let Some(bytes) = dest_bytes(&dest) else {
        return fail(lua, bad_arg("send", 1, "string", &dest));
    };
    let me = c.current_proc();
    let size = Payload::size_of_all(&payloads);
    match deliver_to(&mut c, me, &bytes, &topic, (payloads, size)) {
        Ok(()) => ret(lua, true),
        Err(e) => fail(lua, e),
    }
}

/// Resolves `dest` (a PID string or a registered name) and delivers the message (its
/// payloads and their size) from the running process; the error is the text
/// `process.send` returns.
#[inline(always)]
pub(super) fn deliver_to(
    c: &mut Core,
    me: Option<ProcId>,
    dest: &[u8],
    topic: &str,
    (payloads, size): crate::payload::Copied,
) -> Result<(), String> {
    c.note_name_lookup(dest);
    let to = c.resolve_send(me, dest).map_err(|e| e.to_string())?;
    let from = me.and_then(|p| c.pid_of(p));
    c.deliver_sized(to, from, topic, payloads, size)
        .map_err(|e| e.to_string())
}

/// `process.listen(topic [, {message = bool}])` -> channel, or `nil, err`.
fn listen(lua: &Lua, args: MultiValue) -> Ret {
    let topic = match arg(&args, 1) {
        Value::String(s) => s.to_string_lossy(),
        other => return fail(lua, bad_arg("listen", 1, "string", &other)),
    };
    if topic.is_empty() {
        return fail(lua, "topic cannot be empty");
    }
    if topic.starts_with('@') {
        return fail(lua, "cannot listen to @ topics");
    }
    let message = match arg(&args, 2) {
        Value::Table(t) => t
            .get::<Option<bool>>("message")
            .unwrap_or(None)
            .unwrap_or(false),
        Value::Nil => false,
        other => return fail(lua, bad_arg("listen", 2, "table", &other)),
    };
    let mut c = core(lua)?;
    let p = me!(lua, c, "process.listen");
    if let Some((_, obj)) = c.listener(p, &topic, message) {
        return ret(lua, obj);
    }
    if let Err(q) = c
        .listener_room(p, topic.len())
        .and_then(|()| c.channel_room(p))
    {
        return fail(lua, format!("listen: {q}"));
    }
    let chan = c.new_chan(p, ChanKind::Listen { message }, usize::MAX);
    let obj = chan_object(lua, chan)?;
    c.listen(p, &topic, chan, obj.clone());
    ret(lua, obj)
}

/// `process.unlisten(ch)` -> `true`, or `false, "channel not found"`.
fn unlisten(lua: &Lua, args: MultiValue) -> Ret {
    let mut c = core(lua)?;
    let p = me!(lua, c, "process.unlisten");
    let removed = match chan_id(lua, &arg(&args, 1)) {
        Some(id) => c.unlisten(p, id),
        None => false,
    };
    if removed {
        ret(lua, true)
    } else {
        ret(lua, (false, "channel not found"))
    }
}

/// `process.inbox()` -> the inbox channel (same object every call).
fn inbox(lua: &Lua, _: MultiValue) -> Ret {
    let mut c = core(lua)?;
    let p = me!(lua, c, "process.inbox");
    ret(lua, feed(lua, &mut c, p, false)?)
}

/// `process.events()` -> the events channel (same object every call).
fn events(lua: &Lua, _: MultiValue) -> Ret {
    let mut c = core(lua)?;
    let p = me!(lua, c, "process.events");
    ret(lua, feed(lua, &mut c, p, true)?)
}

/// The Lua object of the process's inbox (or, with `events`, its events channel), made on
/// first use and the same object on every call.
fn feed(lua: &Lua, c: &mut Core, p: ProcId, events: bool) -> mlua::Result<mlua::AnyUserData> {
    if let Some(o) = c.feed_object(p, events) {
        return Ok(o);
    }
    let id = if events { c.events(p) } else { c.inbox(p) };
    let obj = chan_object(lua, id)?;
    c.set_feed_object(p, events, obj.clone());
    Ok(obj)
}

/// Resolves the destination argument of monitor/link-like calls; `Err` carries the
/// binding's result. An ended PID becomes `ended`.
pub(super) fn target(
    lua: &Lua,
    c: &Core,
    args: &MultiValue,
    func: &str,
    ended: &str,
) -> Result<ProcId, Ret> {
    let dest = arg(args, 1);
    if dest.is_nil() {
        return Err(fail(lua, format!("{func} requires a destination argument")));
    }
    let Some(bytes) = dest_bytes(&dest) else {
        return Err(fail(lua, bad_arg(func, 1, "string", &dest)));
    };
    c.resolve(&bytes).map_err(|e| match e {
        ResolveError::Ended => fail(lua, ended),
        other => fail(lua, other.to_string()),
    })
}

macro_rules! target {
    ($lua:expr, $c:expr, $args:expr, $f:expr, $ended:expr) => {
        match target($lua, &$c, &$args, $f, $ended) {
            Ok(p) => p,
            Err(r) => return r,
        }
    };
}

/// `process.monitor(dest)` -> `true`, or `nil, err`.
fn monitor(lua: &Lua, args: MultiValue) -> Ret {
    let mut c = core(lua)?;
    let p = me!(lua, c, "process.monitor");
    let t = target!(lua, c, args, "monitor", "pid not registered");
    if c.monitor(p, t) {
        ret(lua, true)
    } else {
        fail(lua, "already monitoring pid")
    }
}

/// `process.unmonitor(dest)` -> `true` (also when not monitoring), or `nil, err`.
fn unmonitor(lua: &Lua, args: MultiValue) -> Ret {
    let mut c = core(lua)?;
    let p = me!(lua, c, "process.unmonitor");
    let dest = arg(&args, 1);
    if !dest.is_nil() && dest_bytes(&dest).is_none() {
        return fail(lua, bad_arg("unmonitor", 1, "string", &dest));
    }
    let target_pid = dest_bytes(&dest).and_then(|b| c.parse_pid(&b));
    match target(lua, &c, &args, "unmonitor", "") {
        Ok(t) => {
            if let Some(pid) = c.pid_of(t) {
                c.unmonitor(p, t);
                c.drop_pending_exits(p, pid);
            }
            ret(lua, true)
        }
        Err(_) if !arg(&args, 1).is_nil() => {
            // The target may have ended with its EXIT still queued: that one goes too.
            if let Some(pid) = target_pid {
                c.drop_pending_exits(p, pid);
            }
            ret(lua, true)
        }
        Err(r) => r,
    }
}

/// `process.link(dest)` -> `true`, or `nil, err`.
fn link(lua: &Lua, args: MultiValue) -> Ret {
    let mut c = core(lua)?;
    let p = me!(lua, c, "process.link");
    let t = target!(lua, c, args, "link", "pid not registered");
    c.link(p, t);
    ret(lua, true)
}

/// `process.unlink(dest)` -> `true`, or `nil, err`.
fn unlink(lua: &Lua, args: MultiValue) -> Ret {
    let mut c = core(lua)?;
    let p = me!(lua, c, "process.unlink");
    match target(lua, &c, &args, "unlink", "") {
        Ok(t) => {
            c.unlink(p, t);
            ret(lua, true)
        }
        Err(_) if !arg(&args, 1).is_nil() => ret(lua, true),
        Err(r) => r,
    }
}

/// `process.set_options({trap_links = bool})` -> `true`, or `false, err`.
fn set_options(lua: &Lua, args: MultiValue) -> Ret {
    let Value::Table(opts) = arg(&args, 1) else {
        return ret(lua, (false, "options parameter must be a table"));
    };
    let mut trap = None;
    for pair in opts.pairs::<Value, Value>() {
        let (k, v) = pair?;
        match (&k, &v) {
            (Value::String(s), Value::Boolean(b)) if s == "trap_links" => trap = Some(*b),
            (Value::String(s), _) if s == "trap_links" => {
                return ret(lua, (false, "trap_links must be a boolean"));
            }
            _ => {
                let name = match &k {
                    Value::String(s) => s.to_string_lossy(),
                    other => format!("{other:?}"),
                };
                return ret(lua, (false, format!("option {name} is not supported")));
            }
        }
    }
    let mut c = core(lua)?;
    let p = me!(lua, c, "process.set_options");
    if let Some(b) = trap {
        c.set_trap_links(p, b);
    }
    ret(lua, true)
}

/// `process.get_options()` -> `{trap_links = bool}`.
fn get_options(lua: &Lua, _: MultiValue) -> Ret {
    let c = core(lua)?;
    let p = me!(lua, c, "process.get_options");
    let t = lua.create_table()?;
    t.set("trap_links", c.trap_links(p))?;
    ret(lua, t)
}

/// `process.cancel(dest [, reason])` -> `true`, or `nil, err`.
fn cancel(lua: &Lua, args: MultiValue) -> Ret {
    let mut c = core(lua)?;
    if arg(&args, 1).is_nil() {
        return fail(lua, "cancel requires at least destination argument");
    }
    let t = target!(lua, c, args, "cancel", "process not found");
    let reason = match arg(&args, 2) {
        Value::String(s) => s.to_string_lossy(),
        Value::Nil => String::new(),
        other => return fail(lua, bad_arg("cancel", 2, "string", &other)),
    };
    if reason.len() > MAX_REASON_BYTES {
        return fail(
            lua,
            format!("cancel: reason too long (at most {MAX_REASON_BYTES} bytes)"),
        );
    }
    if let Err(q) = c.event_room(t) {
        return fail(lua, format!("cancel: {q}"));
    }
    let Some(from) = c.current_proc().or(Some(t)).and_then(|p| c.pid_of(p)) else {
        return fail(lua, "process not found");
    };
    let ev = Event {
        kind: EventKind::Cancel,
        from,
        from_text: c.pid_text(from),
        exit: None,
        reason: reason.into(),
        at_ns: c.clock().wall_ns(),
    };
    c.push_event(t, ev);
    ret(lua, true)
}

/// `process.terminate(dest)` -> `true`, or `nil, "process not found"`; terminating yourself
/// ends you at once.
fn terminate(lua: &Lua, args: MultiValue) -> Ret {
    let mut c = core(lua)?;
    let t = target!(lua, c, args, "terminate", "process not found");
    c.kill(t, "process terminated");
    if c.current_proc() == Some(t) && crate::ffi::is_yieldable(lua.state()) {
        // Ends at once: the scheduler ends it when the yield reaches it. Where it cannot
        // yield, it ends at its next scheduling point.
        return block_on(lua, &mut c, "process.terminate", Request::Exit);
    }
    ret(lua, true)
}

/// `coroutine.spawn(fn)`: runs `fn` as an extra task of the calling process.
fn spawn_task(lua: &Lua, args: MultiValue) -> Ret {
    let Value::Function(f) = arg(&args, 1) else {
        return raise(
            lua,
            bad_arg("coroutine.spawn", 1, "function", &arg(&args, 1)),
        );
    };
    let thread = lua.create_thread(f)?;
    let mut c = core(lua)?;
    let p = me!(lua, c, "coroutine.spawn");
    c.spawn_task(p, thread);
    ret(lua, true)
}
