//! `Channel`: a Go-style channel buffer with FIFO wait lists, as plain data.
//!
//! A channel holds up to `cap` buffered items (`usize::MAX` for the mailbox-fed channels,
//! whose buffer is the process's pending messages), a queue of parked receivers and a queue of
//! parked senders with the item each one offers. The runtime core owns channels in a slotmap
//! and decides what a waiter `W` is; this module only moves items and reports which waiter
//! must be woken. Invariant: a parked receiver exists only while the buffer is empty and no
//! sender is parked, and vice versa.

use std::collections::VecDeque;

/// What a receive attempt found.
#[derive(Debug, PartialEq)]
pub enum Recv<T, W> {
    /// An item; `woke` is a parked sender whose item moved into the buffer or was taken.
    Item {
        /// The item taken.
        item: T,
        /// A parked sender to wake.
        woke: Option<W>,
    },
    /// The channel is closed and drained.
    Closed,
    /// Nothing to take yet.
    Empty,
}

/// What a send attempt did.
#[derive(Debug, PartialEq)]
pub enum Send<T, W> {
    /// A parked receiver takes the item; the caller completes that waiter.
    Handoff {
        /// The receiver to complete.
        to: W,
        /// The item it receives.
        item: T,
    },
    /// The item went into the buffer.
    Buffered,
    /// No room and nobody waiting; the item comes back.
    Full(T),
    /// The channel is closed; the item comes back.
    Closed(T),
}

/// A channel's buffer, state and wait lists.
#[derive(Debug)]
pub struct Channel<T, W> {
    /// Buffer capacity; 0 means unbuffered.
    cap: usize,
    /// Buffered items, oldest first.
    buf: VecDeque<T>,
    /// Set by `close`; never cleared except by `reopen`.
    closed: bool,
    /// Parked receivers, oldest first.
    recvq: VecDeque<W>,
    /// Parked senders with their items, oldest first.
    sendq: VecDeque<(W, T)>,
}

impl<T, W: PartialEq + Copy> Channel<T, W> {
    /// A new open channel with room for `cap` buffered items.
    pub fn new(cap: usize) -> Self {
        Channel {
            cap,
            buf: VecDeque::new(),
            closed: false,
            recvq: VecDeque::new(),
            sendq: VecDeque::new(),
        }
    }

    /// Whether `close` was called.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Whether the buffer is empty.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Whether a receive would complete now (item, parked sender, or closed).
    pub fn can_recv(&self) -> bool {
        !self.buf.is_empty() || !self.sendq.is_empty() || self.closed
    }

    /// Whether a send would complete now (waiting receiver or room); closed counts as ready
    /// because the send then fails at once.
    pub fn can_send(&self) -> bool {
        self.closed || !self.recvq.is_empty() || self.buf.len() < self.cap
    }

    /// Takes the next item without waiting.
    pub fn try_recv(&mut self) -> Recv<T, W> {
        if let Some(item) = self.buf.pop_front() {
            let woke = self.sendq.pop_front().map(|(w, t)| {
                self.buf.push_back(t);
                w
            });
            return Recv::Item { item, woke };
        }
        if let Some((w, item)) = self.sendq.pop_front() {
            return Recv::Item {
                item,
                woke: Some(w),
            };
        }
        if self.closed {
            Recv::Closed
        } else {
            Recv::Empty
        }
    }

    /// Offers an item without waiting.
    pub fn try_send(&mut self, item: T) -> Send<T, W> {
        if self.closed {
            return Send::Closed(item);
        }
        if let Some(to) = self.recvq.pop_front() {
            return Send::Handoff { to, item };
        }
        if self.buf.len() < self.cap {
            self.buf.push_back(item);
            return Send::Buffered;
        }
        Send::Full(item)
    }

    /// Parks a receiver; call only after `try_recv` returned `Empty`.
    pub fn park_recv(&mut self, w: W) {
        debug_assert!(!self.can_recv());
        self.recvq.push_back(w);
    }

    /// Parks a sender with its item; call only after `try_send` returned `Full`.
    pub fn park_send(&mut self, w: W, item: T) {
        self.sendq.push_back((w, item));
    }

    #[cfg(test)]
    /// Removes every parked entry of waiter `w` (a select that completed elsewhere).
    pub fn withdraw(&mut self, w: W) {
        self.recvq.retain(|x| *x != w);
        self.sendq.retain(|(x, _)| *x != w);
    }

    /// Withdraws the entries for which `gone` holds.
    pub fn withdraw_where(&mut self, mut gone: impl FnMut(&W) -> bool) {
        self.recvq.retain(|x| !gone(x));
        self.sendq.retain(|(x, _)| !gone(x));
    }

    /// Closes the channel and returns the parked receivers and senders, who must be woken
    /// (receivers with "closed", senders with "send on closed channel").
    pub fn close(&mut self) -> (Vec<W>, Vec<W>) {
        if self.closed {
            return (Vec::new(), Vec::new());
        }
        self.closed = true;
        let r = self.recvq.drain(..).collect();
        let s = self.sendq.drain(..).map(|(w, _)| w).collect();
        (r, s)
    }

    /// Opens a closed channel again (a timer that is reset after firing).
    pub fn reopen(&mut self) {
        self.closed = false;
    }

    /// Puts an item at the front of the buffer, ignoring capacity (a closed listen channel
    /// keeping the message it had taken).
    pub fn push_front(&mut self, item: T) {
        self.buf.push_front(item);
    }

    /// Takes every buffered item out, oldest first.
    pub fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        self.buf.drain(..)
    }

    /// Removes and returns the buffered items for which `take` holds, keeping order.
    pub fn extract(&mut self, mut take: impl FnMut(&T) -> bool) -> Vec<T> {
        let mut out = Vec::new();
        let mut keep = VecDeque::with_capacity(self.buf.len());
        for item in self.buf.drain(..) {
            if take(&item) {
                out.push(item);
            } else {
                keep.push_back(item);
            }
        }
        self.buf = keep;
        out
    }

    /// Appends an item ignoring capacity and waiters (re-routing mailbox messages).
    pub fn push_back_unchecked(&mut self, item: T) {
        self.buf.push_back(item);
    }

    /// Mutable access to the buffer (merging re-routed messages in arrival order).
    pub fn buffer_mut(&mut self) -> &mut VecDeque<T> {
        &mut self.buf
    }

    /// Whether a receiver is parked.
    pub fn has_receivers(&self) -> bool {
        !self.recvq.is_empty()
    }

    /// Whether a parked receiver matches `f` (introspection).
    pub fn has_receiver_where(&self, f: impl FnMut(&W) -> bool) -> bool {
        self.recvq.iter().any(f)
    }

    #[cfg(test)]
    /// Whether any waiter is parked.
    pub fn has_waiters(&self) -> bool {
        !self.recvq.is_empty() || !self.sendq.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unbuffered_send_hands_to_parked_receiver() {
        let mut c: Channel<i32, u8> = Channel::new(0);
        assert_eq!(c.try_recv(), Recv::Empty);
        c.park_recv(1);
        assert_eq!(c.try_send(5), Send::Handoff { to: 1, item: 5 });
        assert_eq!(c.try_send(6), Send::Full(6));
    }

    #[test]
    fn buffered_receive_refills_from_parked_sender_in_order() {
        let mut c: Channel<i32, u8> = Channel::new(1);
        assert_eq!(c.try_send(1), Send::Buffered);
        assert_eq!(c.try_send(2), Send::Full(2));
        c.park_send(7, 2);
        c.park_send(8, 3);
        assert_eq!(
            c.try_recv(),
            Recv::Item {
                item: 1,
                woke: Some(7)
            }
        );
        assert_eq!(
            c.try_recv(),
            Recv::Item {
                item: 2,
                woke: Some(8)
            }
        );
        assert_eq!(
            c.try_recv(),
            Recv::Item {
                item: 3,
                woke: None
            }
        );
        assert_eq!(c.try_recv(), Recv::Empty);
    }

    #[test]
    fn close_keeps_buffer_and_wakes_everyone() {
        let mut c: Channel<i32, u8> = Channel::new(2);
        c.try_send(1);
        let (r, s) = c.close();
        assert!(r.is_empty() && s.is_empty());
        assert_eq!(c.try_send(9), Send::Closed(9));
        assert_eq!(
            c.try_recv(),
            Recv::Item {
                item: 1,
                woke: None
            }
        );
        assert_eq!(c.try_recv(), Recv::Closed);
        assert_eq!(c.try_recv(), Recv::Closed);
        let mut d: Channel<i32, u8> = Channel::new(0);
        d.park_recv(3);
        assert_eq!(d.close(), (vec![3], vec![]));
        assert_eq!(d.close(), (vec![], vec![]));
    }

    #[test]
    fn withdraw_removes_only_that_waiter() {
        let mut c: Channel<i32, u8> = Channel::new(0);
        c.park_recv(1);
        c.park_recv(2);
        c.withdraw(1);
        assert_eq!(c.try_send(4), Send::Handoff { to: 2, item: 4 });
        assert!(!c.has_waiters());
    }

    #[test]
    fn extract_keeps_order_of_both_halves() {
        let mut c: Channel<i32, u8> = Channel::new(usize::MAX);
        for i in 0..6 {
            c.try_send(i);
        }
        assert_eq!(c.extract(|x| x % 2 == 0), vec![0, 2, 4]);
        assert_eq!(c.drain().collect::<Vec<_>>(), vec![1, 3, 5]);
    }
}
