//! The command line: `moonhost run APP_DIR ENTRY [ARGS...]` and
//! `moonhost test APP_DIR [FILTER...] [--format tap]`, with the simulation flags of SPEC §7.

use crate::manifest::App;
use crate::message::Exit;
use crate::runtime::{RunOutcome, Runtime, check_syntax};
use crate::testrun::{self, TestOptions};
use crate::trace::Divergence;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
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
        /// Run on a virtual clock seeded with N (simulation mode).
        #[arg(long)]
        seed: Option<u64>,
        /// Also reorder tasks ready together and timer ties from the seed.
        #[arg(long, requires = "seed")]
        perturb: bool,
        /// Write a JSON Lines trace of every scheduling decision to FILE.
        #[arg(long, value_name = "FILE")]
        trace: Option<PathBuf>,
        /// Re-run against the trace in FILE and stop at the first divergence.
        #[arg(long, value_name = "FILE", conflicts_with = "trace")]
        replay: Option<PathBuf>,
        /// Write the process report (SPEC §12.4) to stderr when the run ends.
        #[arg(long)]
        report: bool,
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
        /// Run on a virtual clock seeded with N (simulation mode).
        #[arg(long)]
        seed: Option<u64>,
        /// Also reorder tasks ready together and timer ties from the seed.
        #[arg(long, requires = "seed")]
        perturb: bool,
        /// Run each test under K perturbed seeds and report every failing seed.
        #[arg(long, value_name = "K", conflicts_with = "seed")]
        explore: Option<u64>,
    },
}

/// Parses the process arguments and runs; returns the exit code.
pub fn main() -> i32 {
    match Cli::parse().command {
        Command::Run {
            app,
            entry,
            args,
            seed,
            perturb,
            trace,
            replay,
            report,
        } => {
            let sim = Simulation {
                seed,
                perturb,
                trace,
                replay,
                report,
            };
            run(&app, &entry, &args, &sim)
        }
        Command::Test {
            app,
            filters,
            format,
            timeout,
            seed,
            perturb,
            explore,
        } => {
            let opts = TestOptions {
                filters,
                tap: format == Format::Tap,
                timeout: Duration::from_secs_f64(timeout.max(0.001)),
                seed,
                perturb,
                explore,
                app_dir: app.display().to_string(),
            };
            test(&app, &opts)
        }
    }
}

/// The simulation flags of `run`.
#[derive(Debug, Default)]
struct Simulation {
    seed: Option<u64>,
    perturb: bool,
    trace: Option<PathBuf>,
    replay: Option<PathBuf>,
    /// `--report`: print the process report when the run ends.
    report: bool,
}

fn load(app: &Path) -> Result<App, i32> {
    App::load(app)
        .and_then(|a| check_syntax(&a).map(|()| a))
        .map_err(|e| {
            eprintln!("moonhost: {e}");
            2
        })
}

fn run(app: &Path, entry: &str, args: &[String], sim: &Simulation) -> i32 {
    let app = match load(app) {
        Ok(a) => a,
        Err(code) => return code,
    };
    // Every crash, the root's included, is reported as `moonhost: process <pid> (<entry>)
    // failed: <error>` and its traceback (SPEC §13.1).
    let mut b = Runtime::builder()
        .perturb(sim.perturb)
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
    let outcome = b.build(&app).and_then(|mut rt| {
        let stop = rt.interrupt_handle();
        // A second handler cannot be installed in the same process (tests call this more
        // than once); Ctrl-C then keeps its default behaviour.
        let _ = ctrlc::set_handler(move || stop.interrupt());
        let outcome = rt.run_entry(entry, args);
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
    let deadlock = matches!(outcome, Ok(RunOutcome::Deadlock | RunOutcome::Idle));
    if let Some(r) = report.as_deref().filter(|_| !deadlock) {
        eprint!("{r}");
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
        Ok(RunOutcome::TimedOut) => 1,
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
    eprintln!("moonhost: replay diverged at trace line {}", d.line);
    eprintln!(
        "  expected: {}",
        d.expected.as_deref().unwrap_or("(end of trace)")
    );
    eprintln!("  actual:   {}", d.actual);
    if let Some(tb) = &d.traceback {
        eprintln!("  Lua stack of the process involved:");
        for line in tb.lines() {
            eprintln!("    {line}");
        }
    }
}

fn test(app: &Path, opts: &TestOptions) -> i32 {
    let app = match load(app) {
        Ok(a) => a,
        Err(code) => return code,
    };
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
