//! Channel records of the core: creation, the non-blocking receive and send, delivery from
//! outside any task, close, and freeing channels whose Lua objects were collected.

use super::quota::Quota;
use super::{Chan, Core, Waiter};
use crate::channel::{Channel, Recv, Send};
use crate::ids::{ChanId, ProcId};
use crate::message::{ChanKind, Item};
use crate::request::{Done, Outcome};
use mlua::AnyUserData;

/// What a non-blocking send did.
#[derive(Debug)]
pub enum SendResult {
    /// Taken by a receiver or buffered.
    Done,
    /// The channel is closed.
    Closed,
    /// The buffer is full and nobody receives: the item comes back.
    WouldBlock(Item),
    /// Buffering it would pass a quota on waiting values (see `quota.rs`): the item comes
    /// back. A sender that can wait parks as if the buffer were full.
    Quota(Quota, Item),
}

impl Core {
    /// Creates a channel owned by `owner`.
    pub fn new_chan(&mut self, owner: ProcId, kind: ChanKind, cap: usize) -> ChanId {
        let id = self.chans.insert(Chan {
            owner,
            kind,
            q: Channel::new(cap),
            timer: None,
            pos: 0,
        });
        if let Some(p) = self.procs.get_mut(owner) {
            self.chans[id].pos = p.chans.insert(id);
        }
        id
    }

    /// Frees channel `id`: its record, its waiting values' share of the quotas, and its
    /// place in its owner's list (when the owner still has one).
    pub(super) fn free_chan(&mut self, id: ChanId) {
        if let Some(mut c) = self.chans.remove(id) {
            self.uncount_chan(&mut c);
            self.unlist_chan(c.owner, id, c.pos);
        }
    }

    /// Takes channel `id`, at `pos` in its owner's list, off that list (it is being freed).
    fn unlist_chan(&mut self, owner: ProcId, id: ChanId, pos: u32) {
        let moved = self
            .procs
            .get_mut(owner)
            .and_then(|p| p.chans.remove(id, pos));
        if let Some((m, at)) = moved
            && let Some(c) = self.chans.get_mut(m)
        {
            c.pos = at;
        }
    }

    /// What the channel is for; `None` once it is freed.
    pub fn chan_kind(&self, id: ChanId) -> Option<ChanKind> {
        self.chans.get(id).map(|c| c.kind)
    }

    /// Whether the channel is closed (a freed channel counts as closed).
    pub fn chan_is_closed(&self, id: ChanId) -> bool {
        self.chans.get(id).is_none_or(|c| c.q.is_closed())
    }

    /// Whether a receive would complete now.
    pub fn chan_can_recv(&self, id: ChanId) -> bool {
        self.chans.get(id).is_some_and(|c| c.q.can_recv())
    }

    /// Whether a send would complete now.
    pub fn chan_can_send(&self, id: ChanId) -> bool {
        self.chans.get(id).is_some_and(|c| c.q.can_send())
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

    /// The cached Lua object of the process's inbox (or with `events`, events channel).
    pub fn feed_object(&self, proc: ProcId, events: bool) -> Option<AnyUserData> {
        let p = self.procs.get(proc)?;
        if events {
            p.events_obj.clone()
        } else {
            p.inbox_obj.clone()
        }
    }

    /// Caches the Lua object of the process's inbox (or events channel).
    pub fn set_feed_object(&mut self, proc: ProcId, events: bool, obj: AnyUserData) {
        if let Some(p) = self.procs.get_mut(proc) {
            *(if events {
                &mut p.events_obj
            } else {
                &mut p.inbox_obj
            }) = Some(obj);
        }
    }

    /// Receives from a channel without blocking: `Some(done)` (an item or closed), or
    /// `None` when a receive would have to wait.
    pub fn try_recv(&mut self, chan: ChanId) -> Option<Done> {
        let Some(c) = self.chans.get_mut(chan) else {
            return Some(Done::Closed);
        };
        let (kind, owner) = (c.kind, c.owner);
        match c.q.try_recv() {
            Recv::Item { item, woke } => {
                if let Item::Msg(m) = &item {
                    self.took_message(owner, m.bytes);
                }
                // A parked sender refilling the buffer keeps the count as it was.
                if matches!(item, Item::Lua(_)) && woke.is_none() {
                    self.count_buffered(owner, 1, false);
                }
                if let Some(w) = woke {
                    self.complete_popped(w, Done::Sent, chan);
                }
                Some(Done::Received(item, kind))
            }
            Recv::Closed => Some(Done::Closed),
            Recv::Empty => None,
        }
    }

    /// Sends on a channel without blocking.
    pub fn try_send(&mut self, chan: ChanId, item: Item) -> SendResult {
        let Some(c) = self.chans.get_mut(chan) else {
            return SendResult::Closed;
        };
        let (kind, owner) = (c.kind, c.owner);
        let buffers = matches!(item, Item::Lua(_))
            && !c.q.is_closed()
            && !c.q.has_receivers()
            && c.q.can_send();
        if buffers && let Err(q) = self.buffer_room(owner) {
            return SendResult::Quota(q, item);
        }
        // (The quota may have swept collected channels; this one is still referenced.)
        let Some(c) = self.chans.get_mut(chan) else {
            return SendResult::Closed;
        };
        match c.q.try_send(item) {
            Send::Handoff { to, item } => {
                self.complete_popped(to, Done::Received(item, kind), chan);
                SendResult::Done
            }
            Send::Buffered => {
                if buffers {
                    self.count_buffered(owner, 1, true);
                }
                SendResult::Done
            }
            Send::Closed(_) => SendResult::Closed,
            Send::Full(item) => SendResult::WouldBlock(item),
        }
    }

    /// Puts an item on a channel from outside any task (mailbox delivery, events, timers):
    /// hands it to a parked receiver or buffers it; a full or closed channel drops it.
    pub fn offer(&mut self, chan: ChanId, item: Item) -> bool {
        let Some(c) = self.chans.get_mut(chan) else {
            return false;
        };
        let (kind, owner) = (c.kind, c.owner);
        let msg_bytes = match &item {
            Item::Msg(m) => Some(m.bytes),
            _ => None,
        };
        match c.q.try_send(item) {
            Send::Handoff { to, item } => {
                self.complete_popped(to, Done::Received(item, kind), chan);
                true
            }
            Send::Buffered => {
                if let Some(bytes) = msg_bytes
                    && let Some(p) = self.procs.get_mut(owner)
                {
                    p.mailbox += 1;
                    p.mailbox_bytes += bytes;
                    self.count_mailbox_bytes(bytes, true);
                }
                true
            }
            Send::Full(_) | Send::Closed(_) => false,
        }
    }

    /// Counts a message leaving `owner`'s mailbox buffers.
    pub(super) fn took_message(&mut self, owner: ProcId, bytes: usize) {
        if let Some(p) = self.procs.get_mut(owner) {
            p.mailbox = p.mailbox.saturating_sub(1);
            p.mailbox_bytes = p.mailbox_bytes.saturating_sub(bytes);
            self.count_mailbox_bytes(bytes, false);
        }
    }

    /// Closes a channel, waking its parked receivers (`nil, false`) and senders.
    pub fn close(&mut self, chan: ChanId) {
        let Some(c) = self.chans.get_mut(chan) else {
            return;
        };
        let (recvs, sends) = c.q.close();
        for r in recvs {
            self.complete(r, Done::Closed);
        }
        for s in sends {
            self.complete(s, Done::SendClosed);
        }
    }

    /// Frees channels whose Lua objects were collected.
    pub fn sweep(&mut self) {
        let dead = std::mem::take(&mut *self.graveyard.borrow_mut());
        for id in dead {
            if let Some(c) = self.chans.get(id) {
                let attached = self
                    .procs
                    .get(c.owner)
                    .is_some_and(|p| p.is_process_chan(id));
                if attached {
                    continue;
                }
                if let Some(t) = c.timer {
                    self.disarm(t);
                }
                self.free_chan(id);
            }
        }
    }
}

/// The outcome a parked receive or send gets (kept beside the verbs that make it).
pub(super) fn outcome_for(w: Waiter, select: bool, done: Done) -> Outcome {
    Outcome {
        case: select.then_some(w.case),
        done,
    }
}
