//! Requests and outcomes: how bindings and the scheduler talk (ARCHITECTURE.md).
//!
//! A binding that would block records a [`Request`] on its task and yields; the scheduler
//! parks the task on it. Whatever wakes the task (a sender, a receiver, a close, a timer)
//! stores an [`Outcome`] on it; the scheduler turns the outcome into Lua values inside the
//! receiving task when it resumes it.

use crate::ids::ChanId;
use crate::message::{ChanKind, Item};
use crate::payload::Payload;
use mlua::Thread;

/// One case of a select: the channel and, for a send case, the value to send.
pub type Case = (ChanId, Option<Item>);

/// What a blocked task waits for.
#[derive(Debug)]
pub enum Request {
    /// `ch:receive()` on an empty channel.
    Recv(ChanId),
    /// `ch:send(v)` on a full channel.
    Send(ChanId, Item),
    /// `channel.select` with no case ready. The cases are on the heap (a `Vec`), so the
    /// rare select does not make every request (recorded, taken and matched on each
    /// blocking receive) the size of four inline cases.
    Select(Vec<Case>),
    /// `time.sleep` until this runtime nanosecond.
    Sleep(u64),
    /// `process.terminate` of the caller itself: end at once.
    Exit,
    /// `process.upgrade`: switch the process to new code (what to switch to is staged in
    /// the core, so this variant carries nothing and costs the other requests nothing).
    Upgrade,
}

/// What `process.upgrade` asks for, checked by its binding before anything changes.
#[derive(Debug)]
pub struct Upgrade {
    /// The entry the process continues as (compiled already).
    pub entry: u32,
    /// The copied upgrade arguments.
    pub args: Vec<Payload>,
    /// The new main coroutine, starting in the prelude's `proc_upgrade`.
    pub thread: Thread,
}

/// How one operation completed.
#[derive(Debug)]
pub enum Done {
    /// A receive took an item from a channel of this kind.
    Received(Item, ChanKind),
    /// A receive found the channel closed and drained.
    Closed,
    /// A send was taken.
    Sent,
    /// A send found the channel closed.
    SendClosed,
    /// A sleep's timer fired.
    Slept,
}

/// The completion of a request, stored on the woken task.
#[derive(Debug)]
pub struct Outcome {
    /// For a select, the index (from 0) of the case that completed.
    pub case: Option<u32>,
    /// What happened.
    pub done: Done,
}

impl Outcome {
    /// The outcome of a plain (non-select) operation.
    pub fn plain(done: Done) -> Outcome {
        Outcome { case: None, done }
    }
}
