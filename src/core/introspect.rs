//! Introspection (SPEC §12.2, §12.4): read-only snapshots of live processes as plain Rust
//! data, for `process.list`, `process.info`, `process.traceback` and the `Runtime` API.
//!
//! Nothing here changes a record or resumes anything. Everything read is kept anyway
//! (mailbox counts, heap charge, instruction count) or written once at spawn (`parent`,
//! `started_at`), so processes that are never inspected pay nothing.

use super::Core;
use crate::ids::ProcId;
use mlua::Thread;

/// Whether a process is running, ready to run, or parked (SPEC §12.2 `state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcState {
    /// The caller itself (never seen between turns).
    Running,
    /// One of its tasks is in the run queue.
    Runnable,
    /// None of its tasks can run until something wakes it.
    Waiting,
}

impl ProcState {
    /// The Lua-visible name.
    pub fn name(self) -> &'static str {
        match self {
            ProcState::Running => "running",
            ProcState::Runnable => "runnable",
            ProcState::Waiting => "waiting",
        }
    }
}

/// What a process's main task is blocked in (SPEC §12.2 `waiting_on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitKind {
    /// A channel receive (inbox, events, listen, user channel).
    Receive,
    /// A channel send on a full channel.
    Send,
    /// `channel.select`.
    Select,
    /// `time.sleep`.
    Sleep,
    /// A supervisor call or `supervisor.start`.
    Call,
}

impl WaitKind {
    /// The Lua-visible name.
    pub fn name(self) -> &'static str {
        match self {
            WaitKind::Receive => "receive",
            WaitKind::Send => "send",
            WaitKind::Select => "select",
            WaitKind::Sleep => "sleep",
            WaitKind::Call => "call",
        }
    }
}

/// A snapshot of one live process (SPEC §12.2 `process.info`, §12.4 `ProcessInfo`).
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessInfo {
    /// Its PID string.
    pub pid: String,
    /// The entry it runs now.
    pub entry: String,
    /// Its host's entry id.
    pub host: String,
    /// The PID of the process that spawned it, if a process did.
    pub parent: Option<String>,
    /// Running, runnable or waiting.
    pub state: ProcState,
    /// What its main task is blocked in.
    pub waiting_on: Option<WaitKind>,
    /// Messages accepted for it and not yet taken by a receiver.
    pub mailbox: usize,
    /// Bytes of Lua heap charged to it.
    pub memory: usize,
    /// Instructions run so far.
    pub instructions: u64,
    /// Live tasks (main plus `coroutine.spawn`).
    pub tasks: usize,
    /// Armed timers, tickers and pending `time.after` channels (sleeps excluded).
    pub timers: usize,
    /// Link partners, in spawn order.
    pub links: Vec<String>,
    /// Processes it monitors, in spawn order.
    pub monitors: Vec<String>,
    /// Processes monitoring it, in spawn order.
    pub monitored_by: Vec<String>,
    /// Registered names in registration order.
    pub names: Vec<String>,
    /// The `trap_links` option.
    pub trap_links: bool,
    /// Its spawn time on the runtime clock, unix nanoseconds.
    pub started_at: i64,
    /// Successful upgrades so far.
    pub upgrades: u32,
}

impl Core {
    /// Every live process (of host `host` when given), in spawn order.
    pub fn list_procs(&self, host: Option<u32>) -> Vec<ProcId> {
        let mut all: Vec<(u64, ProcId)> = self
            .procs
            .iter()
            .filter(|(_, p)| host.is_none_or(|h| p.pid.host == h))
            .map(|(k, p)| (p.pid.num, k))
            .collect();
        all.sort_unstable_by_key(|(num, _)| *num);
        all.into_iter().map(|(_, k)| k).collect()
    }

    /// PID strings of live `procs` sorted in spawn order.
    fn pids_in_spawn_order(&self, procs: impl Iterator<Item = ProcId>) -> Vec<String> {
        let mut pids: Vec<_> = procs.filter_map(|p| self.pid_of(p)).collect();
        pids.sort_unstable_by_key(|p| p.num);
        pids.dedup();
        pids.into_iter().map(|p| self.pid_string(p)).collect()
    }

    /// The state of live process `p`, as seen from the running task.
    pub fn proc_state(&self, p: ProcId) -> Option<ProcState> {
        let pr = self.procs.get(p)?;
        if self.current_proc() == Some(p) {
            return Some(ProcState::Running);
        }
        let queued = std::iter::once(pr.main)
            .chain(pr.tasks.iter().copied())
            .any(|t| self.tasks.get(t).is_some_and(|t| t.queued));
        Some(if queued {
            ProcState::Runnable
        } else {
            ProcState::Waiting
        })
    }

    /// What the main task of `p` is blocked in, if it is.
    pub fn waiting_on(&self, p: ProcId) -> Option<WaitKind> {
        let task = self.tasks.get(self.procs.get(p)?.main)?;
        if task.queued {
            return None;
        }
        let wait = self.waits.get(task.wait?)?;
        Some(match (wait.select, wait.chans.first()) {
            (true, _) => WaitKind::Select,
            (false, None) => WaitKind::Sleep,
            (false, Some(&c)) if self.is_reply_chan(c) => WaitKind::Call,
            (false, Some(&c)) => {
                let w = task.wait?;
                let receiving = self
                    .chans
                    .get(c)
                    .is_some_and(|ch| ch.q.has_receiver_where(|x| x.wait == w));
                if receiving {
                    WaitKind::Receive
                } else {
                    WaitKind::Send
                }
            }
        })
    }

    /// A snapshot of live process `p`.
    pub fn process_info(&self, p: ProcId) -> Option<ProcessInfo> {
        let pr = self.procs.get(p)?;
        let timers = pr
            .timers
            .iter()
            .filter(|t| {
                !self
                    .timers
                    .peek(**t)
                    .is_some_and(|(_, x)| matches!(x.fire, super::Fire::Wake(_)))
            })
            .count();
        Some(ProcessInfo {
            pid: self.pid_string(pr.pid),
            entry: self.entries.id(pr.entry).to_string(),
            host: self
                .hosts
                .get(pr.pid.host as usize)
                .map(|h| h.name.clone())
                .unwrap_or_default(),
            parent: pr.parent.map(|pid| self.pid_string(pid)),
            state: self.proc_state(p)?,
            waiting_on: self.waiting_on(p),
            mailbox: pr.mailbox,
            memory: pr.heap,
            instructions: pr.instructions_run,
            tasks: 1 + pr.tasks.len(),
            timers,
            links: self.pids_in_spawn_order(pr.links.iter().copied()),
            monitors: self.pids_in_spawn_order(pr.monitoring.iter().copied()),
            monitored_by: self.pids_in_spawn_order(pr.watchers.iter().copied()),
            names: pr.names.iter().map(|n| n.to_string()).collect(),
            trap_links: pr.trap_links,
            started_at: pr.started_at,
            upgrades: pr.upgrades,
        })
    }

    /// The instruction budget `p` was given for its current slice (`None`: unbounded).
    pub fn instructions_left(&self, p: ProcId) -> Option<u64> {
        self.procs.get(p).and_then(|p| p.instructions_left)
    }

    /// The coroutine of `p`'s main task while it is suspended, and whether it has started.
    pub fn main_thread(&self, p: ProcId) -> Option<(Thread, bool)> {
        let task = self.tasks.get(self.procs.get(p)?.main)?;
        let started = !matches!(task.resume, super::Resume::Start { .. });
        task.thread.clone().map(|t| (t, started))
    }
}
