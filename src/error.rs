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
    /// An entry id or host that the app does not declare.
    NotFound(String),
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
            Error::NotFound(m) => write!(f, "not found: {m}"),
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
