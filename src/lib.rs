//! moonhost: Lua scripts as Erlang-style lightweight processes, hosted by a single-threaded
//! Rust runtime.
//!
//! A Rust program loads an app (a folder of `_index.yaml` manifests and Lua files), spawns
//! processes, talks to them through a host [`Mailbox`], and runs them for a bounded time
//! per frame. A 60 Hz game loop with a manual clock:
//!
//! ```no_run
//! use moonhost::{App, Delivery, Payload, Runtime, Step};
//! use std::time::Duration;
//!
//! # fn main() -> moonhost::Result<()> {
//! let app = App::load("examples/guide")?;
//! let mut rt = Runtime::builder().manual_clock().build(&app)?;
//! let game = rt.mailbox("game")?; // scripts: process.send("game", "move", {dx = 1})
//! let ai = rt.spawn("app.test.process:echo_worker", "app:processes", vec![])?;
//! const FRAME: Duration = Duration::from_micros(16_667);
//! for frame in 0..600 {
//!     rt.send_from(&game, &ai.to_string(), "input", Payload::from(frame as i64))?;
//!     rt.advance_clock(FRAME)?; // timers due by now become ready
//!     match rt.run_for(Duration::from_millis(2))? {
//!         Step::Idle { .. } | Step::Busy => {}
//!         other => println!("frame {frame}: {other:?}"),
//!     }
//!     while let Some(d) = game.try_recv() {
//!         if let Delivery::Message { topic, payload, .. } = d {
//!             println!("{topic}: {payload}");
//!         }
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Or spawn an entry as the root process and run until it ends:
//!
//! ```no_run
//! use moonhost::{Runtime, RunOutcome};
//! let mut rt = Runtime::load("examples/guide").expect("app loads");
//! match rt.run_entry("app.test.process:worker_pool", &[]).expect("runs") {
//!     RunOutcome::Exited(exit) => println!("root ended: {}", exit.exit),
//!     other => println!("root did not end: {other:?}"),
//! }
//! ```
//!
//! The supported API is what the crate root re-exports (below). The modules marked hidden
//! serve the `moonhost` command, the project's tests and its fuzz targets; they may change
//! in any release. The Lua API is described in `LUA_API.md`.

#![deny(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

mod calendar;
mod channel;
mod chrome;
#[doc(hidden)]
pub mod cli;
mod clock;
mod context;
mod core;
mod entry;
mod error;
mod explore;
mod explore_run;
mod ffi;
mod hostbox;
#[doc(hidden)]
pub mod ids;
mod junit;
mod limits;
#[doc(hidden)]
pub mod lua;
mod manifest;
#[doc(hidden)]
pub mod message;
#[doc(hidden)]
pub mod payload;
mod preempt;
mod progress;
mod registry;
mod request;
mod rng;
#[doc(hidden)]
pub mod runtime;
mod security;
#[doc(hidden)]
pub mod sim;
mod softcap;
mod testcase;
#[doc(hidden)]
pub mod testrun;
mod timer;
mod trace;
mod watch;
mod watchdog;

pub use crate::core::{ProcState, ProcessInfo, WaitKind};
pub use crate::entry::ReloadReport;
pub use crate::error::{Error, Result};
pub use crate::hostbox::{CrashReport, Delivery, Mailbox};
pub use crate::ids::{Pid, PidParseError};
pub use crate::limits::Limits;
pub use crate::manifest::App;
pub use crate::message::Exit;
pub use crate::payload::Payload;
pub use crate::runtime::{Interrupt, RootExit, RunOutcome, Runtime, RuntimeBuilder, Stats, Step};
pub use crate::trace::Divergence;
pub use mlua;
