//! Processes of the core: spawning (main and extra tasks), links and monitors.

use super::{Core, Process, Resume, Task};
use crate::context::SpawnContext;
use crate::error::SpawnError;
use crate::ids::{KeySet, PidRef, PidText, ProcId};
use crate::payload::Payload;
use mlua::Thread;
use smallvec::SmallVec;
use std::collections::BTreeSet;
use std::rc::Rc;

/// Who spawns a child and how it is tied to it.
#[derive(Debug, Clone, Copy)]
pub struct Parent {
    /// The spawning process.
    pub proc: ProcId,
    /// Link parent and child.
    pub link: bool,
    /// The parent monitors the child.
    pub monitor: bool,
}

impl Core {
    /// Checks that a process may be spawned on `host` (it exists and is under its
    /// `max_processes`).
    ///
    /// # Errors
    /// [`SpawnError::HostNotFound`] or [`SpawnError::MaxProcesses`].
    pub fn check_spawn(&self, host: u32) -> Result<(), SpawnError> {
        let h = self
            .hosts
            .get(host as usize)
            .filter(|h| h.spawnable)
            .ok_or_else(|| SpawnError::HostNotFound(String::new()))?;
        if h.limits.max_processes.is_some_and(|m| h.live >= m) {
            return Err(SpawnError::MaxProcesses);
        }
        Ok(())
    }

    /// Creates a process running entry `entry` on `host` in coroutine `thread` (fresh or
    /// pooled), with `args`, tied to `parent` as it asks, carrying `context` (the caller
    /// decides what it inherits, SPEC §10.1). The child is queued, not run.
    ///
    /// # Errors
    /// As [`Core::check_spawn`].
    pub fn spawn(
        &mut self,
        thread: Thread,
        entry: u32,
        host: u32,
        args: Vec<Payload>,
        parent: Option<Parent>,
        context: Option<Rc<SpawnContext>>,
    ) -> Result<PidRef, SpawnError> {
        self.check_spawn(host)?;
        let h = &mut self.hosts[host as usize];
        h.live += 1;
        let instructions_left = h.limits.max_instructions;
        self.task_threads.insert(thread.to_pointer() as usize);
        let num = self.next_pid;
        self.next_pid += 1;
        let text = crate::ids::pid_text(&self.hosts[host as usize].name, num);
        let parent_pid = parent
            .and_then(|par| self.procs.get(par.proc))
            .map(|p| p.pid);
        let started_at = self.clock.wall_ns();
        let proc = self.procs.insert_with_key(|proc| {
            let mut record =
                new_process(PidRef { num, proc, host }, text, entry, instructions_left);
            record.parent = parent_pid;
            record.started_at = started_at;
            record.context = context.filter(|c| !c.is_empty());
            record
        });
        let pid = self.procs[proc].pid;
        let task = self.tasks.insert(Task {
            proc,
            thread: Some(thread),
            queued: false,
            request: None,
            wait: None,
            blocked: false,
            in_c: false,
            resume: Resume::Start { entry, host, args },
        });
        self.procs[proc].main = task;
        self.pids.insert(pid.num, proc);
        if let Some(par) = parent {
            if par.link {
                self.link(par.proc, proc);
            }
            if par.monitor {
                self.add_watcher(par.proc, proc);
            }
        }
        self.sched_spawned(proc);
        self.skew_spawned(proc);
        self.queue(task);
        log::debug!(
            "spawn {} entry {}",
            self.pid_string(pid),
            self.entries.id(entry)
        );
        self.trace_with("spawn", |c| {
            let parent = parent.map(|p| c.pid_field(c.procs[p.proc].pid));
            vec![
                ("pid", c.pid_field(pid)),
                ("entry", c.entries.id(entry).into()),
                ("parent", parent.unwrap_or_default()),
            ]
        });
        Ok(pid)
    }

    /// The spawn context of `proc` (`None` when it carries nothing or has ended).
    pub fn spawn_context(&self, proc: ProcId) -> Option<Rc<SpawnContext>> {
        self.procs.get(proc).and_then(|p| p.context.clone())
    }

    /// Adds an extra task to `proc` running `thread` (`coroutine.spawn`).
    pub fn spawn_task(&mut self, proc: ProcId, thread: Thread) {
        self.task_threads.insert(thread.to_pointer() as usize);
        let task = self.tasks.insert(Task {
            proc,
            thread: Some(thread),
            queued: false,
            request: None,
            wait: None,
            blocked: false,
            in_c: false,
            resume: Resume::Nothing,
        });
        self.procs[proc].tasks.push(task);
        self.queue(task);
    }

    // ----- links and monitors ---------------------------------------------------------------

    /// Links two live processes (idempotent).
    pub fn link(&mut self, a: ProcId, b: ProcId) {
        if a == b || !self.procs.contains_key(a) || !self.procs.contains_key(b) {
            return;
        }
        self.procs[a].links.insert(b);
        self.procs[b].links.insert(a);
        self.touch(a);
        self.touch(b);
    }

    /// Removes a link (no-op when absent).
    pub fn unlink(&mut self, a: ProcId, b: ProcId) {
        if let Some(p) = self.procs.get_mut(a) {
            p.links.remove(&b);
        }
        if let Some(p) = self.procs.get_mut(b) {
            p.links.remove(&a);
        }
        self.touch(a);
        self.touch(b);
    }

    /// Makes `watcher` monitor `target`; false when it already does.
    pub fn monitor(&mut self, watcher: ProcId, target: ProcId) -> bool {
        if self.procs[target].watchers.contains(&watcher) {
            return false;
        }
        self.add_watcher(watcher, target);
        self.touch(target);
        true
    }

    /// Adds `watcher` to `target`'s monitors without the duplicate check (a fresh child
    /// cannot be monitored yet), pruning ended watchers as the list grows.
    fn add_watcher(&mut self, watcher: ProcId, target: ProcId) {
        let n = self.procs[target].watchers.len();
        if n >= 16 && n.is_power_of_two() {
            let mut list = std::mem::take(&mut self.procs[target].watchers);
            list.retain(|w| self.procs.contains_key(*w));
            self.procs[target].watchers = list;
        }
        self.procs[target].watchers.push(watcher);
        self.procs[watcher].monitoring.insert(target);
    }

    /// Stops `watcher` monitoring `target`.
    pub fn unmonitor(&mut self, watcher: ProcId, target: ProcId) {
        if let Some(p) = self.procs.get_mut(target) {
            p.watchers.retain(|x| *x != watcher);
        }
        if let Some(p) = self.procs.get_mut(watcher) {
            p.monitoring.remove(&target);
        }
    }
}

pub(super) fn new_process(
    pid: PidRef,
    pid_text: PidText,
    entry: u32,
    instructions_left: Option<u64>,
) -> Process {
    Process {
        pid,
        pid_text,
        last_dest: Default::default(),
        entry,
        main: Default::default(),
        tasks: SmallVec::new(),
        inbox: None,
        inbox_obj: None,
        events: None,
        events_obj: None,
        listeners: Vec::new(),
        links: BTreeSet::new(),
        watchers: SmallVec::new(),
        names: SmallVec::new(),
        trap_links: false,
        kill: None,
        timers: Default::default(),
        chans: Default::default(),
        msg_seq: 0,
        mailbox: 0,
        mailbox_bytes: 0,
        heap: 0,
        instructions_left,
        made_since_collect: 0,
        buffered: 0,
        instructions_run: 0,
        monitoring: KeySet::default(),
        parent: None,
        started_at: 0,
        upgrades: 0,
        context: None,
        sink: None,
        env: None,
        loaded: None,
    }
}
