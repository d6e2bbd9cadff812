//! Mailbox delivery of the core: routing messages by topic at delivery time, topic
//! subscriptions, and lifecycle events.

use crate::core::{ChanKind, Core};
use crate::payload::Payload;
use crate::process::*;
use mlua::{AnyUserData, Lua, Value};
use smallvec::SmallVec;

impl Core {
    // ----- messages -------------------------------------------------------------------------

    /// Delivers a message to `to`'s mailbox, routed by topic at this moment. Refuses with
    /// `mailbox full` when the message would wait and the host's mailbox limit is reached.
    pub fn deliver(
        &mut self,
        lua: &Lua,
        to: ProcId,
        from: Option<PidRef>,
        topic: Box<str>,
        payloads: SmallVec<[Payload; 1]>,
    ) -> mlua::Result<Result<(), &'static str>> {
        let p = &self.procs[to];
        let chan = match p.listeners.iter().find(|l| *l.topic == *topic) {
            Some(l) => l.chan,
            None => self.inbox(to),
        };
        let bytes: usize = payloads.iter().map(|p| p.measure().0).sum();
        let p = &mut self.procs[to];
        let limits = &self.hosts[p.pid.host as usize].limits;
        let full = limits.mailbox_len.is_some_and(|max| p.mailbox >= max)
            || p.mailbox_bytes.saturating_add(bytes) > limits.memory_bytes;
        if full && !self.chans[chan].q.has_receivers() {
            return Ok(Err("mailbox full"));
        }
        p.msg_seq += 1;
        let seq = p.msg_seq;
        if self.tracer.is_on() {
            let fields = [
                ("from", from.map(|f| self.pid_field(f)).unwrap_or_default()),
                ("to", self.pid_field(self.procs[to].pid)),
                ("topic", (*topic).into()),
                ("payloads", payloads.len().into()),
            ];
            self.trace("send", &fields);
        }
        let msg = Message {
            seq,
            from,
            topic,
            payloads,
            bytes,
        };
        self.offer(lua, chan, Item::Msg(Box::new(msg)))?;
        Ok(Ok(()))
    }

    /// Subscribes the process to a topic, moving already-waiting inbox messages on it.
    pub fn listen(
        &mut self,
        lua: &Lua,
        proc: ProcId,
        topic: &str,
        message: bool,
    ) -> mlua::Result<AnyUserData> {
        if let Some(l) = self.procs[proc]
            .listeners
            .iter()
            .find(|l| &*l.topic == topic)
        {
            let (chan, obj) = (l.chan, l.obj.clone());
            self.chans[chan].kind = ChanKind::Listen { message };
            return Ok(obj);
        }
        let chan = self.new_chan(proc, ChanKind::Listen { message }, usize::MAX);
        let obj = self.chan_object(lua, chan)?;
        if let Some(inbox) = self.procs[proc].inbox {
            let moved = self.chans[inbox].q.extract(|i| is_topic(i, topic));
            for m in moved {
                self.chans[chan].q.push_back_unchecked(m);
            }
        }
        self.procs[proc].listeners.push(Listener {
            topic: topic.into(),
            chan,
            obj: obj.clone(),
        });
        Ok(obj)
    }

    /// Removes the subscription whose channel is `chan` and closes it; the message it had
    /// taken stays receivable, later ones go back to the inbox in arrival order.
    pub fn unlisten(&mut self, lua: &Lua, proc: ProcId, chan: ChanId) -> mlua::Result<bool> {
        let p = &mut self.procs[proc];
        let Some(i) = p.listeners.iter().position(|l| l.chan == chan) else {
            return Ok(false);
        };
        p.listeners.remove(i);
        let mut rest: Vec<Item> = self.chans[chan].q.drain().collect();
        let kept = if rest.is_empty() {
            None
        } else {
            Some(rest.remove(0))
        };
        self.close(lua, chan)?;
        if let Some(k) = kept {
            self.chans[chan].q.push_front(k);
        }
        if !rest.is_empty() {
            let inbox = self.inbox(proc);
            let buf = self.chans[inbox].q.buffer_mut();
            buf.extend(rest);
            buf.make_contiguous().sort_by_key(item_seq);
            self.pump(lua, inbox)?;
        }
        Ok(true)
    }

    /// Hands buffered items of a feed channel to its parked receivers, oldest first.
    fn pump(&mut self, lua: &Lua, chan: ChanId) -> mlua::Result<()> {
        loop {
            let c = &mut self.chans[chan];
            if c.q.is_empty() || !c.q.has_receivers() {
                return Ok(());
            }
            let owner = c.owner;
            let item = c.q.buffer_mut().pop_front().expect("checked non-empty");
            if let Item::Msg(m) = &item {
                self.took_message(owner, m.bytes);
            }
            self.offer(lua, chan, item)?;
        }
    }

    /// Removes EXIT events from `from` still waiting in `proc`'s events channel (after
    /// `unmonitor`, no EXIT from that process may arrive).
    pub fn drop_pending_exits(&mut self, proc: ProcId, from: PidRef) {
        let Some(chan) = self.procs.get(proc).and_then(|p| p.events) else {
            return;
        };
        self.chans[chan].q.extract(
            |i| matches!(i, Item::Event(e) if e.kind == EventKind::Exit && e.from == from),
        );
    }

    /// The Lua object of the process's inbox (or, with `events`, its events channel),
    /// made on first use and the same object on every call.
    pub fn feed_object(
        &mut self,
        lua: &Lua,
        proc: ProcId,
        events: bool,
    ) -> mlua::Result<AnyUserData> {
        let p = &self.procs[proc];
        let cached = if events { &p.events_obj } else { &p.inbox_obj };
        if let Some(o) = cached {
            return Ok(o.clone());
        }
        let id = if events {
            self.events(proc)
        } else {
            self.inbox(proc)
        };
        let obj = self.chan_object(lua, id)?;
        let p = &mut self.procs[proc];
        *(if events {
            &mut p.events_obj
        } else {
            &mut p.inbox_obj
        }) = Some(obj.clone());
        Ok(obj)
    }

    /// Queues an event on `to`'s events channel.
    pub fn push_event(&mut self, lua: &Lua, to: ProcId, ev: Event) -> mlua::Result<()> {
        if !self.procs.contains_key(to) {
            return Ok(());
        }
        if self.tracer.is_on() {
            let kind = match ev.kind {
                EventKind::Exit => "pid.exit",
                EventKind::LinkDown => "pid.link.down",
                EventKind::Cancel => "pid.cancel",
            };
            let fields = [
                ("pid", self.pid_field(self.procs[to].pid)),
                ("from", self.pid_field(ev.from)),
                ("kind", kind.into()),
            ];
            self.trace("event", &fields);
        }
        let chan = self.events(to);
        self.offer(lua, chan, Item::Event(Box::new(ev)))?;
        Ok(())
    }
}

pub(super) fn raw_payload(lua: &Lua, payloads: &[Payload]) -> mlua::Result<Value> {
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

fn is_topic(item: &Item, topic: &str) -> bool {
    matches!(item, Item::Msg(m) if &*m.topic == topic)
}

fn item_seq(item: &Item) -> u64 {
    match item {
        Item::Msg(m) => m.seq,
        _ => 0,
    }
}
