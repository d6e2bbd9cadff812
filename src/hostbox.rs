//! The host side of a runtime: mailboxes a Rust program receives on (SPEC §13.3) and the
//! reports of processes that crashed (§13.1). Plain data, shared with the core through an
//! `Rc` queue so that a [`Mailbox`] can be read without the runtime.

use crate::ids::Pid;
use crate::payload::Payload;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

/// What a host mailbox receives.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Delivery {
    /// A message sent to the mailbox (by name or PID).
    Message {
        /// The sending process (`None` when the host sent it).
        from: Option<Pid>,
        /// The sender's topic.
        topic: String,
        /// The message's value: its one payload, `nil` for none, or an array of several.
        payload: Payload,
    },
    /// A process the mailbox monitors ended.
    Exit {
        /// The process that ended.
        from: Pid,
        /// `Ok(first return value)` for a normal exit, `Err(error)` otherwise.
        result: Result<Payload, String>,
    },
}

/// The queue a host mailbox's deliveries wait in, shared by the core (which fills it) and
/// every [`Mailbox`] handle (which drain it).
#[derive(Debug, Default)]
pub struct HostQueue {
    items: RefCell<VecDeque<Delivery>>,
}

impl HostQueue {
    /// Appends a delivery.
    pub fn push(&self, d: Delivery) {
        self.items.borrow_mut().push_back(d);
    }

    /// Deliveries waiting.
    pub fn len(&self) -> usize {
        self.items.borrow().len()
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.items.borrow().is_empty()
    }
}

/// A host-side mailbox: a PID scripts can send to, read from Rust without running anything.
/// Cheap to clone; the mailbox closes when the last handle is dropped (or by
/// `Runtime::close_mailbox`), after which sends to it fail as to an ended process.
#[derive(Debug, Clone)]
pub struct Mailbox {
    pid: Pid,
    name: String,
    queue: Rc<HostQueue>,
}

impl Mailbox {
    /// Wraps the queue of the host mailbox `pid`, registered as `name`.
    pub(crate) fn new(pid: Pid, name: String, queue: Rc<HostQueue>) -> Mailbox {
        Mailbox { pid, name, queue }
    }

    /// The mailbox's PID (host part `host`, e.g. `{host|1}`).
    pub fn pid(&self) -> &Pid {
        &self.pid
    }

    /// The name it is registered under.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The next delivery in arrival order, if any; runs nothing.
    pub fn try_recv(&self) -> Option<Delivery> {
        self.queue.items.borrow_mut().pop_front()
    }

    /// Deliveries waiting.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

/// A process that ended abnormally (SPEC §13.1), reported once after its monitors and links
/// were notified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrashReport {
    /// The process.
    pub pid: Pid,
    /// The entry it ran (`app:worker`).
    pub entry: String,
    /// The host it ran on.
    pub host: String,
    /// The error it ended with.
    pub error: String,
    /// The Lua traceback where the error was raised, with `file:line`.
    pub traceback: Option<String>,
}

impl std::fmt::Display for CrashReport {
    /// `process <pid> (<entry>) failed: <error>`, then the traceback on its own lines.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "process {} ({}) failed: {}",
            self.pid, self.entry, self.error
        )?;
        if let Some(tb) = &self.traceback {
            write!(f, "\n{tb}")?;
        }
        Ok(())
    }
}
