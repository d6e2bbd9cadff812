//! The runtime core: every live record of one runtime and the verbs on them.
//!
//! `Core` owns the arenas (processes, tasks, channels, waits), the run queue, the timer heap,
//! the name registry and the clock. It lives in the Lua state's app data as the one `RefCell`
//! the bindings borrow for the shortest span; the scheduler drops its borrow before every
//! resume. Its fields are private: bindings and the scheduler use its verbs.
//!
//! The core builds no Lua objects. A binding that would block records a [`Request`]; the
//! scheduler parks the task on it ([`Core::block`]); whatever completes it stores an
//! [`Outcome`] on the task through [`Core::complete`], the one wake path.
//!
//! [`Request`]: crate::request::Request
//! [`Outcome`]: crate::request::Outcome

mod calls;
mod chans;
mod delay;
mod dest;
mod envs;
mod exits;
mod faults;
mod hosted;
mod introspect;
mod mailbox;
mod owned;
mod processes;
mod quota;
mod records;
mod run;
mod schedule;
mod select;
mod timers;
mod timing;
mod upgrade;
mod wait;

pub use calls::Call;
pub use chans::SendResult;
pub use faults::{FaultState, KILLED};
pub use hosted::Crash;
pub use introspect::{ProcState, ProcessInfo, WaitKind};
pub use processes::Parent;
pub use quota::{MAX_NAME_BYTES, MAX_REASON_BYTES, Quota};
pub use records::{Chan, Fire, Host, Listener, Process, Resume, Task, TimerTask, Wait, Waiter};
pub use run::{Next, Stopped, Turn};
pub use select::{RecvSelect, SelectResult};

use crate::clock::Clock;
use crate::entry::Entries;
use crate::ids::{AddrSet, ChanId, PidRef, ProcId, TaskId, TimerId, WaitId, format_pid, parse_pid};
use crate::limits::Limits;
use crate::message::{Exit, Message};
use crate::registry::Registry;
use crate::sim::{Faults, Strategy};
use crate::timer::TimerHeap;
use crate::trace::Tracer;
use mlua::Thread;
use slotmap::SlotMap;
use std::cell::RefCell;
use std::collections::{BTreeSet, VecDeque};
use std::rc::Rc;

/// How the root process ended.
#[derive(Debug, Clone)]
pub struct RootExit {
    /// The exit.
    pub exit: Exit,
    /// Lua traceback of a raised error.
    pub traceback: Option<String>,
}

/// Counts of live records (see `Runtime::stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Live processes.
    pub processes: usize,
    /// Live tasks (main tasks plus `coroutine.spawn` tasks).
    pub tasks: usize,
    /// Channel records.
    pub channels: usize,
    /// Parked operations.
    pub waits: usize,
    /// Armed timers.
    pub timers: usize,
    /// Registered names.
    pub names: usize,
    /// Topic subscriptions.
    pub subscriptions: usize,
}

/// All live state of one runtime.
#[derive(Debug)]
pub struct Core {
    procs: SlotMap<ProcId, Process>,
    tasks: SlotMap<TaskId, Task>,
    chans: SlotMap<ChanId, Chan>,
    waits: SlotMap<WaitId, Wait>,
    timers: TimerHeap<TimerId, TimerTask>,
    /// Tasks ready to run, FIFO; a task is in it at most once (`Task::queued`).
    run_queue: VecDeque<TaskId>,
    /// Live processes by PID number, and where sends found them lately (`dest.rs`).
    pids: dest::Pids,
    /// Received messages kept for reuse ([`Core::recycle`]).
    // Boxed on purpose: the boxes themselves are what `Item::Msg` reuses.
    #[allow(clippy::vec_box)]
    msg_pool: Vec<Box<Message>>,
    names: Registry,
    hosts: Vec<Host>,
    entries: Entries,
    next_pid: u64,
    /// The task being resumed, if any.
    current: Option<TaskId>,
    clock: Clock,
    /// Channel ids whose Lua objects were collected; swept by the scheduler.
    graveyard: Rc<RefCell<Vec<ChanId>>>,
    /// Finished coroutines kept for reuse.
    thread_pool: Vec<Thread>,
    root: Option<ProcId>,
    root_exit: Option<RootExit>,
    /// Coroutines that are tasks (by `lua_State` address): scripts may not resume or close
    /// them.
    task_threads: AddrSet,
    memory_ceiling: usize,
    /// Bytes of the messages waiting in every mailbox (see `quota.rs`).
    mailbox_total: usize,
    /// Values waiting in every user channel's buffer (see `quota.rs`).
    buffered_total: usize,
    tracer: Tracer,
    /// Seed of the run's random sources (entropy unless the run is seeded).
    seed: u64,
    /// Whether each resume moves the virtual clock (simulation mode, and replays of it).
    virtual_work: bool,
    /// The scheduling strategy's state (simulation mode).
    sched: schedule::Schedule,
    /// Faults to inject and the `sim` module's state.
    faults: FaultState,
    /// Messages whose delivery a `delay` holds back.
    delays: delay::Delays,
    /// What `jitter` and `skew` faults did (`core/timing.rs`).
    timing: timing::Timing,
    /// Processes that accept supervisor calls (`core/calls.rs`).
    supervisors: BTreeSet<ProcId>,
    /// Supervisor calls waiting for their reply.
    calls: Vec<Call>,
    /// Host mailboxes alive, with the queue each one fills.
    mailboxes: Vec<ProcId>,
    /// Processes that ended abnormally since the runtime last asked.
    crashes: Vec<Crash>,
    /// `process.upgrade` calls in flight (`core/upgrade.rs`).
    upgrading: upgrade::Upgrading,
}

/// Most finished coroutines kept for reuse.
const THREAD_POOL_MAX: usize = 4096;

/// How a runtime's core is set up.
#[derive(Debug)]
pub struct CoreConfig {
    /// The clock every time source reads.
    pub clock: Clock,
    /// The app's entries.
    pub entries: Entries,
    /// Hosts: entry id and the limits of its processes.
    pub hosts: Vec<(String, Limits)>,
    /// Lua heap the whole runtime may use.
    pub memory_ceiling: usize,
    /// Trace recording or replay.
    pub tracer: Tracer,
    /// Seed of the run.
    pub seed: u64,
    /// Whether resumes move the virtual clock.
    pub virtual_work: bool,
    /// Simulation: the strategy, the faults, and whether both follow a replayed trace.
    pub sim: SimConfig,
}

/// What simulation mode asks of the core (SPEC §14).
#[derive(Debug, Clone, Default)]
pub struct SimConfig {
    /// Whether the run is in simulation mode (the `sim` module is live).
    pub live: bool,
    /// The scheduling strategy.
    pub strategy: Strategy,
    /// The faults to inject.
    pub faults: Faults,
    /// Whether picks and faults come from the replayed trace.
    pub follow: bool,
}

impl Core {
    /// A core with no processes.
    pub fn new(cfg: CoreConfig) -> Core {
        Core {
            procs: SlotMap::with_key(),
            tasks: SlotMap::with_key(),
            chans: SlotMap::with_key(),
            waits: SlotMap::with_key(),
            timers: TimerHeap::default(),
            run_queue: VecDeque::with_capacity(1024),
            pids: dest::Pids::default(),
            msg_pool: Vec::new(),
            names: Registry::default(),
            hosts: cfg
                .hosts
                .into_iter()
                .map(|(name, limits)| Host {
                    name,
                    limits,
                    live: 0,
                    spawnable: true,
                })
                .collect(),
            entries: cfg.entries,
            next_pid: 1,
            current: None,
            clock: cfg.clock,
            graveyard: Rc::new(RefCell::new(Vec::new())),
            thread_pool: Vec::new(),
            root: None,
            root_exit: None,
            task_threads: AddrSet::default(),
            memory_ceiling: cfg.memory_ceiling,
            mailbox_total: 0,
            buffered_total: 0,
            tracer: cfg.tracer,
            seed: cfg.seed,
            virtual_work: cfg.virtual_work,
            sched: schedule::Schedule::new(cfg.sim.strategy, cfg.seed, cfg.sim.follow),
            faults: FaultState::new(cfg.sim.faults, cfg.seed, cfg.sim.live, cfg.sim.follow),
            delays: delay::Delays::default(),
            timing: timing::Timing::default(),
            mailboxes: Vec::new(),
            crashes: Vec::new(),
            supervisors: BTreeSet::new(),
            calls: Vec::new(),
            upgrading: upgrade::Upgrading::default(),
        }
    }

    // ----- identity -------------------------------------------------------------------------

    /// The process of the running task.
    pub fn current_proc(&self) -> Option<ProcId> {
        self.current.and_then(|t| self.tasks.get(t)).map(|t| t.proc)
    }

    /// The running task.
    pub fn current_task(&self) -> Option<TaskId> {
        self.current
    }

    /// Whether `p` is a live process.
    pub fn is_alive(&self, p: ProcId) -> bool {
        self.procs.contains_key(p)
    }

    /// The PID of live process `p`.
    pub fn pid_of(&self, p: ProcId) -> Option<PidRef> {
        self.procs.get(p).map(|p| p.pid)
    }

    /// The PID string of live process `p` (`""` when it has ended).
    pub fn pid_string_of(&self, p: ProcId) -> String {
        self.procs
            .get(p)
            .map(|pr| String::from_utf8_lossy(&pr.pid_text).into_owned())
            .unwrap_or_default()
    }

    /// The id of the entry live process `p` runs.
    pub fn entry_id_of(&self, p: ProcId) -> &str {
        match self.procs.get(p) {
            Some(pr) => self.entries.id(pr.entry),
            None => "?",
        }
    }

    /// The name of the host of `pid` (`?` for none).
    fn pid_host(&self, pid: PidRef) -> &str {
        self.hosts
            .get(pid.host as usize)
            .map_or("?", |h| h.name.as_str())
    }

    /// The PID string of `pid` made at its spawn, while its process lives.
    #[inline]
    pub fn live_pid_text(&self, pid: PidRef) -> Option<&[u8]> {
        self.procs
            .get(pid.proc)
            .filter(|pr| pr.pid.num == pid.num)
            .map(|pr| &pr.pid_text[..])
    }

    /// Formats a PID as `{host|num}` (the live process's own string when it lives).
    pub fn pid_string(&self, pid: PidRef) -> String {
        match self.live_pid_text(pid) {
            Some(t) => String::from_utf8_lossy(t).into_owned(),
            None => format_pid(self.pid_host(pid), pid.num),
        }
    }

    /// The PID string of `pid` as a [`crate::ids::PidText`].
    pub fn pid_text(&self, pid: PidRef) -> crate::ids::PidText {
        match self.live_pid_text(pid) {
            Some(t) => crate::ids::PidText::from_slice(t),
            None => crate::ids::pid_text(self.pid_host(pid), pid.num),
        }
    }

    /// Parses `{host|num}`; `None` when malformed or the host is unknown. The slot is the
    /// live process's, `ProcId::default()` (no slot) when none has that number.
    pub fn parse_pid(&self, s: &[u8]) -> Option<PidRef> {
        let (host, num) = parse_pid(s)?;
        let host = self.hosts.iter().position(|h| h.name.as_bytes() == host)?;
        let proc = self.pids.get(num).unwrap_or_default();
        Some(PidRef {
            num,
            proc,
            host: host as u32,
        })
    }

    /// Payload depth and size limits for what `proc` sends (the first host's when none).
    pub fn payload_limits(&self, proc: Option<ProcId>) -> (usize, usize) {
        let host = proc
            .and_then(|p| self.procs.get(p))
            .map(|p| p.pid.host as usize)
            .unwrap_or(0);
        match self.hosts.get(host) {
            Some(h) => (
                h.limits.payload_depth,
                h.limits.payload_bytes.unwrap_or(usize::MAX),
            ),
            None => (crate::limits::DEFAULT_PAYLOAD_DEPTH, usize::MAX),
        }
    }

    /// The limits of the host live process `p` runs on.
    pub fn limits_of(&self, p: ProcId) -> Option<&Limits> {
        let pr = self.procs.get(p)?;
        self.hosts.get(pr.pid.host as usize).map(|h| &h.limits)
    }

    /// The index of the host named `name`.
    pub fn find_host(&self, name: &str) -> Option<u32> {
        self.hosts
            .iter()
            .position(|h| h.name == name && h.spawnable)
            .map(|i| i as u32)
    }

    /// Number of hosts.
    pub fn host_count(&self) -> usize {
        self.hosts.len()
    }

    /// The app's entries.
    pub fn entries(&self) -> &Entries {
        &self.entries
    }

    /// The app's entries, for compiling.
    pub fn entries_mut(&mut self) -> &mut Entries {
        &mut self.entries
    }

    /// The clock every time source reads.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Moves a virtual clock forward to runtime nanosecond `t`.
    pub fn advance_clock_to(&mut self, t: u64) {
        self.clock.advance_to(t);
    }

    /// The run's seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Whether resumes move the virtual clock.
    pub fn virtual_work(&self) -> bool {
        self.virtual_work
    }

    /// Lua heap the whole runtime may use.
    pub fn memory_ceiling(&self) -> usize {
        self.memory_ceiling
    }

    /// The trace recorder or replayer.
    pub fn tracer(&mut self) -> &mut Tracer {
        &mut self.tracer
    }

    /// The id of the test this run is, when the test runner said so.
    pub fn test_name(&self) -> Option<&str> {
        self.tracer.test.as_deref()
    }

    /// Writes a trace record when tracing; `fields` is only evaluated then.
    pub fn trace_with<F>(&mut self, ev: &str, fields: F)
    where
        F: FnOnce(&Core) -> Vec<(&'static str, serde_json::Value)>,
    {
        if self.tracer.is_on() {
            let fields = fields(self);
            let t = self.clock.now();
            if self.tracer.emit(t, ev, &fields) {
                let named = fields.iter().find(|(k, _)| *k == "pid");
                let named = named.and_then(|(_, v)| v.as_str()).map(str::as_bytes);
                let p = self
                    .current_proc()
                    .or_else(|| named.and_then(|n| self.resolve(n).ok()));
                if let Some(p) = p {
                    self.note_diverging(p);
                }
            }
        }
    }

    /// Names process `p` and its entry in a replay's divergence (unless one is named).
    pub fn note_diverging(&mut self, p: ProcId) {
        let who = format!("{} (entry {})", self.pid_string_of(p), self.entry_id_of(p));
        if let Some(d) = &mut self.tracer.diverged {
            d.process.get_or_insert(who);
        }
    }

    /// A PID as a trace field.
    pub fn pid_field(&self, pid: PidRef) -> serde_json::Value {
        self.pid_string(pid).into()
    }

    /// Where collected channel objects leave their ids.
    pub fn graveyard(&self) -> Rc<RefCell<Vec<ChanId>>> {
        self.graveyard.clone()
    }

    /// Whether the coroutine at `ptr` is a task (scripts may not resume or close it).
    pub fn is_task_thread(&self, ptr: usize) -> bool {
        self.task_threads.contains(&ptr)
    }

    /// A finished coroutine ready for reuse, if one is pooled.
    pub fn take_pooled_thread(&mut self) -> Option<Thread> {
        self.thread_pool.pop()
    }

    /// Whether [`Core::pool_thread`] would keep one more coroutine (so resetting a finished
    /// one for the pool is worth it).
    pub fn pool_has_room(&self) -> bool {
        self.thread_pool.len() < THREAD_POOL_MAX
    }

    /// Keeps a finished (already reset) coroutine for reuse by a later spawn.
    pub fn pool_thread(&mut self, thread: Thread) {
        if self.thread_pool.len() < THREAD_POOL_MAX {
            self.thread_pool.push(thread);
        }
    }

    /// The root process, if the host spawned one and it is alive.
    pub fn root(&self) -> Option<ProcId> {
        self.root
    }

    /// Makes `p` the root process.
    pub fn set_root(&mut self, p: ProcId) {
        self.root = Some(p);
        self.root_exit = None;
    }

    /// Forgets the root and how it ended (after the host was told).
    pub fn clear_root(&mut self) {
        self.root = None;
        self.root_exit = None;
    }

    /// How the root ended, once it has.
    pub fn root_exit(&self) -> Option<&RootExit> {
        self.root_exit.as_ref()
    }

    /// Counts of live records.
    pub fn counts(&self) -> Counts {
        Counts {
            processes: self.procs.len(),
            tasks: self.tasks.len(),
            channels: self.chans.len(),
            waits: self.waits.len(),
            timers: self.timers.len(),
            names: self.names.len(),
            subscriptions: self.procs.values().map(|p| p.listeners.len()).sum(),
        }
    }

    // ----- options and names ----------------------------------------------------------------

    /// The `trap_links` option of `p`.
    pub fn trap_links(&self, p: ProcId) -> bool {
        self.procs.get(p).is_some_and(|p| p.trap_links)
    }

    /// Sets the `trap_links` option of `p`.
    pub fn set_trap_links(&mut self, p: ProcId, on: bool) {
        if let Some(p) = self.procs.get_mut(p) {
            p.trap_links = on;
        }
    }

    /// Registers `name` for `who`; `Ok(false)` when `who` already holds it.
    ///
    /// # Errors
    /// [`NameTaken`](crate::error::NameTaken) when another process holds it.
    pub fn register_name(
        &mut self,
        name: &str,
        who: ProcId,
    ) -> Result<bool, crate::error::NameTaken> {
        let new = self.names.register(name, who)?;
        if new {
            self.procs[who].names.push(name.into());
            self.name_changed(name);
        }
        Ok(new)
    }

    /// The PID holding `name`.
    pub fn lookup_name(&self, name: &str) -> Option<PidRef> {
        self.names.lookup(name).and_then(|p| self.pid_of(p))
    }

    /// Removes `name`; whether a mapping was removed.
    pub fn unregister_name(&mut self, name: &str) -> bool {
        match self.names.unregister(name) {
            Some(p) => {
                if let Some(pr) = self.procs.get_mut(p) {
                    pr.names.retain(|n| **n != *name);
                }
                self.name_changed(name);
                true
            }
            None => false,
        }
    }

    // ----- run queue ------------------------------------------------------------------------

    /// Puts a task at the back of the run queue unless it is already queued.
    pub fn queue(&mut self, t: TaskId) {
        if let Some(task) = self.tasks.get_mut(t)
            && !task.queued
        {
            task.queued = true;
            self.run_queue.push_back(t);
            self.sched_readied(t);
        }
    }

    /// Whether a task is ready to run.
    pub fn has_runnable(&self) -> bool {
        !self.run_queue.is_empty()
    }

    /// Whether anything can still happen without outside input: a runnable task or an armed
    /// timer of a live process.
    pub fn has_work(&self) -> bool {
        !self.run_queue.is_empty() || !self.timers.is_empty() || !self.delays.is_empty()
    }

    /// Ends every process without notifying anyone (the runtime is going away).
    pub fn discard_all(&mut self) {
        let procs: Vec<_> = self.procs.keys().collect();
        for p in procs {
            self.discard_process(p);
        }
        self.run_queue.clear();
    }
}
