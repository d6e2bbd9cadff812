//! `Runtime`: one Lua state, one core, one thread; loads an app, spawns a root process and
//! runs the scheduler until the root ends.
//!
//! Each turn the scheduler (1) frees collected channels, (2) fires due timers, (3) resumes up
//! to [`TURN_BUDGET_RESUMES`] tasks from the run queue, and (4) when nothing is runnable,
//! waits in mio's poll until the next timer deadline (or jumps a virtual clock there).
//! A task that yields a blocking request is parked on it; anything else (a preemption, a
//! bare `coroutine.yield`) sends it to the back of the queue.

mod bound;
mod builder;
mod collector;
mod embed;
mod frames;
mod observe;
mod reload;
mod scheduler;

pub use crate::core::RootExit;
pub use crate::entry::{check_syntax, compile_entry};
pub use bound::WALL_GUARD_FACTOR;
pub use builder::RuntimeBuilder;
pub use frames::Step;
pub use scheduler::{classify, show_bytes, split_error};

use crate::core::Core;
use crate::error::{Error, Result};
use crate::lua::{self, Installed};
use crate::manifest::App;
use crate::payload::Payload;
use crate::preempt::Fuel;
use crate::trace::Divergence;
use mlua::{Lua, Value};
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Most task resumes in one turn before timers and I/O are looked at again.
pub const TURN_BUDGET_RESUMES: usize = 256;

/// Lua heap the whole runtime may use unless the builder says otherwise.
pub const DEFAULT_MEMORY_CEILING_BYTES: usize = 4 << 30;

/// Where a virtual clock starts: 2026-01-01T00:00:00Z.
const VIRTUAL_EPOCH_NS: i64 = 1_767_225_600_000_000_000;

/// Longest idle wait while a between-turns hook is set, so the hook keeps running.
const BETWEEN_TURNS_POLL: Duration = Duration::from_millis(100);

/// What the CLI runs at every turn boundary (`--watch`, the SIGUSR1 report).
pub type BetweenTurns = Box<dyn FnMut(&mut Runtime)>;

/// Token of the poll's waker.
const WAKER_TOKEN: mio::Token = mio::Token(0);

/// Asks a running [`Runtime`] to stop from another thread (e.g. a Ctrl-C handler).
#[derive(Debug, Clone)]
pub struct Interrupt {
    flag: Arc<AtomicBool>,
    waker: Arc<mio::Waker>,
}

impl Interrupt {
    /// Makes the runtime's `run` return [`RunOutcome::Interrupted`] at its next turn.
    pub fn interrupt(&self) {
        self.flag.store(true, Ordering::SeqCst);
        let _ = self.waker.wake();
    }

    /// Whether an interrupt is pending (not yet seen by `run`).
    pub(crate) fn is_pending(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
}

/// Counts of the records a runtime holds, for leak checks.
pub type Stats = crate::core::Counts;

/// How a run ended.
#[derive(Debug, Clone)]
pub enum RunOutcome {
    /// The root process ended.
    Exited(RootExit),
    /// The run's time limit passed first.
    TimedOut,
    /// The root is still alive but nothing can ever wake anything: no runnable task, no
    /// armed timer.
    Deadlock,
    /// [`Interrupt::interrupt`] was called.
    Interrupted,
    /// A replay found a record that differs from the trace.
    Diverged(Divergence),
    /// Nothing is runnable and no timer is armed, but the host can still act: a host
    /// mailbox is open or the clock is manual (send, advance the clock, or run again).
    Idle,
    /// A simulated run's wall-clock guard ([`WALL_GUARD_FACTOR`] × its virtual limit, see
    /// [`Runtime::run_virtual`]) passed before the virtual limit: not deterministic.
    WallGuard,
}

/// A moonhost runtime: one Lua state whose processes share one OS thread.
pub struct Runtime {
    /// The core, shared with the bindings through `ffi::cell` (declared before `lua`, so
    /// it is dropped while the state is still whole: it holds Lua handles).
    core: crate::ffi::cell::Anchor<Core>,
    /// The values of the resume under way, kept between steps (empty) so that a step
    /// neither allocates nor moves them (`runtime/scheduler.rs`).
    resume_vals: std::cell::Cell<Vec<crate::ffi::resume::Push>>,
    lua: Lua,
    /// `ffi::allocator` on `lua` (`None` where mlua's allocator stayed): dropping it puts
    /// mlua's allocator back, so mlua frees its allocator state when it closes `lua`.
    #[allow(dead_code)]
    allocator: Option<crate::ffi::allocator::Installed>,
    fuel: Rc<Fuel>,
    poll: mio::Poll,
    events: mio::Events,
    installed: Installed,
    interrupt: Interrupt,
    /// Whether time moves only by `advance_clock`.
    manual_clock: bool,
    /// Where crash reports go (`log::error!` when `None`).
    crash_hook: Option<embed::CrashHook>,
    /// Whether the last step left crashes to report.
    crash_pending: bool,
    /// Run at every turn boundary of `run` (the CLI's `--watch` and SIGUSR1 report).
    between_turns: Option<BetweenTurns>,
    /// The stepped collection reconciliations wait for (`runtime/collector.rs`).
    collector: collector::Collector,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").finish_non_exhaustive()
    }
}

impl Runtime {
    /// A builder with default settings (real clock, stdout).
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::default()
    }

    /// Loads the app in `dir` and builds a runtime for it with default settings.
    ///
    /// # Errors
    /// As [`App::load`] and [`RuntimeBuilder::build`].
    pub fn load(dir: impl AsRef<Path>) -> Result<Runtime> {
        let app = App::load(dir)?;
        check_syntax(&app)?;
        Runtime::builder().build(&app)
    }

    /// The Lua state (for registering host modules or inspecting values).
    ///
    /// Its heap is limited by the runtime ([`RuntimeBuilder::memory_ceiling`] and the per-process
    /// limits); its allocator is the runtime's own (`ffi::allocator`), which mlua does not
    /// know, so `Lua::set_memory_limit` on it returns an error while `Lua::used_memory`
    /// reads Lua's own count.
    pub fn lua(&self) -> &Lua {
        &self.lua
    }

    /// Makes `require(name)` return `module` in every process; a table is read-only to
    /// scripts (`engine.x = 1` raises `attempt to modify read-only table 'engine' (field 'x')`).
    ///
    /// # Errors
    /// Only Lua allocation failures.
    pub fn register_module(&self, name: &str, module: Value) -> Result<()> {
        lua::register_module(&self.installed, name, module)?;
        Ok(())
    }

    pub(crate) fn core(&self) -> std::cell::RefMut<'_, Core> {
        self.core
            .try_borrow_mut()
            .expect("the core is only borrowed briefly, never across a resume")
    }

    /// Spawns `entry` on the first host as the root process, with string arguments.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown or non-spawnable entry, or a full host.
    pub fn spawn_root(&mut self, entry: &str, args: &[String]) -> Result<String> {
        let payloads = args
            .iter()
            .map(|a| Payload::Str(a.as_bytes().into()))
            .collect();
        let mut core = self.core();
        let Some(idx) = core.entries().find_spawnable(entry) else {
            return Err(Error::NotFound(core.entries().not_spawnable(entry)));
        };
        if core.host_count() == 0 {
            return Err(Error::NotFound("host not found".into()));
        }
        core.check_spawn(0)
            .map_err(|e| Error::NotFound(e.to_string()))?;
        core.trace_with("start", |c| {
            let mut f = vec![
                ("entry", entry.into()),
                ("args", args.to_vec().into()),
                ("seed", c.seed().into()),
                ("wall0", c.clock().wall_origin().into()),
                ("virtual", c.virtual_work().into()),
                ("strategy", c.strategy().to_string().into()),
                ("faults", c.faults().to_string().into()),
            ];
            if let Some(t) = c.test_name() {
                f.push(("test", t.into()));
            }
            f
        });
        let thread = lua::task_thread(&self.lua, &mut core)?;
        let pid = core
            .spawn(thread, idx, 0, payloads, None, None)
            .map_err(|e| Error::NotFound(e.to_string()))?;
        let proc = core.proc_by_pid(pid).expect("just spawned");
        core.set_root(proc);
        Ok(core.pid_string(pid))
    }

    /// Spawns `entry` as the root and runs until it ends.
    ///
    /// # Errors
    /// As [`Runtime::spawn_root`] and [`Runtime::run`].
    pub fn run_entry(&mut self, entry: &str, args: &[String]) -> Result<RunOutcome> {
        self.spawn_root(entry, args)?;
        self.run(None)
    }

    /// Number of live processes.
    pub fn live_processes(&self) -> usize {
        self.core().counts().processes
    }

    /// A handle other threads can use to stop [`Runtime::run`].
    pub fn interrupt_handle(&self) -> Interrupt {
        self.interrupt.clone()
    }

    /// Counts of live records. Call [`Runtime::collect`] first to free channels whose Lua
    /// objects are garbage.
    pub fn stats(&self) -> Stats {
        self.core().counts()
    }

    /// Runs a full garbage collection and frees the channels it released. The host's
    /// explicit call, and the one collection the runtime runs in one go: it holds the
    /// thread for as long as the whole heap takes (the runtime's own collections run in
    /// bounded steps, `runtime/collector.rs`).
    ///
    /// # Errors
    /// Only if a finalizer fails in a way Lua reports.
    pub fn collect(&mut self) -> Result<()> {
        self.lua.gc_collect()?;
        self.lua.gc_collect()?;
        self.core().sweep();
        Ok(())
    }

    /// Makes `run` call `hook` at every turn boundary, and wait at most 100 ms when idle
    /// so that it keeps being called.
    pub(crate) fn set_between_turns(&mut self, hook: BetweenTurns) {
        self.between_turns = Some(hook);
    }

    /// Runs the between-turns hook, if one is set (out of line: only the CLI sets one).
    #[cold]
    pub(crate) fn between_turns(&mut self) {
        if let Some(mut hook) = self.between_turns.take() {
            hook(self);
            self.between_turns = Some(hook);
        }
    }

    /// Ends every process without notifying anyone (the runtime is going away).
    pub fn shutdown(&mut self) {
        self.core().discard_all();
    }

    /// Runs the scheduler until the root process ends, the time limit (wall-clock time)
    /// passes, or nothing can happen any more.
    ///
    /// # Errors
    /// [`Error::Poll`] when the OS poll fails.
    pub fn run(&mut self, limit: Option<Duration>) -> Result<RunOutcome> {
        self.run_bounded(bound::Bound::wall(limit))
    }

    /// Like [`Runtime::run`], but `limit` counts the runtime's clock, which in a simulation
    /// is virtual (SPEC §14.8: every step advances it, so an endless loop reaches the limit
    /// at the same step in every run). A wall-clock guard of [`WALL_GUARD_FACTOR`] × `limit`
    /// still ends the run, with [`RunOutcome::WallGuard`]. On a real clock this is `run`.
    ///
    /// # Errors
    /// [`Error::Poll`] when the OS poll fails.
    pub fn run_virtual(&mut self, limit: Duration) -> Result<RunOutcome> {
        let now = {
            let c = self.core();
            c.clock().is_virtual().then(|| c.clock().now())
        };
        match now {
            Some(now) => self.run_bounded(bound::Bound::virtual_from(now, limit)),
            None => self.run(Some(limit)),
        }
    }

    fn run_bounded(&mut self, bound: bound::Bound) -> Result<RunOutcome> {
        let timed = !bound.is_unbounded();
        loop {
            if let Some(exit) = self.start_turn() {
                return Ok(RunOutcome::Exited(exit));
            }
            for _ in 0..TURN_BUDGET_RESUMES {
                let go_on = self.step()?;
                if self.crash_pending {
                    self.report_crashes();
                }
                if !go_on || (timed && bound.passed(&self.core()).is_some()) {
                    break;
                }
            }
            if self.between_turns.is_some() {
                self.between_turns();
            }
            if let Some(d) = self.core().tracer().diverged.clone() {
                return Ok(RunOutcome::Diverged(d));
            }
            if let Some(exit) = self.core().root_exit().cloned() {
                return Ok(RunOutcome::Exited(exit));
            }
            if let Some(out) = bound.passed(&self.core()).filter(|_| timed) {
                return Ok(out);
            }
            if self.interrupt.flag.swap(false, Ordering::SeqCst) {
                return Ok(RunOutcome::Interrupted);
            }
            if !self.idle(&bound)? {
                let host_can_act = self.manual_clock || self.core().has_mailboxes();
                return Ok(if host_can_act {
                    RunOutcome::Idle
                } else {
                    RunOutcome::Deadlock
                });
            }
        }
    }

    /// The start of a turn: the replayed clock, collected channels freed, due timers fired.
    /// Returns the root's exit if it has ended.
    fn start_turn(&mut self) -> Option<RootExit> {
        let mut core = self.core();
        if let Some(t) = core.tracer().next_turn_time() {
            core.advance_clock_to(t);
        }
        core.trace_with("turn", |_| Vec::new());
        core.sweep();
        core.sweep_mailboxes();
        core.fire_due();
        core.root_exit().cloned()
    }
}
