//! moonhost: Lua scripts as Erlang-style lightweight processes, hosted by a single-threaded
//! Rust runtime.
//!
//! Load an app (a folder of `_index.yaml` manifests and Lua files), spawn an entry as the
//! root process and run until it ends:
//!
//! ```no_run
//! use moonhost::{Runtime, RunOutcome};
//! let mut rt = Runtime::load("examples/guide").expect("app loads");
//! match rt.run_entry("app.test.process:worker_pool", &[]).expect("runs") {
//!     RunOutcome::Exited(exit) => println!("root ended: {:?}", exit.exit),
//!     other => println!("root did not end: {other:?}"),
//! }
//! ```

#![deny(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

pub mod calendar;
pub mod channel;
pub mod cli;
pub mod clock;
pub mod core;
pub mod entry;
pub mod error;
mod ffi;
pub mod hostbox;
pub mod ids;
pub mod limits;
pub mod lua;
pub mod manifest;
pub mod message;
pub mod payload;
pub mod preempt;
pub mod registry;
pub mod request;
pub mod rng;
pub mod runtime;
pub mod testrun;
pub mod timer;
pub mod trace;
pub mod watchdog;

pub use crate::core::RootExit;
pub use crate::error::{Error, Result};
pub use crate::limits::Limits;
pub use crate::manifest::App;
pub use crate::message::Exit;
pub use crate::payload::Payload;
pub use crate::runtime::{Interrupt, RunOutcome, Runtime, RuntimeBuilder, Stats};
pub use mlua;
