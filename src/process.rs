//! Process records: identities, tasks, messages, events and exits.
//!
//! A process is a record in the core's slotmap arena plus one or more tasks (Lua coroutines
//! the scheduler resumes): the main task runs the entry's method, extra tasks come from
//! `coroutine.spawn`. Records refer to each other only by slotmap key; a stale key means the
//! process is gone. Created by `Core::spawn`, destroyed by `Core::end_process`.

use crate::payload::Payload;
use mlua::{AnyUserData, Thread, Value};
use slotmap::new_key_type;
use smallvec::SmallVec;
use std::collections::BTreeSet;

new_key_type! {
    /// A process in the arena.
    pub struct ProcId;
    /// A task (one schedulable coroutine of a process).
    pub struct TaskId;
    /// A channel.
    pub struct ChanId;
    /// A parked receive, send, select or sleep.
    pub struct WaitId;
    /// An armed timer.
    pub struct TimerId;
}

/// The user-visible identity of a process: host index and a number never reused in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PidRef {
    /// Index of the host in the core's host table.
    pub host: u32,
    /// Sequence number, unique within the run.
    pub num: u64,
}

/// A message waiting in a mailbox-fed channel.
#[derive(Debug)]
pub struct Message {
    /// Arrival order at the receiving process (keeps order when re-routing).
    pub seq: u64,
    /// Sender, if the message came from a process.
    pub from: Option<PidRef>,
    /// The sender's topic.
    pub topic: Box<str>,
    /// One payload per extra argument of `send`.
    pub payloads: SmallVec<[Payload; 1]>,
    /// Size of the payloads as the payload limit counts it.
    pub bytes: usize,
}

/// Which lifecycle event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A monitored process ended (`pid.exit`).
    Exit,
    /// A linked process failed and this process traps links (`pid.link.down`).
    LinkDown,
    /// Another process asked this one to cancel (`pid.cancel`).
    Cancel,
}

/// A lifecycle event waiting in a process's events channel.
#[derive(Debug)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// The process it concerns (the one that ended, or the one that asked to cancel).
    pub from: PidRef,
    /// How the process ended (EXIT and LINK_DOWN).
    pub exit: Option<Exit>,
    /// CANCEL's reason.
    pub reason: Box<str>,
    /// Unix time of the event in nanoseconds.
    pub at_ns: i64,
}

impl Event {
    /// An EXIT or LINK_DOWN event about `from`, which ended with `exit`.
    pub fn ended(kind: EventKind, from: PidRef, exit: &Exit, at_ns: i64) -> Event {
        Event {
            kind,
            from,
            exit: Some(exit.clone()),
            reason: "".into(),
            at_ns,
        }
    }
}

/// How a process ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Exit {
    /// Returned normally; a copy of the first return value.
    Normal(Payload),
    /// Failed: raised, returned an error string, was terminated or killed by a link.
    Error(String),
}

impl Exit {
    /// Whether the exit was normal (links are not notified).
    pub fn is_normal(&self) -> bool {
        matches!(self, Exit::Normal(_))
    }
}

/// Something a channel buffers: a Lua value, or a mailbox message or event that becomes a
/// Lua value only when a receiver takes it.
#[derive(Debug)]
pub enum Item {
    /// A value sent with `ch:send` (or a timer's Time).
    Lua(Value),
    /// A message from `process.send`.
    Msg(Box<Message>),
    /// A lifecycle event.
    Event(Box<Event>),
}

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
    /// The results of the operation the task blocked on.
    Values(SmallVec<[Value; 3]>),
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
    /// The operation it is parked on; set by a blocking binding, cleared on wake.
    pub wait: Option<WaitId>,
    /// Arguments for the next resume; set on wake.
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
    /// references that would keep them alive forever).
    pub chans: BTreeSet<ChanId>,
    /// Armed timers owned by this process; cancelled at exit.
    pub timers: BTreeSet<TimerId>,
    /// Arrival counter for messages.
    pub msg_seq: u64,
    /// Messages waiting in its channels' buffers (checked against the mailbox limit).
    pub mailbox: usize,
    /// Their size: waiting messages count against the host's memory limit.
    pub mailbox_bytes: usize,
    /// Lua heap growth charged to it: what its slices allocated minus what they freed.
    pub heap: usize,
    /// `heap` when it was last reconciled with the live heap (see `Runtime::step`).
    pub heap_checked: usize,
    /// Instructions it may still run (`None`: unbounded), counted by the hook.
    pub instructions_left: Option<u64>,
}
