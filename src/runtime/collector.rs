//! The runtime's own collections, in bounded steps (issue 11). The Lua heap is shared, so a
//! full collection visits every process's live objects: over a few million tables it holds
//! the thread for hundreds of milliseconds. When a process crosses its memory cap
//! (`softcap`) the scheduler reconciles its charge with the live heap (see
//! `Runtime::reconciled`); instead of one full collection it runs at most
//! [`STEPS_PER_TURN`] basic incremental steps in each turn of that process, which does not
//! run meanwhile (its turn goes back to the queue, so every other process runs in between),
//! until a cycle end leaves it under its limit or a cycle begun after the request has
//! ended. Only then is the charge reconciled and the process resumed, with the allowance a
//! full collection would have given it (the live heap then is what that cycle kept, plus
//! what the others allocated since).

use crate::ids::ProcId;
use mlua::Lua;
use std::collections::BTreeMap;

/// Basic collector steps one turn may run. A basic step marks a few hundred KiB of heap or
/// sweeps some 50,000 objects: under a millisecond on average on this machine, up to 5 ms
/// when it frees that many (a script's `collectgarbage()` yields after each one too, see
/// `lua/bounds.rs`), so a turn's steps stay well under the 50 ms slice bound whatever the
/// heap's size. A count, not a time, so a simulation repeats.
pub const STEPS_PER_TURN: u32 = 2;
/// Cycle ends a reconciliation waits for: the first completes the cycle under way (which
/// may have marked the process's garbage before it became garbage), the second a whole
/// cycle begun after the request, as one full collection would.
pub const CYCLE_ENDS: u64 = 2;

/// Where a process stands after crossing its soft memory cap (`softcap`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Over {
    /// An allocation crossed the cap: collect before the process runs again.
    Collect,
    /// Still over its limit after the collection: its next crossing fails.
    Refuse,
}

/// The stepped collection that reconciliations wait for.
#[derive(Debug, Default)]
pub struct Collector {
    /// Cycle ends seen by this collector's steps so far.
    ends: u64,
    /// Processes waiting for a reconciliation, and the count of `ends` that completes it.
    waiting: BTreeMap<ProcId, u64>,
    /// Processes that crossed their soft memory cap.
    over: BTreeMap<ProcId, Over>,
    /// Whether the last [`Collector::advance`] saw a cycle end.
    ended: bool,
}

impl Collector {
    /// Runs up to `steps` basic steps toward `proc`'s reconciliation; true once a cycle
    /// begun after its first call here has ended (the process is then forgotten).
    pub fn advance(&mut self, lua: &Lua, proc: ProcId, steps: u32) -> bool {
        let target = *self.waiting.entry(proc).or_insert(self.ends + CYCLE_ENDS);
        let (mut ran, first) = (0, self.ends);
        while self.ends < target && ran < steps {
            // Only a finalizer can fail a step, and scripts have none: count it as an end,
            // so an error can never keep a process waiting.
            if lua.gc_step().unwrap_or(true) {
                self.ends += 1;
            }
            ran += 1;
        }
        self.ended = self.ends > first;
        if self.ends < target {
            return false;
        }
        self.waiting.remove(&proc);
        true
    }

    /// Whether a cycle ended in the last [`Collector::advance`] (one that did not
    /// complete its process's collection, or did).
    #[inline]
    pub fn cycle_ended(&self) -> bool {
        self.ended
    }

    /// Forgets that `proc` waits (its charge was reconciled by another's collection).
    pub fn forget(&mut self, proc: ProcId) {
        self.waiting.remove(&proc);
    }

    /// Forgets the waiting processes `alive` rejects (they ended while waiting).
    pub fn forget_dead(&mut self, alive: impl Fn(ProcId) -> bool) {
        self.waiting.retain(|p, _| alive(*p));
        self.over.retain(|p, _| alive(*p));
    }

    /// Whether `proc` crossed its soft memory cap and must be collected for before it runs.
    #[inline]
    pub fn must_collect(&self, proc: ProcId) -> bool {
        !self.over.is_empty() && self.over.get(&proc) == Some(&Over::Collect)
    }

    /// Whether `proc`'s next crossing of its cap fails (its collection left it over).
    #[inline]
    pub fn refuses(&self, proc: ProcId) -> bool {
        !self.over.is_empty() && self.over.get(&proc) == Some(&Over::Refuse)
    }

    /// Notes how `proc`'s slice went: it `crossed` its soft cap (a collection is due), or
    /// its refusal is used up (unless `refusal_left`).
    #[inline]
    pub fn after_slice(&mut self, proc: ProcId, crossed: bool, refusal_left: bool) {
        if crossed {
            self.over.insert(proc, Over::Collect);
        } else if !refusal_left && !self.over.is_empty() {
            self.over.remove(&proc);
        }
    }

    /// After `proc`'s collection (a reconciliation): it stays `still_over` its limit, so
    /// its next crossing fails, or it is back under and runs as if nothing happened.
    pub fn collected(&mut self, proc: ProcId, still_over: bool) {
        if self.over.remove(&proc).is_some() && still_over {
            self.over.insert(proc, Over::Refuse);
        }
    }

    /// How many processes wait for a reconciliation.
    #[inline]
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slotmap::KeyData;

    fn proc(n: u64) -> ProcId {
        ProcId::from(KeyData::from_ffi(n | (1 << 32)))
    }

    /// A heap of `n` live tables and as many dropped ones.
    fn heap(lua: &Lua, n: usize) -> mlua::Table {
        let keep = lua.create_table().expect("table");
        for i in 1..=n {
            keep.raw_set(i, lua.create_table().expect("table"))
                .expect("set");
            drop(lua.create_table().expect("garbage"));
        }
        keep
    }

    #[test]
    fn a_reconciliation_frees_what_a_full_collection_frees() {
        let lua = Lua::new();
        let keep = heap(&lua, 200_000);
        lua.gc_collect().expect("collect");
        let live = lua.used_memory();
        drop(
            lua.create_table_from((1..=200_000).map(|i| (i, i)))
                .expect("garbage"),
        );
        let mut c = Collector::default();
        let mut turns = 0;
        while !c.advance(&lua, proc(1), STEPS_PER_TURN) {
            turns += 1;
            assert!(turns < 10_000, "the collection never ended");
        }
        assert!(turns > 1, "a big heap takes several turns ({turns})");
        let stepped = lua.used_memory();
        lua.gc_collect().expect("collect");
        assert_eq!(
            stepped,
            lua.used_memory(),
            "the stepped cycle kept only live data"
        );
        assert_eq!(stepped, live);
        assert_eq!(c.waiting(), 0);
        drop(keep);
    }

    #[test]
    fn a_later_request_waits_for_a_cycle_of_its_own() {
        let lua = Lua::new();
        let _keep = heap(&lua, 50_000);
        let mut c = Collector::default();
        let step_until = |c: &mut Collector, p, ends| {
            for _ in 0..100_000 {
                if c.ends >= ends {
                    return;
                }
                c.advance(&lua, p, 1);
            }
            panic!("the collection never ended");
        };
        // proc 1 asks, and one cycle ends: the one under way
        step_until(&mut c, proc(1), 1);
        // proc 2 asks now: the cycle that completes proc 1 began before its request
        assert!(!c.advance(&lua, proc(2), 0));
        step_until(&mut c, proc(2), 2);
        assert!(c.advance(&lua, proc(1), 0), "proc 1 has had its cycle");
        assert!(!c.advance(&lua, proc(2), 0), "proc 2 waits for one more");
        step_until(&mut c, proc(2), 3);
        assert_eq!(c.waiting(), 0, "its third cycle end completed proc 2");
    }

    #[test]
    fn processes_that_ended_are_forgotten() {
        let lua = Lua::new();
        let mut c = Collector::default();
        c.advance(&lua, proc(1), 0);
        c.advance(&lua, proc(2), 0);
        c.forget_dead(|p| p == proc(2));
        assert_eq!(c.waiting(), 1);
    }
}
