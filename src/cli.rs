//! The command line: `moonhost run APP_DIR ENTRY [ARGS...]` and
//! `moonhost test APP_DIR [FILTER...] [--format tap]`, with the simulation flags of SPEC §7.

use crate::manifest::App;
use crate::message::Exit;
use crate::runtime::{RunOutcome, Runtime, RuntimeBuilder, check_syntax};
use crate::sim::{Faults, Strategy};
use crate::testrun::{self, TestOptions};
use crate::trace::Divergence;
use crate::watch::{self, Watch};
use clap::{Parser, Subcommand, ValueEnum};
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

/// moonhost: Lua processes with an Erlang-style API on one thread.
#[derive(Debug, Parser)]
#[command(name = "moonhost", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Test output formats.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// One readable line per test.
    Text,
    /// TAP version 13.
    Tap,
    /// JUnit XML on stdout (the closing lines on stderr).
    Junit,
}

/// Simulation flags shared by `run` and `test` (SPEC §7, §14).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SimArgs {
    /// Run on a virtual clock seeded with N (simulation mode).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Scheduling strategy: `fifo`, `random`, `pct[:D[:H]]` or `pos` (needs --seed or --explore).
    #[arg(long, value_name = "NAME")]
    pub strategy: Option<String>,
    /// Alias of `--strategy random`.
    #[arg(long)]
    pub perturb: bool,
    /// Faults to inject, e.g. kill=0.01,delay=0.05:5ms (needs --seed or --explore).
    #[arg(long, value_name = "SPEC")]
    pub faults: Option<String>,
    /// Run under K seeds (from --seed, default 1) and report every failing seed.
    #[arg(long, value_name = "K")]
    pub explore: Option<u64>,
    /// Shrink a failing schedule to its fewest decisions (with --explore, --seed or --replay).
    #[arg(long)]
    pub shrink: bool,
    /// Where --shrink (and --explore's failing traces) are written.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write a JSON Lines trace of every scheduling decision to FILE.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Re-run against the trace in FILE, following its decisions; stop at the first divergence.
    #[arg(long, value_name = "FILE", conflicts_with = "trace")]
    pub replay: Option<PathBuf>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Spawn ENTRY as the root process and run until it ends.
    Run {
        /// Application folder (holds _index.yaml files).
        app: PathBuf,
        /// Entry id, e.g. app.test.process:echo_worker.
        entry: String,
        /// Arguments passed to the entry's function as strings.
        args: Vec<String>,
        /// Simulation flags.
        #[command(flatten)]
        sim: SimArgs,
        /// Write the process report (SPEC §12.4) to stderr when the run ends.
        #[arg(long)]
        report: bool,
        /// Reload changed source files while running (SPEC §12.3.1): processes whose
        /// entry changed get a `pid.reload` event.
        #[arg(long, conflicts_with = "replay")]
        watch: bool,
    },
    /// Run every entry with meta.type: test.
    Test {
        /// Application folder.
        app: PathBuf,
        /// Keep tests whose id contains any of these.
        filters: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Per-test time limit in seconds.
        #[arg(long, default_value_t = 30.0)]
        timeout: f64,
        /// Simulation flags.
        #[command(flatten)]
        sim: SimArgs,
    },
    /// Work with trace files.
    Trace {
        /// What to do with the trace.
        #[command(subcommand)]
        action: TraceAction,
    },
}

/// `moonhost trace` actions.
#[derive(Debug, Subcommand)]
pub enum TraceAction {
    /// Writes FILE (a --trace recording) as Chrome trace-event JSON (Perfetto,
    /// chrome://tracing): a track per process, slices for turns, arrows for messages.
    Export {
        /// The JSON Lines trace.
        file: PathBuf,
        /// Where to write the JSON (stdout by default).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// The resolved strategy and faults of `sim`, or the usage error (SPEC §14.2-§14.4).
///
/// # Errors
/// The message to print after `moonhost: ` (exit 2).
pub fn resolve_sim(sim: &SimArgs) -> Result<(Strategy, Faults), String> {
    let seeded = sim.seed.is_some() || sim.explore.is_some();
    if sim.replay.is_some()
        && (sim.seed.is_some() || sim.strategy.is_some() || sim.faults.is_some())
            | sim.explore.is_some()
            | sim.perturb
    {
        return Err("--replay takes seed, strategy and faults from the trace".into());
    }
    if (sim.strategy.is_some() || sim.perturb) && !seeded {
        return Err("--strategy needs --seed or --explore".into());
    }
    if sim.faults.is_some() && !seeded {
        return Err("--faults needs --seed or --explore".into());
    }
    if sim.shrink && !seeded && sim.replay.is_none() {
        return Err("--shrink needs --explore, --seed or --replay".into());
    }
    let strategy = match (&sim.strategy, sim.perturb, sim.explore) {
        (Some(s), _, _) => Strategy::parse(s)?,
        (None, true, _) | (None, false, Some(_)) => Strategy::Random,
        (None, false, None) => Strategy::Fifo,
    };
    let faults = match &sim.faults {
        Some(f) => Faults::parse(f, |d| crate::lua::duration::parse(d).ok())?,
        None => Faults::default(),
    };
    Ok((strategy, faults))
}

/// Parses the process arguments and runs; returns the exit code.
pub fn main() -> i32 {
    let command = Cli::parse().command;
    let sim = match &command {
        Command::Run { sim, .. } | Command::Test { sim, .. } => sim.clone(),
        Command::Trace {
            action: TraceAction::Export { file, out },
        } => return export(file, out.as_deref()),
    };
    let (strategy, faults) = match resolve_sim(&sim) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("moonhost: {e}");
            return 2;
        }
    };
    match command {
        Command::Run {
            app,
            entry,
            args,
            report,
            watch,
            ..
        } => {
            if let Some(k) = sim.explore {
                let Ok(a) = load(&app) else { return 2 };
                let x = crate::explore_run::RunExplore {
                    app_dir: &app.display().to_string(),
                    entry: &entry,
                    args: &args,
                    seed: sim.seed.unwrap_or(1),
                    k,
                    strategy,
                    faults: &faults,
                };
                return crate::explore_run::explore(&a, &x);
            }
            let s = Simulation {
                seed: sim.seed,
                strategy,
                faults,
                trace: sim.trace,
                replay: sim.replay,
                report,
                watch,
            };
            run(&app, &entry, &args, &s)
        }
        Command::Trace { .. } => 2,
        Command::Test {
            app,
            filters,
            format,
            timeout,
            ..
        } => {
            let opts = TestOptions {
                filters,
                tap: format == Format::Tap,
                junit: format == Format::Junit,
                timeout: Duration::from_secs_f64(timeout.max(0.001)),
                seed: sim.seed,
                strategy,
                faults,
                explore: sim.explore,
                trace: sim.trace,
                replay: sim.replay,
                shrink: sim.shrink,
                out: sim.out,
                app_dir: app.display().to_string(),
            };
            test(&app, &opts)
        }
    }
}

/// `moonhost trace export FILE [--out OUT]`.
fn export(file: &Path, out: Option<&Path>) -> i32 {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("moonhost: {}: {e}", file.display());
            return 2;
        }
    };
    let json = match crate::chrome::export(&text) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("moonhost: {}: {e}", file.display());
            return 2;
        }
    };
    match out {
        Some(o) => match std::fs::write(o, json) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("moonhost: {}: {e}", o.display());
                2
            }
        },
        None => {
            println!("{json}");
            0
        }
    }
}

/// The simulation flags of `run`.
#[derive(Debug, Default)]
struct Simulation {
    seed: Option<u64>,
    strategy: Strategy,
    faults: Faults,
    trace: Option<PathBuf>,
    replay: Option<PathBuf>,
    /// `--report`: print the process report when the run ends.
    report: bool,
    /// `--watch`: reload changed sources while running.
    watch: bool,
}

fn load(app: &Path) -> Result<App, i32> {
    App::load(app)
        .and_then(|a| check_syntax(&a).map(|()| a))
        .map_err(|e| {
            eprintln!("moonhost: {e}");
            2
        })
}

/// The runtime builder of a `run`: strategy (PCT's horizon measured), faults, clock,
/// trace or replay, and the crash hook.
fn builder_for(app: &App, entry: &str, args: &[String], sim: &Simulation) -> RuntimeBuilder {
    // Every crash, the root's included, is reported as `moonhost: process <pid> (<entry>)
    // failed: <error>` and its traceback (SPEC §13.1).
    let mut b = Runtime::builder()
        .strategy(measured(app, entry, args, sim))
        .faults(sim.faults.clone())
        .on_crash(|r| eprintln!("moonhost: {r}"));
    if let Some(s) = sim.seed {
        b = b.seed(s);
    }
    if let Some(t) = &sim.trace {
        b = b.trace(t);
    }
    if let Some(r) = &sim.replay {
        b = b.replay(r);
    }
    b
}

fn run(app: &Path, entry: &str, args: &[String], sim: &Simulation) -> i32 {
    let app = match load(app) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let b = builder_for(&app, entry, args, sim);
    let mut always = None;
    let mut replayed = None;
    let watch = sim.watch.then(|| Rc::new(RefCell::new(Watch::of(&app))));
    let outcome = b.build(&app).and_then(|mut rt| {
        let stop = rt.interrupt_handle();
        let ctrl_c = stop.clone();
        // A second handler cannot be installed in the same process (tests call this more
        // than once); Ctrl-C then keeps its default behaviour.
        let _ = ctrlc::set_handler(move || ctrl_c.interrupt());
        // SIGUSR1 writes the report and, with --watch, changed sources are reloaded.
        rt.set_between_turns(watch::hook(watch.clone()));
        let mut outcome = rt.run_entry(entry, args);
        if let Some(w) = &watch {
            outcome = watch::wait(&mut rt, w, &stop, outcome);
        }
        let mut c = rt.core();
        c.tracer().flush();
        always = c.always_failure().map(str::to_string);
        if c.tracer().is_replaying() {
            replayed = Some(c.tracer().compared());
        }
        drop(c);
        // A deadlock always gets the report, after its message.
        let deadlock = matches!(outcome, Ok(RunOutcome::Deadlock | RunOutcome::Idle));
        let report = (sim.report || deadlock).then(|| rt.report());
        rt.shutdown();
        outcome.map(|o| (o, report))
    });
    let (outcome, report) = match outcome {
        Ok((o, r)) => (Ok(o), r),
        Err(e) => (Err(e), None),
    };
    if let (Some(n), Ok(RunOutcome::Exited(_))) = (replayed, &outcome) {
        eprintln!("replay: ok ({n} records)");
    }
    let deadlock = matches!(outcome, Ok(RunOutcome::Deadlock | RunOutcome::Idle));
    if let Some(r) = report.as_deref().filter(|_| !deadlock) {
        eprint!("{r}");
    }
    if let Some(a) = always {
        eprintln!("moonhost: {a}");
        return 1;
    }
    match outcome {
        Ok(RunOutcome::Exited(root)) => match root.exit {
            Exit::Normal(_) => 0,
            // Already reported by the crash hook.
            Exit::Error(_) => 1,
        },
        Ok(RunOutcome::Deadlock | RunOutcome::Idle) => {
            eprintln!("moonhost: deadlock: the root process is blocked and nothing can wake it");
            if let Some(r) = &report {
                eprint!("{r}");
            }
            1
        }
        Ok(RunOutcome::TimedOut | RunOutcome::WallGuard) => 1,
        Ok(RunOutcome::Interrupted) => {
            eprintln!("moonhost: interrupted");
            130
        }
        Ok(RunOutcome::Diverged(d)) => {
            report_divergence(&d);
            1
        }
        Err(e) => {
            eprintln!("moonhost: {e}");
            2
        }
    }
}

fn report_divergence(d: &Divergence) {
    eprintln!("moonhost: {}", d.report());
    if let Some(tb) = &d.traceback {
        eprintln!("  Lua stack of the process:");
        for line in tb.lines() {
            eprintln!("    {line}");
        }
    }
}

/// The strategy of a `run`, with PCT's horizon measured by one FIFO run when missing.
fn measured(app: &App, entry: &str, args: &[String], sim: &Simulation) -> Strategy {
    if !sim.strategy.needs_horizon() {
        return sim.strategy;
    }
    let mut b = Runtime::builder()
        .output(std::io::sink())
        .faults(sim.faults.clone());
    if let Some(s) = sim.seed {
        b = b.seed(s);
    }
    let steps = b.build(app).ok().map(|mut rt| {
        let _ = rt.run_entry(entry, args);
        let steps = rt.core().steps();
        rt.shutdown();
        steps
    });
    sim.strategy.with_horizon(steps.unwrap_or(1))
}

fn test(app: &Path, opts: &TestOptions) -> i32 {
    let app = match load(app) {
        Ok(a) => a,
        Err(code) => return code,
    };
    if opts.trace.is_some() || opts.replay.is_some() {
        let n = testrun::select(&app, &opts.filters).len();
        if n != 1 {
            eprintln!(
                "moonhost: --trace and --replay need exactly one selected test ({n} selected)"
            );
            return 2;
        }
    }
    let mut out = std::io::stdout();
    let none_match = !opts.filters.is_empty() && testrun::select(&app, &opts.filters).is_empty();
    match testrun::run_all(&app, opts, &mut out) {
        Ok(_) if none_match => {
            let filters: Vec<String> = opts.filters.iter().map(|f| format!("'{f}'")).collect();
            let all = testrun::select(&app, &[]).len();
            eprintln!(
                "moonhost: no test matches {} ({all} tests in the app)",
                filters.join(", ")
            );
            1
        }
        Ok((_, 0)) => 0,
        Ok(_) => 1,
        Err(e) => {
            eprintln!("moonhost: {e}");
            2
        }
    }
}
