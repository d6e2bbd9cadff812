//! `Runtime`: one Lua state, one core, one thread; loads an app, spawns a root process and
//! runs the scheduler until the root ends.
//!
//! Each turn the scheduler (1) frees collected channels, (2) fires due timers, (3) resumes up
//! to [`TURN_BUDGET_RESUMES`] tasks from the run queue, and (4) when nothing is runnable,
//! waits in mio's poll until the next timer deadline (or jumps a virtual clock there).
//! A task's yield is interpreted here: BLOCK means "parked by a binding", anything else
//! (a preemption, a bare `coroutine.yield`) sends it to the back of the queue.

use crate::clock::Clock;
use crate::core::{Core, EntryInfo, Host, LuaHandles, RootExit};
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::lua::args::is_block;
use crate::lua::{self, HOOK_EVERY_INSTRUCTIONS, HookState, Installed, Output, Rng};
use crate::manifest::{App, EntryKind};
use crate::payload::Payload;
use crate::process::{Exit, Resume};
use crate::trace::{Divergence, Tracer};

mod scheduler;
use mlua::state::{GcIncParams, GcMode};
use mlua::{Lua, LuaOptions, MultiValue, StdLib, Value};
pub use scheduler::{classify, show_bytes, split_error};
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Most task resumes in one turn before timers and I/O are looked at again.
pub const TURN_BUDGET_RESUMES: usize = 256;

/// Lua heap the whole runtime may use unless the builder says otherwise.
pub const DEFAULT_MEMORY_CEILING_BYTES: usize = 4 << 30;

/// Where a virtual clock starts: 2026-01-01T00:00:00Z.
const VIRTUAL_EPOCH_NS: i64 = 1_767_225_600_000_000_000;

/// Virtual time a resume that ends by blocking takes.
const VIRTUAL_RESUME_NS: u64 = 1_000;
/// Virtual time a resume that runs until preempted (or returns) takes.
const VIRTUAL_SLICE_NS: u64 = 10_000;

/// Mixed into the seed for the perturbation generator, so it differs from `uuid.v4`'s.
const PERTURB_SALT: u64 = 0x7065_7274_7572_6221;

/// GC pause: a new cycle starts when the heap reaches this percentage of the live data.
const GC_PAUSE_PERCENT: i32 = 400;

/// Modules `require` finds without an import.
const BUILTIN_MODULES: &[&str] = &["time", "uuid", "process", "channel"];

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
}

/// Counts of the records a runtime holds, for leak checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Live processes.
    pub processes: usize,
    /// Live tasks (main and spawned coroutines).
    pub tasks: usize,
    /// Channel records.
    pub channels: usize,
    /// Parked operations.
    pub waits: usize,
    /// Armed timers.
    pub timers: usize,
    /// Registered names.
    pub names: usize,
    /// Topic subscriptions.
    pub subscriptions: usize,
}

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
}

/// Builds a [`Runtime`].
pub struct RuntimeBuilder {
    seed: Option<u64>,
    perturb: bool,
    trace: Option<PathBuf>,
    replay: Option<PathBuf>,
    slice: u32,
    output: Option<Box<dyn Write>>,
    limits: LimitConfig,
    memory_ceiling: usize,
}

impl std::fmt::Debug for RuntimeBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeBuilder")
            .field("seed", &self.seed)
            .field("slice", &self.slice)
            .finish()
    }
}

impl Default for RuntimeBuilder {
    fn default() -> Self {
        RuntimeBuilder {
            seed: None,
            perturb: false,
            trace: None,
            replay: None,
            slice: HOOK_EVERY_INSTRUCTIONS,
            output: None,
            limits: LimitConfig::default(),
            memory_ceiling: DEFAULT_MEMORY_CEILING_BYTES,
        }
    }
}

impl RuntimeBuilder {
    /// Runs on a virtual clock seeded with `seed` (simulation mode).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Reorders tasks that are ready together and timers with equal deadlines, from the
    /// seed, to explore schedules a correct program must not depend on (needs a seed).
    pub fn perturb(mut self, on: bool) -> Self {
        self.perturb = on;
        self
    }

    /// Writes a JSON Lines trace of the run to `path`.
    pub fn trace(mut self, path: impl Into<PathBuf>) -> Self {
        self.trace = Some(path.into());
        self
    }

    /// Replays the trace at `path`: a virtual clock follows it, and the run stops at the
    /// first record that differs ([`RunOutcome::Diverged`]).
    pub fn replay(mut self, path: impl Into<PathBuf>) -> Self {
        self.replay = Some(path.into());
        self
    }

    /// Instructions a process runs before it is preempted.
    pub fn instruction_slice(mut self, n: u32) -> Self {
        self.slice = n.max(100);
        self
    }

    /// Limits for every host; a host's manifest fields override them.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits.default = limits;
        self
    }

    /// Limits for the host `name`, replacing its manifest's and the defaults.
    pub fn host_limits(mut self, name: &str, limits: Limits) -> Self {
        self.limits.per_host.retain(|(n, _)| n != name);
        self.limits.per_host.push((name.to_string(), limits));
        self
    }

    /// Lua heap of the whole runtime; an allocation past it fails in the process that
    /// made it (default 4 GiB).
    pub fn memory_ceiling(mut self, bytes: usize) -> Self {
        self.memory_ceiling = bytes.max(1 << 20);
        self
    }

    /// Where Lua's `print` writes (stdout by default).
    pub fn output(mut self, w: impl Write + 'static) -> Self {
        self.output = Some(Box::new(w));
        self
    }

    /// Creates the runtime for `app`, compiling every Lua entry.
    ///
    /// # Errors
    /// [`Error::Lua`] naming the entry and line of a syntax error; [`Error::Poll`] when the
    /// OS poller cannot be created.
    pub fn build(self, app: &App) -> Result<Runtime> {
        let lua = Lua::new_with(StdLib::ALL_SAFE, LuaOptions::new())?;
        // Processes allocate in bursts (spawn storms, message floods); a longer pause between
        // cycles halves GC work there at the cost of a larger heap between collections.
        lua.gc_set_mode(GcMode::Incremental(
            GcIncParams::default().pause(GC_PAUSE_PERCENT),
        ));
        let hook = Rc::new(HookState::default());
        let installed = lua::install(&lua, hook.clone(), self.slice)?;
        let mut tracer = match (&self.replay, &self.trace) {
            (Some(path), _) => Tracer::replay(path).map_err(Error::Io)?,
            (None, Some(path)) => {
                Tracer::record(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?
            }
            (None, None) => Tracer::default(),
        };
        let header = tracer.header().cloned();
        let recorded = |k: &str| header.as_ref().and_then(|h| h.get(k)).cloned();
        let seed = recorded("seed")
            .and_then(|v| v.as_u64())
            .or(self.seed)
            .unwrap_or_else(entropy);
        let clock = match (recorded("wall0").and_then(|v| v.as_i64()), self.seed) {
            (Some(wall0), _) => Clock::virtual_at(wall0),
            (None, Some(_)) => Clock::virtual_at(VIRTUAL_EPOCH_NS),
            (None, None) => Clock::real(),
        };
        // math.random is one generator shared by all processes; seeding it from the run's
        // seed makes it repeat along with the schedule (and in a replay).
        let math: mlua::Table = lua.globals().get("math")?;
        math.get::<mlua::Function>("randomseed")?
            .call::<()>(seed as i64)?;
        lua.set_app_data(Rng(seed));
        tracer.step = 0;
        lua.set_app_data(Output(
            self.output.unwrap_or_else(|| Box::new(std::io::stdout())),
        ));
        let mut core = Core::new(
            clock,
            LuaHandles {
                proc_main: installed.proc_main.clone(),
                make_event: installed.make_event.clone(),
            },
        );
        core.slice = self.slice;
        core.memory_ceiling = self.memory_ceiling;
        core.virtual_work = match recorded("virtual") {
            Some(v) => v.as_bool().unwrap_or(false),
            None => self.seed.is_some(),
        };
        core.tracer = tracer;
        core.seed = seed;
        if self.perturb {
            core.perturb = Some(Rng(seed ^ PERTURB_SALT));
        }
        compile_entries(&lua, &installed, app, &self.limits, &mut core)?;
        core.hook = hook.clone();
        lua.set_app_data(core);
        let poll = mio::Poll::new().map_err(|e| Error::Poll(e.to_string()))?;
        let waker = mio::Waker::new(poll.registry(), WAKER_TOKEN)
            .map_err(|e| Error::Poll(e.to_string()))?;
        Ok(Runtime {
            lua,
            hook,
            poll,
            events: mio::Events::with_capacity(64),
            installed,
            interrupt: Interrupt {
                flag: Arc::new(AtomicBool::new(false)),
                waker: Arc::new(waker),
            },
        })
    }
}

fn entropy() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    RandomState::new().hash_one(t)
}

/// Limits set through the builder.
#[derive(Debug, Clone, Default)]
struct LimitConfig {
    /// Defaults for every host (a manifest may override fields).
    default: Limits,
    /// Whole replacements for named hosts.
    per_host: Vec<(String, Limits)>,
}

fn compile_entries(
    lua: &Lua,
    installed: &Installed,
    app: &App,
    limits: &LimitConfig,
    core: &mut Core,
) -> Result<()> {
    for e in app.hosts() {
        let l = limits
            .per_host
            .iter()
            .find(|(name, _)| *name == e.id)
            .map(|(_, l)| l.clone())
            .unwrap_or_else(|| e.limits.apply(&limits.default));
        let mut l = l;
        l.payload_depth = l.payload_depth.min(crate::limits::MAX_PAYLOAD_DEPTH);
        installed
            .register_host
            .call::<()>((core.hosts.len() as i64, l.allow.clone()))?;
        core.hosts.push(Host {
            name: e.id.clone(),
            limits: l,
            live: 0,
        });
    }
    for (i, e) in app.entries.iter().enumerate() {
        core.entries.push(EntryInfo {
            id: e.id.clone(),
            spawnable: matches!(e.kind, EntryKind::Process | EntryKind::Function),
            source: e
                .source
                .as_ref()
                .map(|s| (Rc::from(chunk_text(&s.text).as_str()), s.chunk_name.clone())),
        });
        if e.source.is_none() {
            continue;
        }
        let imports = lua.create_table()?;
        for (alias, target) in &e.imports {
            let idx = app.entries.iter().position(|t| &t.id == target);
            imports.set(alias.as_str(), idx.map(|i| i as i64))?;
        }
        installed.register_entry.call::<()>((
            i as i64,
            e.id.as_str(),
            e.method.as_deref(),
            imports,
        ))?;
    }
    Ok(())
}

/// The text an entry compiles to: its source with the process environment as `_ENV` (on
/// the first line, so line numbers stay right) and a `#!` line turned into a comment.
fn chunk_text(src: &str) -> String {
    match src.strip_prefix("#!") {
        Some(rest) => format!("local _ENV = ...; --{rest}"),
        None => format!("local _ENV = ...; {src}"),
    }
}

/// Compiles an entry's chunk text.
///
/// # Errors
/// The syntax error, naming the entry and the line.
pub fn compile_entry(lua: &Lua, id: &str, text: &str, chunk_name: &str) -> Result<mlua::Function> {
    lua.load(text)
        .set_name(format!("@{chunk_name}"))
        .into_function()
        .map_err(|err| Error::Lua(format!("entry {id}: {}", one_line(&err))))
}

/// Compiles every Lua entry of `app` once, in a scratch state, to report syntax errors at
/// load time (runtimes compile lazily), and warns about unknown `modules` names.
///
/// # Errors
/// The first syntax error, naming entry, file and line.
pub fn check_syntax(app: &App) -> Result<()> {
    let lua = Lua::new_with(StdLib::NONE, LuaOptions::new())?;
    for e in &app.entries {
        for m in &e.modules {
            if !BUILTIN_MODULES.contains(&m.as_str()) {
                log::warn!("entry {}: unknown module '{m}' in modules", e.id);
            }
        }
        if let Some(src) = &e.source {
            compile_entry(&lua, &e.id, &chunk_text(&src.text), &src.chunk_name)?;
        }
    }
    Ok(())
}

fn one_line(e: &mlua::Error) -> String {
    match e {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// A moonhost runtime: one Lua state whose processes share one OS thread.
pub struct Runtime {
    lua: Lua,
    hook: Rc<HookState>,
    poll: mio::Poll,
    events: mio::Events,
    installed: Installed,
    interrupt: Interrupt,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").finish_non_exhaustive()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // The core holds Lua handles; drop it while the state is still whole.
        drop(self.lua.remove_app_data::<Core>());
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
    pub fn lua(&self) -> &Lua {
        &self.lua
    }

    /// Makes `require(name)` return `module` in every process.
    ///
    /// # Errors
    /// Only Lua allocation failures.
    pub fn register_module(&self, name: &str, module: Value) -> Result<()> {
        lua::register_module(&self.installed.builtin, name, module)?;
        Ok(())
    }

    fn core(&self) -> mlua::AppDataRefMut<'_, Core> {
        self.lua
            .app_data_mut::<Core>()
            .expect("the core is installed at build and only borrowed briefly")
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
        let idx = core
            .entries
            .iter()
            .position(|e| e.id == entry && e.spawnable)
            .ok_or_else(|| Error::NotFound(format!("entry not found: {entry}")))?;
        if core.hosts.is_empty() {
            return Err(Error::NotFound("host not found".into()));
        }
        if core.tracer.is_on() {
            let fields = [
                ("entry", entry.into()),
                ("args", args.to_vec().into()),
                ("seed", core.seed.into()),
                ("wall0", core.clock.wall_origin().into()),
                ("virtual", core.virtual_work.into()),
            ];
            core.trace("start", &fields);
        }
        let pid = core
            .spawn(&self.lua, idx as u32, 0, payloads, None)
            .map_err(Error::NotFound)?;
        let proc = core.pids[&pid.num];
        core.root = Some(proc);
        core.root_exit = None;
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
        self.core().procs.len()
    }

    /// A handle other threads can use to stop [`Runtime::run`].
    pub fn interrupt_handle(&self) -> Interrupt {
        self.interrupt.clone()
    }

    /// Counts of live records. Call [`Runtime::collect`] first to free channels whose Lua
    /// objects are garbage.
    pub fn stats(&self) -> Stats {
        let c = self.core();
        Stats {
            processes: c.procs.len(),
            tasks: c.tasks.len(),
            channels: c.chans.len(),
            waits: c.waits.len(),
            timers: c.timers.len(),
            names: c.names.len(),
            subscriptions: c.procs.values().map(|p| p.listeners.len()).sum(),
        }
    }

    /// Runs a full garbage collection and frees the channels it released.
    ///
    /// # Errors
    /// Only if a finalizer fails in a way Lua reports.
    pub fn collect(&mut self) -> Result<()> {
        self.lua.gc_collect()?;
        self.lua.gc_collect()?;
        self.core().sweep();
        Ok(())
    }

    /// Ends every process without notifying anyone (the runtime is going away).
    pub fn shutdown(&mut self) {
        let mut c = self.core();
        let procs: Vec<_> = c.procs.keys().collect();
        for p in procs {
            c.discard_process(p);
        }
        c.run_queue.clear();
    }

    /// Runs the scheduler until the root process ends, the time limit passes, or nothing
    /// can happen any more.
    ///
    /// # Errors
    /// [`Error::Poll`] when the OS poll fails.
    pub fn run(&mut self, limit: Option<Duration>) -> Result<RunOutcome> {
        let started = Instant::now();
        loop {
            {
                let mut core = self.core();
                if let Some(t) = core.tracer.next_turn_time() {
                    core.clock.advance_to(t);
                }
                if core.tracer.is_on() {
                    core.trace("turn", &[]);
                }
                core.sweep();
                core.fire_due(&self.lua)?;
                if let Some(exit) = core.root_exit.clone() {
                    return Ok(RunOutcome::Exited(exit));
                }
            }
            for _ in 0..TURN_BUDGET_RESUMES {
                if !self.step()? || self.core().root_exit.is_some() || self.turn_ends() {
                    break;
                }
            }
            if let Some(d) = self.core().tracer.diverged.clone() {
                return Ok(RunOutcome::Diverged(d));
            }
            if let Some(exit) = self.core().root_exit.clone() {
                return Ok(RunOutcome::Exited(exit));
            }
            if limit.is_some_and(|l| started.elapsed() >= l) {
                return Ok(RunOutcome::TimedOut);
            }
            if self.interrupt.flag.swap(false, Ordering::SeqCst) {
                return Ok(RunOutcome::Interrupted);
            }
            if !self.idle(limit.map(|l| started + l))? {
                return Ok(RunOutcome::Deadlock);
            }
        }
    }
}
