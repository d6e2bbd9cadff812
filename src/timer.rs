//! `TimerHeap`: deadlines in runtime nanoseconds, fired in (deadline, insertion) order.
//!
//! Timers live in a slotmap; the binary heap holds `(deadline, seq, key)` triples. Cancelling
//! removes the slotmap entry only; a popped heap entry whose key is gone is skipped, and the
//! heap is rebuilt when stale entries outnumber live ones, or when a stale entry reaches the
//! head while over an eighth of the heap is stale. Ties break by insertion sequence,
//! so firing order is deterministic. Used by the runtime core for sleeps, `time.after`,
//! timers and tickers.

use slotmap::{Key, SlotMap};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// One armed timer and what it carries.
#[derive(Debug)]
struct Armed<T> {
    deadline: u64,
    data: T,
}

/// A heap of timers keyed by `K`, each carrying a `T`.
#[derive(Debug)]
pub struct TimerHeap<K: Key, T> {
    heap: BinaryHeap<Reverse<(u64, u64, K)>>,
    armed: SlotMap<K, Armed<T>>,
    seq: u64,
}

impl<K: Key, T> Default for TimerHeap<K, T> {
    fn default() -> Self {
        TimerHeap {
            heap: BinaryHeap::new(),
            armed: SlotMap::with_key(),
            seq: 0,
        }
    }
}

impl<K: Key, T> TimerHeap<K, T> {
    /// Arms a timer that fires at `deadline`; ties fire in arming order.
    pub fn insert(&mut self, deadline: u64, data: T) -> K {
        self.seq += 1;
        let key = self.armed.insert(Armed { deadline, data });
        self.heap.push(Reverse((deadline, self.seq, key)));
        key
    }

    /// The timers due at or before `now` that share the earliest deadline (a tie), in
    /// arming order; empty when none is due. Nothing is removed: the caller picks one and
    /// [`cancel`](TimerHeap::cancel)s it to take its data.
    pub fn due_ties(&mut self, now: u64) -> Vec<K> {
        let Some(deadline) = self.next_deadline().filter(|d| *d <= now) else {
            return Vec::new();
        };
        let mut popped = Vec::new();
        while let Some(Reverse(e)) = self.heap.peek().copied() {
            if e.0 != deadline {
                break;
            }
            self.heap.pop();
            popped.push(e);
        }
        let ties = popped
            .iter()
            .filter(|(d, _, k)| self.armed.get(*k).is_some_and(|a| a.deadline == *d))
            .map(|(_, _, k)| *k)
            .collect();
        self.heap.extend(popped.into_iter().map(Reverse));
        ties
    }

    /// Disarms `key`, returning its data if it was still armed.
    pub fn cancel(&mut self, key: K) -> Option<T> {
        let data = self.armed.remove(key).map(|a| a.data);
        if self.heap.len() > 64 && self.heap.len() > 2 * self.armed.len() {
            self.rebuild();
        }
        data
    }

    /// Deadline and data of an armed timer.
    pub fn peek(&self, key: K) -> Option<(u64, &T)> {
        self.armed.get(key).map(|a| (a.deadline, &a.data))
    }

    /// The data of an armed timer, to change in place.
    pub fn data_mut(&mut self, key: K) -> Option<&mut T> {
        self.armed.get_mut(key).map(|a| &mut a.data)
    }

    /// The earliest live deadline, dropping stale heap heads on the way.
    pub fn next_deadline(&mut self) -> Option<u64> {
        while let Some(Reverse((deadline, _, key))) = self.heap.peek().copied() {
            match self.armed.get(key) {
                Some(a) if a.deadline == deadline => return Some(deadline),
                _ if self.is_mostly_stale() => self.rebuild(),
                _ => {
                    self.heap.pop();
                }
            }
        }
        None
    }

    /// Whether stale entries are over an eighth of a big heap. Timers cancelled in
    /// deadline order (timeouts stopped as their replies come) all surface at the head, and
    /// popping each costs O(log n) (~240 instructions at 12,000 timers); one pass over the
    /// heap then drops them all for less (at most eight entries visited per stale one).
    fn is_mostly_stale(&self) -> bool {
        let stale = self.heap.len().saturating_sub(self.armed.len());
        self.heap.len() > 64 && stale > self.heap.len() / 8
    }

    /// Removes and returns the earliest timer due at or before `now`.
    pub fn pop_due(&mut self, now: u64) -> Option<(K, u64, T)> {
        let deadline = self.next_deadline()?;
        if deadline > now {
            return None;
        }
        let Reverse((_, _, key)) = self.heap.pop().expect("next_deadline saw a head");
        let armed = self
            .armed
            .remove(key)
            .expect("next_deadline checked the key");
        Some((key, armed.deadline, armed.data))
    }

    /// Number of armed timers.
    pub fn len(&self) -> usize {
        self.armed.len()
    }

    /// Whether no timer is armed.
    pub fn is_empty(&self) -> bool {
        self.armed.is_empty()
    }

    fn rebuild(&mut self) {
        let armed = &self.armed;
        self.heap
            .retain(|Reverse((d, _, k))| armed.get(*k).is_some_and(|a| a.deadline == *d));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    slotmap::new_key_type! { struct T; }

    #[test]
    fn fires_in_deadline_then_insertion_order() {
        let mut h: TimerHeap<T, &str> = TimerHeap::default();
        h.insert(20, "b");
        h.insert(10, "a");
        h.insert(20, "c");
        assert_eq!(h.pop_due(5).map(|x| x.2), None);
        let order: Vec<_> = std::iter::from_fn(|| h.pop_due(100).map(|x| x.2)).collect();
        assert_eq!(order, ["a", "b", "c"]);
        assert!(h.is_empty());
    }

    #[test]
    fn ties_are_the_due_timers_of_the_earliest_deadline_in_arming_order() {
        let mut h: TimerHeap<T, &str> = TimerHeap::default();
        let a = h.insert(10, "a");
        let b = h.insert(10, "b");
        let gone = h.insert(10, "gone");
        let c = h.insert(10, "c");
        h.insert(20, "later");
        h.cancel(gone);
        assert!(h.due_ties(9).is_empty());
        assert_eq!(h.due_ties(15), [a, b, c]);
        assert_eq!(h.cancel(b), Some("b"));
        assert_eq!(h.due_ties(15), [a, c]);
        let order: Vec<_> = std::iter::from_fn(|| h.pop_due(100).map(|x| x.2)).collect();
        assert_eq!(order, ["a", "c", "later"]);
    }

    #[test]
    fn timers_cancelled_in_deadline_order_are_dropped_in_one_pass() {
        let mut h: TimerHeap<T, u32> = TimerHeap::default();
        let keys: Vec<_> = (0..1000).map(|i| h.insert(i as u64, i)).collect();
        // 400 cancelled from the head: under half, so `cancel` keeps them.
        for k in &keys[..400] {
            assert!(h.cancel(*k).is_some());
        }
        assert_eq!(h.heap.len(), 1000);
        assert_eq!(h.next_deadline(), Some(400));
        assert_eq!(h.heap.len(), 600, "the stale heads are all gone");
        // A few stale heads among many live entries are popped one by one.
        h.cancel(keys[400]);
        assert_eq!(h.next_deadline(), Some(401));
        assert_eq!(h.heap.len(), 599);
        let fired: Vec<_> = std::iter::from_fn(|| h.pop_due(u64::MAX).map(|x| x.2)).collect();
        assert_eq!(fired, (401..1000).collect::<Vec<_>>());
    }

    #[test]
    fn cancelled_timers_never_fire_and_heap_shrinks() {
        let mut h: TimerHeap<T, u32> = TimerHeap::default();
        let keys: Vec<_> = (0..1000).map(|i| h.insert(i as u64, i)).collect();
        for k in &keys[..900] {
            assert!(h.cancel(*k).is_some());
        }
        assert!(h.cancel(keys[0]).is_none());
        assert_eq!(h.len(), 100);
        assert!(h.heap.len() <= 200);
        assert_eq!(h.next_deadline(), Some(900));
        let fired: Vec<_> = std::iter::from_fn(|| h.pop_due(u64::MAX).map(|x| x.2)).collect();
        assert_eq!(fired, (900..1000).collect::<Vec<_>>());
    }
}
