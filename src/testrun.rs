//! The test runner behind `moonhost test` (SPEC §8).
//!
//! Finds every entry with `meta.type: test`, orders them by suite (alphabetical, suite-less
//! last) then `(meta.order, id)`, and runs each as the root process of a fresh runtime with
//! its own time limit, so nothing a test leaves behind can disturb the next one.

use crate::explore::{self, Summary};
use crate::manifest::{App, Entry, MetaValue};
use std::io::Write;
use std::path::PathBuf;

pub use crate::testcase::{DEFAULT_TIMEOUT, SimSeen, TestOptions, Verdict, run_guided, run_one};

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

/// Runs the selected tests, printing as it goes; returns `(passed, failed)`.
///
/// With `junit`, stdout gets only the XML (written at the end) and the `explored` and
/// closing lines go to stderr.
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
    let mut summary = Summary::default();
    let mut results: Vec<(&Entry, Option<Verdict>)> = Vec::new();
    for (i, t) in tests.iter().enumerate() {
        out.flush()?;
        if let Some(reason) = skip_reason(t) {
            skipped += 1;
            if opts.junit {
            } else if opts.tap {
                writeln!(out, "ok {} - {} # SKIP {reason}", i + 1, t.id)?;
            } else {
                writeln!(out, "SKIP {} ({reason})", t.id)?;
            }
            results.push((t, None));
            continue;
        }
        let output: Box<dyn Write> = if opts.junit {
            Box::new(std::io::sink())
        } else {
            Box::new(std::io::stdout())
        };
        let v = match opts.explore {
            Some(k) => explore::explore(app, t, opts, k, &mut summary),
            None => single_run(app, t, opts, output),
        };
        if v.passed {
            passed += 1;
        } else {
            failed += 1;
        }
        if opts.junit {
        } else if opts.tap {
            write_tap(out, i + 1, &v)?;
        } else {
            write_line(out, &v)?;
        }
        if !opts.junit {
            write!(out, "{}", v.sim.after)?;
        }
        if let Some(n) = v.sim.replayed {
            eprintln!("replay: ok ({n} records)");
        }
        results.push((t, Some(v)));
    }
    let mut closing = format!("{passed} passed, {failed} failed");
    if skipped > 0 {
        closing.push_str(&format!(", {skipped} skipped"));
    }
    if opts.junit {
        crate::junit::write(out, opts, &results)?;
        if opts.explore.is_some() {
            eprintln!("{}", summary.line());
        }
        eprintln!("{closing}");
    } else {
        if opts.explore.is_some() {
            writeln!(out, "{}", summary.line())?;
        }
        writeln!(out, "{closing}")?;
    }
    out.flush()?;
    Ok((passed, failed))
}

/// One run of a test (not exploring), shrunk afterwards with `--shrink`.
fn single_run(app: &App, t: &Entry, opts: &TestOptions, output: Box<dyn Write>) -> Verdict {
    // PCT without a horizon measures it by one FIFO run of this test (SPEC §14.2).
    let resolved;
    let opts = match opts.seed {
        Some(seed) if opts.strategy.needs_horizon() => {
            resolved = TestOptions {
                strategy: explore::resolve(app, t, opts, seed),
                ..opts.clone()
            };
            &resolved
        }
        _ => opts,
    };
    let mut v = run_one(app, t, opts, output);
    if opts.shrink {
        let dir = opts
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from("moonhost-sim"));
        let (full, min, what) = match (&opts.replay, opts.seed) {
            (Some(r), _) => {
                let min = r.with_extension("").with_extension("min.jsonl");
                (r.clone(), min, "replay".to_string())
            }
            (None, seed) => {
                let seed = seed.unwrap_or(1);
                let id = explore::file_id(&t.id);
                let full = dir.join(format!("{id}.seed{seed}.jsonl"));
                (
                    full,
                    dir.join(format!("{id}.seed{seed}.min.jsonl")),
                    format!("seed {seed}"),
                )
            }
        };
        v.sim.after = explore::shrink(app, t, opts, &full, &min, &what);
    }
    v
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
