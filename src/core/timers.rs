//! Timers of the core: arming, disarming and firing (sleeps end, `after` and ticker
//! channels get a Time), and the replay of recorded timer firings.

use super::{Core, Fire, TimerTask, Waiter};
use crate::ids::{ChanId, ProcId, TimerId};
use crate::message::Item;
use crate::request::Done;

impl Core {
    /// Arms a timer owned by `owner`.
    pub fn arm(&mut self, owner: ProcId, deadline: u64, fire: Fire) -> TimerId {
        let late = self.jitter(owner, &fire);
        let task = TimerTask {
            owner,
            fire,
            pos: 0,
        };
        let deadline = deadline.saturating_add(late);
        let t = self.timers.insert(deadline, task);
        self.note_late(t, late);
        if let Some(p) = self.procs.get_mut(owner)
            && let Some(task) = self.timers.data_mut(t)
        {
            task.pos = p.timers.insert(t);
        }
        t
    }

    /// Disarms a timer; true when it was still armed.
    pub fn disarm(&mut self, t: TimerId) -> bool {
        match self.timers.cancel(t) {
            Some(task) => {
                self.unlist_timer(t, task);
                true
            }
            None => false,
        }
    }

    /// Takes timer `t`, just taken out of the heap, off its owner's list.
    fn unlist_timer(&mut self, t: TimerId, task: TimerTask) {
        let moved = self
            .procs
            .get_mut(task.owner)
            .and_then(|p| p.timers.remove(t, task.pos));
        if let Some((m, at)) = moved
            && let Some(task) = self.timers.data_mut(m)
        {
            task.pos = at;
        }
    }

    /// Fires every timer due at the clock's current time; returns how many fired.
    pub fn fire_due(&mut self) -> usize {
        if !self.delays.is_empty() {
            self.release_due();
        }
        if self.tracer.is_replaying() {
            return self.fire_recorded();
        }
        let now = self.clock.now();
        if self.sched.reorders() {
            return self.fire_ties(now);
        }
        let mut n = 0;
        while let Some((id, deadline, task)) = self.timers.pop_due(now) {
            n += 1;
            if !self.procs.contains_key(task.owner) {
                continue;
            }
            self.unlist_timer(id, task);
            let nominal = self.nominal(id, deadline);
            self.fire(nominal, task);
        }
        n
    }

    /// Fires the due timers when the strategy orders ties (SPEC §14.2): deadline order,
    /// and among timers due at the same instant the strategy's pick, recorded as a `pick`
    /// of `timer` when it is not the first armed.
    fn fire_ties(&mut self, now: u64) -> usize {
        let mut n = 0;
        loop {
            let ties = self.timers.due_ties(now);
            if ties.is_empty() {
                return n;
            }
            // Timers of ended processes never fire.
            let (ties, dead): (Vec<TimerId>, Vec<TimerId>) = ties.into_iter().partition(|t| {
                let owner = self.timers.peek(*t).map(|(_, task)| task.owner);
                owner.is_some_and(|o| self.procs.contains_key(o))
            });
            for t in dead {
                self.timers.cancel(t);
            }
            let Some(&first) = ties.first() else {
                continue;
            };
            let owners: Vec<ProcId> = ties.iter().map(|t| self.owner_of(*t)).collect();
            let i = if ties.len() > 1 {
                self.tie_pick(&owners)
            } else {
                0
            };
            let id = ties.get(i).copied().unwrap_or(first);
            let (deadline, _) = self.timers.peek(id).expect("a due tie");
            let task = self.timers.cancel(id).expect("a due tie");
            self.unlist_timer(id, task);
            if i > 0 {
                self.trace_with("pick", |c| {
                    let pid = c.pid_string_of(task.owner);
                    vec![
                        ("of", "timer".into()),
                        ("pos", i.into()),
                        ("pid", pid.into()),
                    ]
                });
            }
            let nominal = self.nominal(id, deadline);
            self.fire(nominal, task);
            n += 1;
        }
    }

    fn owner_of(&self, t: TimerId) -> ProcId {
        self.timers.peek(t).expect("armed").1.owner
    }

    /// In a replay, fires the timers the trace says fired here, whatever their deadlines
    /// (a real-clock recording armed them at clock readings a replay cannot repeat).
    fn fire_recorded(&mut self) -> usize {
        let mut n = 0;
        loop {
            // A tie broken other than by arming order is a `pick` before the timer record.
            let pick = self.tracer.next_timer_pick();
            if let Some((pos, pid)) = pick.clone() {
                self.trace_with("pick", |_| {
                    vec![
                        ("of", "timer".into()),
                        ("pos", pos.into()),
                        ("pid", pid.into()),
                    ]
                });
            }
            let Some((pid, kind)) = self.tracer.next_timer() else {
                break;
            };
            let owner = self
                .parse_pid(pid.as_bytes())
                .and_then(|p| self.proc_by_pid(p));
            let Some(owner) = owner else { break };
            let found = self
                .recorded_tie(owner, &kind, pick.map(|p| p.0 as usize))
                .or_else(|| self.earliest_of(owner, &kind));
            let Some(id) = found else { break };
            let (deadline, _) = self.timers.peek(id).expect("found armed");
            let task = self.timers.cancel(id).expect("found armed");
            self.unlist_timer(id, task);
            let nominal = self.nominal(id, deadline);
            self.fire(nominal, task);
            n += 1;
        }
        n
    }

    /// In a replay, the recorded timer among the ties due now (a simulation's deadlines
    /// repeat): the `pos`-th of the tie when the trace picked one, else the first armed
    /// one of `owner` and `kind`.
    fn recorded_tie(&mut self, owner: ProcId, kind: &str, pos: Option<usize>) -> Option<TimerId> {
        let ties = self.timers.due_ties(self.clock.now());
        let ties: Vec<TimerId> = ties
            .into_iter()
            .filter(|t| self.procs.contains_key(self.owner_of(*t)))
            .collect();
        let fits = |c: &Core, t: &TimerId| {
            c.timers
                .peek(*t)
                .is_some_and(|(_, task)| task.owner == owner && task.fire.kind() == kind)
        };
        match pos {
            Some(p) => ties.get(p).copied().filter(|t| fits(self, t)),
            None => ties.into_iter().find(|t| fits(self, t)),
        }
    }

    /// The earliest armed timer of `owner` and `kind` (a real-clock recording armed its
    /// timers at clock readings a replay cannot repeat).
    fn earliest_of(&self, owner: ProcId, kind: &str) -> Option<TimerId> {
        self.procs[owner]
            .timers
            .iter()
            .filter_map(|t| self.timers.peek(*t).map(|(d, task)| (d, *t, task)))
            .filter(|(_, _, task)| task.fire.kind() == kind)
            .min_by_key(|(d, _, _)| *d)
            .map(|(_, t, _)| t)
    }

    /// Fires `task`, whose nominal deadline (before any jitter) was `deadline`.
    fn fire(&mut self, deadline: u64, task: TimerTask) {
        self.trace_with("timer", |c| {
            let owner = c.procs[task.owner].pid;
            vec![
                ("pid", c.pid_field(owner)),
                ("kind", task.fire.kind().into()),
            ]
        });
        match task.fire {
            Fire::Wake(w) => {
                if let Some(wait) = self.waits.get_mut(w) {
                    wait.timer = None;
                    self.complete(Waiter { wait: w, case: 0 }, Done::Slept);
                }
            }
            Fire::After(chan) => {
                if let Some(c) = self.chans.get_mut(chan) {
                    c.timer = None;
                    self.offer(chan, Item::Time(self.clock.wall_ns()));
                    self.close(chan);
                }
            }
            Fire::Tick { chan, period } => {
                if self.chans.get(chan).is_some_and(|c| !c.q.is_closed()) {
                    self.offer(chan, Item::Time(self.clock.wall_ns()));
                    let now = self.clock.now();
                    let mut next = deadline + period;
                    if next <= now {
                        next = now + period - (now - deadline) % period;
                    }
                    let id = self.arm(task.owner, next, task.fire);
                    self.chans[chan].timer = Some(id);
                }
            }
        }
    }

    /// The earliest armed timer's deadline, in runtime nanoseconds.
    pub fn next_deadline(&mut self) -> Option<u64> {
        let timers = self.timers.next_deadline();
        match self.delays.next_due() {
            Some(d) => Some(timers.map_or(d, |t| t.min(d))),
            None => timers,
        }
    }

    /// Whether a timer is due at the clock's current time.
    pub fn timer_due(&mut self) -> bool {
        // The deadline first: with no timer armed there is no clock to read.
        self.next_deadline().is_some_and(|d| d <= self.clock.now())
    }

    /// Arms the timer feeding channel `chan`: one Time at `deadline` (then closed), or with
    /// `tick` a Time every `tick` nanoseconds from `deadline` on.
    pub fn arm_chan(&mut self, chan: ChanId, deadline: u64, tick: Option<u64>) {
        let Some(owner) = self.chans.get(chan).map(|c| c.owner) else {
            return;
        };
        let fire = match tick {
            Some(period) => Fire::Tick { chan, period },
            None => Fire::After(chan),
        };
        let t = self.arm(owner, deadline, fire);
        self.chans[chan].timer = Some(t);
    }

    /// Disarms the timer feeding `chan`; whether it was still armed.
    pub fn stop_chan_timer(&mut self, chan: ChanId) -> bool {
        let armed = self.chans.get_mut(chan).and_then(|c| c.timer.take());
        armed.is_some_and(|id| self.disarm(id))
    }

    /// Re-arms a `time.timer` channel for one Time at `deadline`, reopening it; whether the
    /// old timer was still armed. False (and nothing armed) when the channel is gone.
    pub fn reset_chan_timer(&mut self, chan: ChanId, deadline: u64) -> Option<bool> {
        let c = self.chans.get_mut(chan)?;
        let old = c.timer.take();
        c.q.reopen();
        let was = old.is_some_and(|id| self.disarm(id));
        self.arm_chan(chan, deadline, None);
        Some(was)
    }
}
