//! The test runner behind `moonhost test` (SPEC §8).
//!
//! Finds every entry with `meta.type: test`, orders them by suite (alphabetical, suite-less
//! last) then `(meta.order, id)`, and runs each as the root process of a fresh runtime with
//! its own time limit, so nothing a test leaves behind can disturb the next one.

use crate::manifest::{App, Entry, MetaValue};
use crate::payload::Payload;
use crate::message::Exit;
use crate::runtime::{RunOutcome, Runtime};
use std::io::Write;
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
    /// Reorder tasks ready together and timer ties from the seed.
    pub perturb: bool,
    /// Run each test under seeds 1..=K with perturbation and report failing seeds.
    pub explore: Option<u64>,
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
            perturb: false,
            explore: None,
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
    /// Wall time it took.
    pub elapsed: Duration,
}

/// The selected tests in run order.
pub fn select<'a>(app: &'a App, filters: &[String]) -> Vec<&'a Entry> {
    let mut tests: Vec<&Entry> = app
        .entries
        .iter()
        .filter(|e| e.is_test())
        .filter(|e| filters.is_empty() || filters.iter().any(|f| e.id.contains(f.as_str())))
        .collect();
    tests.sort_by(|a, b| {
        let key = |e: &Entry| {
            let suite = e.meta_str("suite").map(str::to_string);
            (suite.is_none(), suite, e.meta_num("order").unwrap_or(0.0))
        };
        let (ka, kb) = (key(a), key(b));
        (ka.0, &ka.1)
            .cmp(&(kb.0, &kb.1))
            .then(ka.2.total_cmp(&kb.2))
            .then(a.id.cmp(&b.id))
    });
    tests
}

/// Runs one test in a fresh runtime; `output` receives what the test prints.
pub fn run_one(app: &App, entry: &Entry, opts: &TestOptions, output: Box<dyn Write>) -> Verdict {
    let started = Instant::now();
    let mut verdict = Verdict {
        id: entry.id.clone(),
        passed: false,
        message: None,
        traceback: None,
        elapsed: Duration::ZERO,
    };
    let mut builder = Runtime::builder()
        .output(OutputBox(output))
        .perturb(opts.perturb);
    if let Some(s) = opts.seed {
        builder = builder.seed(s);
    }
    let outcome = builder.build(app).and_then(|mut rt| {
        rt.spawn_root(&entry.id, &[])?;
        rt.run(Some(opts.timeout))
    });
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
        Ok(RunOutcome::Diverged(d)) => {
            verdict.message = Some(format!("replay diverged at trace line {}", d.line));
        }
        Ok(RunOutcome::Deadlock) => {
            verdict.message =
                Some("blocked forever: no process can run and no timer is armed".into());
        }
        Err(e) => verdict.message = Some(e.to_string()),
    }
    verdict.elapsed = started.elapsed();
    verdict
}

/// Runs one test under seeds `1..=k` with perturbation; the verdict fails if any seed
/// fails, and its message lists each failing seed with the command that replays it.
pub fn explore(app: &App, entry: &Entry, opts: &TestOptions, k: u64) -> Verdict {
    let started = Instant::now();
    let mut failures = Vec::new();
    let mut first = None;
    for seed in 1..=k {
        let o = TestOptions {
            seed: Some(seed),
            perturb: true,
            explore: None,
            ..opts.clone()
        };
        let v = run_one(app, entry, &o, Box::new(std::io::sink()));
        if !v.passed {
            failures.push(format!(
                "seed {seed}: {}\n    replay: moonhost test {} {} --seed {seed} --perturb",
                v.message.as_deref().unwrap_or("failed"),
                opts.app_dir,
                entry.id
            ));
            first.get_or_insert(v.traceback);
        }
    }
    Verdict {
        id: entry.id.clone(),
        passed: failures.is_empty(),
        message: (!failures.is_empty()).then(|| {
            format!(
                "failed under {} of {k} explored seeds\n  {}",
                failures.len(),
                failures.join("\n  ")
            )
        }),
        traceback: first.flatten(),
        elapsed: started.elapsed(),
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

/// Runs the selected tests, printing as it goes; returns `(passed, failed)`.
///
/// # Errors
/// Only when writing to `out` fails.
pub fn run_all(
    app: &App,
    opts: &TestOptions,
    out: &mut dyn Write,
) -> std::io::Result<(usize, usize)> {
    let tests = select(app, &opts.filters);
    if opts.tap {
        writeln!(out, "TAP version 13")?;
        writeln!(out, "1..{}", tests.len())?;
    }
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for (i, t) in tests.iter().enumerate() {
        out.flush()?;
        if let Some(reason) = skip_reason(t) {
            skipped += 1;
            if opts.tap {
                writeln!(out, "ok {} - {} # SKIP {reason}", i + 1, t.id)?;
            } else {
                writeln!(out, "SKIP {} ({reason})", t.id)?;
            }
            continue;
        }
        let v = match opts.explore {
            Some(k) => explore(app, t, opts, k),
            None => run_one(app, t, opts, Box::new(std::io::stdout())),
        };
        if v.passed {
            passed += 1;
        } else {
            failed += 1;
        }
        if opts.tap {
            write_tap(out, i + 1, &v)?;
        } else {
            write_line(out, &v)?;
        }
    }
    if skipped > 0 {
        writeln!(out, "{passed} passed, {failed} failed, {skipped} skipped")?;
    } else {
        writeln!(out, "{passed} passed, {failed} failed")?;
    }
    out.flush()?;
    Ok((passed, failed))
}

/// Why a test is skipped: `meta.skip: true` or `meta.skip: "<reason>"`.
pub fn skip_reason(e: &Entry) -> Option<String> {
    match e.meta.get("skip") {
        Some(MetaValue::Bool(true)) => Some("skipped".into()),
        Some(MetaValue::Str(s)) => Some(s.clone()),
        _ => None,
    }
}

fn write_line(out: &mut dyn Write, v: &Verdict) -> std::io::Result<()> {
    let ms = v.elapsed.as_secs_f64() * 1000.0;
    if v.passed {
        return writeln!(out, "PASS {} ({ms:.1} ms)", v.id);
    }
    writeln!(
        out,
        "FAIL {} ({ms:.1} ms): {}",
        v.id,
        v.message.as_deref().unwrap_or("failed")
    )?;
    if let Some(tb) = &v.traceback {
        for line in tb.lines() {
            writeln!(out, "    {line}")?;
        }
    }
    Ok(())
}

fn write_tap(out: &mut dyn Write, n: usize, v: &Verdict) -> std::io::Result<()> {
    if v.passed {
        return writeln!(out, "ok {n} - {}", v.id);
    }
    writeln!(out, "not ok {n} - {}", v.id)?;
    writeln!(out, "  ---")?;
    let msg = v.message.as_deref().unwrap_or("failed");
    writeln!(out, "  message: {}", yaml_quote(msg))?;
    if let Some(tb) = &v.traceback {
        writeln!(out, "  traceback: |")?;
        for line in tb.lines() {
            writeln!(out, "    {line}")?;
        }
    }
    writeln!(out, "  ...")
}

fn yaml_quote(s: &str) -> String {
    let escaped: String = s
        .chars()
        .flat_map(|c| match c {
            '"' => vec!['\\', '"'],
            '\\' => vec!['\\', '\\'],
            '\n' => vec!['\\', 'n'],
            c => vec![c],
        })
        .collect();
    format!("\"{escaped}\"")
}
