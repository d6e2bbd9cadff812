//! The runtime core: every live record of one runtime and the operations on them.
//!
//! `Core` owns the arenas (processes, tasks, channels, waits), the run queue, the timer heap,
//! the name registry and the clock. It lives in the Lua state's app data as the one `RefCell`
//! the bindings borrow for the shortest span; the scheduler drops its borrow before every
//! resume. Bindings describe (park a task, queue a message); only the scheduler resumes.
//! Everything that wakes a task ends in [`Core::complete`], the one wake path.

use crate::channel::Channel;
use crate::clock::Clock;
use crate::limits::Limits;
use crate::lua::{HookState, Rng};
use crate::payload::Payload;
use crate::process::*;
use crate::registry::Registry;
use crate::timer::TimerHeap;
use crate::trace::Tracer;
use mlua::{Function, Lua, Thread, Value};
use slotmap::SlotMap;
use smallvec::SmallVec;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::rc::Rc;

/// A parked operation's place in a channel's wait list.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Waiter {
    /// The parked operation.
    pub wait: WaitId,
    /// Index of the case (0 for plain receive/send).
    pub case: u32,
}

/// What kind of operation a task is parked on; decides the resume values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WaitMode {
    /// `ch:receive()`: resumes with `value, ok`.
    Recv,
    /// `ch:send(v)`: resumes with `true` or `nil, "send on closed channel"`.
    Send,
    /// `channel.select`: resumes with `case_index, value, ok`.
    Select,
    /// `time.sleep`: resumes with `true`.
    Sleep,
}

/// A parked operation.
#[derive(Debug)]
pub struct Wait {
    /// The task to wake.
    pub task: TaskId,
    /// Channels the operation is parked on, one per case.
    pub chans: SmallVec<[ChanId; 2]>,
    /// Timer that ends the wait (sleep).
    pub timer: Option<TimerId>,
    /// How to resume.
    pub mode: WaitMode,
}

/// How a wait completed.
#[derive(Debug)]
pub enum Outcome {
    /// A receive got a value (`ok = false` for closed).
    Received(Value, bool),
    /// A send was taken.
    Sent,
    /// A send found the channel closed.
    SendClosed,
    /// A sleep's timer fired.
    Slept,
}

/// What a channel is for; decides how its items become Lua values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ChanKind {
    /// `channel.new`.
    User,
    /// A process inbox: message objects.
    Inbox,
    /// A process events channel: event tables.
    Events,
    /// A `listen` channel: raw payloads, or message objects in message mode.
    Listen {
        /// Deliver message objects instead of raw payloads.
        message: bool,
    },
    /// A `time.after` / timer / ticker channel.
    Timer,
}

/// A channel record.
#[derive(Debug)]
pub struct Chan {
    /// The process whose world the channel belongs to.
    pub owner: ProcId,
    /// What it is for.
    pub kind: ChanKind,
    /// Buffer and wait lists.
    pub q: Channel<Item, Waiter>,
    /// The timer feeding it, if any.
    pub timer: Option<TimerId>,
}

/// What an armed timer does when it fires.
#[derive(Debug, Clone, Copy)]
pub enum Fire {
    /// End a sleep.
    Wake(WaitId),
    /// Put one Time on the channel, then close it.
    After(ChanId),
    /// Put a Time on the channel if it has room, and re-arm.
    Tick {
        /// The ticker's channel.
        chan: ChanId,
        /// Period in nanoseconds.
        period: u64,
    },
}

/// An armed timer's payload.
#[derive(Debug, Clone, Copy)]
pub struct TimerTask {
    /// Process the timer dies with.
    pub owner: ProcId,
    /// What firing does.
    pub fire: Fire,
}

/// A place processes run.
#[derive(Debug)]
pub struct Host {
    /// Entry id, e.g. `app:processes`.
    pub name: String,
    /// What its processes may use.
    pub limits: Limits,
    /// Processes alive on it now.
    pub live: u64,
}

/// Kind and name of an entry, as the core needs them.
#[derive(Debug, Clone)]
pub struct EntryInfo {
    /// `namespace:name`.
    pub id: String,
    /// Whether `spawn` accepts it (`process.lua` or `function.lua`).
    pub spawnable: bool,
    /// Lua source and chunk name, compiled on first use.
    pub source: Option<(Rc<str>, String)>,
}

/// Lua handles the core needs to build values.
#[derive(Debug)]
pub struct LuaHandles {
    /// Function every main task starts in (`proc_main` of the prelude).
    pub proc_main: Function,
    /// `make_event(kind, from, at, has_exit, value, error_or_reason)` of the prelude.
    pub make_event: Function,
}

/// How the root process ended.
#[derive(Debug, Clone)]
pub struct RootExit {
    /// The exit.
    pub exit: Exit,
    /// Lua traceback of a raised error.
    pub traceback: Option<String>,
}

/// All live state of one runtime.
#[derive(Debug)]
pub struct Core {
    /// Processes.
    pub procs: SlotMap<ProcId, Process>,
    /// Tasks.
    pub tasks: SlotMap<TaskId, Task>,
    /// Channels.
    pub chans: SlotMap<ChanId, Chan>,
    /// Parked operations.
    pub waits: SlotMap<WaitId, Wait>,
    /// Armed timers.
    pub timers: TimerHeap<TimerId, TimerTask>,
    /// Tasks ready to run, FIFO; a task is in it at most once (`Task::queued`).
    pub run_queue: VecDeque<TaskId>,
    /// PID number -> process, for live processes only.
    pub pids: HashMap<u64, ProcId>,
    /// Registered names.
    pub names: Registry,
    /// Hosts, by index.
    pub hosts: Vec<Host>,
    /// Entries, by index.
    pub entries: Vec<EntryInfo>,
    /// Next PID number.
    pub next_pid: u64,
    /// The task being resumed, if any.
    pub current: Option<TaskId>,
    /// The clock every time source reads.
    pub clock: Clock,
    /// Channel ids whose Lua objects were collected; swept by the scheduler.
    pub graveyard: Rc<RefCell<Vec<ChanId>>>,
    /// Finished coroutines kept for reuse.
    pub thread_pool: Vec<Thread>,
    /// The root process, if one was spawned by the host.
    pub root: Option<ProcId>,
    /// How the root ended.
    pub root_exit: Option<RootExit>,
    /// Lua handles.
    pub lua: LuaHandles,
    /// Coroutines that are tasks (by `lua_State` address): scripts may not resume or close
    /// them.
    pub task_threads: HashSet<usize>,
    /// Instructions between two preemption checks.
    pub slice: u32,
    /// Lua heap the whole runtime may use.
    pub memory_ceiling: usize,
    /// State shared with the preemption hook.
    pub hook: Rc<HookState>,
    /// Trace recording or replay.
    pub tracer: Tracer,
    /// Seed of the run's random sources (entropy unless the run is seeded).
    pub seed: u64,
    /// Whether each resume moves the virtual clock (simulation mode, and replays of it).
    pub virtual_work: bool,
    /// Under `--explore`/`--perturb`: reorders tasks that are ready together and timers
    /// with equal deadlines, from a seed.
    pub perturb: Option<Rng>,
}

/// Under perturbation, how many tasks at the head of the run queue may run next.
const PERTURB_WINDOW: usize = 4;

/// Most finished coroutines kept for reuse.
pub(crate) const THREAD_POOL_MAX: usize = 4096;

impl Core {
    /// A core with no processes.
    pub fn new(clock: Clock, handles: LuaHandles) -> Core {
        Core {
            procs: SlotMap::with_key(),
            tasks: SlotMap::with_key(),
            chans: SlotMap::with_key(),
            waits: SlotMap::with_key(),
            timers: TimerHeap::default(),
            run_queue: VecDeque::with_capacity(1024),
            pids: HashMap::new(),
            names: Registry::default(),
            hosts: Vec::new(),
            entries: Vec::new(),
            next_pid: 1,
            current: None,
            clock,
            graveyard: Rc::new(RefCell::new(Vec::new())),
            thread_pool: Vec::new(),
            root: None,
            root_exit: None,
            lua: handles,
            task_threads: HashSet::new(),
            slice: crate::lua::HOOK_EVERY_INSTRUCTIONS,
            memory_ceiling: usize::MAX,
            hook: Rc::new(HookState::default()),
            tracer: Tracer::default(),
            seed: 0,
            virtual_work: false,
            perturb: None,
        }
    }

    // ----- identity -------------------------------------------------------------------------

    /// The process of the running task.
    pub fn current_proc(&self) -> Option<ProcId> {
        self.current.and_then(|t| self.tasks.get(t)).map(|t| t.proc)
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

    /// Writes a trace record (when tracing) stamped with the clock.
    pub fn trace(&mut self, ev: &str, fields: &[(&str, serde_json::Value)]) {
        let t = self.clock.now();
        self.tracer.emit(t, ev, fields);
    }

    /// A PID as a trace field.
    pub fn pid_field(&self, pid: PidRef) -> serde_json::Value {
        self.pid_string(pid).into()
    }

    /// Takes the next task to run: the head of the run queue, or under perturbation one of
    /// the first few.
    pub fn pop_task(&mut self) -> Option<TaskId> {
        if let Some(rng) = &mut self.perturb {
            let n = self.run_queue.len().min(PERTURB_WINDOW);
            if n > 1 {
                let k = (rng.next_u64() % n as u64) as usize;
                return self.run_queue.remove(k);
            }
        }
        self.run_queue.pop_front()
    }

    /// Formats a PID as `{host|num}`.
    pub fn pid_string(&self, pid: PidRef) -> String {
        let host = self
            .hosts
            .get(pid.host as usize)
            .map(|h| h.name.as_str())
            .unwrap_or("?");
        format!("{{{host}|{}}}", pid.num)
    }

    /// Parses `{host|num}`; `None` when malformed.
    pub fn parse_pid(&self, s: &[u8]) -> Option<PidRef> {
        let inner = s.strip_prefix(b"{")?.strip_suffix(b"}")?;
        let bar = inner.iter().rposition(|&b| b == b'|')?;
        let (host, num) = (&inner[..bar], &inner[bar + 1..]);
        let num: u64 = std::str::from_utf8(num).ok()?.parse().ok()?;
        let host = self.hosts.iter().position(|h| h.name.as_bytes() == host)?;
        Some(PidRef {
            host: host as u32,
            num,
        })
    }

    /// Resolves a destination (PID string or registered name).
    ///
    /// # Errors
    /// `could not resolve '<dest>' as PID or registered name` for a malformed PID or unknown
    /// name; `process not found` for a PID whose process has ended.
    pub fn resolve(&self, dest: &[u8]) -> Result<ProcId, String> {
        if let Some(pid) = self.parse_pid(dest) {
            return self
                .pids
                .get(&pid.num)
                .copied()
                .filter(|p| self.procs.get(*p).is_some_and(|pr| pr.pid == pid))
                .ok_or_else(|| "process not found".to_string());
        }
        if let Ok(name) = std::str::from_utf8(dest)
            && let Some(p) = self.names.lookup(name)
        {
            return Ok(p);
        }
        Err(format!(
            "could not resolve '{}' as PID or registered name",
            String::from_utf8_lossy(dest)
        ))
    }

    // ----- run queue ------------------------------------------------------------------------

    /// Puts a task at the back of the run queue unless it is already queued.
    pub fn queue(&mut self, t: TaskId) {
        if let Some(task) = self.tasks.get_mut(t)
            && !task.queued
        {
            task.queued = true;
            self.run_queue.push_back(t);
        }
    }

    // ----- spawning -------------------------------------------------------------------------

    /// Creates a process running `entry` on `host` with `args`, optionally linked to and/or
    /// monitored by `parent`. The child is queued, not run.
    ///
    /// # Errors
    /// `max processes limit exceeded`, or a Lua allocation failure as text.
    pub fn spawn(
        &mut self,
        lua: &Lua,
        entry: u32,
        host: u32,
        args: Vec<Payload>,
        parent: Option<(ProcId, bool, bool)>,
    ) -> Result<PidRef, String> {
        let h = &mut self.hosts[host as usize];
        let instructions_left = h.limits.max_instructions;
        if h.limits.max_processes.is_some_and(|m| h.live >= m) {
            return Err("max processes limit exceeded".into());
        }
        let thread = match self.thread_pool.pop() {
            Some(t) => t,
            None => lua
                .create_thread(self.lua.proc_main.clone())
                .map_err(|e| e.to_string())?,
        };
        self.task_threads.insert(thread.to_pointer() as usize);
        h.live += 1;
        let pid = PidRef {
            host,
            num: self.next_pid,
        };
        self.next_pid += 1;
        let proc = self.procs.insert_with_key(|_| Process {
            pid,
            entry,
            main: TaskId::default(),
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
            timers: BTreeSet::new(),
            chans: BTreeSet::new(),
            msg_seq: 0,
            mailbox: 0,
            mailbox_bytes: 0,
            heap: 0,
            heap_checked: 0,
            instructions_left,
        });
        let task = self.tasks.insert(Task {
            proc,
            thread: Some(thread),
            queued: false,
            wait: None,
            resume: Resume::Start { entry, host, args },
        });
        self.procs[proc].main = task;
        self.pids.insert(pid.num, proc);
        if let Some((parent, link, monitor)) = parent {
            if link {
                self.link(parent, proc);
            }
            if monitor {
                self.add_watcher(parent, proc);
            }
        }
        self.queue(task);
        log::debug!(
            "spawn {} entry {}",
            self.pid_string(pid),
            self.entries[entry as usize].id
        );
        if self.tracer.is_on() {
            let parent = parent.map(|(p, _, _)| self.pid_field(self.procs[p].pid));
            let fields = [
                ("pid", self.pid_field(pid)),
                ("entry", self.entries[entry as usize].id.clone().into()),
                ("parent", parent.unwrap_or_default()),
            ];
            self.trace("spawn", &fields);
        }
        Ok(pid)
    }

    /// Adds an extra task to `proc` running `thread` (`coroutine.spawn`).
    pub fn spawn_task(&mut self, proc: ProcId, thread: Thread) -> mlua::Result<()> {
        self.task_threads.insert(thread.to_pointer() as usize);
        let task = self.tasks.insert(Task {
            proc,
            thread: Some(thread),
            queued: false,
            wait: None,
            resume: Resume::Nothing,
        });
        self.procs[proc].tasks.push(task);
        self.queue(task);
        Ok(())
    }

    // ----- links and monitors ---------------------------------------------------------------

    /// Links two live processes (idempotent).
    pub fn link(&mut self, a: ProcId, b: ProcId) {
        if a == b {
            return;
        }
        self.procs[a].links.insert(b);
        self.procs[b].links.insert(a);
    }

    /// Removes a link (no-op when absent).
    pub fn unlink(&mut self, a: ProcId, b: ProcId) {
        if let Some(p) = self.procs.get_mut(a) {
            p.links.remove(&b);
        }
        if let Some(p) = self.procs.get_mut(b) {
            p.links.remove(&a);
        }
    }

    /// Makes `watcher` monitor `target`; false when it already does.
    pub fn monitor(&mut self, watcher: ProcId, target: ProcId) -> bool {
        if self.procs[target].watchers.contains(&watcher) {
            return false;
        }
        self.add_watcher(watcher, target);
        true
    }

    /// Adds `watcher` to `target`'s monitors without the duplicate check (a fresh child
    /// cannot be monitored yet), pruning ended watchers as the list grows.
    pub fn add_watcher(&mut self, watcher: ProcId, target: ProcId) {
        let n = self.procs[target].watchers.len();
        if n >= 16 && n.is_power_of_two() {
            let mut list = std::mem::take(&mut self.procs[target].watchers);
            list.retain(|w| self.procs.contains_key(*w));
            self.procs[target].watchers = list;
        }
        self.procs[target].watchers.push(watcher);
    }

    /// Stops `watcher` monitoring `target`.
    pub fn unmonitor(&mut self, watcher: ProcId, target: ProcId) {
        if let Some(p) = self.procs.get_mut(target) {
            p.watchers.retain(|x| *x != watcher);
        }
    }
}

mod chans;
mod exit;
mod mail;
