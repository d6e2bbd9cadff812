//! Hot upgrade (SPEC §12.3): switching a live process to new code in place, and telling
//! processes that their entry's code was reloaded.
//!
//! `process.upgrade`'s binding checks everything that can fail and records a
//! [`Request::Upgrade`](crate::request::Request) with the new main coroutine; when the
//! scheduler parks the caller on it, [`Core::block`] calls [`Core::upgrade`], which discards
//! the old code's tasks, waits, timers and private channels and queues the new main task.
//! The process record (PID, mailbox, names, links, monitors, subscriptions, options,
//! counters) stays. Nothing here runs for a process that never upgrades.

use super::{Core, Resume, Task};
use crate::ids::{ProcId, TaskId};
use crate::message::{Event, EventKind};
use crate::request::Upgrade;

impl Core {
    /// Switches the process of task `t` to `up`: every task of the old code goes (their
    /// coroutines are handed to the new main task to close), with their waits, the
    /// process's timers and the channels it made itself; the inbox, events and `listen`
    /// channels stay with what they hold. The new main task is queued.
    pub(super) fn upgrade(&mut self, t: TaskId, up: Upgrade) {
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
            resume: Resume::Upgrade {
                entry: up.entry,
                host,
                old,
                args: up.args,
                threads,
            },
        });
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
    fn drop_tasks(&mut self, proc: ProcId) -> Vec<mlua::Thread> {
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
        let p = &mut self.procs[proc];
        let kept = |c| {
            p.inbox == Some(c) || p.events == Some(c) || p.listeners.iter().any(|l| l.chan == c)
        };
        let (keep, drop): (Vec<_>, Vec<_>) = std::mem::take(&mut p.chans)
            .into_iter()
            .partition(|c| kept(*c));
        p.chans = keep.into_iter().collect();
        for c in drop {
            self.chans.remove(c);
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
                exit: None,
                reason: id.clone(),
                at_ns,
            };
            self.push_event(proc, ev);
        }
    }
}
