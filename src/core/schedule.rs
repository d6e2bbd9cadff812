//! Scheduling strategies of simulation mode (SPEC §14.2): which ready task runs next
//! (FIFO, random window, PCT priorities with change points, POS priorities per ready
//! task), how due timers with equal deadlines are ordered, and — in a replay — following
//! the trace's `pick` decisions instead of the seed.
//!
//! The core calls in at four points: `pick` when it takes the next task, `spawned` when a
//! process is created, `readied` when a task enters the run queue, and `yielded` when a
//! turn ends with the task still ready (PCT's fairness demotion).

use super::Core;
use crate::ids::{PidRef, ProcId, TaskId};
use crate::rng::Rng;
use crate::sim::{self, RANDOM_WINDOW, Strategy};
use slotmap::SecondaryMap;

/// Initial PCT priorities are drawn above this.
const PCT_BASE: u64 = 1 << 40;
/// Change point `j` lowers its process to priority `j` (SPEC §14.2), held as this plus `j`:
/// below every initial priority, above every demotion.
const PCT_CHANGED: u64 = 1 << 39;

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
    /// POS: processes the running step touched (sent to, woke, killed, linked, monitored);
    /// their other ready tasks draw fresh priorities before the next pick.
    touched: Vec<ProcId>,
    /// POS: the PID of the last step's process (named in `touch` records even after it
    /// ended).
    last_pid: Option<PidRef>,
    /// POS: the processes that looked each registry name up since it last changed (a step
    /// that changes the name touches them).
    looked_up: std::collections::BTreeMap<Box<str>, std::collections::BTreeSet<ProcId>>,
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
            demote_next: PCT_CHANGED - 1,
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
        if self.sched.strategy == Strategy::Pos {
            self.sched.last_pid = self.sched.last.and_then(|p| self.pid_of(p));
        }
        Some(t)
    }

    /// A pick that may not be the head: from the strategy or the replayed trace.
    fn pick_reordered(&mut self) -> Option<TaskId> {
        self.pct_change_point();
        self.pos_retouch();
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

    /// Which of the due timers `ties` (owners in arming order, at least two) fires first:
    /// arming order under FIFO, uniform under `random` and POS (a fresh priority per due
    /// timer), the highest owner priority under PCT, or the replayed trace's `pick`.
    pub(super) fn tie_pick(&mut self, ties: &[ProcId]) -> usize {
        let n = ties.len();
        if self.sched.follow {
            return self.tracer.next_pick("timer").unwrap_or(0).min(n - 1);
        }
        match self.sched.strategy {
            Strategy::Fifo => 0,
            Strategy::Random | Strategy::Pos => (self.sched.draw() % n as u64) as usize,
            Strategy::Pct { .. } => {
                let prio = |p: &ProcId| self.sched.prio.get(*p).copied().unwrap_or(0);
                let top = ties.iter().map(prio).max().unwrap_or(0);
                ties.iter().position(|p| prio(p) == top).unwrap_or(0)
            }
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
    /// priority (above every demoted one).
    fn pct_change_point(&mut self) {
        let s = self.sched.step;
        let Some(j) = self.sched.changes.iter().position(|c| *c == s) else {
            return;
        };
        let Some(p) = self.sched.last.filter(|p| self.procs.contains_key(*p)) else {
            return;
        };
        let prio = j as u64 + 1;
        self.sched.prio.insert(p, PCT_CHANGED + prio);
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

    /// Whether [`Core::touch`] records anything (POS, inside a step): callers skip looking
    /// up the process otherwise.
    #[inline]
    pub(super) fn touches(&self) -> bool {
        self.sched.strategy == Strategy::Pos && self.current.is_some()
    }

    /// POS: the running step touched process `p` (SPEC §14.2: sent it a message, woke,
    /// killed, linked, unlinked or monitored it). Nothing to do under other strategies.
    pub(super) fn touch(&mut self, p: ProcId) {
        if self.touches() {
            self.sched.touched.push(p);
        }
    }

    /// POS: the running process looked registry name `name` up (by `registry.lookup` or by
    /// sending to it).
    #[inline]
    pub fn note_name_lookup(&mut self, name: &[u8]) {
        if self.sched.strategy != Strategy::Pos || name.first() == Some(&b'{') {
            return;
        }
        self.note_pos_lookup(name);
    }

    /// The rest of [`Core::note_name_lookup`], kept out of line: it runs only under POS.
    #[inline(never)]
    fn note_pos_lookup(&mut self, name: &[u8]) {
        let (Some(p), Ok(name)) = (self.current_proc(), std::str::from_utf8(name)) else {
            return;
        };
        self.sched
            .looked_up
            .entry(name.into())
            .or_default()
            .insert(p);
    }

    /// POS: the running step changed registry name `name`: it touches every process that
    /// looked the name up since its last change.
    pub(super) fn name_changed(&mut self, name: &str) {
        if self.sched.strategy != Strategy::Pos {
            return;
        }
        for p in self.sched.looked_up.remove(name).unwrap_or_default() {
            self.touch(p);
        }
    }

    /// POS: every ready task of a process the last step touched (other than the step's
    /// own process) draws a fresh priority, in run-queue order; a `touch` info record each.
    fn pos_retouch(&mut self) {
        if self.sched.touched.is_empty() {
            return;
        }
        let touched = std::mem::take(&mut self.sched.touched);
        let (by, by_pid) = (self.sched.last, self.sched.last_pid);
        for i in 0..self.run_queue.len() {
            let t = self.run_queue[i];
            let Some(p) = self.tasks.get(t).map(|t| t.proc) else {
                continue;
            };
            if Some(p) == by || !touched.contains(&p) {
                continue;
            }
            let prio = self.sched.draw();
            self.sched.task_prio.insert(t, prio);
            self.trace_with("touch", |c| {
                let by = by_pid.map(|b| c.pid_string(b)).unwrap_or_default();
                vec![("pid", c.pid_string_of(p).into()), ("by", by.into())]
            });
        }
        self.sched.touched = touched;
        self.sched.touched.clear();
    }

    /// A task entered the run queue: POS gives it a fresh priority.
    pub(super) fn sched_readied(&mut self, t: TaskId) {
        if self.sched.strategy == Strategy::Pos {
            let prio = self.sched.draw();
            self.sched.task_prio.insert(t, prio);
        }
    }

    /// A turn ended with its process still ready: PCT drops the process below every other
    /// priority, change points' included, so an endless loop cannot starve the rest (a
    /// process a change point lowered used to stay below the demoted ones: a ponger lowered
    /// so beside two endless loops never ran again).
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
        self.sched.demote_next = self.sched.demote_next.saturating_sub(1);
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
