//! What the scheduler asks of the core around one resume: the next task to run with its
//! slice limits, the accounting after it, and where the task goes next (parked on its
//! request, back in the queue, or finished).

use super::{Core, Resume};
use crate::ids::{ProcId, TaskId};
use crate::message::Exit;
use mlua::Thread;

/// What the scheduler lets one resume use.
#[derive(Debug, Clone, Copy)]
pub struct Slice {
    /// Heap the process may still grow by.
    pub allowance: usize,
    /// Instructions it may still run.
    pub budget: u64,
    /// Heap of the whole runtime.
    pub ceiling: usize,
    /// The host's memory limit per process.
    pub limit: usize,
    /// The host's bound on one table's hash entries (`Limits::table_bound`).
    pub tables: usize,
}

/// One task taken out of the run queue to be resumed.
#[derive(Debug)]
pub struct Turn {
    /// The task.
    pub task: TaskId,
    /// Its process.
    pub proc: ProcId,
    /// Its coroutine, taken out of the task while it runs.
    pub thread: Thread,
    /// Its limits for this resume.
    pub slice: Slice,
}

/// What [`Core::next_turn`] found.
#[derive(Debug)]
pub enum Next {
    /// A task to resume.
    Run(Turn),
    /// A replay diverged before this task could run (its thread stays in place).
    Diverged(TaskId),
    /// Nothing is runnable.
    Empty,
}

/// How a resume ended, as the scheduler saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// Yielded a blocking request's marker.
    Blocked,
    /// Preempted, or a bare `coroutine.yield`.
    Yielded,
}

impl Core {
    /// Takes the next runnable task, ending on the way the processes marked for killing.
    pub fn next_turn(&mut self) -> Next {
        loop {
            let Some(tid) = self.pop_task() else {
                return Next::Empty;
            };
            let Some(task) = self.tasks.get_mut(tid) else {
                continue;
            };
            task.queued = false;
            let proc = task.proc;
            if let Some(reason) = self.procs[proc].kill.clone() {
                self.end_process(proc, Exit::Error(reason), None);
                continue;
            }
            let task = &mut self.tasks[tid];
            let Some(thread) = task.thread.take() else {
                continue;
            };
            self.current = Some(tid);
            if self.trace_resume(proc) {
                self.tasks[tid].thread = Some(thread);
                self.current = None;
                return Next::Diverged(tid);
            }
            // What it is resumed with stays on the task until `take_resume`: the turn is
            // small enough to be returned without a copy of the outcome.
            let slice = self.slice_of(proc);
            return Next::Run(Turn {
                task: tid,
                proc,
                thread,
                slice,
            });
        }
    }

    /// What the task of a turn is resumed with, taken off it. An outcome is delivered only
    /// where the task yielded for it; after a preemption the resume carries nothing and the
    /// outcome waits on the task for the blocking yield.
    /// Also says whether the task waits in a hot binding's own block (see
    /// [`Task::in_c`](super::Task)).
    pub fn take_resume(&mut self, t: TaskId) -> (Resume, bool) {
        let Some(task) = self.tasks.get_mut(t) else {
            return (Resume::Nothing, false);
        };
        if !task.blocked && matches!(task.resume, Resume::Outcome(_)) {
            return (Resume::Nothing, false);
        }
        (std::mem::take(&mut task.resume), task.in_c)
    }

    /// Records the resume in the trace; true when a replay diverged there.
    fn trace_resume(&mut self, proc: ProcId) -> bool {
        // Steps are counted untraced too: a shrinking candidate applies decisions by step.
        self.tracer.step += 1;
        if !self.tracer.is_on() {
            return false;
        }
        let pid = self.pid_field(self.procs[proc].pid);
        let t = self.clock.now();
        if self.tracer.emit(t, "resume", &[("pid", pid)]) {
            self.note_diverging(proc);
        }
        self.tracer.diverged.is_some()
    }

    fn slice_of(&self, proc: ProcId) -> Slice {
        let p = &self.procs[proc];
        let limits = &self.hosts[p.pid.host as usize].limits;
        let limit = limits.memory_bytes;
        Slice {
            allowance: limit.saturating_sub(p.heap),
            budget: p.instructions_left.unwrap_or(u64::MAX),
            ceiling: self.heap_ceiling(),
            limit,
            tables: limits.table_bound(),
        }
    }

    /// Charges a resume's heap growth (`after - base`) and instructions left to `proc`.
    pub fn charge(&mut self, proc: ProcId, base: usize, after: usize, budget_left: u64) {
        self.current = None;
        let Some(p) = self.procs.get_mut(proc) else {
            return;
        };
        p.heap = (p.heap + after).saturating_sub(base);
        let before = p.instructions_left.unwrap_or(u64::MAX);
        p.instructions_run += before.saturating_sub(budget_left);
        if p.instructions_left.is_some() {
            p.instructions_left = Some(budget_left);
        }
    }

    /// Scales every process's heap charge down so that together they do not exceed `live`
    /// bytes. Returns `proc`'s new charge.
    pub fn reconcile_heaps(&mut self, proc: ProcId, live: usize) -> usize {
        let total: usize = self.procs.values().map(|p| p.heap).sum();
        if total > live {
            for p in self.procs.values_mut() {
                p.heap = (p.heap as u128 * live as u128 / total as u128) as usize;
            }
        }
        self.procs[proc].heap
    }

    /// Puts a turn back without resuming it, at the end of the run queue, like a
    /// preemption before its first instruction: the scheduler spent the turn on collector
    /// work for its process (`Runtime::reconciled`). The task keeps what it waits to be
    /// resumed with (a turn never carries it: [`Core::take_resume`]).
    pub fn defer_turn(&mut self, turn: Turn) {
        self.current = None;
        let Some(task) = self.tasks.get_mut(turn.task) else {
            return;
        };
        task.thread = Some(turn.thread);
        self.queue(turn.task);
        self.sched_yielded(turn.proc);
    }

    /// Puts a suspended task's coroutine back and decides where it goes: parked on its
    /// request, or queued again.
    /// `in_c` says a block was yielded by a hot binding's own block (`ffi::hot`).
    pub fn suspended(&mut self, t: TaskId, thread: Thread, how: Stopped, in_c: bool) {
        let Some(task) = self.tasks.get_mut(t) else {
            return;
        };
        task.thread = Some(thread);
        task.blocked = how == Stopped::Blocked;
        task.in_c = in_c && task.blocked;
        if task.request.is_some() {
            // Parked even after a preemption that came between the request and its yield:
            // the outcome then waits on the task for the blocking yield.
            self.block(t);
        } else if how == Stopped::Yielded || matches!(task.resume, Resume::Outcome(_)) {
            let proc = task.proc;
            self.queue(t);
            if how == Stopped::Yielded {
                self.sched_yielded(proc);
            }
        } else if task.wait.is_none() {
            // A blocking yield with nothing to wait for cannot happen; never lose the task.
            self.queue(t);
        }
    }

    /// Removes task `t` (which returned) and says whether it was its process's main task.
    pub fn task_returned(&mut self, t: TaskId, thread: &Thread) -> bool {
        self.forget_task_thread(thread);
        let Some(proc) = self.tasks.get(t).map(|t| t.proc) else {
            return false;
        };
        if self.procs.get(proc).is_some_and(|p| p.main == t) {
            return true;
        }
        self.tasks.remove(t);
        self.procs[proc].tasks.retain(|x| *x != t);
        false
    }

    /// Puts a coroutine back into its task without queueing it (the process is ending).
    pub fn restore_thread(&mut self, t: TaskId, thread: Thread) {
        self.current = None;
        if let Some(task) = self.tasks.get_mut(t) {
            task.thread = Some(thread);
        }
    }

    /// The process of task `t`.
    pub fn proc_of_task(&self, t: TaskId) -> Option<ProcId> {
        self.tasks.get(t).map(|t| t.proc)
    }

    /// The coroutine of task `t`, if it is not running.
    pub fn thread_of(&self, t: TaskId) -> Option<Thread> {
        self.tasks.get(t).and_then(|t| t.thread.clone())
    }
}
