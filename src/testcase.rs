//! One test case in a fresh runtime (SPEC §8, §14): the options, the verdict, and the
//! run itself, plain or guided by a shrinking candidate's decisions.

use crate::manifest::{App, Entry};
use crate::message::Exit;
use crate::payload::Payload;
use crate::runtime::{RunOutcome, Runtime};
use crate::sim::{Faults, Strategy};
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Default per-test time limit.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How to run tests.
#[derive(Debug, Clone)]
pub struct TestOptions {
    /// Keep tests whose id contains any of these (all when empty).
    pub filters: Vec<String>,
    /// Print TAP version 13 instead of readable lines.
    pub tap: bool,
    /// Per-test time limit.
    pub timeout: Duration,
    /// Run on a virtual clock with this seed.
    pub seed: Option<u64>,
    /// The scheduling strategy of seeded runs.
    pub strategy: Strategy,
    /// Faults to inject into seeded runs.
    pub faults: Faults,
    /// Run each test under seeds S..S+K-1 and report failing seeds.
    pub explore: Option<u64>,
    /// Write the (one selected) test's trace here.
    pub trace: Option<PathBuf>,
    /// Replay the (one selected) test against this trace.
    pub replay: Option<PathBuf>,
    /// Write JUnit XML instead of text.
    pub junit: bool,
    /// Shrink failing schedules (with `--explore`, `--seed` or `--replay`).
    pub shrink: bool,
    /// Where `--shrink` and `--out` write traces.
    pub out: Option<PathBuf>,
    /// How the app folder was named on the command line (for replay commands).
    pub app_dir: String,
}

impl Default for TestOptions {
    fn default() -> Self {
        TestOptions {
            filters: Vec::new(),
            tap: false,
            timeout: DEFAULT_TIMEOUT,
            seed: None,
            strategy: Strategy::Fifo,
            faults: Faults::default(),
            explore: None,
            trace: None,
            replay: None,
            junit: false,
            shrink: false,
            out: None,
            app_dir: ".".into(),
        }
    }
}

/// One test's result.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// Entry id.
    pub id: String,
    /// Whether it passed.
    pub passed: bool,
    /// Why it failed.
    pub message: Option<String>,
    /// Lua traceback of a raised error.
    pub traceback: Option<String>,
    /// Time it took: wall time, or virtual time in simulation mode (so output repeats).
    pub elapsed: Duration,
    /// What simulation mode saw.
    pub sim: SimSeen,
}

/// What a simulated run reports besides its verdict.
#[derive(Debug, Clone, Default)]
pub struct SimSeen {
    /// Steps the run took.
    pub steps: u64,
    /// `sometimes` names evaluated, and whether each was hit.
    pub sometimes: Vec<(String, bool)>,
    /// Records a successful replay compared.
    pub replayed: Option<usize>,
    /// Text printed after the verdict (shrink blocks).
    pub after: String,
}

/// Runs one test in a fresh runtime; `output` receives what the test prints.
pub fn run_one(app: &App, entry: &Entry, opts: &TestOptions, output: Box<dyn Write>) -> Verdict {
    run_with(app, entry, opts, output, None)
}

/// Runs one test applying exactly `decisions` at their steps (a shrinking candidate).
pub fn run_guided(
    app: &App,
    entry: &Entry,
    opts: &TestOptions,
    decisions: Vec<serde_json::Map<String, serde_json::Value>>,
) -> Verdict {
    run_with(app, entry, opts, Box::new(std::io::sink()), Some(decisions))
}

fn run_with(
    app: &App,
    entry: &Entry,
    opts: &TestOptions,
    output: Box<dyn Write>,
    guide: Option<Vec<serde_json::Map<String, serde_json::Value>>>,
) -> Verdict {
    let started = Instant::now();
    let mut verdict = Verdict {
        id: entry.id.clone(),
        passed: false,
        message: None,
        traceback: None,
        elapsed: Duration::ZERO,
        sim: SimSeen::default(),
    };
    // Tests crash processes on purpose; what crashed is shown only when the test fails.
    let crashes = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let seen = crashes.clone();
    let root_entry = entry.id.clone();
    let builder = builder_for(entry, opts, output, guide, move |r| {
        if r.entry != root_entry {
            seen.borrow_mut().push(r.to_string());
        }
    });
    let mut virtual_ns = None;
    let outcome = builder.build(app).and_then(|mut rt| {
        rt.spawn_root(&entry.id, &[])?;
        // In simulation the limit counts virtual time (SPEC §14.8).
        let out = rt.run_virtual(opts.timeout);
        let mut c = rt.core();
        c.tracer().flush();
        if c.clock().is_virtual() {
            virtual_ns = Some(c.clock().now());
        }
        verdict.sim.steps = c.steps();
        verdict.sim.sometimes = c
            .sometimes_seen()
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        if matches!(out, Ok(RunOutcome::Exited(_))) && c.tracer().is_replaying() {
            verdict.sim.replayed = Some(c.tracer().compared());
        }
        drop(c);
        rt.shutdown();
        out
    });
    judge(&mut verdict, outcome, opts);
    let crashed = crashes.borrow();
    if !verdict.passed && !crashed.is_empty() {
        let mut tb = verdict.traceback.take().unwrap_or_default();
        tb.push_str("\nprocesses that crashed during the test:");
        for c in crashed.iter() {
            tb.push_str("\n  ");
            tb.push_str(&c.replace('\n', "\n    "));
        }
        verdict.traceback = Some(tb.trim_start().to_string());
    }
    verdict.elapsed = match virtual_ns {
        Some(ns) => Duration::from_nanos(ns),
        None => started.elapsed(),
    };
    verdict
}

/// The runtime builder of one test: output, the test's name, strategy, faults, seed,
/// trace or replay, a shrinking candidate's decisions, and the crash hook.
fn builder_for(
    entry: &Entry,
    opts: &TestOptions,
    output: Box<dyn Write>,
    guide: Option<Vec<serde_json::Map<String, serde_json::Value>>>,
    on_crash: impl FnMut(&crate::hostbox::CrashReport) + 'static,
) -> crate::runtime::RuntimeBuilder {
    let mut builder = Runtime::builder()
        .output(OutputBox(output))
        .test(entry.id.clone())
        .strategy(opts.strategy)
        .faults(opts.faults.clone())
        .on_crash(on_crash);
    if let Some(s) = opts.seed {
        builder = builder.seed(s);
    }
    if let Some(t) = &opts.trace {
        builder = builder.trace(t);
    }
    if let Some(r) = &opts.replay {
        builder = builder.replay(r);
    }
    if let Some(g) = guide {
        builder = builder.guide(g);
    }
    builder
}

fn judge(verdict: &mut Verdict, outcome: crate::error::Result<RunOutcome>, opts: &TestOptions) {
    match outcome {
        Ok(RunOutcome::Exited(root)) => match root.exit {
            Exit::Normal(Payload::Bool(false)) => {
                verdict.message = Some("test returned false".into());
            }
            Exit::Normal(_) => verdict.passed = true,
            Exit::Error(msg) => {
                verdict.message = Some(msg);
                verdict.traceback = root.traceback;
            }
        },
        Ok(RunOutcome::TimedOut) => {
            verdict.message = Some(format!("timed out after {:?}", opts.timeout));
        }
        Ok(RunOutcome::Interrupted) => verdict.message = Some("interrupted".into()),
        Ok(RunOutcome::WallGuard) => {
            verdict.message = Some("wall-clock guard hit (not deterministic)".into());
        }
        Ok(RunOutcome::Diverged(d)) => {
            verdict.message = Some(d.report());
            verdict.traceback = d.traceback;
        }
        Ok(RunOutcome::Deadlock | RunOutcome::Idle) => {
            verdict.message =
                Some("blocked forever: no process can run and no timer is armed".into());
        }
        Err(e) => verdict.message = Some(e.to_string()),
    }
    if verdict.passed {
        verdict.sim.replayed = verdict.sim.replayed.filter(|_| opts.replay.is_some());
    }
}

struct OutputBox(Box<dyn Write>);

impl Write for OutputBox {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}
