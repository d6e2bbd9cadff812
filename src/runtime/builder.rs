//! `RuntimeBuilder`: the settings of a runtime and `build`, which makes the Lua state,
//! installs the bindings, the prelude and the preemption hook, and sets up the core.

use super::{DEFAULT_MEMORY_CEILING_BYTES, Interrupt, Runtime, VIRTUAL_EPOCH_NS, WAKER_TOKEN};
use crate::clock::Clock;
use crate::core::{Core, CoreConfig, SimConfig};
use crate::entry::Entries;
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::lua::{self, Installed, Output};
use crate::manifest::App;
use crate::preempt::{self, Fuel, HOOK_EVERY_INSTRUCTIONS};
use crate::rng::Rng;
use crate::sim::{Faults, Strategy};
use crate::trace::Tracer;
use mlua::state::{GcIncParams, GcMode};
use mlua::{Lua, LuaOptions, StdLib};
use std::io::Write;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// GC pause: a new cycle starts when the heap reaches this percentage of the live data.
const GC_PAUSE_PERCENT: i32 = 400;

/// Builds a [`Runtime`].
pub struct RuntimeBuilder {
    manual_clock: bool,
    on_crash: Option<super::embed::CrashHook>,
    seed: Option<u64>,
    strategy: Strategy,
    faults: Faults,
    guide: Option<Vec<serde_json::Map<String, serde_json::Value>>>,
    trace: Option<PathBuf>,
    replay: Option<PathBuf>,
    test: Option<String>,
    slice: u32,
    output: Option<Box<dyn Write>>,
    limits: LimitConfig,
    memory_ceiling: usize,
}

impl std::fmt::Debug for RuntimeBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeBuilder")
            .field("seed", &self.seed)
            .field("manual_clock", &self.manual_clock)
            .field("slice", &self.slice)
            .finish()
    }
}

impl Default for RuntimeBuilder {
    fn default() -> Self {
        RuntimeBuilder {
            manual_clock: false,
            on_crash: None,
            seed: None,
            strategy: Strategy::Fifo,
            faults: Faults::default(),
            guide: None,
            trace: None,
            replay: None,
            test: None,
            slice: HOOK_EVERY_INSTRUCTIONS,
            output: None,
            limits: LimitConfig::default(),
            memory_ceiling: DEFAULT_MEMORY_CEILING_BYTES,
        }
    }
}

impl RuntimeBuilder {
    /// Time is virtual and moves only by `Runtime::advance_clock`: it starts at
    /// 2026-01-01T00:00:00Z, never jumps while processes are idle, and `time.*`, `os.time`
    /// and `os.clock` follow it. Combine with [`RuntimeBuilder::seed`] to seed random
    /// sources, uuids and PIDs too.
    pub fn manual_clock(mut self) -> Self {
        self.manual_clock = true;
        self
    }

    /// Calls `hook` once for every process that ends abnormally, after its monitors and
    /// links were notified (otherwise each crash is logged with `log::error!`, target
    /// `moonhost::crash`).
    pub fn on_crash(mut self, hook: impl FnMut(&crate::hostbox::CrashReport) + 'static) -> Self {
        self.on_crash = Some(Box::new(hook));
        self
    }

    /// Runs on a virtual clock seeded with `seed` (simulation mode).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Reorders tasks that are ready together and timers with equal deadlines, from the
    /// seed, to explore schedules a correct program must not depend on (needs a seed): the
    /// `random` strategy.
    pub fn perturb(mut self, on: bool) -> Self {
        if on {
            self.strategy = Strategy::Random;
        }
        self
    }

    /// The scheduling strategy of a seeded run (SPEC §14.2; FIFO by default).
    pub fn strategy(mut self, s: Strategy) -> Self {
        self.strategy = s;
        self
    }

    /// Faults to inject into a seeded run (SPEC §14.4).
    pub fn faults(mut self, f: Faults) -> Self {
        self.faults = f;
        self
    }

    /// Applies `decisions` (a trace's `pick` and `fault` records) at the steps they name,
    /// every other pick FIFO and every other fault absent: a shrinking candidate.
    pub fn guide(mut self, decisions: Vec<serde_json::Map<String, serde_json::Value>>) -> Self {
        self.guide = Some(decisions);
        self
    }

    /// Writes a JSON Lines trace of the run to `path`.
    pub fn trace(mut self, path: impl Into<PathBuf>) -> Self {
        self.trace = Some(path.into());
        self
    }

    /// Replays the trace at `path`: a virtual clock follows it, and the run stops at the
    /// first record that differs ([`RunOutcome::Diverged`](super::RunOutcome::Diverged)).
    pub fn replay(mut self, path: impl Into<PathBuf>) -> Self {
        self.replay = Some(path.into());
        self
    }

    /// Names the test this run is: the trace's `start` record carries it as `test`, so a
    /// replay of another test's trace (or of a `run`'s) diverges at its first line.
    pub fn test(mut self, id: impl Into<String>) -> Self {
        self.test = Some(id.into());
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
    pub fn build(mut self, app: &App) -> Result<Runtime> {
        let lua = Lua::new_with(StdLib::ALL_SAFE, LuaOptions::new())?;
        // Lua's allocator without mlua's layers, small blocks cached (`ffi::allocator`);
        // the guard gives mlua its allocator back when the runtime is dropped.
        let allocator = crate::ffi::allocator::install(&lua);
        // Processes allocate in bursts (spawn storms, message floods); a longer pause between
        // cycles halves GC work there at the cost of a larger heap between collections.
        lua.gc_set_mode(GcMode::Incremental(
            GcIncParams::default().pause(GC_PAUSE_PERCENT),
        ));
        let fuel = Rc::new(Fuel::default());
        let installed = lua::install(&lua, fuel.clone())?;
        preempt::install(&lua, fuel.clone(), self.slice)?;
        crate::softcap::install(&lua, fuel.clone());
        // The scheduler's looks at the heap around each resume then skip mlua's lock.
        crate::ffi::heap::verify(&lua);
        // `channel.select` reads its cases in place where the layout holds.
        crate::ffi::cases::check(&lua);
        let tracer = match (&self.replay, &self.trace) {
            (Some(path), _) => Tracer::replay(path).map_err(Error::Io)?,
            (None, Some(path)) => {
                Tracer::record(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?
            }
            (None, None) => Tracer::default(),
        };
        let mut tracer = tracer;
        tracer.test = self.test.take();
        let guided = self.guide.is_some();
        if let Some(g) = self.guide.take() {
            tracer.set_guide(g);
        }
        let manual_clock = self.manual_clock;
        let crash_hook = self.on_crash.take();
        let mut core = self.core(&lua, &installed, app, tracer, guided)?;
        // A simulation, a manual clock or a recorded run preempts by count alone, so a
        // seed or a trace replays the same.
        if !core.clock().is_virtual() && !core.tracer().is_on() {
            preempt::watch(&lua, &fuel)?;
        }
        lua::object::adopt_graveyard(&lua, &core);
        let core = crate::ffi::cell::Anchor::install(&lua, core)?;
        let poll = mio::Poll::new().map_err(|e| Error::Poll(e.to_string()))?;
        let waker = mio::Waker::new(poll.registry(), WAKER_TOKEN)
            .map_err(|e| Error::Poll(e.to_string()))?;
        Ok(Runtime {
            core,
            resume_vals: std::cell::Cell::new(Vec::with_capacity(8)),
            lua,
            allocator,
            fuel,
            poll,
            events: mio::Events::with_capacity(64),
            installed,
            interrupt: Interrupt {
                flag: Arc::new(AtomicBool::new(false)),
                waker: Arc::new(waker),
            },
            manual_clock,
            crash_hook,
            crash_pending: false,
            collector: Default::default(),
            between_turns: None,
        })
    }

    /// The core for `app`: clock, seed and hosts from the builder (or the replayed trace's
    /// header), with the random sources seeded and the output set.
    fn core(
        self,
        lua: &Lua,
        installed: &Installed,
        app: &App,
        mut tracer: Tracer,
        guided: bool,
    ) -> Result<Core> {
        let header = tracer.header().cloned();
        let recorded = |k: &str| header.as_ref().and_then(|h| h.get(k)).cloned();
        let seed = recorded("seed")
            .and_then(|v| v.as_u64())
            .or(self.seed)
            .unwrap_or_else(entropy);
        let clock = match (recorded("wall0").and_then(|v| v.as_i64()), self.seed) {
            (Some(wall0), _) => Clock::virtual_at(wall0),
            (None, Some(_)) => Clock::virtual_at(VIRTUAL_EPOCH_NS),
            (None, None) if self.manual_clock => Clock::virtual_at(VIRTUAL_EPOCH_NS),
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
        let hosts = host_limits(app, &self.limits);
        for (i, (_, l)) in hosts.iter().enumerate() {
            installed
                .register_host
                .call::<()>((i as i64, l.allow.clone()))?;
        }
        Ok(Core::new(CoreConfig {
            clock,
            entries: Entries::of(app),
            hosts,
            memory_ceiling: self.memory_ceiling,
            tracer,
            seed,
            virtual_work: match recorded("virtual") {
                Some(v) => v.as_bool().unwrap_or(false),
                None => self.seed.is_some() && !self.manual_clock,
            },
            sim: match sim_config(
                header.as_ref(),
                self.seed.is_some(),
                self.strategy,
                self.faults,
            ) {
                Ok(mut s) => {
                    s.follow |= guided;
                    s
                }
                Err(e) => return Err(e),
            },
        }))
    }
}

/// Simulation settings: the builder's, or a replayed trace's `start` record's (then picks
/// and faults follow the trace).
fn sim_config(
    header: Option<&serde_json::Map<String, serde_json::Value>>,
    seeded: bool,
    strategy: Strategy,
    faults: Faults,
) -> Result<SimConfig> {
    let Some(h) = header else {
        // Strategies and faults exist only in simulation mode.
        return Ok(SimConfig {
            live: seeded,
            strategy: if seeded { strategy } else { Strategy::Fifo },
            faults: if seeded { faults } else { Faults::default() },
            follow: false,
        });
    };
    let text = |k: &str| h.get(k).and_then(|v| v.as_str()).unwrap_or("");
    let bad = |what: &str, e: String| Error::Io(format!("trace start record: bad {what}: {e}"));
    let strategy = match text("strategy") {
        "" => Strategy::Fifo,
        s => Strategy::parse(s).map_err(|e| bad("strategy", e))?,
    };
    let faults = match text("faults") {
        "" => Faults::default(),
        s => Faults::parse(s, |d| lua::duration::parse(d).ok()).map_err(|e| bad("faults", e))?,
    };
    Ok(SimConfig {
        live: h.get("virtual").and_then(|v| v.as_bool()).unwrap_or(false),
        strategy,
        faults,
        follow: true,
    })
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

/// Every host of `app` with the limits its processes get: the builder's replacement for
/// it, or its manifest's fields over the builder's defaults.
fn host_limits(app: &App, limits: &LimitConfig) -> Vec<(String, Limits)> {
    app.hosts()
        .map(|e| {
            let mut l = limits
                .per_host
                .iter()
                .find(|(name, _)| *name == e.id)
                .map(|(_, l)| l.clone())
                .unwrap_or_else(|| e.limits.apply(&limits.default));
            l.payload_depth = l.payload_depth.min(crate::limits::MAX_PAYLOAD_DEPTH);
            (e.id.clone(), l)
        })
        .collect()
}
