//! The runtime core: every live record of one runtime and the operations on them.
//!
//! `Core` owns the arenas (processes, tasks, channels, waits), the run queue, the timer heap,
//! the name registry and the clock. It lives in the Lua state's app data as the one `RefCell`
//! the bindings borrow for the shortest span; the scheduler drops its borrow before every
//! resume. Bindings describe (park a task, queue a message); only the scheduler resumes.
//! Everything that wakes a task ends in [`Core::complete`], the one wake path.

use crate::clock::Clock;
use crate::channel::{Channel, Recv, Send};
use crate::lua::channel::ChanRef;
use crate::lua::process::MsgObj;
use crate::lua::time::TimeObj;
use crate::payload::Payload;
use crate::process::*;
use crate::registry::Registry;
use crate::timer::TimerHeap;
use mlua::{AnyUserData, Function, Lua, Table, Thread, Value};
use slotmap::SlotMap;
use smallvec::{SmallVec, smallvec};
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, VecDeque};
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
    /// Most processes it may hold.
    pub max: Option<u64>,
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
}

/// Lua handles the core needs to build values.
#[derive(Debug)]
pub struct LuaHandles {
    /// Function every main task starts in (`proc_main` of the prelude).
    pub proc_main: Function,
    /// Metatable of `event.result` tables (`__tostring`).
    pub result_mt: Table,
    /// Metatable of message objects' method table lives on the userdata type; this is the
    /// weak set of task threads user code may not resume.
    pub task_threads: Table,
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
}

/// Most finished coroutines kept for reuse.
const THREAD_POOL_MAX: usize = 4096;

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
        }
    }

    // ----- identity -------------------------------------------------------------------------

    /// The process of the running task.
    pub fn current_proc(&self) -> Option<ProcId> {
        self.current
            .and_then(|t| self.tasks.get(t))
            .map(|t| t.proc)
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
        if let Ok(name) = std::str::from_utf8(dest) {
            if let Some(p) = self.names.lookup(name) {
                return Ok(p);
            }
        }
        Err(format!(
            "could not resolve '{}' as PID or registered name",
            String::from_utf8_lossy(dest)
        ))
    }

    // ----- run queue ------------------------------------------------------------------------

    /// Puts a task at the back of the run queue unless it is already queued.
    pub fn queue(&mut self, t: TaskId) {
        if let Some(task) = self.tasks.get_mut(t) {
            if !task.queued {
                task.queued = true;
                self.run_queue.push_back(t);
            }
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
        if h.max.is_some_and(|m| h.live >= m) {
            return Err("max processes limit exceeded".into());
        }
        let thread = match self.thread_pool.pop() {
            Some(t) => t,
            None => lua
                .create_thread(self.lua.proc_main.clone())
                .map_err(|e| e.to_string())?,
        };
        self.lua
            .task_threads
            .raw_set(thread.clone(), true)
            .map_err(|e| e.to_string())?;
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
            timers: SmallVec::new(),
            msg_seq: 0,
        });
        let task = self.tasks.insert(Task {
            proc,
            thread: Some(thread),
            queued: false,
            wait: None,
            resume: Resume::Start { entry, args },
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
        log::debug!("spawn {} entry {}", self.pid_string(pid), self.entries[entry as usize].id);
        Ok(pid)
    }

    /// Adds an extra task to `proc` running `thread` (`coroutine.spawn`).
    pub fn spawn_task(&mut self, proc: ProcId, thread: Thread) -> mlua::Result<()> {
        self.lua.task_threads.raw_set(thread.clone(), true)?;
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

    // ----- channels -------------------------------------------------------------------------

    /// Creates a channel owned by `owner`.
    pub fn new_chan(&mut self, owner: ProcId, kind: ChanKind, cap: usize) -> ChanId {
        self.chans.insert(Chan {
            owner,
            kind,
            q: Channel::new(cap),
            timer: None,
        })
    }

    /// Wraps a channel id in a new Lua object.
    pub fn chan_object(&self, lua: &Lua, id: ChanId) -> mlua::Result<AnyUserData> {
        lua.create_any_userdata(ChanRef {
            id,
            grave: self.graveyard.clone(),
        })
    }

    /// The process's inbox channel, created on first use.
    pub fn inbox(&mut self, proc: ProcId) -> ChanId {
        if let Some(c) = self.procs[proc].inbox {
            return c;
        }
        let c = self.new_chan(proc, ChanKind::Inbox, usize::MAX);
        self.procs[proc].inbox = Some(c);
        c
    }

    /// The process's events channel, created on first use.
    pub fn events(&mut self, proc: ProcId) -> ChanId {
        if let Some(c) = self.procs[proc].events {
            return c;
        }
        let c = self.new_chan(proc, ChanKind::Events, usize::MAX);
        self.procs[proc].events = Some(c);
        c
    }

    /// Turns a channel item into the Lua value a receiver sees.
    pub fn item_to_lua(&self, lua: &Lua, kind: ChanKind, item: Item) -> mlua::Result<Value> {
        match item {
            Item::Lua(v) => Ok(v),
            Item::Msg(m) => match kind {
                ChanKind::Listen { message: false } => raw_payload(lua, &m.payloads),
                _ => {
                    let from = m.from.map(|p| self.pid_string(p)).unwrap_or_default();
                    Ok(Value::UserData(lua.create_userdata(MsgObj { msg: m, from })?))
                }
            },
            Item::Event(e) => self.event_table(lua, &e).map(Value::Table),
        }
    }

    fn event_table(&self, lua: &Lua, e: &Event) -> mlua::Result<Table> {
        let t = lua.create_table_with_capacity(0, 6)?;
        let kind = match e.kind {
            EventKind::Exit => "pid.exit",
            EventKind::LinkDown => "pid.link.down",
            EventKind::Cancel => "pid.cancel",
        };
        t.raw_set("kind", kind)?;
        t.raw_set("from", self.pid_string(e.from))?;
        t.raw_set("at", e.at_ns.div_euclid(1_000_000_000))?;
        if let Some(exit) = &e.exit {
            let r = lua.create_table_with_capacity(0, 2)?;
            match exit {
                Exit::Normal(v) => r.raw_set("value", v.to_lua(lua)?)?,
                Exit::Error(msg) => {
                    r.raw_set("error", msg.as_str())?;
                    t.raw_set("error", msg.as_str())?;
                }
            }
            r.set_metatable(Some(self.lua.result_mt.clone()))?;
            t.raw_set("result", r)?;
        } else {
            t.raw_set("reason", &*e.reason)?;
        }
        Ok(t)
    }

    /// Receives from a channel for the current task: `Some((value, ok))` at once, or `None`
    /// after parking the task.
    pub fn recv(&mut self, lua: &Lua, chan: ChanId) -> mlua::Result<Option<(Value, bool)>> {
        let c = &mut self.chans[chan];
        let kind = c.kind;
        match c.q.try_recv() {
            Recv::Item { item, woke } => {
                if let Some(w) = woke {
                    self.complete(lua, w, Outcome::Sent)?;
                }
                Ok(Some((self.item_to_lua(lua, kind, item)?, true)))
            }
            Recv::Closed => Ok(Some((Value::Nil, false))),
            Recv::Empty => {
                let w = self.park(WaitMode::Recv, smallvec![chan]);
                self.chans[chan].q.park_recv(Waiter { wait: w, case: 0 });
                Ok(None)
            }
        }
    }

    /// Sends on a channel for the current task: `Ok(true)` when done, `Ok(false)` after
    /// parking, `Err(())` when the channel is closed.
    pub fn send(&mut self, lua: &Lua, chan: ChanId, v: Value) -> mlua::Result<Result<bool, ()>> {
        match self.chans[chan].q.try_send(Item::Lua(v)) {
            Send::Handoff { to, item } => {
                let kind = self.chans[chan].kind;
                let v = self.item_to_lua(lua, kind, item)?;
                self.complete(lua, to, Outcome::Received(v, true))?;
                Ok(Ok(true))
            }
            Send::Buffered => Ok(Ok(true)),
            Send::Closed(_) => Ok(Err(())),
            Send::Full(item) => {
                let w = self.park(WaitMode::Send, smallvec![chan]);
                self.chans[chan].q.park_send(Waiter { wait: w, case: 0 }, item);
                Ok(Ok(false))
            }
        }
    }

    /// Puts an item on a channel from outside any task (mailbox delivery, events, timers):
    /// hands it to a parked receiver or buffers it; a full channel drops it.
    pub fn offer(&mut self, lua: &Lua, chan: ChanId, item: Item) -> mlua::Result<bool> {
        let Some(c) = self.chans.get_mut(chan) else {
            return Ok(false);
        };
        let kind = c.kind;
        match c.q.try_send(item) {
            Send::Handoff { to, item } => {
                let v = self.item_to_lua(lua, kind, item)?;
                self.complete(lua, to, Outcome::Received(v, true))?;
                Ok(true)
            }
            Send::Buffered => Ok(true),
            Send::Full(_) | Send::Closed(_) => Ok(false),
        }
    }

    /// Runs a select for the current task. `cases` are `(channel, value to send)`; returns
    /// `Some((index, value, ok))` for the first ready case in order, or `None` after parking
    /// on all of them (or when `default` is set and nothing is ready: `Some((0, nil, true))`).
    ///
    /// # Errors
    /// `Err(index)` when a send case's channel is closed.
    #[allow(clippy::type_complexity)]
    pub fn select(
        &mut self,
        lua: &Lua,
        cases: Vec<(ChanId, Option<Value>)>,
        default: bool,
    ) -> mlua::Result<Result<Option<(u32, Value, bool)>, u32>> {
        for (i, (chan, send)) in cases.iter().enumerate() {
            let q = &self.chans[*chan].q;
            match send {
                None if q.can_recv() => {
                    let (v, ok) = self.recv(lua, *chan)?.expect("can_recv said ready");
                    return Ok(Ok(Some((i as u32 + 1, v, ok))));
                }
                Some(_) if q.is_closed() => return Ok(Err(i as u32 + 1)),
                Some(v) if q.can_send() => {
                    let done = self.send(lua, *chan, v.clone())?;
                    debug_assert_eq!(done, Ok(true));
                    return Ok(Ok(Some((i as u32 + 1, Value::Nil, true))));
                }
                _ => {}
            }
        }
        if default {
            return Ok(Ok(Some((0, Value::Nil, true))));
        }
        let chans: SmallVec<[ChanId; 2]> = cases.iter().map(|c| c.0).collect();
        let w = self.park(WaitMode::Select, chans);
        for (i, (chan, send)) in cases.into_iter().enumerate() {
            let waiter = Waiter {
                wait: w,
                case: i as u32,
            };
            match send {
                None => self.chans[chan].q.park_recv(waiter),
                Some(v) => self.chans[chan].q.park_send(waiter, Item::Lua(v)),
            }
        }
        Ok(Ok(None))
    }

    /// Parks the current task on a sleep until runtime nanosecond `deadline`.
    pub fn sleep(&mut self, deadline: u64) {
        let w = self.park(WaitMode::Sleep, SmallVec::new());
        let owner = self.waits[w].task;
        let owner = self.tasks[owner].proc;
        let t = self.arm(owner, deadline, Fire::Wake(w));
        self.waits[w].timer = Some(t);
    }

    fn park(&mut self, mode: WaitMode, chans: SmallVec<[ChanId; 2]>) -> WaitId {
        let task = self.current.expect("blocking call outside a task");
        let w = self.waits.insert(Wait {
            task,
            chans,
            timer: None,
            mode,
        });
        self.tasks[task].wait = Some(w);
        w
    }

    /// Completes a parked operation: withdraws its other cases, disarms its timer, and queues
    /// its task with the resume values. The one wake path.
    pub fn complete(&mut self, lua: &Lua, w: Waiter, outcome: Outcome) -> mlua::Result<()> {
        let Some(wait) = self.withdraw(w.wait) else {
            return Ok(());
        };
        let vals: SmallVec<[Value; 3]> = match (wait.mode, outcome) {
            (WaitMode::Recv, Outcome::Received(v, ok)) => smallvec![v, Value::Boolean(ok)],
            (WaitMode::Send, Outcome::SendClosed) => smallvec![
                Value::Nil,
                Value::String(lua.create_string("send on closed channel")?)
            ],
            (WaitMode::Select, Outcome::Received(v, ok)) => {
                smallvec![Value::Integer(w.case as i64 + 1), v, Value::Boolean(ok)]
            }
            (WaitMode::Select, Outcome::Sent) => {
                smallvec![Value::Integer(w.case as i64 + 1), Value::Nil, Value::Boolean(true)]
            }
            (WaitMode::Select, Outcome::SendClosed) => {
                smallvec![Value::Integer(w.case as i64 + 1), Value::Nil, Value::Boolean(false)]
            }
            _ => smallvec![Value::Boolean(true)],
        };
        if let Some(task) = self.tasks.get_mut(wait.task) {
            task.resume = Resume::Values(vals);
        }
        self.queue(wait.task);
        Ok(())
    }

    /// Removes a parked operation from every channel and timer it waits on.
    fn withdraw(&mut self, w: WaitId) -> Option<Wait> {
        let wait = self.waits.remove(w)?;
        for c in &wait.chans {
            if let Some(ch) = self.chans.get_mut(*c) {
                ch.q.withdraw_where(|x| x.wait == w);
            }
        }
        if let Some(t) = wait.timer {
            self.disarm(t);
        }
        if let Some(task) = self.tasks.get_mut(wait.task) {
            task.wait = None;
        }
        Some(wait)
    }

    /// Closes a channel, waking its parked receivers (`nil, false`) and senders.
    pub fn close(&mut self, lua: &Lua, chan: ChanId) -> mlua::Result<()> {
        let Some(c) = self.chans.get_mut(chan) else {
            return Ok(());
        };
        let (recvs, sends) = c.q.close();
        for r in recvs {
            self.complete(lua, r, Outcome::Received(Value::Nil, false))?;
        }
        for s in sends {
            self.complete(lua, s, Outcome::SendClosed)?;
        }
        Ok(())
    }

    /// Frees channels whose Lua objects were collected.
    pub fn sweep(&mut self) {
        let dead = std::mem::take(&mut *self.graveyard.borrow_mut());
        for id in dead {
            if let Some(c) = self.chans.get(id) {
                let attached = self.procs.get(c.owner).is_some_and(|p| {
                    p.inbox == Some(id)
                        || p.events == Some(id)
                        || p.listeners.iter().any(|l| l.chan == id)
                });
                if attached {
                    continue;
                }
                if let Some(t) = c.timer {
                    self.disarm(t);
                }
                self.chans.remove(id);
            }
        }
    }

    // ----- messages -------------------------------------------------------------------------

    /// Delivers a message to `to`'s mailbox, routed by topic at this moment.
    pub fn deliver(
        &mut self,
        lua: &Lua,
        to: ProcId,
        from: Option<PidRef>,
        topic: Box<str>,
        payloads: SmallVec<[Payload; 1]>,
    ) -> mlua::Result<()> {
        let p = &mut self.procs[to];
        p.msg_seq += 1;
        let seq = p.msg_seq;
        let chan = match p.listeners.iter().find(|l| *l.topic == *topic) {
            Some(l) => l.chan,
            None => self.inbox(to),
        };
        let msg = Message {
            seq,
            from,
            topic,
            payloads,
        };
        self.offer(lua, chan, Item::Msg(Box::new(msg)))?;
        Ok(())
    }

    /// Subscribes the process to a topic, moving already-waiting inbox messages on it.
    pub fn listen(
        &mut self,
        lua: &Lua,
        proc: ProcId,
        topic: &str,
        message: bool,
    ) -> mlua::Result<AnyUserData> {
        if let Some(l) = self.procs[proc].listeners.iter().find(|l| &*l.topic == topic) {
            let (chan, obj) = (l.chan, l.obj.clone());
            self.chans[chan].kind = ChanKind::Listen { message };
            return Ok(obj);
        }
        let chan = self.new_chan(proc, ChanKind::Listen { message }, usize::MAX);
        let obj = self.chan_object(lua, chan)?;
        if let Some(inbox) = self.procs[proc].inbox {
            let moved = self.chans[inbox].q.extract(|i| is_topic(i, topic));
            for m in moved {
                self.chans[chan].q.push_back_unchecked(m);
            }
        }
        self.procs[proc].listeners.push(Listener {
            topic: topic.into(),
            chan,
            obj: obj.clone(),
        });
        Ok(obj)
    }

    /// Removes the subscription whose channel is `chan` and closes it; the message it had
    /// taken stays receivable, later ones go back to the inbox in arrival order.
    pub fn unlisten(&mut self, lua: &Lua, proc: ProcId, chan: ChanId) -> mlua::Result<bool> {
        let p = &mut self.procs[proc];
        let Some(i) = p.listeners.iter().position(|l| l.chan == chan) else {
            return Ok(false);
        };
        p.listeners.remove(i);
        let mut rest: Vec<Item> = self.chans[chan].q.drain().collect();
        let kept = if rest.is_empty() { None } else { Some(rest.remove(0)) };
        self.close(lua, chan)?;
        if let Some(k) = kept {
            self.chans[chan].q.push_front(k);
        }
        if !rest.is_empty() {
            let inbox = self.inbox(proc);
            let buf = self.chans[inbox].q.buffer_mut();
            buf.extend(rest);
            buf.make_contiguous().sort_by_key(item_seq);
            self.pump(lua, inbox)?;
        }
        Ok(true)
    }

    /// Hands buffered items of a feed channel to its parked receivers, oldest first.
    fn pump(&mut self, lua: &Lua, chan: ChanId) -> mlua::Result<()> {
        loop {
            let c = &mut self.chans[chan];
            if c.q.is_empty() || !c.q.has_receivers() {
                return Ok(());
            }
            let item = c.q.buffer_mut().pop_front().expect("checked non-empty");
            self.offer(lua, chan, item)?;
        }
    }

    /// Queues an event on `to`'s events channel.
    pub fn push_event(&mut self, lua: &Lua, to: ProcId, ev: Event) -> mlua::Result<()> {
        if !self.procs.contains_key(to) {
            return Ok(());
        }
        let chan = self.events(to);
        self.offer(lua, chan, Item::Event(Box::new(ev)))?;
        Ok(())
    }

    // ----- timers ---------------------------------------------------------------------------

    /// Arms a timer owned by `owner`.
    pub fn arm(&mut self, owner: ProcId, deadline: u64, fire: Fire) -> TimerId {
        let t = self.timers.insert(deadline, TimerTask { owner, fire });
        if let Some(p) = self.procs.get_mut(owner) {
            p.timers.push(t);
        }
        t
    }

    /// Disarms a timer; true when it was still armed.
    pub fn disarm(&mut self, t: TimerId) -> bool {
        match self.timers.cancel(t) {
            Some(task) => {
                if let Some(p) = self.procs.get_mut(task.owner) {
                    p.timers.retain(|x| *x != t);
                }
                true
            }
            None => false,
        }
    }

    /// Fires every timer due at the clock's current time; returns how many fired.
    pub fn fire_due(&mut self, lua: &Lua) -> mlua::Result<usize> {
        let now = self.clock.now();
        let mut n = 0;
        while let Some((id, deadline, task)) = self.timers.pop_due(now) {
            n += 1;
            if let Some(p) = self.procs.get_mut(task.owner) {
                p.timers.retain(|x| *x != id);
            } else {
                continue;
            }
            self.fire(lua, deadline, task)?;
        }
        Ok(n)
    }

    fn fire(&mut self, lua: &Lua, deadline: u64, task: TimerTask) -> mlua::Result<()> {
        match task.fire {
            Fire::Wake(w) => {
                if let Some(wait) = self.waits.get_mut(w) {
                    wait.timer = None;
                    self.complete(lua, Waiter { wait: w, case: 0 }, Outcome::Slept)?;
                }
            }
            Fire::After(chan) => {
                if let Some(c) = self.chans.get_mut(chan) {
                    c.timer = None;
                    let t = self.time_value(lua)?;
                    self.offer(lua, chan, Item::Lua(t))?;
                    self.close(lua, chan)?;
                }
            }
            Fire::Tick { chan, period } => {
                if self.chans.get(chan).is_some_and(|c| !c.q.is_closed()) {
                    let t = self.time_value(lua)?;
                    self.offer(lua, chan, Item::Lua(t))?;
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
        Ok(())
    }

    /// A Time userdata for the clock's current wall time.
    pub fn time_value(&self, lua: &Lua) -> mlua::Result<Value> {
        Ok(Value::UserData(lua.create_userdata(TimeObj(
            self.clock.wall_ns(),
        ))?))
    }

    // ----- exits ----------------------------------------------------------------------------

    /// Marks a process to end abnormally with `reason` at its next scheduling point, waking
    /// it if it is parked.
    pub fn kill(&mut self, proc: ProcId, reason: &str) {
        let Some(p) = self.procs.get_mut(proc) else {
            return;
        };
        if p.kill.is_none() {
            p.kill = Some(reason.to_string());
        }
        let main = p.main;
        self.queue(main);
    }

    /// Ends a process: unroutable, names released, EXIT to monitors, LINK_DOWN or kill to
    /// links if abnormal, then everything it owned dropped (SPEC §2.3 order).
    pub fn end_process(
        &mut self,
        lua: &Lua,
        proc: ProcId,
        exit: Exit,
        traceback: Option<String>,
    ) -> mlua::Result<()> {
        let Some(p) = self.procs.get(proc) else {
            return Ok(());
        };
        let pid = p.pid;
        log::debug!("exit {} {:?}", self.pid_string(pid), exit);
        self.pids.remove(&pid.num);
        let names = std::mem::take(&mut self.procs[proc].names);
        for n in names {
            self.names.unregister(&n);
        }
        let at_ns = self.clock.wall_ns();
        let watchers = std::mem::take(&mut self.procs[proc].watchers);
        for w in watchers {
            let ev = Event {
                kind: EventKind::Exit,
                from: pid,
                exit: Some(exit.clone()),
                reason: "".into(),
                at_ns,
            };
            self.push_event(lua, w, ev)?;
        }
        let links = std::mem::take(&mut self.procs[proc].links);
        for l in links {
            let Some(lp) = self.procs.get_mut(l) else {
                continue;
            };
            lp.links.remove(&proc);
            if exit.is_normal() {
                continue;
            }
            if lp.trap_links {
                let ev = Event {
                    kind: EventKind::LinkDown,
                    from: pid,
                    exit: Some(exit.clone()),
                    reason: "".into(),
                    at_ns,
                };
                self.push_event(lua, l, ev)?;
            } else {
                self.kill(l, "linked process failed");
            }
        }
        self.drop_process(proc);
        if self.root == Some(proc) {
            self.root_exit = Some(RootExit { exit, traceback });
        }
        Ok(())
    }

    fn drop_process(&mut self, proc: ProcId) {
        let p = self.procs.remove(proc).expect("end_process checked it");
        for t in p.timers {
            self.timers.cancel(t);
        }
        for t in std::iter::once(p.main).chain(p.tasks) {
            if let Some(task) = self.tasks.get(t) {
                if let Some(w) = task.wait {
                    self.withdraw(w);
                }
                if let Some(th) = self.tasks.remove(t).and_then(|t| t.thread) {
                    let _ = self.lua.task_threads.raw_set(th, Value::Nil);
                }
            }
        }
        for c in [p.inbox, p.events].into_iter().flatten() {
            self.chans.remove(c);
        }
        for l in p.listeners {
            self.chans.remove(l.chan);
        }
        if let Some(h) = self.hosts.get_mut(p.pid.host as usize) {
            h.live = h.live.saturating_sub(1);
        }
    }

    /// Keeps a finished coroutine for reuse by a later spawn.
    pub fn recycle(&mut self, thread: Thread) {
        let _ = self.lua.task_threads.raw_set(thread.clone(), Value::Nil);
        if self.thread_pool.len() < THREAD_POOL_MAX
            && thread.reset(self.lua.proc_main.clone()).is_ok()
        {
            self.thread_pool.push(thread);
        }
    }

    /// Whether anything can still happen without outside input: a runnable task or an armed
    /// timer of a live process.
    pub fn has_work(&self) -> bool {
        !self.run_queue.is_empty() || !self.timers.is_empty()
    }
}

fn raw_payload(lua: &Lua, payloads: &[Payload]) -> mlua::Result<Value> {
    match payloads {
        [] => Ok(Value::Nil),
        [one] => one.to_lua(lua),
        many => {
            let t = lua.create_table_with_capacity(many.len(), 0)?;
            for (i, p) in many.iter().enumerate() {
                t.raw_set(i + 1, p.to_lua(lua)?)?;
            }
            Ok(Value::Table(t))
        }
    }
}

fn is_topic(item: &Item, topic: &str) -> bool {
    matches!(item, Item::Msg(m) if &*m.topic == topic)
}

fn item_seq(item: &Item) -> u64 {
    match item {
        Item::Msg(m) => m.seq,
        _ => 0,
    }
}
