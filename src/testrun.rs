//! The test runner behind `moonhost test` (SPEC §8).
//!
//! Finds every entry with `meta.type: test`, orders them by suite (alphabetical, suite-less
//! last) then `(meta.order, id)`, and runs each as the root process of a fresh runtime with
//! its own time limit, so nothing a test leaves behind can disturb the next one.

use crate::manifest::{App, Entry, MetaValue};
use crate::message::Exit;
use crate::payload::Payload;
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
///
/// Suites run in alphabetical order (suite-less last), and inside a suite by `(meta.order,
/// id)`. Tests expanded from one `test.suite` entry take the place of that entry's id in this
/// order and run in the order their file defines them.
pub fn select<'a>(app: &'a App, filters: &[String]) -> Vec<&'a Entry> {
    let mut tests: Vec<(usize, &Entry)> = app
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.is_test())
        .filter(|(_, e)| filters.is_empty() || filters.iter().any(|f| e.id.contains(f.as_str())))
        .collect();
    tests.sort_by(|(ia, a), (ib, b)| {
        let key = |e: &'a Entry, i: usize| {
            let suite = e.meta_str("suite");
            let (group, pos) = match &e.expanded_from {
                Some(s) => (s.as_str(), i),
                None => (e.id.as_str(), 0),
            };
            (
                suite.is_none(),
                suite,
                e.meta_num("order").unwrap_or(0.0),
                group,
                pos,
            )
        };
        let (ka, kb) = (key(a, *ia), key(b, *ib));
        (ka.0, ka.1)
            .cmp(&(kb.0, kb.1))
            .then(ka.2.total_cmp(&kb.2))
            .then((ka.3, ka.4).cmp(&(kb.3, kb.4)))
    });
    tests.into_iter().map(|(_, e)| e).collect()
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
    // Tests crash processes on purpose; what crashed is shown only when the test fails.
    let crashes = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let seen = crashes.clone();
    let root_entry = entry.id.clone();
    let mut builder = Runtime::builder()
        .output(OutputBox(output))
        .perturb(opts.perturb)
        .on_crash(move |r| {
            if r.entry != root_entry {
                seen.borrow_mut().push(r.to_string());
            }
        });
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
        Ok(RunOutcome::Deadlock | RunOutcome::Idle) => {
            verdict.message =
                Some("blocked forever: no process can run and no timer is armed".into());
        }
        Err(e) => verdict.message = Some(e.to_string()),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn app_dir(tag: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("moonhost-run-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        for (name, text) in files {
            std::fs::write(dir.join(name), text).expect("write");
        }
        dir
    }

    /// A Wippy-format test on each side of a suite entry, in one suite, plus a suite-less one.
    const MIXED_YAML: &str = "namespace: t\nentries:\n  - name: b_suite\n    kind: test.suite\n    \
        source: file://cases.lua\n    meta: {suite: one}\n  - name: a_wippy\n    kind: function.lua\n    \
        source: file://wippy.lua\n    method: main\n    meta: {type: test, suite: one}\n  \
        - name: c_wippy\n    kind: function.lua\n    source: file://wippy.lua\n    method: main\n    \
        meta: {type: test, suite: one}\n  - name: early\n    kind: function.lua\n    \
        source: file://wippy.lua\n    method: main\n    meta: {type: test, suite: one, order: -1}\n  \
        - name: loose\n    kind: function.lua\n    source: file://wippy.lua\n    method: main\n    \
        meta: {type: test}\n";

    const CASES_LUA: &str = "local M = {}\nfunction M.zulu() return process.id() == 't:b_suite:zulu' end\n\
        function M.fails() return nil, 'broken' end\nfunction M.alpha() return true end\nreturn M\n";

    fn mixed_app(tag: &str) -> (PathBuf, App) {
        let dir = app_dir(
            tag,
            &[
                ("_index.yaml", MIXED_YAML),
                ("cases.lua", CASES_LUA),
                (
                    "wippy.lua",
                    "return { main = function() return true end }\n",
                ),
            ],
        );
        let app = App::load(&dir).expect("loads");
        (dir, app)
    }

    fn ids(tests: &[&Entry]) -> Vec<String> {
        tests.iter().map(|e| e.id.clone()).collect()
    }

    #[test]
    fn suite_tests_run_in_source_order_where_the_suite_id_sorts() {
        let (dir, app) = mixed_app("order");
        assert_eq!(
            ids(&select(&app, &[])),
            [
                "t:early",
                "t:a_wippy",
                "t:b_suite:zulu",
                "t:b_suite:fails",
                "t:b_suite:alpha",
                "t:c_wippy",
                "t:loose"
            ]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn filters_match_expanded_ids() {
        let (dir, app) = mixed_app("filter");
        let f = |v: &[&str]| {
            ids(&select(
                &app,
                &v.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            ))
        };
        assert_eq!(
            f(&["b_suite"]),
            ["t:b_suite:zulu", "t:b_suite:fails", "t:b_suite:alpha"]
        );
        assert_eq!(f(&["b_suite:alpha"]), ["t:b_suite:alpha"]);
        assert_eq!(f(&["alpha", "loose"]), ["t:b_suite:alpha", "t:loose"]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_expanded_test_runs_as_its_own_entry_with_the_usual_verdicts() {
        let (dir, app) = mixed_app("run");
        let opts = TestOptions::default();
        let run = |id: &str| {
            let e = app.entry(id).expect("entry");
            run_one(&app, e, &opts, Box::new(std::io::sink()))
        };
        let v = run("t:b_suite:zulu");
        assert!(v.passed, "{:?}", v.message);
        let v = run("t:b_suite:fails");
        assert!(!v.passed);
        assert!(
            v.message.as_deref().unwrap_or("").contains("broken"),
            "{:?}",
            v.message
        );
        let mut out = Vec::new();
        let (passed, failed) = run_all(
            &app,
            &TestOptions {
                filters: vec!["b_suite".into()],
                tap: true,
                ..TestOptions::default()
            },
            &mut out,
        )
        .expect("writes");
        let out = String::from_utf8(out).expect("utf8");
        assert_eq!((passed, failed), (2, 1), "{out}");
        assert!(
            out.contains("ok 1 - t:b_suite:zulu\nnot ok 2 - t:b_suite:fails\n"),
            "{out}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
