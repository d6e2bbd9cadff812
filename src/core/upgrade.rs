//! Hot upgrade (SPEC §12.3): switching a live process to new code in place, and telling
//! processes that their entry's code was reloaded.
//!
//! `process.upgrade`'s binding checks everything that can fail, stages what to switch to
//! (with the new main coroutine) and records a [`Request::Upgrade`](crate::request::Request);
//! when the scheduler parks the caller on it, [`Core::block`] calls `Core::upgrade`, which
//! discards the old code's tasks, waits, timers and private channels and queues the new main
//! task; that task takes the old coroutines with [`Core::take_upgraded`] and closes them.
//! The process record (PID, mailbox, names, links, monitors, subscriptions, options,
//! counters) stays. Nothing here runs for a process that never upgrades.

use super::{Core, Resume, Task};
use crate::ids::{ProcId, TaskId};
use crate::message::{Event, EventKind};
use crate::request::Upgrade;
use mlua::Thread;

/// Upgrades in flight: staged by the binding until the scheduler parks the caller, then
/// the old code's coroutines until the new main task takes them. Kept here rather than in
/// `Request` and `Resume`, so that every other request and resume stays as small as before.
#[derive(Debug, Default)]
pub(super) struct Upgrading {
    /// The task that called `process.upgrade` and what it asked for.
    staged: Vec<(TaskId, Upgrade)>,
    /// The new main task, the entry its process ran before, and the old coroutines.
    started: Vec<(TaskId, u32, Vec<Thread>)>,
}

impl Core {
    /// Stages `up` for the running task, whose binding has recorded
    /// [`Request::Upgrade`](crate::request::Request::Upgrade).
    pub fn stage_upgrade(&mut self, up: Upgrade) {
        let Some(t) = self.current else {
            return;
        };
        let tasks = &self.tasks;
        // A stage whose yield never reached the scheduler (or whose process ended) is stale.
        self.upgrading
            .staged
            .retain(|(x, _)| *x != t && tasks.contains_key(*x));
        self.upgrading.staged.push((t, up));
    }

    /// What the running task, the new main task of an upgraded process, inherits: the
    /// entry the process ran before and the old code's coroutines to close.
    pub fn take_upgraded(&mut self) -> Option<(u32, Vec<Thread>)> {
        let t = self.current?;
        let i = self.upgrading.started.iter().position(|(x, ..)| *x == t)?;
        let (_, old, threads) = self.upgrading.started.swap_remove(i);
        Some((old, threads))
    }

    /// Switches the process of task `t` to what it staged: every task of the old code goes
    /// (their coroutines are kept for the new main task to close), with their waits, the
    /// process's timers and the channels it made itself; the inbox, events and `listen`
    /// channels stay with what they hold. The new main task is queued. Out of line: the
    /// common arms of `block` should not pay for its size.
    #[cold]
    pub(super) fn upgrade(&mut self, t: TaskId) {
        let Some(i) = self.upgrading.staged.iter().position(|(x, _)| *x == t) else {
            self.queue(t);
            return;
        };
        let (_, up) = self.upgrading.staged.swap_remove(i);
        let Some(proc) = self.tasks.get(t).map(|task| task.proc) else {
            return;
        };
        let threads = self.drop_tasks(proc);
        self.drop_private(proc);
        let p = &mut self.procs[proc];
        let (old, host, pid) = (p.entry, p.pid.host, p.pid);
        self.task_threads.insert(up.thread.to_pointer() as usize);
        let main = self.tasks.insert(Task {
            proc,
            thread: Some(up.thread),
            queued: false,
            request: None,
            wait: None,
            blocked: false,
            in_c: false,
            resume: Resume::Start {
                entry: up.entry,
                host,
                args: up.args,
            },
        });
        // A new main task that never ran (its process was killed first) takes nothing.
        let tasks = &self.tasks;
        self.upgrading
            .started
            .retain(|(x, ..)| tasks.contains_key(*x));
        self.upgrading.started.push((main, old, threads));
        let p = &mut self.procs[proc];
        p.main = main;
        p.entry = up.entry;
        p.upgrades += 1;
        self.queue(main);
        self.trace_with("upgrade", |c| {
            vec![
                ("pid", c.pid_field(pid)),
                ("entry", c.entries.id(up.entry).into()),
            ]
        });
    }

    /// Removes every task of `proc` and its parked operation; returns their coroutines.
    fn drop_tasks(&mut self, proc: ProcId) -> Vec<Thread> {
        let p = &mut self.procs[proc];
        let tasks: Vec<TaskId> = std::iter::once(p.main).chain(p.tasks.drain(..)).collect();
        let mut threads = Vec::with_capacity(tasks.len());
        for tid in tasks {
            if let Some(w) = self.tasks.get(tid).and_then(|task| task.wait) {
                self.withdraw(w);
            }
            if let Some(th) = self.tasks.remove(tid).and_then(|task| task.thread) {
                self.task_threads.remove(&(th.to_pointer() as usize));
                threads.push(th);
            }
        }
        threads
    }

    /// Disarms every timer of `proc` and frees the channels it made itself (`channel.new`,
    /// `time.after`, timers, tickers, call replies), keeping its inbox, events and `listen`
    /// channels.
    fn drop_private(&mut self, proc: ProcId) {
        for tm in std::mem::take(&mut self.procs[proc].timers) {
            self.timers.cancel(tm);
        }
        let p = &self.procs[proc];
        let drop: Vec<_> = p
            .chans
            .iter()
            .copied()
            .filter(|c| !p.is_process_chan(*c))
            .collect();
        // As at a process's end: their waiting values leave the quotas with them.
        for c in drop {
            self.free_chan(c);
        }
    }

    /// Delivers `{kind = "pid.reload", from = "", entry = <id>, at}` to every live process
    /// (host mailboxes excepted) whose current entry is `entry`, in spawn order.
    pub fn notify_reload(&mut self, entry: u32) {
        let mut targets: Vec<(u64, ProcId)> = self
            .procs
            .iter()
            .filter(|(_, p)| p.entry == entry && p.sink.is_none())
            .map(|(k, p)| (p.pid.num, k))
            .collect();
        targets.sort_unstable();
        let at_ns = self.clock.wall_ns();
        let id: Box<str> = self.entries.id(entry).into();
        for (_, proc) in targets {
            let ev = Event {
                kind: EventKind::Reload,
                from: self.procs[proc].pid,
                from_text: self.procs[proc].pid_text.clone(),
                exit: None,
                reason: id.clone(),
                at_ns,
            };
            self.push_event(proc, ev);
        }
    }
}
