//! Mailbox delivery of the core: routing messages by topic at delivery time, topic
//! subscriptions, and lifecycle events.

use super::{Core, Listener};
use crate::error::DeliverError;
use crate::ids::{ChanId, PidRef, ProcId};
use crate::message::{ChanKind, Event, EventKind, Item, Message};
use crate::payload::Payload;
use crate::sim::{FaultKind, payload_hash};
use mlua::{AnyUserData, Value};
use smallvec::SmallVec;

/// How many received messages the core keeps for reuse.
const MSG_POOL: usize = 64;
/// The longest topic buffer a kept message may hold.
const MSG_POOL_TOPIC: usize = 64;

impl Core {
    // ----- messages -------------------------------------------------------------------------

    /// Delivers a message to `to`'s mailbox, routed by topic at this moment. Refuses with
    /// `mailbox full` when the message would wait and the host's mailbox limit is reached.
    ///
    /// # Errors
    /// [`DeliverError::MailboxFull`]; nothing is delivered then.
    pub fn deliver(
        &mut self,
        to: ProcId,
        from: Option<PidRef>,
        topic: &str,
        payloads: SmallVec<[Payload; 1]>,
    ) -> Result<(), DeliverError> {
        let bytes = Payload::size_of_all(&payloads);
        self.deliver_sized(to, from, topic, payloads, bytes)
    }

    /// [`Core::deliver`] of payloads whose size (as [`Payload::measure`] counts it) the
    /// caller knows: the copy that made them counted it.
    ///
    /// # Errors
    /// As [`Core::deliver`].
    #[inline(never)]
    pub fn deliver_sized(
        &mut self,
        to: ProcId,
        from: Option<PidRef>,
        topic: &str,
        mut payloads: SmallVec<[Payload; 1]>,
        bytes: usize,
    ) -> Result<(), DeliverError> {
        debug_assert_eq!(bytes, Payload::size_of_all(&payloads));
        let chan = if self.is_mailbox(to) {
            None
        } else {
            Some(self.route(to, topic, bytes)?)
        };
        // Accepted: only now may a fault drop, duplicate or delay it (SPEC §14.4).
        let copies = match self.send_fault(to, topic) {
            Some(FaultKind::Drop) => return Ok(()),
            Some(FaultKind::Dup) => 2,
            _ => 1,
        };
        if copies == 1 {
            match self.maybe_hold(to, from, topic, payloads, bytes) {
                Some(p) => payloads = p,
                None => return Ok(()),
            }
        }
        if copies == 2 {
            self.enqueue(chan, to, from, topic, payloads.clone(), bytes);
        }
        // Moved, not taken: no emptied vector is left to drop.
        self.enqueue(chan, to, from, topic, payloads, bytes);
        Ok(())
    }

    /// Puts one accepted message into `chan` (`to`'s inbox or subscription), or `to`'s host
    /// mailbox when `chan` is `None`.
    pub(super) fn enqueue(
        &mut self,
        chan: Option<ChanId>,
        to: ProcId,
        from: Option<PidRef>,
        topic: &str,
        payloads: SmallVec<[Payload; 1]>,
        bytes: usize,
    ) {
        self.touch(to);
        let p = &mut self.procs[to];
        p.msg_seq += 1;
        let seq = p.msg_seq;
        self.trace_with("send", |c| {
            vec![
                ("from", from.map(|f| c.pid_field(f)).unwrap_or_default()),
                ("to", c.pid_field(c.procs[to].pid)),
                ("topic", topic.into()),
                ("payloads", payloads.len().into()),
                ("hash", payload_hash(&payloads).into()),
            ]
        });
        if let Some(chan) = chan
            && let Some(value) = self.bare_value(chan, &payloads)
        {
            self.offer(chan, Item::Lua(value));
            return;
        }
        let msg = self.message(seq, from, topic, payloads, bytes);
        match chan {
            Some(chan) => {
                self.offer(chan, Item::Msg(msg));
            }
            None => self.deliver_to_host(to, msg),
        }
    }

    /// The value a receiver parked on raw-mode listener `chan` gets for a message of
    /// `payloads`, when that is one scalar (or nothing: `nil`): handed over as it is, with
    /// no message record (the receive would take the value and pool the record at once).
    /// `None` for anything else, or when nobody waits (a buffered item must stay a message:
    /// `unlisten` gives those back to the inbox).
    #[inline(always)]
    fn bare_value(&self, chan: ChanId, payloads: &[Payload]) -> Option<Value> {
        let c = self.chans.get(chan)?;
        if c.kind != (ChanKind::Listen { message: false }) || !c.q.has_receivers() {
            return None;
        }
        Payload::lone_plain(payloads)
    }

    /// A message record, reusing one a receiver gave back (its box and topic buffer) when
    /// there is one: a message in flight allocates nothing beyond its payloads.
    pub(super) fn message(
        &mut self,
        seq: u64,
        from: Option<PidRef>,
        topic: &str,
        payloads: SmallVec<[Payload; 1]>,
        bytes: usize,
    ) -> Box<Message> {
        match self.msg_pool.pop() {
            Some(mut m) => {
                m.seq = seq;
                m.from = from;
                m.topic.clear();
                m.topic.push_str(topic);
                m.payloads = payloads;
                m.bytes = bytes;
                m
            }
            None => Box::new(Message {
                seq,
                from,
                topic: topic.to_string(),
                payloads,
                bytes,
            }),
        }
    }

    /// Takes back a message whose values a receiver has built, for [`Core::message`] to
    /// reuse. Keeps at most [`MSG_POOL`] of them, and none with a long topic buffer.
    pub fn recycle(&mut self, mut m: Box<Message>) {
        if self.msg_pool.len() < MSG_POOL && m.topic.capacity() <= MSG_POOL_TOPIC {
            m.payloads.clear();
            self.msg_pool.push(m);
        }
    }

    /// Where a held message to `to` on `topic` goes when it is released: its listener, the
    /// inbox, or the host mailbox (`None`). It was accepted already, so no limit applies.
    #[inline(always)]
    pub(super) fn release_route(&mut self, to: ProcId, topic: &str) -> Option<ChanId> {
        if self.is_mailbox(to) {
            return None;
        }
        let p = &self.procs[to];
        Some(match p.listeners.iter().find(|l| *l.topic == *topic) {
            Some(l) => l.chan,
            None => self.inbox(to),
        })
    }

    /// The channel a message on `topic` to `to` goes to (its listener, else the inbox),
    /// refusing when it would wait over the host's mailbox limits.
    fn route(&mut self, to: ProcId, topic: &str, bytes: usize) -> Result<ChanId, DeliverError> {
        let chan = self.release_route(to, topic).expect("not a host mailbox");
        let runtime_full = !self.mailboxes_have_room(bytes);
        let p = &self.procs[to];
        let limits = &self.hosts[p.pid.host as usize].limits;
        let full = limits.mailbox_len.is_some_and(|max| p.mailbox >= max)
            || p.mailbox_bytes.saturating_add(bytes) > limits.memory_bytes
            || runtime_full;
        if full && !self.chans[chan].q.has_receivers() {
            return Err(DeliverError::MailboxFull);
        }
        Ok(chan)
    }

    /// The subscription of `proc` to `topic`, switched to `message` mode: its channel and
    /// the Lua object handed out for it.
    pub fn listener(
        &mut self,
        proc: ProcId,
        topic: &str,
        message: bool,
    ) -> Option<(ChanId, AnyUserData)> {
        let l = self.procs[proc]
            .listeners
            .iter()
            .find(|l| &*l.topic == topic)?;
        let (chan, obj) = (l.chan, l.obj.clone());
        self.chans[chan].kind = ChanKind::Listen { message };
        Some((chan, obj))
    }

    /// Subscribes the process to a topic through channel `chan` (made by the caller, with
    /// its Lua object `obj`), moving already-waiting inbox messages on it.
    pub fn listen(&mut self, proc: ProcId, topic: &str, chan: ChanId, obj: AnyUserData) {
        if let Some(inbox) = self.procs[proc].inbox {
            let moved = self.chans[inbox].q.extract(|i| is_topic(i, topic));
            for m in moved {
                self.chans[chan].q.push_back_unchecked(m);
            }
        }
        self.procs[proc].listeners.push(Listener {
            topic: topic.into(),
            chan,
            obj,
        });
    }

    /// Removes the subscription whose channel is `chan` and closes it; the message it had
    /// taken stays receivable, later ones go back to the inbox in arrival order.
    pub fn unlisten(&mut self, proc: ProcId, chan: ChanId) -> bool {
        let p = &mut self.procs[proc];
        let Some(i) = p.listeners.iter().position(|l| l.chan == chan) else {
            return false;
        };
        p.listeners.remove(i);
        let mut rest: Vec<Item> = self.chans[chan].q.drain().collect();
        let kept = if rest.is_empty() {
            None
        } else {
            Some(rest.remove(0))
        };
        self.close(chan);
        if let Some(k) = kept {
            self.chans[chan].q.push_front(k);
        }
        if !rest.is_empty() {
            let inbox = self.inbox(proc);
            let buf = self.chans[inbox].q.buffer_mut();
            buf.extend(rest);
            buf.make_contiguous().sort_by_key(item_seq);
            self.pump(inbox);
        }
        true
    }

    /// Hands buffered items of a feed channel to its parked receivers, oldest first.
    fn pump(&mut self, chan: ChanId) {
        loop {
            let c = &mut self.chans[chan];
            if c.q.is_empty() || !c.q.has_receivers() {
                return;
            }
            let owner = c.owner;
            let item = c.q.buffer_mut().pop_front().expect("checked non-empty");
            if let Item::Msg(m) = &item {
                self.took_message(owner, m.bytes);
            }
            self.offer(chan, item);
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

    /// Queues an event on `to`'s events channel.
    pub fn push_event(&mut self, to: ProcId, ev: Event) {
        if !self.procs.contains_key(to) {
            return;
        }
        self.trace_with("event", |c| {
            vec![
                ("pid", c.pid_field(c.procs[to].pid)),
                ("from", c.pid_field(ev.from)),
                ("kind", ev.kind.name().into()),
            ]
        });
        let Some(ev) = self.event_to_host(to, ev) else {
            return;
        };
        let chan = self.events(to);
        self.offer(chan, Item::Event(Box::new(ev)));
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
