//! `moonhost run APP ENTRY --explore K` (SPEC §14.2): the entry under seeds `S..S+K-1`, each
//! in a fresh runtime with its output discarded; a run fails when the root ends abnormally,
//! a `sim.always` fails, or it deadlocks. Prints one block per failing seed with the exact
//! command that replays it, then the `explored …` line.

use crate::explore::{Summary, signature};
use crate::manifest::App;
use crate::message::Exit;
use crate::runtime::{RunOutcome, Runtime};
use crate::sim::{Faults, Strategy};

/// How one `run` is explored.
#[derive(Debug)]
pub struct RunExplore<'a> {
    /// The app folder as given on the command line.
    pub app_dir: &'a str,
    /// The entry and its arguments.
    pub entry: &'a str,
    /// Arguments of the entry.
    pub args: &'a [String],
    /// First seed.
    pub seed: u64,
    /// Seeds to run.
    pub k: u64,
    /// The strategy (PCT's horizon measured already).
    pub strategy: Strategy,
    /// Faults to inject.
    pub faults: &'a Faults,
}

/// One seeded run: `(failure message, steps)`.
fn once(app: &App, x: &RunExplore<'_>, seed: u64, strategy: Strategy) -> (Option<String>, u64) {
    let b = Runtime::builder()
        .output(std::io::sink())
        .seed(seed)
        .strategy(strategy)
        .faults(x.faults.clone());
    let Ok(mut rt) = b.build(app) else {
        return (Some("the runtime could not be built".into()), 0);
    };
    let outcome = rt.run_entry(x.entry, x.args);
    let steps = rt.core().steps();
    rt.shutdown();
    let msg = match outcome {
        Ok(RunOutcome::Exited(root)) => match root.exit {
            Exit::Normal(_) => None,
            Exit::Error(m) => Some(m),
        },
        Ok(RunOutcome::Deadlock | RunOutcome::Idle) => {
            Some("deadlock: the root process is blocked".into())
        }
        Ok(RunOutcome::TimedOut) => Some("timed out".into()),
        Ok(RunOutcome::Interrupted) => Some("interrupted".into()),
        Ok(RunOutcome::WallGuard) => Some("wall-clock guard hit (not deterministic)".into()),
        Ok(RunOutcome::Diverged(_)) => Some("diverged".into()),
        Err(e) => Some(e.to_string()),
    };
    (msg, steps)
}

/// Explores the entry; returns the exit code (0 when every seed passed, 1 otherwise).
pub fn explore(app: &App, x: &RunExplore<'_>) -> i32 {
    let strategy = if x.strategy.needs_horizon() {
        let (_, steps) = once(app, x, x.seed, Strategy::Fifo);
        x.strategy.with_horizon(steps)
    } else {
        x.strategy
    };
    let mut sum = Summary::default();
    let mut progress = crate::progress::Progress::new(x.k);
    let mut blocks = Vec::new();
    for seed in x.seed..x.seed.saturating_add(x.k) {
        let (failed, _) = once(app, x, seed, strategy);
        sum.runs += 1;
        progress.tick(failed.is_some());
        let Some(msg) = failed else { continue };
        sum.failed += 1;
        sum.distinct.insert((x.entry.to_string(), signature(&msg)));
        let mut cmd = format!("moonhost run {} {}", x.app_dir, x.entry);
        for a in x.args {
            cmd.push(' ');
            cmd.push_str(a);
        }
        cmd.push_str(&format!(" --seed {seed}"));
        if strategy != Strategy::Fifo {
            cmd.push_str(&format!(" --strategy {strategy}"));
        }
        if !x.faults.is_empty() {
            cmd.push_str(&format!(" --faults {}", x.faults));
        }
        let first = msg.lines().next().unwrap_or("");
        blocks.push(format!("  seed {seed}: {first}\n    replay: {cmd}"));
    }
    progress.finish();
    if !blocks.is_empty() {
        println!(
            "FAIL {}: failed under {} of {} explored schedules",
            x.entry,
            blocks.len(),
            x.k
        );
        for b in &blocks {
            println!("{b}");
        }
    }
    println!("{}", sum.line());
    i32::from(!blocks.is_empty())
}
