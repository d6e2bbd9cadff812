//! Channel operations of the core: receive, send, select, close, and [`Core::complete`],
//! the one path that wakes a parked task.

use super::mail::raw_payload;
use crate::channel::{Channel, Recv, Send};
use crate::core::{Chan, ChanKind, Core, Fire, Outcome, Wait, WaitMode, Waiter};
use crate::lua::channel::ChanRef;
use crate::lua::process::MsgObj;
use crate::process::*;
use mlua::{AnyUserData, Lua, Value};
use smallvec::{SmallVec, smallvec};

impl Core {
    // ----- channels -------------------------------------------------------------------------

    /// Creates a channel owned by `owner`.
    pub fn new_chan(&mut self, owner: ProcId, kind: ChanKind, cap: usize) -> ChanId {
        let id = self.chans.insert(Chan {
            owner,
            kind,
            q: Channel::new(cap),
            timer: None,
        });
        if let Some(p) = self.procs.get_mut(owner) {
            p.chans.insert(id);
        }
        id
    }

    /// Wraps a channel id in a new Lua object.
    pub fn chan_object(&self, lua: &Lua, id: ChanId) -> mlua::Result<AnyUserData> {
        lua.create_any_userdata(ChanRef {
            id,
            grave: self.graveyard.clone(),
        })
    }

    /// The process's inbox channel, created on first use.
    pub fn inbox(&mut self, proc: ProcId) -> ChanId {
        if let Some(c) = self.procs[proc].inbox {
            return c;
        }
        let c = self.new_chan(proc, ChanKind::Inbox, usize::MAX);
        self.procs[proc].inbox = Some(c);
        c
    }

    /// The process's events channel, created on first use.
    pub fn events(&mut self, proc: ProcId) -> ChanId {
        if let Some(c) = self.procs[proc].events {
            return c;
        }
        let c = self.new_chan(proc, ChanKind::Events, usize::MAX);
        self.procs[proc].events = Some(c);
        c
    }

    /// Turns a channel item into the Lua value a receiver sees.
    pub fn item_to_lua(&self, lua: &Lua, kind: ChanKind, item: Item) -> mlua::Result<Value> {
        match item {
            Item::Lua(v) => Ok(v),
            Item::Msg(m) => match kind {
                ChanKind::Listen { message: false } => raw_payload(lua, &m.payloads),
                _ => {
                    let from = m.from.map(|p| self.pid_string(p)).unwrap_or_default();
                    Ok(Value::UserData(
                        lua.create_userdata(MsgObj { msg: m, from })?,
                    ))
                }
            },
            Item::Event(e) => self.event_table(lua, &e),
        }
    }

    /// Builds an event table through the prelude's `make_event` (one call into Lua instead
    /// of a protected API call per field).
    fn event_table(&self, lua: &Lua, e: &Event) -> mlua::Result<Value> {
        let kind = match e.kind {
            EventKind::Exit => "pid.exit",
            EventKind::LinkDown => "pid.link.down",
            EventKind::Cancel => "pid.cancel",
        };
        let from = lua.create_string(self.pid_string(e.from))?;
        let at = e.at_ns.div_euclid(1_000_000_000);
        match &e.exit {
            Some(Exit::Normal(v)) => {
                self.lua
                    .make_event
                    .call((kind, from, at, true, v.to_lua(lua)?, Value::Nil))
            }
            Some(Exit::Error(msg)) => {
                self.lua
                    .make_event
                    .call((kind, from, at, true, Value::Nil, msg.as_str()))
            }
            None => self
                .lua
                .make_event
                .call((kind, from, at, false, Value::Nil, &*e.reason)),
        }
    }

    /// Receives from a channel for the current task: `Some((value, ok))` at once, or `None`
    /// after parking the task.
    pub fn recv(&mut self, lua: &Lua, chan: ChanId) -> mlua::Result<Option<(Value, bool)>> {
        let c = &mut self.chans[chan];
        let (kind, owner) = (c.kind, c.owner);
        match c.q.try_recv() {
            Recv::Item { item, woke } => {
                if let Item::Msg(m) = &item {
                    self.took_message(owner, m.bytes);
                }
                if let Some(w) = woke {
                    self.complete(lua, w, Outcome::Sent)?;
                }
                Ok(Some((self.item_to_lua(lua, kind, item)?, true)))
            }
            Recv::Closed => Ok(Some((Value::Nil, false))),
            Recv::Empty => {
                let w = self.park(WaitMode::Recv, smallvec![chan]);
                self.chans[chan].q.park_recv(Waiter { wait: w, case: 0 });
                Ok(None)
            }
        }
    }

    /// Sends on a channel for the current task: `Ok(true)` when done, `Ok(false)` after
    /// parking, `Err(())` when the channel is closed.
    pub fn send(&mut self, lua: &Lua, chan: ChanId, v: Value) -> mlua::Result<Result<bool, ()>> {
        match self.chans[chan].q.try_send(Item::Lua(v)) {
            Send::Handoff { to, item } => {
                let kind = self.chans[chan].kind;
                let v = self.item_to_lua(lua, kind, item)?;
                self.complete(lua, to, Outcome::Received(v, true))?;
                Ok(Ok(true))
            }
            Send::Buffered => Ok(Ok(true)),
            Send::Closed(_) => Ok(Err(())),
            Send::Full(item) => {
                let w = self.park(WaitMode::Send, smallvec![chan]);
                self.chans[chan]
                    .q
                    .park_send(Waiter { wait: w, case: 0 }, item);
                Ok(Ok(false))
            }
        }
    }

    /// Puts an item on a channel from outside any task (mailbox delivery, events, timers):
    /// hands it to a parked receiver or buffers it; a full channel drops it.
    pub fn offer(&mut self, lua: &Lua, chan: ChanId, item: Item) -> mlua::Result<bool> {
        let Some(c) = self.chans.get_mut(chan) else {
            return Ok(false);
        };
        let (kind, owner) = (c.kind, c.owner);
        let msg_bytes = match &item {
            Item::Msg(m) => Some(m.bytes),
            _ => None,
        };
        match c.q.try_send(item) {
            Send::Handoff { to, item } => {
                let v = self.item_to_lua(lua, kind, item)?;
                self.complete(lua, to, Outcome::Received(v, true))?;
                Ok(true)
            }
            Send::Buffered => {
                if let Some(bytes) = msg_bytes
                    && let Some(p) = self.procs.get_mut(owner)
                {
                    p.mailbox += 1;
                    p.mailbox_bytes += bytes;
                }
                Ok(true)
            }
            Send::Full(_) | Send::Closed(_) => Ok(false),
        }
    }

    /// Counts a message leaving `owner`'s mailbox buffers.
    pub(crate) fn took_message(&mut self, owner: ProcId, bytes: usize) {
        if let Some(p) = self.procs.get_mut(owner) {
            p.mailbox = p.mailbox.saturating_sub(1);
            p.mailbox_bytes = p.mailbox_bytes.saturating_sub(bytes);
        }
    }

    /// Runs a select for the current task. `cases` are `(channel, value to send)`; returns
    /// `Some((index, value, ok))` for the first ready case in order, or `None` after parking
    /// on all of them (or when `default` is set and nothing is ready: `Some((0, nil, true))`).
    ///
    /// # Errors
    /// `Err(index)` when a send case's channel is closed.
    #[allow(clippy::type_complexity)]
    pub fn select(
        &mut self,
        lua: &Lua,
        cases: Vec<(ChanId, Option<Value>)>,
        default: bool,
    ) -> mlua::Result<Result<Option<(u32, Value, bool)>, u32>> {
        for (i, (chan, send)) in cases.iter().enumerate() {
            let q = &self.chans[*chan].q;
            match send {
                None if q.can_recv() => {
                    let (v, ok) = self.recv(lua, *chan)?.expect("can_recv said ready");
                    return Ok(Ok(Some((i as u32 + 1, v, ok))));
                }
                Some(_) if q.is_closed() => return Ok(Err(i as u32 + 1)),
                Some(v) if q.can_send() => {
                    let done = self.send(lua, *chan, v.clone())?;
                    debug_assert_eq!(done, Ok(true));
                    return Ok(Ok(Some((i as u32 + 1, Value::Nil, true))));
                }
                _ => {}
            }
        }
        if default {
            return Ok(Ok(Some((0, Value::Nil, true))));
        }
        let chans: SmallVec<[ChanId; 2]> = cases.iter().map(|c| c.0).collect();
        let w = self.park(WaitMode::Select, chans);
        for (i, (chan, send)) in cases.into_iter().enumerate() {
            let waiter = Waiter {
                wait: w,
                case: i as u32,
            };
            match send {
                None => self.chans[chan].q.park_recv(waiter),
                Some(v) => self.chans[chan].q.park_send(waiter, Item::Lua(v)),
            }
        }
        Ok(Ok(None))
    }

    /// Parks the current task on a sleep until runtime nanosecond `deadline`.
    pub fn sleep(&mut self, deadline: u64) {
        let w = self.park(WaitMode::Sleep, SmallVec::new());
        let owner = self.waits[w].task;
        let owner = self.tasks[owner].proc;
        let t = self.arm(owner, deadline, Fire::Wake(w));
        self.waits[w].timer = Some(t);
    }

    fn park(&mut self, mode: WaitMode, chans: SmallVec<[ChanId; 2]>) -> WaitId {
        let task = self.current.expect("blocking call outside a task");
        let w = self.waits.insert(Wait {
            task,
            chans,
            timer: None,
            mode,
        });
        self.tasks[task].wait = Some(w);
        self.hook.parking.set(true);
        w
    }

    /// Completes a parked operation: withdraws its other cases, disarms its timer, and queues
    /// its task with the resume values. The one wake path.
    pub fn complete(&mut self, lua: &Lua, w: Waiter, outcome: Outcome) -> mlua::Result<()> {
        let Some(wait) = self.withdraw(w.wait) else {
            return Ok(());
        };
        let vals: SmallVec<[Value; 3]> = match (wait.mode, outcome) {
            (WaitMode::Recv, Outcome::Received(v, ok)) => smallvec![v, Value::Boolean(ok)],
            (WaitMode::Send, Outcome::SendClosed) => smallvec![
                Value::Nil,
                Value::String(lua.create_string("send on closed channel")?)
            ],
            (WaitMode::Select, Outcome::Received(v, ok)) => {
                smallvec![Value::Integer(w.case as i64 + 1), v, Value::Boolean(ok)]
            }
            (WaitMode::Select, Outcome::Sent) => {
                smallvec![
                    Value::Integer(w.case as i64 + 1),
                    Value::Nil,
                    Value::Boolean(true)
                ]
            }
            (WaitMode::Select, Outcome::SendClosed) => {
                smallvec![
                    Value::Integer(w.case as i64 + 1),
                    Value::Nil,
                    Value::Boolean(false)
                ]
            }
            _ => smallvec![Value::Boolean(true)],
        };
        if let Some(task) = self.tasks.get_mut(wait.task) {
            task.resume = Resume::Values(vals);
        }
        self.queue(wait.task);
        Ok(())
    }

    /// Removes a parked operation from every channel and timer it waits on.
    pub(crate) fn withdraw(&mut self, w: WaitId) -> Option<Wait> {
        let wait = self.waits.remove(w)?;
        for c in &wait.chans {
            if let Some(ch) = self.chans.get_mut(*c) {
                ch.q.withdraw_where(|x| x.wait == w);
            }
        }
        if let Some(t) = wait.timer {
            self.disarm(t);
        }
        if let Some(task) = self.tasks.get_mut(wait.task) {
            task.wait = None;
        }
        Some(wait)
    }

    /// Closes a channel, waking its parked receivers (`nil, false`) and senders.
    pub fn close(&mut self, lua: &Lua, chan: ChanId) -> mlua::Result<()> {
        let Some(c) = self.chans.get_mut(chan) else {
            return Ok(());
        };
        let (recvs, sends) = c.q.close();
        for r in recvs {
            self.complete(lua, r, Outcome::Received(Value::Nil, false))?;
        }
        for s in sends {
            self.complete(lua, s, Outcome::SendClosed)?;
        }
        Ok(())
    }

    /// Frees channels whose Lua objects were collected.
    pub fn sweep(&mut self) {
        let dead = std::mem::take(&mut *self.graveyard.borrow_mut());
        for id in dead {
            if let Some(c) = self.chans.get(id) {
                let attached = self.procs.get(c.owner).is_some_and(|p| {
                    p.inbox == Some(id)
                        || p.events == Some(id)
                        || p.listeners.iter().any(|l| l.chan == id)
                });
                if attached {
                    continue;
                }
                let (timer, owner) = (c.timer, c.owner);
                if let Some(t) = timer {
                    self.disarm(t);
                }
                if let Some(p) = self.procs.get_mut(owner) {
                    p.chans.remove(&id);
                }
                self.chans.remove(id);
            }
        }
    }
}
