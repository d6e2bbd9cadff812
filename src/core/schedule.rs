//! Scheduling strategies of simulation mode (SPEC §14.2): which ready task runs next
//! (FIFO, random window, PCT priorities with change points, POS priorities per ready
//! task), how due timers with equal deadlines are ordered, and — in a replay — following
//! the trace's `pick` decisions instead of the seed.
//!
//! The core calls in at four points: `pick` when it takes the next task, `spawned` when a
//! process is created, `readied` when a task enters the run queue, and `yielded` when a
//! turn ends with the task still ready (PCT's fairness demotion).

use super::Core;
use crate::ids::{ProcId, TaskId};
use crate::rng::Rng;
use crate::sim::{self, RANDOM_WINDOW, Strategy};
use slotmap::SecondaryMap;

/// Initial PCT priorities are drawn above this; demotions count down from it, change
/// points take `1..D` (below everything).
const PCT_BASE: u64 = 1 << 40;

/// The strategy's state for one run.
#[derive(Debug, Default)]
pub struct Schedule {
    /// The strategy that picks (FIFO while following a trace).
    strategy: Strategy,
    /// The strategy the run was made with (printed, recorded).
    label: Strategy,
    /// Whether picks come from the replayed trace (`--replay`).
    follow: bool,
    rng: Option<Rng>,
    /// Steps taken so far (picks that ran a task).
    step: u64,
    /// PCT: the priority of each live process.
    prio: SecondaryMap<ProcId, u64>,
    /// PCT: change-point steps, in drawing order (change point j is index j-1).
    changes: Vec<u64>,
    /// PCT: next demotion priority (counts down).
    demote_next: u64,
    /// POS: the priority of each ready task.
    task_prio: SecondaryMap<TaskId, u64>,
    /// The process of the last step.
    last: Option<ProcId>,
}

impl Schedule {
    /// The state for `strategy` seeded from the run's `seed` (`sched` stream); `follow`
    /// takes picks from a replayed trace instead.
    pub fn new(strategy: Strategy, seed: u64, follow: bool) -> Schedule {
        let mut rng = sim::stream(seed, "sched");
        let mut changes = Vec::new();
        if let Strategy::Pct { depth, horizon } = strategy
            && !follow
        {
            let h = horizon.unwrap_or(1).max(1);
            let want = u64::from(depth.saturating_sub(1)).min(h);
            while (changes.len() as u64) < want {
                let s = 1 + rng.next_u64() % h;
                if !changes.contains(&s) {
                    changes.push(s);
                }
            }
        }
        Schedule {
            strategy: if follow { Strategy::Fifo } else { strategy },
            label: strategy,
            follow,
            rng: (strategy != Strategy::Fifo && !follow).then_some(rng),
            changes,
            demote_next: PCT_BASE - 1,
            ..Schedule::default()
        }
    }

    /// Whether anything but FIFO order can come out of this schedule.
    pub fn reorders(&self) -> bool {
        self.rng.is_some() || self.follow
    }

    /// The strategy the run was made with.
    pub fn label(&self) -> Strategy {
        self.label
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.step
    }

    fn draw(&mut self) -> u64 {
        self.rng.as_mut().map_or(0, Rng::next_u64)
    }

    /// The order key of a timer armed by `owner` among timers due at the same instant
    /// (smaller fires first); `None` keeps arming order.
    pub fn timer_order(&mut self, owner: ProcId) -> Option<u64> {
        match self.strategy {
            Strategy::Fifo => None,
            Strategy::Random | Strategy::Pos => Some(self.draw()),
            Strategy::Pct { .. } => Some(u64::MAX - self.prio.get(owner).copied().unwrap_or(0)),
        }
    }
}

impl Core {
    /// Takes the next task to run: the head of the run queue, or the strategy's choice,
    /// recorded as a `pick` decision when it is not the head.
    pub(super) fn pop_task(&mut self) -> Option<TaskId> {
        if self.run_queue.is_empty() {
            return None;
        }
        self.fault_before_step();
        let t = if self.sched.reorders() {
            self.pick_reordered()?
        } else {
            self.run_queue.pop_front()?
        };
        self.sched.step += 1;
        self.sched.last = self.tasks.get(t).map(|t| t.proc);
        Some(t)
    }

    /// A pick that may not be the head: from the strategy or the replayed trace.
    fn pick_reordered(&mut self) -> Option<TaskId> {
        self.pct_change_point();
        let i = if self.sched.follow {
            self.tracer.next_pick("run").unwrap_or(0)
        } else {
            self.choose()
        };
        let t = self.run_queue.remove(i.min(self.run_queue.len() - 1))?;
        self.sched.task_prio.remove(t);
        if i > 0 {
            let proc = self.tasks.get(t).map(|t| t.proc);
            self.trace_with("pick", |c| {
                let pid = proc.map(|p| c.pid_string_of(p)).unwrap_or_default();
                vec![("of", "run".into()), ("pos", i.into()), ("pid", pid.into())]
            });
        }
        Some(t)
    }

    /// The strategy's pick: an index into the run queue.
    fn choose(&mut self) -> usize {
        let n = self.run_queue.len();
        match self.sched.strategy {
            Strategy::Fifo => 0,
            Strategy::Random => {
                let w = n.min(RANDOM_WINDOW);
                if w > 1 {
                    (self.sched.draw() % w as u64) as usize
                } else {
                    0
                }
            }
            Strategy::Pct { .. } => self.best(|s, c, t| {
                let p = c.tasks.get(t).map(|t| t.proc);
                p.and_then(|p| s.prio.get(p)).copied().unwrap_or(0)
            }),
            Strategy::Pos => self.best(|s, _, t| s.task_prio.get(t).copied().unwrap_or(0)),
        }
    }

    /// The first run-queue index with the highest `key` (FIFO among equals).
    fn best(&self, key: impl Fn(&Schedule, &Core, TaskId) -> u64) -> usize {
        let mut best = (0, None);
        for (i, t) in self.run_queue.iter().enumerate() {
            let k = key(&self.sched, self, *t);
            if best.1.is_none_or(|b| k > b) {
                best = (i, Some(k));
            }
        }
        best.0
    }

    /// PCT: a change point at the step just taken lowers its process below every initial
    /// priority.
    fn pct_change_point(&mut self) {
        let s = self.sched.step;
        let Some(j) = self.sched.changes.iter().position(|c| *c == s) else {
            return;
        };
        let Some(p) = self.sched.last.filter(|p| self.procs.contains_key(*p)) else {
            return;
        };
        let prio = j as u64 + 1;
        self.sched.prio.insert(p, prio);
        self.trace_with("change", |c| {
            vec![("pid", c.pid_string_of(p).into()), ("prio", prio.into())]
        });
    }

    /// A new process: PCT gives it a uniformly random priority among the live ones.
    pub(super) fn sched_spawned(&mut self, p: ProcId) {
        if !matches!(self.sched.strategy, Strategy::Pct { .. }) || self.sched.follow {
            return;
        }
        let prio = PCT_BASE + self.sched.draw() % (u64::MAX - 2 * PCT_BASE);
        self.sched.prio.insert(p, prio);
        self.trace_with("prio", |c| {
            vec![("pid", c.pid_string_of(p).into()), ("prio", prio.into())]
        });
    }

    /// A task entered the run queue: POS gives it a fresh priority.
    pub(super) fn sched_readied(&mut self, t: TaskId) {
        if self.sched.strategy == Strategy::Pos {
            let prio = self.sched.draw();
            self.sched.task_prio.insert(t, prio);
        }
    }

    /// A turn ended with its process still ready: PCT drops the process below every other
    /// initial priority so an endless loop cannot starve the rest.
    pub(super) fn sched_yielded(&mut self, p: ProcId) {
        if !matches!(self.sched.strategy, Strategy::Pct { .. }) {
            return;
        }
        let Some(prio) = self.sched.prio.get_mut(p) else {
            return;
        };
        if *prio < self.sched.demote_next {
            return;
        }
        *prio = self.sched.demote_next;
        self.sched.demote_next -= 1;
        self.trace_with("demote", |c| vec![("pid", c.pid_string_of(p).into())]);
    }

    /// Steps taken so far under the run's schedule.
    pub fn steps(&self) -> u64 {
        self.sched.steps()
    }

    /// The resolved strategy of the run.
    pub fn strategy(&self) -> Strategy {
        self.sched.label()
    }
}
