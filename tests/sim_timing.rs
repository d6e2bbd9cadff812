//! SPEC §14 timing in simulation, end to end on `tests/fixtures/sim_timing`: the per-test
//! `--timeout` counts virtual time, `jitter` makes timers late (never early) and `skew`
//! shifts a process's clock, both recorded and replayed; timer ties are `pick` decisions
//! (recorded, replayed, shrunk); POS re-draws the priority of a ready task another step
//! touched; the trace's `start` record names the test.

mod util;

use serde_json::Value;
use std::path::PathBuf;
use util::{fixture, moonhost};

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("moonhost-timing-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

fn run(args: &[&str]) -> (i32, String, String) {
    let r = moonhost(args);
    (r.code.unwrap_or(-1), r.stdout, r.stderr)
}

/// The trace's records with `"ev": ev`.
fn records(path: &std::path::Path, ev: &str) -> Vec<serde_json::Map<String, Value>> {
    std::fs::read_to_string(path)
        .expect("trace")
        .lines()
        .filter_map(|l| match serde_json::from_str::<Value>(l) {
            Ok(Value::Object(m)) if m.get("ev").and_then(Value::as_str) == Some(ev) => Some(m),
            _ => None,
        })
        .collect()
}

#[test]
fn the_timeout_counts_virtual_time_in_a_simulation() {
    let app = fixture("sim_timing");
    // An hour of virtual sleep takes no wall time, but it is past a one-second limit.
    let r = run(&[
        "test",
        &app,
        "timing:sleeps_an_hour",
        "--seed",
        "1",
        "--timeout",
        "1",
    ]);
    assert_eq!(r.0, 1, "{}", r.1);
    assert!(
        r.1.contains("FAIL timing:sleeps_an_hour (1000.0 ms): timed out after 1s"),
        "{}",
        r.1
    );
    // An endless loop reaches the limit at the same virtual instant in every run.
    let spin = [
        "test",
        &app,
        "timing:yields_forever",
        "--seed",
        "1",
        "--timeout",
        "0.05",
    ];
    let once = run(&spin);
    assert!(
        once.1
            .contains("FAIL timing:yields_forever (50.0 ms): timed out after 50ms"),
        "{}",
        once.1
    );
    assert_eq!(once, run(&spin), "the same bytes twice");
    // Without a seed the limit is wall time, as before.
    let real = run(&["test", &app, "timing:sleep_lateness", "--timeout", "5"]);
    assert_eq!(real.0, 0, "{}", real.1);
}
