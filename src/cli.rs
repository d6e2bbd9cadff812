//! The command line: `moonhost run APP_DIR ENTRY [ARGS...]` and
//! `moonhost test APP_DIR [FILTER...] [--format tap]`.

use crate::manifest::App;
use crate::process::Exit;
use crate::runtime::{RunOutcome, Runtime, check_syntax};
use crate::testrun::{self, TestOptions};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
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
    },
}

/// Parses the process arguments and runs; returns the exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    match cli.command {
        Command::Run {
            app,
            entry,
            args,
            seed,
        } => run(&app, &entry, &args, seed),
        Command::Test {
            app,
            filters,
            format,
            timeout,
            seed,
        } => {
            let opts = TestOptions {
                filters,
                tap: format == Format::Tap,
                timeout: Duration::from_secs_f64(timeout.max(0.001)),
                seed,
            };
            test(&app, &opts)
        }
    }
}

fn run(app: &PathBuf, entry: &str, args: &[String], seed: Option<u64>) -> i32 {
    let app = match App::load(app).and_then(|a| check_syntax(&a).map(|()| a)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("moonhost: {e}");
            return 2;
        }
    };
    let mut b = Runtime::builder();
    if let Some(s) = seed {
        b = b.seed(s);
    }
    let outcome = b.build(&app).and_then(|mut rt| {
        let stop = rt.interrupt_handle();
        // A second handler cannot be installed in the same process (tests call this more
        // than once); Ctrl-C then keeps its default behaviour.
        let _ = ctrlc::set_handler(move || stop.interrupt());
        let outcome = rt.run_entry(entry, args);
        rt.shutdown();
        outcome
    });
    match outcome {
        Ok(RunOutcome::Exited(root)) => match root.exit {
            Exit::Normal(_) => 0,
            Exit::Error(msg) => {
                eprintln!("{msg}");
                if let Some(tb) = root.traceback {
                    eprintln!("{tb}");
                }
                1
            }
        },
        Ok(RunOutcome::Deadlock) => {
            eprintln!("moonhost: deadlock: the root process is blocked and nothing can wake it");
            1
        }
        Ok(RunOutcome::TimedOut) => 1,
        Ok(RunOutcome::Interrupted) => {
            eprintln!("moonhost: interrupted");
            130
        }
        Err(e) => {
            eprintln!("moonhost: {e}");
            2
        }
    }
}

fn test(app: &PathBuf, opts: &TestOptions) -> i32 {
    let app = match App::load(app).and_then(|a| check_syntax(&a).map(|()| a)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("moonhost: {e}");
            return 2;
        }
    };
    let mut out = std::io::stdout();
    match testrun::run_all(&app, opts, &mut out) {
        Ok((_, 0)) => 0,
        Ok(_) => 1,
        Err(e) => {
            eprintln!("moonhost: {e}");
            2
        }
    }
}
