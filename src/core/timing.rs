//! Timing faults of simulation mode (SPEC §14.4): `jitter` makes a timer fire late by a
//! drawn amount (never early), `skew` shifts the clock one process reads by a constant.
//! Both draw from their own `fault.<kind>` stream, are `fault` records, and a replay (or a
//! shrinking candidate) takes them from those records instead of the seed.
//!
//! Called by the core when it arms a timer (`jitter`), when it creates a process (`skew`)
//! and by the bindings that read the clock (`time.now`, `os.time`, `os.date`).

use super::{Core, Fire};
use crate::ids::{ProcId, TimerId};
use crate::sim::{self, Arg, FaultKind};
use serde_json::Value;
use slotmap::SecondaryMap;

/// What the timing faults of one run have done.
#[derive(Debug, Default)]
pub struct Timing {
    /// How late each jittered timer was armed (so a ticker keeps its nominal period);
    /// removed when the timer fires.
    late: SecondaryMap<TimerId, u64>,
    /// The clock shift (ns) of each process a `skew` fault chose.
    skew: SecondaryMap<ProcId, i64>,
}

impl Core {
    /// Whether timing faults can apply at all: a simulation, or a replay following faults.
    fn timing_on(&self) -> bool {
        self.sim_live() || self.faults_follow()
    }

    /// The draw of fault `kind`'s stream: its argument in ns when the chance hits.
    fn timing_draw(&mut self, kind: FaultKind, default_ns: i64) -> Option<(u64, u64)> {
        let f = self.faults().get(kind).copied()?;
        let max = match f.arg {
            Some(Arg::Ns(ns)) => ns.max(1) as u64,
            _ => default_ns as u64,
        };
        let rng = self.fault_stream(kind)?;
        if !sim::chance(rng, f.prob) {
            return None;
        }
        Some((max, rng.next_u64()))
    }

    /// `jitter`: how late a timer `owner` arms now fires (0: on time), recorded.
    pub(super) fn jitter(&mut self, owner: ProcId, fire: &Fire) -> u64 {
        if !self.timing_on() {
            return 0;
        }
        let by = if self.faults_follow() {
            self.tracer
                .next_fault("jitter")
                .and_then(|r| r.get("by").and_then(Value::as_u64))
        } else {
            self.timing_draw(FaultKind::Jitter, 1_000_000)
                .map(|(max, r)| 1 + r % max)
        };
        let Some(by) = by else { return 0 };
        let kind = fire.kind();
        self.trace_with("fault", |c| {
            vec![
                ("kind", "jitter".into()),
                ("pid", c.pid_string_of(owner).into()),
                ("timer", kind.into()),
                ("by", by.into()),
            ]
        });
        by
    }

    /// Remembers that timer `t` was armed `late` ns after its nominal deadline.
    pub(super) fn note_late(&mut self, t: TimerId, late: u64) {
        if late > 0 {
            self.timing.late.insert(t, late);
        }
    }

    /// The nominal deadline of timer `t`, which fires at `deadline` (jitter taken off).
    pub(super) fn nominal(&mut self, t: TimerId, deadline: u64) -> u64 {
        if self.timing.late.is_empty() {
            return deadline;
        }
        deadline - self.timing.late.remove(t).unwrap_or(0)
    }

    /// `skew`: a new process may read a clock shifted by a constant, recorded.
    pub(super) fn skew_spawned(&mut self, p: ProcId) {
        if !self.timing_on() {
            return;
        }
        let by = if self.faults_follow() {
            self.tracer
                .next_fault("skew")
                .and_then(|r| r.get("by").and_then(Value::as_i64))
        } else {
            self.timing_draw(FaultKind::Skew, 10_000_000)
                .map(|(max, r)| (r % (2 * max + 1)) as i64 - max as i64)
        };
        let Some(by) = by else { return };
        self.timing.skew.insert(p, by);
        self.trace_with("fault", |c| {
            vec![
                ("kind", "skew".into()),
                ("pid", c.pid_string_of(p).into()),
                ("by", by.into()),
            ]
        });
    }

    /// Unix nanoseconds as the running process reads them (`time.now`, `os.time`,
    /// `os.date`): the clock plus its `skew`, if any. Timers never see the shift.
    pub fn wall_ns_seen(&self) -> i64 {
        let wall = self.clock.wall_ns();
        if self.timing.skew.is_empty() {
            return wall;
        }
        let by = self
            .current_proc()
            .and_then(|p| self.timing.skew.get(p))
            .copied()
            .unwrap_or(0);
        wall.saturating_add(by)
    }
}
