//! `Owned`: the keys of the records one process owns (its channels, its armed timers), with
//! constant-time insert and remove and no allocation per key once the list has grown.
//!
//! The keys sit in a `Vec`; each record stores its key's position there (`Chan::pos`,
//! `TimerTask::pos`). Removing swaps the last key into the freed place, so the caller
//! writes that key's new position into its record. Iteration is in list order, which
//! depends only on the order of inserts and removes, so a process's end frees its records
//! in the same order on every run of a simulation seed. Replaces two per-process
//! `BTreeSet`s whose searches and node allocations cost ~1,300 instructions per timer.

/// The keys a process owns, each at the position its record stores.
#[derive(Debug, Clone)]
pub struct Owned<K> {
    /// The keys; a key's index is the position its record stores.
    keys: Vec<K>,
}

impl<K> Default for Owned<K> {
    fn default() -> Self {
        Owned { keys: Vec::new() }
    }
}

impl<K: Copy + PartialEq> Owned<K> {
    /// Adds `key` at the end; returns its position, for its record to store.
    pub fn insert(&mut self, key: K) -> u32 {
        let pos = self.keys.len() as u32;
        self.keys.push(key);
        pos
    }

    /// Removes `key`, which its record says is at `pos`. Returns the key that moved into
    /// `pos` (the last one), whose record must now store `pos`; `None` when no key moved
    /// (`key` was the last) or `key` is not in the list. A `pos` that does not hold `key`
    /// (a broken invariant) falls back to a search.
    pub fn remove(&mut self, key: K, pos: u32) -> Option<(K, u32)> {
        let i = match self.keys.get(pos as usize) {
            Some(k) if *k == key => pos as usize,
            _ => {
                debug_assert!(false, "a record's position does not hold its key");
                self.keys.iter().position(|k| *k == key)?
            }
        };
        self.keys.swap_remove(i);
        self.keys.get(i).map(|moved| (*moved, i as u32))
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// The keys in list order.
    pub fn iter(&self) -> impl Iterator<Item = &K> + '_ {
        self.keys.iter()
    }
}

impl<K> IntoIterator for Owned<K> {
    type Item = K;
    type IntoIter = std::vec::IntoIter<K>;

    fn into_iter(self) -> Self::IntoIter {
        self.keys.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A list plus the positions its records would store, kept as the core keeps them.
    #[derive(Default)]
    struct Model {
        list: Owned<u32>,
        pos: HashMap<u32, u32>,
    }

    impl Model {
        fn insert(&mut self, k: u32) {
            let p = self.list.insert(k);
            self.pos.insert(k, p);
        }

        fn remove(&mut self, k: u32) {
            let p = self.pos.remove(&k).expect("inserted");
            if let Some((moved, at)) = self.list.remove(k, p) {
                self.pos.insert(moved, at);
            }
        }

        fn keys(&self) -> Vec<u32> {
            self.list.iter().copied().collect()
        }

        /// Every key is where its record says.
        fn check(&self) {
            assert_eq!(self.list.len(), self.pos.len());
            for (k, p) in &self.pos {
                assert_eq!(self.list.keys[*p as usize], *k);
            }
        }
    }

    fn model(n: u32) -> Model {
        let mut m = Model::default();
        (0..n).for_each(|k| m.insert(k));
        m
    }

    #[test]
    fn inserts_keep_their_order_and_count() {
        let m = model(5);
        assert_eq!(m.keys(), [0, 1, 2, 3, 4]);
        assert_eq!(m.list.len(), 5);
        assert_eq!(Owned::<u32>::default().len(), 0);
        m.check();
    }

    #[test]
    fn removing_the_middle_moves_the_tail_into_its_place() {
        let mut m = model(5);
        m.remove(1);
        assert_eq!(m.keys(), [0, 4, 2, 3]);
        m.check();
    }

    #[test]
    fn removing_the_head_moves_the_tail_to_the_front() {
        let mut m = model(4);
        m.remove(0);
        assert_eq!(m.keys(), [3, 1, 2]);
        m.check();
    }

    #[test]
    fn removing_the_tail_moves_nothing() {
        let mut m = model(3);
        assert_eq!(m.list.remove(2, 2), None);
        assert_eq!(m.keys(), [0, 1]);
        m.pos.remove(&2);
        m.check();
    }

    #[test]
    fn removing_the_only_key_empties_the_list() {
        let mut m = model(1);
        m.remove(0);
        assert_eq!(m.list.len(), 0);
        assert_eq!(m.list.into_iter().count(), 0);
    }

    #[test]
    fn freed_slots_are_reused_without_growing() {
        let mut m = model(64);
        let cap = m.list.keys.capacity();
        for round in 0..1000u32 {
            let k = round % 64;
            m.remove(k);
            m.insert(k);
        }
        m.check();
        assert_eq!(m.list.len(), 64);
        assert_eq!(m.list.keys.capacity(), cap);
    }

    #[test]
    fn the_order_depends_only_on_the_operations() {
        let run = || {
            let mut m = model(100);
            for k in (0..100).step_by(3) {
                m.remove(k);
            }
            (100..120).for_each(|k| m.insert(k));
            m.keys()
        };
        assert_eq!(run(), run());
    }

    #[test]
    fn a_key_not_in_the_list_removes_nothing() {
        let mut list = Owned::default();
        list.insert(7u32);
        // Release builds search when the position is wrong; debug builds assert.
        if cfg!(not(debug_assertions)) {
            assert_eq!(list.remove(8, 0), None);
            assert_eq!(list.len(), 1);
        }
        assert_eq!(list.remove(7, 0), None);
        assert_eq!(list.len(), 0);
    }
}
