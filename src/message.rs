//! What travels between processes: messages, lifecycle events, exits, and the items a
//! channel buffers until a receiver takes them.

use crate::ids::{PidRef, PidText};
use crate::payload::Payload;
use mlua::Value;
use smallvec::SmallVec;

/// A message waiting in a mailbox-fed channel.
#[derive(Debug)]
pub struct Message {
    /// Arrival order at the receiving process (keeps order when re-routing).
    pub seq: u64,
    /// Sender, if the message came from a process.
    pub from: Option<PidRef>,
    /// The sender's topic (a `String`, so a recycled message reuses its buffer).
    pub topic: String,
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
    /// The code of the entry this process runs was reloaded (`pid.reload`, SPEC §12.3.1);
    /// the event's `reason` holds the entry id.
    Reload,
}

impl EventKind {
    /// The event's `kind` string (SPEC §2.3).
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Exit => "pid.exit",
            EventKind::LinkDown => "pid.link.down",
            EventKind::Cancel => "pid.cancel",
            EventKind::Reload => "pid.reload",
        }
    }
}

/// A lifecycle event waiting in a process's events channel.
#[derive(Debug)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// The process it concerns (the one that ended, or the one that asked to cancel).
    pub from: PidRef,
    /// Its PID string (copied from the one made at its spawn: the process may have ended
    /// by the time the event is read).
    pub from_text: PidText,
    /// How the process ended (EXIT and LINK_DOWN).
    pub exit: Option<Exit>,
    /// CANCEL's reason.
    pub reason: Box<str>,
    /// Unix time of the event in nanoseconds.
    pub at_ns: i64,
}

impl Event {
    /// An EXIT or LINK_DOWN event about `from` (PID string `text`), which ended with `exit`.
    pub fn ended(kind: EventKind, from: PidRef, text: &[u8], exit: &Exit, at_ns: i64) -> Event {
        Event {
            kind,
            from,
            from_text: PidText::from_slice(text),
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

impl std::fmt::Display for Exit {
    /// `normal: <payload>` or `error: <message>`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Normal(p) => write!(f, "normal: {p}"),
            Exit::Error(e) => write!(f, "error: {e}"),
        }
    }
}

impl Exit {
    /// Whether the exit was normal (links are not notified).
    pub fn is_normal(&self) -> bool {
        matches!(self, Exit::Normal(_))
    }
}

/// Something a channel buffers: a Lua value, or a mailbox message, event or timer tick
/// that becomes a Lua value only when a receiver takes it.
#[derive(Debug)]
pub enum Item {
    /// A value sent with `ch:send`.
    Lua(Value),
    /// A message from `process.send`.
    Msg(Box<Message>),
    /// A lifecycle event.
    Event(Box<Event>),
    /// A timer's tick: the wall time it fired at, in unix nanoseconds.
    Time(i64),
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
    /// A supervisor call's private reply channel: raw payloads, never seen by scripts.
    Reply,
}

impl ChanKind {
    /// Whether scripts may send on and close it (user and timer channels).
    pub fn is_user(self) -> bool {
        matches!(self, ChanKind::User | ChanKind::Timer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exits_name_their_kind() {
        assert_eq!(
            Exit::Normal(Payload::from("bye")).to_string(),
            "normal: \"bye\""
        );
        assert_eq!(
            Exit::Error("main.lua:3: boom".into()).to_string(),
            "error: main.lua:3: boom"
        );
    }

    #[test]
    fn every_event_kind_is_a_ready_string_of_event_tables() {
        for kind in [
            EventKind::Exit,
            EventKind::LinkDown,
            EventKind::Cancel,
            EventKind::Reload,
        ] {
            assert!(
                crate::ffi::event::kind_index(kind.name()).is_some(),
                "{} is made again for every event",
                kind.name()
            );
        }
        assert_eq!(crate::ffi::event::kind_index("from"), None);
    }
}
