//! The records the core keeps: processes, tasks, subscriptions, channels, parked
//! operations and armed timers. Records refer to each other only by arena key; a stale key
//! means the record is gone. Created and destroyed only by the core's verbs.

use crate::channel::Channel;
use crate::context::SpawnContext;
use crate::hostbox::HostQueue;
use crate::ids::{ChanId, KeySet, PidRef, PidText, ProcId, TaskId, TimerId, WaitId};
use crate::limits::Limits;
use crate::message::{ChanKind, Item};
use crate::payload::Payload;
use crate::request::{Outcome, Request};
use mlua::{AnyUserData, Table, Thread};
use smallvec::SmallVec;
use std::collections::BTreeSet;
use std::rc::Rc;

use super::owned::Owned;

/// What a task is resumed with next.
#[derive(Debug, Default)]
pub enum Resume {
    /// Nothing (first run of an extra task, or after preemption).
    #[default]
    Nothing,
    /// First run of a main task: the entry to run and its copied arguments.
    Start {
        /// Entry index.
        entry: u32,
        /// Host index (decides which standard modules the process gets).
        host: u32,
        /// Spawn arguments.
        args: Vec<Payload>,
    },
    /// The completion of the request the task blocked on.
    Outcome(Outcome),
}

/// One schedulable coroutine.
#[derive(Debug)]
pub struct Task {
    /// Owning process.
    pub proc: ProcId,
    /// The coroutine; taken out while it runs.
    pub thread: Option<Thread>,
    /// Whether the task is in the run queue (queue at most once).
    pub queued: bool,
    /// What a binding asked for before yielding; the scheduler parks the task on it.
    pub request: Option<Request>,
    /// The operation it is parked on; set by the scheduler, cleared on wake.
    pub wait: Option<WaitId>,
    /// Whether its last yield was a blocking request's (so the next resume delivers the
    /// outcome); false after a preemption or a bare `coroutine.yield`.
    pub blocked: bool,
    /// Whether that blocking yield came from a hot binding's own block, whose continuation
    /// can build a received value on the task's stack (`ffi::hot`'s TAKE); never without
    /// `blocked`.
    pub in_c: bool,
    /// What the next resume delivers; set on wake.
    pub resume: Resume,
}

/// A topic subscription made with `process.listen`.
#[derive(Debug)]
pub struct Listener {
    /// The topic.
    pub topic: Box<str>,
    /// The channel messages on the topic go to.
    pub chan: ChanId,
    /// The channel object handed to Lua (same object on every `listen`).
    pub obj: AnyUserData,
}

/// A live process.
#[derive(Debug)]
pub struct Process {
    /// User-visible identity.
    pub pid: PidRef,
    /// Its PID string, made once at spawn: every PID string of a live process is this
    /// one, and a send to it is recognised by comparing with it (`dest.rs`).
    pub pid_text: PidText,
    /// Where the PID string it last sent to sits, and the process it named (`dest.rs`).
    pub last_dest: (usize, ProcId),
    /// Entry index it runs.
    pub entry: u32,
    /// The task whose return ends the process.
    pub main: TaskId,
    /// Extra tasks from `coroutine.spawn`; removed as they finish.
    pub tasks: SmallVec<[TaskId; 1]>,
    /// Inbox channel, created on first message or `process.inbox()`.
    pub inbox: Option<ChanId>,
    /// The inbox's Lua object, cached so every call returns the same one.
    pub inbox_obj: Option<AnyUserData>,
    /// Events channel, created on first event or `process.events()`.
    pub events: Option<ChanId>,
    /// The events channel's Lua object.
    pub events_obj: Option<AnyUserData>,
    /// Topic subscriptions.
    pub listeners: Vec<Listener>,
    /// Linked processes (symmetric); a set so a parent of many linked children can drop
    /// each one in log time.
    pub links: BTreeSet<ProcId>,
    /// Processes that monitor this one (they get its EXIT), in monitoring order. A watcher
    /// that ended may linger until the list is pruned; it gets nothing.
    pub watchers: SmallVec<[ProcId; 2]>,
    /// Registered names, released at exit.
    pub names: SmallVec<[Box<str>; 1]>,
    /// `trap_links` option.
    pub trap_links: bool,
    /// Pending abnormal end (terminate or linked failure), applied at the next
    /// scheduling point.
    pub kill: Option<String>,
    /// Channels created in this process's world; freed at exit (their buffers may hold
    /// references that would keep them alive forever). Added by `new_chan`, removed when a
    /// channel is freed before (sweep, a call's reply, an upgrade's private channels); each
    /// record stores its position.
    pub chans: Owned<ChanId>,
    /// Armed timers owned by this process; cancelled at exit. Added by `arm`, removed when
    /// a timer fires or is disarmed; each timer's task stores its position.
    pub timers: Owned<TimerId>,
    /// Arrival counter for messages.
    pub msg_seq: u64,
    /// Messages waiting in its channels' buffers (checked against the mailbox limit).
    pub mailbox: usize,
    /// Their size: waiting messages count against the host's memory limit.
    pub mailbox_bytes: usize,
    /// Lua heap growth charged to it: what its slices allocated minus what they freed.
    pub heap: usize,
    /// Instructions it may still run (`None`: unbounded), counted by the hook.
    pub instructions_left: Option<u64>,
    /// Timers and channels made since a quota last forced a collection (see `quota.rs`).
    pub made_since_collect: usize,
    /// Values waiting in the buffers of its user channels (see `quota.rs`).
    pub buffered: usize,
    /// Instructions it has run so far (`process.info`), added up after each resume.
    pub instructions_run: u64,
    /// Processes it monitors (the reverse of their `watchers`); kept by monitor, unmonitor
    /// and the targets' exits, read only by introspection (which sorts it). A hash set, so
    /// a parent monitoring many children adds and drops each one in constant time (a
    /// B-tree's insert and remove cost ~850 instructions per child of `spawn_exit`).
    pub monitoring: KeySet<ProcId>,
    /// The process that spawned it (`None`: spawned from Rust); written once at spawn.
    pub parent: Option<PidRef>,
    /// Runtime-clock wall time of its spawn in unix nanoseconds; written once at spawn.
    pub started_at: i64,
    /// Successful `process.upgrade` calls so far.
    pub upgrades: u32,
    /// Spawn context (values, actor, scope; SPEC §10.1), set at spawn and never changed;
    /// `None` when it carries nothing.
    pub context: Option<Rc<SpawnContext>>,
    /// For a host mailbox (a process without a coroutine): where its deliveries go.
    pub sink: Option<Rc<HostQueue>>,
    /// Its globals table, bound by its main task as it starts (`envs.rs`).
    pub env: Option<Table>,
    /// Its `require` cache, made on the first `require` of a module.
    pub loaded: Option<Table>,
}

/// A parked operation's place in a channel's wait list.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Waiter {
    /// The parked operation.
    pub wait: WaitId,
    /// Index of the case (0 for plain receive/send).
    pub case: u32,
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
    /// Whether it is a select (the outcome names the case).
    pub select: bool,
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
    /// Its position in its owner's `chans`.
    pub pos: u32,
}

impl Process {
    /// Whether `c` is one of the channels the process itself reads from: its inbox, its
    /// events channel or a `listen` channel (kept while the process lives, whatever
    /// becomes of their Lua objects, and across an upgrade).
    pub fn is_process_chan(&self, c: ChanId) -> bool {
        self.inbox == Some(c)
            || self.events == Some(c)
            || self.listeners.iter().any(|l| l.chan == c)
    }
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

impl Fire {
    /// The trace name of what the timer does.
    pub fn kind(self) -> &'static str {
        match self {
            Fire::Wake(_) => "sleep",
            Fire::After(_) => "after",
            Fire::Tick { .. } => "tick",
        }
    }
}

/// An armed timer's payload.
#[derive(Debug, Clone, Copy)]
pub struct TimerTask {
    /// Process the timer dies with.
    pub owner: ProcId,
    /// What firing does.
    pub fire: Fire,
    /// Its position in its owner's `timers`.
    pub pos: u32,
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
    /// Whether scripts may spawn on it (false for `host`, where host mailboxes live).
    pub spawnable: bool,
}
