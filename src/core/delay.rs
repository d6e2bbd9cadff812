//! Delayed delivery (SPEC §14.4 `delay`, §14.5 `sim.delay`): an accepted message enters the
//! receiver's mailbox later in virtual time; a later message of the same sender to the same
//! receiver waits behind it, so per-pair order and delivery are kept and only the order
//! across senders and the timing change.

use super::Core;
use crate::ids::{PidRef, ProcId};
use crate::payload::Payload;
use crate::sim::{self, Arg, FaultKind};
use smallvec::SmallVec;
use std::collections::{BTreeMap, VecDeque};

/// One held message.
#[derive(Debug)]
struct Held {
    due: u64,
    from: Option<PidRef>,
    topic: Box<str>,
    payloads: SmallVec<[Payload; 1]>,
    bytes: usize,
}

/// Messages held back, per (sender, receiver) pair in send order.
#[derive(Debug, Default)]
pub struct Delays {
    pairs: BTreeMap<(u64, ProcId), VecDeque<Held>>,
    /// `sim.delay(dest, d)`: the next send of the first process to the second waits `d`.
    scripted: Vec<(ProcId, ProcId, u64)>,
}

impl Delays {
    /// The earliest due time of a held message.
    pub fn next_due(&self) -> Option<u64> {
        if self.pairs.is_empty() {
            // The common case (no `delay` fault or `sim.delay`) walks no map.
            return None;
        }
        self.pairs
            .values()
            .filter_map(|q| q.front())
            .map(|h| h.due)
            .min()
    }

    /// Whether any message is held.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

impl Core {
    /// `sim.delay`: the next send of `from` to `to` enters `to`'s mailbox `ns` later.
    pub fn script_delay(&mut self, from: ProcId, to: ProcId, ns: u64) {
        self.delays
            .scripted
            .retain(|(f, t, _)| !(*f == from && *t == to));
        self.delays.scripted.push((from, to, ns));
    }

    /// Holds an accepted message back when its pair already has one waiting, or a delay
    /// (scripted or a `delay` fault) applies; gives it back when it goes through now.
    pub(super) fn maybe_hold(
        &mut self,
        to: ProcId,
        from: Option<PidRef>,
        topic: &str,
        payloads: SmallVec<[Payload; 1]>,
        bytes: usize,
    ) -> Option<SmallVec<[Payload; 1]>> {
        let key = (from.map_or(0, |f| f.num), to);
        let behind = if self.delays.pairs.is_empty() {
            None
        } else {
            self.delays
                .pairs
                .get(&key)
                .and_then(|q| q.back())
                .map(|h| h.due)
        };
        let by = match behind {
            Some(_) => None,
            None => self.delay_for(to, topic),
        };
        let due = match (behind, by) {
            (Some(d), _) => d,
            (None, Some(by)) => self.clock.now() + by,
            (None, None) => return Some(payloads),
        };
        let held = Held {
            due,
            from,
            topic: topic.into(),
            payloads,
            bytes,
        };
        self.delays.pairs.entry(key).or_default().push_back(held);
        None
    }

    /// The delay of a send from the running process to `to`, recorded as a `fault`.
    fn delay_for(&mut self, to: ProcId, topic: &str) -> Option<u64> {
        let me = self.current_proc();
        let scripted = me.and_then(|me| {
            let i = self
                .delays
                .scripted
                .iter()
                .position(|(f, t, _)| *f == me && *t == to)?;
            Some(self.delays.scripted.remove(i).2)
        });
        let by = match scripted {
            Some(ns) => Some(ns),
            None if self.faults_follow() => self
                .tracer
                .next_fault("delay")
                .and_then(|r| r.get("by").and_then(serde_json::Value::as_u64)),
            None => {
                let f = self.faults().get(FaultKind::Delay).copied()?;
                let max = match f.arg {
                    Some(Arg::Ns(ns)) => ns.max(1) as u64,
                    _ => 10_000_000,
                };
                let rng = self.fault_stream(FaultKind::Delay)?;
                if !sim::chance(rng, f.prob) {
                    return None;
                }
                Some(1 + rng.next_u64() % max)
            }
        }?;
        self.trace_with("fault", |c| {
            let from = me.map(|p| c.pid_string_of(p)).unwrap_or_default();
            vec![
                ("kind", "delay".into()),
                ("from", from.into()),
                ("to", c.pid_string_of(to).into()),
                ("topic", topic.into()),
                ("by", by.into()),
            ]
        });
        Some(by)
    }

    /// Delivers every held message that is due, in due then pair order; messages to ended
    /// processes are dropped with them.
    pub(super) fn release_due(&mut self) {
        let now = self.clock.now();
        loop {
            let next = self
                .delays
                .pairs
                .iter()
                .filter_map(|(k, q)| q.front().map(|h| (h.due, *k)))
                .filter(|(due, _)| *due <= now)
                .min();
            let Some((_, key)) = next else { return };
            let q = self.delays.pairs.get_mut(&key).expect("found above");
            let h = q.pop_front().expect("non-empty");
            if q.is_empty() {
                self.delays.pairs.remove(&key);
            }
            if !self.procs.contains_key(key.1) {
                continue;
            }
            let chan = self.release_route(key.1, &h.topic);
            self.enqueue(chan, key.1, h.from, &h.topic, h.payloads, h.bytes);
        }
    }
}
