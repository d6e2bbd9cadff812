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

/// The number printed after `word ` on a line of `out`.
fn printed(out: &str, word: &str) -> i64 {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{word} ")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no '{word}' line in {out}"))
}

#[test]
fn jitter_fires_timers_late_never_early_and_replays() {
    let app = fixture("sim_timing");
    let t = "timing:sleep_lateness";
    let trace = temp("jitter.jsonl");
    let tr = trace.to_str().unwrap();
    let args = [
        "test",
        &app,
        t,
        "--seed",
        "3",
        "--faults",
        "jitter=1:5ms",
        "--trace",
        tr,
    ];
    let r = run(&args);
    assert_eq!(r.0, 0, "{}", r.1);
    let faults = records(&trace, "fault");
    assert_eq!(faults.len(), 1, "one timer, jittered for sure: {faults:?}");
    let f = &faults[0];
    assert_eq!(f["kind"], "jitter");
    assert_eq!(f["timer"], "sleep");
    assert_eq!(f["pid"], "{app:processes|1}");
    let by = f["by"].as_i64().expect("by");
    assert!((1..=5_000_000).contains(&by), "{by}");
    let slept = printed(&r.1, "slept");
    assert!(
        slept >= 10_000_000 + by && slept < 10_000_000 + by + 100_000,
        "slept {slept}, late by {by}"
    );
    assert_eq!(r, run(&args), "the same seed, the same bytes");
    let rep = run(&["test", &app, t, "--replay", tr]);
    assert_eq!(rep.0, 0, "{}", rep.1);
    assert_eq!(printed(&rep.1, "slept"), slept, "the replay is as late");
    assert!(rep.2.contains("replay: ok ("), "{}", rep.2);
    // Never early, whatever the draw.
    let ex = run(&[
        "test",
        &app,
        t,
        "--explore",
        "40",
        "--faults",
        "jitter=0.5:3ms",
    ]);
    assert_eq!(ex.0, 0, "{}", ex.1);
    let plain = run(&["test", &app, t, "--seed", "3"]);
    assert_eq!(printed(&plain.1, "slept"), 10_000_000, "no fault, on time");
}

#[test]
fn skew_shifts_each_processs_clock_by_its_recorded_constant() {
    let app = fixture("sim_timing");
    let t = "timing:clock_skew";
    let plain = run(&["test", &app, t, "--seed", "3"]);
    let base = printed(&plain.1, "diff");
    assert!(base.abs() < 100_000, "unskewed clocks agree: {base}");
    let trace = temp("skew.jsonl");
    let tr = trace.to_str().unwrap();
    let r = run(&[
        "test",
        &app,
        t,
        "--seed",
        "3",
        "--faults",
        "skew=1:10ms",
        "--trace",
        tr,
    ]);
    assert_eq!(r.0, 0, "{}", r.1);
    let faults = records(&trace, "fault");
    let by = |pid: &str| {
        faults
            .iter()
            .find(|f| f["kind"] == "skew" && f["pid"] == pid)
            .and_then(|f| f["by"].as_i64())
            .unwrap_or_else(|| panic!("no skew for {pid}: {faults:?}"))
    };
    let (parent, child) = (by("{app:processes|1}"), by("{app:processes|2}"));
    assert!(parent.abs() <= 10_000_000 && child.abs() <= 10_000_000);
    assert_eq!(printed(&r.1, "diff"), base + child - parent, "{}", r.1);
    let rep = run(&["test", &app, t, "--replay", tr]);
    assert_eq!(rep.0, 0, "{}", rep.1);
    assert_eq!(rep.1, r.1, "the replay reads the same clocks");
    assert!(rep.2.contains("replay: ok ("), "{}", rep.2);
}

#[test]
fn timer_ties_are_pick_decisions_recorded_replayed_and_shrunk() {
    let app = fixture("sim_timing");
    let t = "timing:tie_order";
    // FIFO fires a tie in arming order.
    let fifo = run(&["test", &app, t, "--explore", "20", "--strategy", "fifo"]);
    assert_eq!(fifo.0, 0, "{}", fifo.1);
    let r = run(&["test", &app, t, "--explore", "20", "--strategy", "random"]);
    assert_eq!(
        r.0, 1,
        "a random tie order fires another timer first: {}",
        r.1
    );
    let line =
        r.1.lines()
            .find(|l| l.trim_start().starts_with("replay: moonhost test"))
            .expect("a replay command");
    let mut args: Vec<&str> = line.trim_start()["replay: moonhost ".len()..]
        .split_whitespace()
        .collect();
    let trace = temp("tie.jsonl");
    let tr = trace.to_str().unwrap();
    args.extend(["--trace", tr]);
    let once = run(&args);
    assert_eq!(once.0, 1, "{}", once.1);
    let picks = records(&trace, "pick");
    assert!(
        picks
            .iter()
            .any(|p| p["of"] == "timer" && p["pos"].as_u64() >= Some(1)),
        "the tie is a recorded decision: {picks:?}"
    );
    let rep = run(&["test", &app, t, "--replay", tr]);
    assert_eq!(rep.0, 1, "{}", rep.1);
    assert_eq!(rep.1, once.1, "the replay fires the same timer first");
    assert!(rep.2.contains("replay: ok ("), "{}", rep.2);
    let out = temp("tie-shrink");
    let seed = args[args.iter().position(|a| *a == "--seed").unwrap() + 1];
    let sh = run(&[
        "test",
        &app,
        t,
        "--seed",
        seed,
        "--strategy",
        "random",
        "--shrink",
        "--out",
        out.to_str().unwrap(),
    ]);
    let min = out.join(format!("timing_tie_order.seed{seed}.min.jsonl"));
    assert!(sh.1.contains(" -> 1 decisions in "), "{}", sh.1);
    let kept = records(&min, "pick");
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(
        (&kept[0]["of"], &kept[0]["pos"]),
        (&"timer".into(), &1.into())
    );
    let again = run(&["test", &app, t, "--replay", min.to_str().unwrap()]);
    assert_eq!(again.0, 1, "{}", again.1);
    assert!(again.1.contains("timer 2 fired first"), "{}", again.1);
    assert!(again.2.contains("replay: ok ("), "{}", again.2);
}

#[test]
fn pos_redraws_the_priority_of_a_ready_task_another_step_touched() {
    let app = fixture("sim_timing");
    let t = "timing:touch";
    // The child was ready (spawned, not yet run) when the parent's step sent to it.
    assert_parent_touches_child_under_pos(t, "touch.jsonl");
    let fifo = temp("touch-fifo.jsonl");
    let ff = fifo.to_str().unwrap();
    run(&[
        "test",
        &app,
        t,
        "--seed",
        "1",
        "--strategy",
        "pct:2",
        "--trace",
        ff,
    ]);
    assert!(records(&fifo, "touch").is_empty(), "only POS re-draws");
}

#[test]
fn pos_touches_a_process_that_looked_up_a_name_the_step_changed() {
    // The parent never sends to the watcher (it only registers the name the watcher looked
    // up), so its touch of the ready watcher comes from the registry change alone.
    assert_parent_touches_child_under_pos("timing:name_touch", "name_touch.jsonl");
}

/// Runs test `t` under POS with a trace: a `touch` record says the parent's step touched
/// the child (`{app:processes|2}` by `{app:processes|1}`), and the trace replays.
fn assert_parent_touches_child_under_pos(t: &str, trace_name: &str) {
    let app = fixture("sim_timing");
    let trace = temp(trace_name);
    let tr = trace.to_str().unwrap();
    let r = run(&[
        "test",
        &app,
        t,
        "--seed",
        "1",
        "--strategy",
        "pos",
        "--trace",
        tr,
    ]);
    assert_eq!(r.0, 0, "{}", r.1);
    let touches = records(&trace, "touch");
    assert!(
        touches
            .iter()
            .any(|r| r["pid"] == "{app:processes|2}" && r["by"] == "{app:processes|1}"),
        "{touches:?}"
    );
    let rep = run(&["test", &app, t, "--replay", tr]);
    assert_eq!(rep.0, 0, "{}", rep.1);
    assert!(rep.2.contains("replay: ok ("), "{}", rep.2);
}
