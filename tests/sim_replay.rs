//! SPEC §14.3 replays, end to end on `tests/fixtures/faults`: the `start` record of a test's
//! trace names the test and a replay checks it; a divergence report names the process
//! involved with its entry, and shows its Lua stack only when it has one.

mod util;

use std::path::PathBuf;
use util::{fixture, moonhost};

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("moonhost-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

fn run(args: &[&str]) -> (i32, String, String) {
    let r = moonhost(args);
    (r.code.unwrap_or(-1), r.stdout, r.stderr)
}

#[test]
fn a_tests_start_record_names_the_test_and_a_replay_checks_it() {
    let app = fixture("faults");
    let t = "faults:buggify_site";
    let traced = temp("named.jsonl");
    let tr = traced.to_str().unwrap();
    assert_eq!(run(&["test", &app, t, "--seed", "1", "--trace", tr]).0, 0);
    let start = std::fs::read_to_string(&traced).unwrap();
    let start = start.lines().next().unwrap();
    assert!(start.contains(r#""test":"faults:buggify_site""#), "{start}");
    let ok = run(&["test", &app, t, "--replay", tr]);
    assert_eq!(ok.0, 0, "{}", ok.1);
    assert!(ok.2.contains("replay: ok ("), "{}", ok.2);
    // The same entry recorded by `run` is not that test's trace.
    let by_run = temp("by_run.jsonl");
    let br = by_run.to_str().unwrap();
    assert_eq!(run(&["run", &app, t, "--seed", "1", "--trace", br]).0, 0);
    let first = std::fs::read_to_string(&by_run).unwrap();
    assert!(!first.lines().next().unwrap().contains(r#""test""#));
    let bad = run(&["test", &app, t, "--replay", br]);
    assert_eq!(bad.0, 1, "{}", bad.1);
    assert!(
        bad.1.contains("replay diverged at trace line 1"),
        "{}",
        bad.1
    );
    assert!(
        bad.1.contains(r#""test":"faults:buggify_site""#),
        "{}",
        bad.1
    );
}

#[test]
fn a_divergence_names_the_process_and_its_entry_and_never_prints_an_empty_stack() {
    let app = fixture("faults");
    // Recorded for one entry, replayed for another: the root has not run, so no stack.
    let trace = temp("entry.jsonl");
    let tr = trace.to_str().unwrap();
    run(&[
        "run",
        &app,
        "faults:always_main",
        "--seed",
        "1",
        "--trace",
        tr,
    ]);
    let r = run(&["run", &app, "faults:buggify_site", "--replay", tr]);
    assert_eq!(r.0, 1, "{}", r.2);
    assert!(r.2.contains("replay diverged at trace line 1"), "{}", r.2);
    assert!(
        r.2.contains(
            "  process: {app:processes|1} (entry faults:buggify_site) (no Lua stack: not started or already ended)"
        ),
        "{}",
        r.2
    );
    assert!(!r.2.contains("stack traceback:"), "{}", r.2);
    // A spawn of the wrong entry: the parent is named, with the stack where it parked.
    let trace = temp("spawn.jsonl");
    let tr = trace.to_str().unwrap();
    let t = "faults:supervised";
    assert_eq!(run(&["run", &app, t, "--seed", "1", "--trace", tr]).0, 0);
    let text = std::fs::read_to_string(&trace).unwrap();
    let edited = text.replacen(
        r#""entry":"faults:worker""#,
        r#""entry":"faults:sender""#,
        1,
    );
    assert_ne!(text, edited, "the trace has a spawn of the worker");
    std::fs::write(&trace, edited).unwrap();
    let r = run(&["run", &app, t, "--replay", tr]);
    assert_eq!(r.0, 1, "{}", r.2);
    assert!(
        r.2.contains("  process: {app:processes|1} (entry faults:supervised)\n  Lua stack of the process:\n    stack traceback:\n"),
        "{}",
        r.2
    );
    assert!(r.2.contains("faults.lua:"), "{}", r.2);
}
