//! Errors the runtime reports to the embedding host (not script failures, which are data).

use std::fmt;

/// Host misuse or environment failure.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A manifest is malformed; the message names file, line and field.
    Manifest(String),
    /// A file or folder could not be read.
    Io(String),
    /// A Lua chunk failed to compile, or the Lua state failed to set up.
    Lua(String),
    /// An entry id, host or process that does not exist; the message names it
    /// (`entry not found: app:mian (did you mean app:main?)`).
    NotFound(String),
    /// The runtime refused an operation of the host, as it would refuse a script's
    /// (`mailbox full`, `name already registered`, payload limits).
    Refused(String),
    /// A clock operation that the runtime's clock does not allow
    /// (`advance_clock` without a manual clock).
    Clock(String),
    /// The operating system's poll failed.
    Poll(String),
    /// A Rust value could not be encoded as a [`Payload`](crate::Payload), or a payload
    /// could not be decoded into the requested type; the message says what did not fit.
    Payload(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Manifest(m) => write!(f, "manifest error: {m}"),
            Error::Io(m) => write!(f, "i/o error: {m}"),
            Error::Lua(m) => write!(f, "lua error: {m}"),
            Error::NotFound(m) => f.write_str(m),
            Error::Refused(m) => f.write_str(m),
            Error::Clock(m) => f.write_str(m),
            Error::Poll(m) => write!(f, "poll error: {m}"),
            Error::Payload(m) => write!(f, "payload error: {m}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<mlua::Error> for Error {
    fn from(e: mlua::Error) -> Self {
        Error::Lua(e.to_string())
    }
}

/// Result with the crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

// ----- failures of the core's verbs ------------------------------------------------------
//
// Each failing verb of the core has its own error type; this is the one place that maps
// them to the strings SPEC.md promises scripts.

/// Why a destination (PID string or registered name) did not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveError {
    /// Neither a well-formed PID nor a registered name (the destination as given).
    Unknown(String),
    /// A well-formed PID whose process has ended.
    Ended,
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResolveError::Unknown(d) => {
                write!(f, "could not resolve '{d}' as PID or registered name")
            }
            ResolveError::Ended => f.write_str("process not found"),
        }
    }
}

/// Why a message was not delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliverError {
    /// The receiver's mailbox limit (length or bytes) is reached.
    MailboxFull,
}

impl fmt::Display for DeliverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeliverError::MailboxFull => f.write_str("mailbox full"),
        }
    }
}

/// Why a spawn failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpawnError {
    /// No host of that name.
    HostNotFound(String),
    /// No spawnable entry of that id.
    EntryNotFound(String),
    /// The host's `max_processes` is reached.
    MaxProcesses,
    /// Lua could not make the coroutine (out of memory).
    Lua(String),
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::HostNotFound(_) => f.write_str("host not found"),
            SpawnError::EntryNotFound(e) => write!(f, "entry not found: {e}"),
            SpawnError::MaxProcesses => f.write_str("max processes limit exceeded"),
            SpawnError::Lua(m) => f.write_str(m),
        }
    }
}

/// Why `process.upgrade` refused (SPEC §12.3); the process goes on in its old code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpgradeError {
    /// No `process.lua`/`function.lua` entry of that id.
    EntryNotFound(String),
    /// The entry's newest source did not compile (the compiler's message).
    Failed(String),
}

impl fmt::Display for UpgradeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpgradeError::EntryNotFound(e) => write!(f, "entry not found: {e}"),
            UpgradeError::Failed(m) => write!(f, "upgrade failed: {m}"),
        }
    }
}

/// Why `process.registry.register` refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameTaken;

impl fmt::Display for NameTaken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("name already registered")
    }
}

/// Why a supervisor call could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallError {
    /// The process is alive but does not (or not yet) run a supervisor.
    NotSupervisor,
    /// The supervisor's mailbox limit is reached.
    MailboxFull,
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::NotSupervisor => f.write_str("not a supervisor"),
            CallError::MailboxFull => f.write_str("mailbox full"),
        }
    }
}
