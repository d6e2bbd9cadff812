//! SPEC §14 end to end: strategies find what FIFO cannot, faults inject what they say,
//! replays follow decisions and check values, shrinking keeps the failure with fewer
//! decisions, and the same command prints the same bytes and writes the same trace.

mod util;

use std::path::PathBuf;
use util::{fixture, moonhost};

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("moonhost-sched-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

fn run(args: &[&str]) -> (i32, String, String) {
    let r = moonhost(args);
    (r.code.unwrap_or(-1), r.stdout, r.stderr)
}

fn count(path: &std::path::Path, needle: &str) -> usize {
    std::fs::read_to_string(path)
        .expect("trace")
        .lines()
        .filter(|l| l.contains(needle))
        .count()
}

/// The depth-2 fixture (tests/fixtures/depth2): n = 12 processes (test, b, 8 noise, a, and
/// a's second task belongs to a), k = 15 steps (the measured horizon, `pct:2:15`), bug depth
/// d = 2. The PCT bound per run is 1 / (n · k^(d−1)) = 1 / (12 · 15) = 1/180; 200 runs miss
/// it with probability ≤ (1 − 1/180)^200 ≈ 0.33. The fixture's real rate is higher
/// (a > b in priority: 1/2; the change point on one of a's 2 middle steps: 2/15, so ≈ 1/15),
/// and the seeds 1..200 are fixed, so the outcome is the same in every run.
#[test]
fn depth_two_order_violation_fifo_never_pct_two_within_200_seeds() {
    let app = fixture("depth2");
    let fifo = run(&["test", &app, "--explore", "200", "--strategy", "fifo"]);
    assert_eq!(fifo.0, 0, "FIFO must never hit it: {}", fifo.1);
    assert!(
        fifo.1.contains("explored 200 schedules: 0 failed"),
        "{}",
        fifo.1
    );
    let pct = run(&["test", &app, "--explore", "200", "--strategy", "pct:2"]);
    assert_eq!(pct.0, 1, "pct:2 must find it: {}", pct.1);
    assert!(pct.1.contains("b ran between a1 and a2"), "{}", pct.1);
    let line = pct
        .1
        .lines()
        .find(|l| l.trim_start().starts_with("replay: moonhost test"))
        .expect("a replay command");
    assert!(
        line.contains("--strategy pct:2:"),
        "the measured horizon is printed: {line}"
    );
    let args: Vec<&str> = line.trim_start()["replay: moonhost ".len()..]
        .split_whitespace()
        .collect();
    let once = run(&args);
    let twice = run(&args);
    assert_eq!(once.0, 1, "the replay command fails: {}", once.1);
    assert_eq!(once, twice, "the replay command fails identically twice");
}

#[test]
fn random_and_pos_find_the_depth_two_bug_too() {
    let app = fixture("depth2");
    for s in ["random", "pos"] {
        let r = run(&["test", &app, "--explore", "100", "--strategy", s]);
        assert_eq!(r.0, 1, "{s}: {}", r.1);
    }
}

#[test]
fn shrink_keeps_the_failure_with_no_more_decisions_and_its_trace_replays() {
    let app = fixture("depth2");
    let out = temp("shrink");
    let out_s = out.to_str().expect("utf8");
    let r = run(&[
        "test",
        &app,
        "--explore",
        "30",
        "--strategy",
        "pct:2",
        "--shrink",
        "--out",
        out_s,
    ]);
    assert_eq!(r.0, 1, "{}", r.1);
    let line =
        r.1.lines()
            .find(|l| l.starts_with("shrink depth2:order seed "))
            .expect("a shrink line");
    let nums: Vec<usize> = line
        .split(':')
        .nth(2)
        .expect("counts")
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert!(nums[1] <= nums[0], "{line}");
    assert!(nums[1] >= 1, "the bug needs at least one decision: {line}");
    let replay =
        r.1.lines()
            .find(|l| l.trim_start().starts_with("replay: moonhost test") && l.contains("--replay"))
            .expect("a replay of the shrunk trace");
    let args: Vec<&str> = replay.trim_start()["replay: moonhost ".len()..]
        .split_whitespace()
        .collect();
    let again = run(&args);
    assert_eq!(again.0, 1, "{}", again.1);
    assert!(again.1.contains("b ran between a1 and a2"), "{}", again.1);
    assert!(again.2.contains("replay: ok ("), "{}", again.2);
}

#[test]
fn the_same_command_prints_the_same_bytes_and_writes_the_same_trace() {
    let app = fixture("faults");
    let args = |t: &str| {
        vec![
            "test".to_string(),
            app.clone(),
            "faults:supervised".into(),
            "--seed".into(),
            "5".into(),
            "--strategy".into(),
            "pct:3".into(),
            "--faults".into(),
            "kill=0.1,delay=0.2:2ms".into(),
            "--trace".into(),
            t.into(),
        ]
    };
    let (t1, t2) = (temp("same1.jsonl"), temp("same2.jsonl"));
    let a1 = args(t1.to_str().unwrap());
    let a2 = args(t2.to_str().unwrap());
    let r1 = run(&a1.iter().map(String::as_str).collect::<Vec<_>>());
    let r2 = run(&a2.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(r1, r2);
    assert_eq!(std::fs::read(&t1).unwrap(), std::fs::read(&t2).unwrap());
    let ex = [
        "test",
        &app,
        "--explore",
        "15",
        "--strategy",
        "pct:3",
        "--faults",
        "kill=0.05",
    ];
    assert_eq!(run(&ex), run(&ex), "explore output repeats byte for byte");
}

#[test]
fn buggify_fails_only_when_its_site_fires() {
    let app = fixture("faults");
    let t = "faults:buggify_site";
    assert_eq!(
        run(&["test", &app, t, "--seed", "1"]).0,
        0,
        "no faults: inert"
    );
    assert_eq!(
        run(&["test", &app, t, "--seed", "1", "--faults", "buggify=0"]).0,
        0
    );
    let on = run(&["test", &app, t, "--seed", "1", "--faults", "buggify=1:1"]);
    assert_eq!(on.0, 1, "{}", on.1);
    assert!(on.1.contains("buggified"), "{}", on.1);
    let trace = temp("bug.jsonl");
    let tr = trace.to_str().unwrap();
    run(&[
        "test",
        &app,
        t,
        "--seed",
        "1",
        "--faults",
        "buggify=1:1",
        "--trace",
        tr,
    ]);
    assert_eq!(count(&trace, r#""kind":"buggify""#), 1);
    // The site's enabling is an information record, once per site (SPEC §14.3).
    assert_eq!(count(&trace, r#""ev":"buggify""#), 1);
    assert_eq!(count(&trace, r#""enabled":true"#), 1);
    let off = temp("bug_off.jsonl");
    run(&[
        "test",
        &app,
        t,
        "--seed",
        "1",
        "--faults",
        "buggify=0",
        "--trace",
        off.to_str().unwrap(),
    ]);
    assert_eq!(count(&off, r#""ev":"buggify""#), 1);
    assert_eq!(count(&off, r#""enabled":false"#), 1);
    let rep = run(&["test", &app, t, "--replay", tr]);
    assert_eq!(
        rep.0, 1,
        "the replay follows the recorded buggify: {}",
        rep.1
    );
    assert!(rep.2.contains("replay: ok"), "{}", rep.2);
}

#[test]
fn a_correct_supervisor_survives_kill_faults() {
    let app = fixture("faults");
    let t = "faults:supervised";
    let r = run(&["test", &app, t, "--explore", "30", "--faults", "kill=0.1"]);
    assert_eq!(r.0, 0, "{}", r.1);
    let trace = temp("kill.jsonl");
    let tr = trace.to_str().unwrap();
    let one = run(&[
        "test", &app, t, "--seed", "4", "--faults", "kill=0.2", "--trace", tr,
    ]);
    assert_eq!(one.0, 0, "{}", one.1);
    assert!(count(&trace, r#""kind":"kill""#) >= 1, "kills happened");
    assert!(count(&trace, "sim: process killed") >= 1);
    let rep = run(&["test", &app, t, "--replay", tr]);
    assert_eq!(rep.0, 0, "{} {}", rep.1, rep.2);
    assert!(rep.2.contains("replay: ok"), "{}", rep.2);
}

#[test]
fn delay_keeps_per_sender_order() {
    let app = fixture("faults");
    let t = "faults:per_sender_order";
    let r = run(&[
        "test",
        &app,
        t,
        "--explore",
        "30",
        "--faults",
        "delay=0.5:5ms",
    ]);
    assert_eq!(r.0, 0, "{}", r.1);
    assert!(r.1.contains("sometimes never hit: none"), "{}", r.1);
    let trace = temp("delay.jsonl");
    let tr = trace.to_str().unwrap();
    run(&[
        "test",
        &app,
        t,
        "--seed",
        "2",
        "--faults",
        "delay=0.5:5ms",
        "--trace",
        tr,
    ]);
    assert!(
        count(&trace, r#""kind":"delay""#) >= 1,
        "messages were delayed"
    );
}

#[test]
fn dup_and_drop_break_exactly_once_delivery_as_named() {
    let app = fixture("faults");
    let t = "faults:exactly_once";
    assert_eq!(run(&["test", &app, t, "--explore", "10"]).0, 0);
    let dup = run(&["test", &app, t, "--seed", "1", "--faults", "dup=0.3"]);
    assert!(dup.1.contains("duplicate"), "{}", dup.1);
    let drop = run(&["test", &app, t, "--seed", "1", "--faults", "drop=0.3"]);
    assert!(drop.1.contains("lost"), "{}", drop.1);
}

#[test]
fn always_ends_the_run_and_sometimes_reports_never_hit_names() {
    let app = fixture("faults");
    let r = run(&["run", &app, "faults:always_main", "--seed", "1"]);
    assert_eq!(r.0, 1);
    assert_eq!(r.1, "", "nothing after the failed always runs");
    assert!(
        r.2.contains(
            "moonhost: sim.always failed: arithmetic_holds ({app:processes|1}, faults.lua:"
        ),
        "{}",
        r.2
    );
    let plain = run(&["run", &app, "faults:always_main"]);
    assert_eq!(plain.0, 0, "inert outside simulation: {}", plain.2);
    assert_eq!(plain.1, "not reached\n");
    let r = run(&["test", &app, "faults:exactly_once", "--explore", "3"]);
    assert!(
        r.1.contains("explored 3 schedules: 0 failed, 0 distinct failures; sometimes never hit: something_lost"),
        "{}",
        r.1
    );
}

#[test]
fn replay_checks_values_not_only_the_schedule() {
    let src = fixture("faults");
    let dir = temp("valueapp");
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["_index.yaml", "faults.lua"] {
        std::fs::copy(format!("{src}/{f}"), dir.join(f)).unwrap();
    }
    let app = dir.to_str().unwrap();
    let trace = temp("value.jsonl");
    let tr = trace.to_str().unwrap();
    let t = "faults:supervised";
    assert_eq!(run(&["test", app, t, "--seed", "1", "--trace", tr]).0, 0);
    let ok = run(&["test", app, t, "--replay", tr]);
    assert!(ok.2.contains("replay: ok ("), "{}", ok.2);
    let lua = std::fs::read_to_string(dir.join("faults.lua")).unwrap();
    std::fs::write(
        dir.join("faults.lua"),
        lua.replace("{ n, n * n }", "{ n, n * n + 0.5 }"),
    )
    .unwrap();
    let bad = run(&["test", app, t, "--replay", tr]);
    assert_eq!(bad.0, 1, "{}", bad.1);
    assert!(bad.1.contains("replay diverged at trace line"), "{}", bad.1);
    assert!(bad.1.contains(r#""hash""#), "{}", bad.1);
}

#[test]
fn usage_errors_are_the_specs() {
    let app = fixture("depth2");
    let cases: [(&[&str], &str); 9] = [
        (
            &["--strategy", "pct"],
            "moonhost: --strategy needs --seed or --explore",
        ),
        (
            &["--seed", "1", "--strategy", "lifo"],
            "moonhost: --strategy: unknown strategy 'lifo' (known: fifo, random, pct[:D[:H]], pos)",
        ),
        (
            &["--seed", "1", "--strategy", "pct:0"],
            "moonhost: --strategy: pct depth must be an integer >= 1",
        ),
        (
            &["--faults", "kill"],
            "moonhost: --faults needs --seed or --explore",
        ),
        (
            &["--seed", "1", "--faults", "boom"],
            "moonhost: --faults: unknown fault 'boom' (known: kill, delay, dup, drop, jitter, skew, buggify)",
        ),
        (
            &["--seed", "1", "--faults", "kill=2"],
            "moonhost: --faults: kill: probability must be between 0 and 1, got '2'",
        ),
        (
            &["--seed", "1", "--faults", "drop=0.1:1ms"],
            "moonhost: --faults: drop takes no argument",
        ),
        (
            &["--seed", "1", "--faults", "delay=0.1:soon"],
            "moonhost: --faults: delay: bad duration 'soon'",
        ),
        (
            &["--seed", "1", "--replay", "x.jsonl"],
            "moonhost: --replay takes seed, strategy and faults from the trace",
        ),
    ];
    for (extra, want) in cases {
        let mut args = vec!["test", app.as_str()];
        args.extend_from_slice(extra);
        let r = run(&args);
        assert_eq!((r.0, r.2.trim_end()), (2, want), "{extra:?}");
    }
    let junk = temp("junk.jsonl");
    std::fs::write(&junk, "{\"hello\": 1}\n").unwrap();
    let r = run(&["test", &app, "--replay", junk.to_str().unwrap()]);
    assert_eq!(r.0, 1, "{}", r.1);
    assert!(r.1.contains("not a moonhost trace"), "{}", r.1);
    let faults = fixture("faults");
    let r = run(&["test", &faults, "--trace", "t.jsonl"]);
    assert_eq!(r.0, 2);
    assert!(
        r.2.contains("need exactly one selected test (4 selected)"),
        "{}",
        r.2
    );
}

#[test]
fn junit_writes_xml_on_stdout_and_the_closing_lines_on_stderr() {
    let app = fixture("depth2");
    let r = run(&[
        "test",
        &app,
        "--explore",
        "50",
        "--strategy",
        "pct:2",
        "--format",
        "junit",
    ]);
    assert_eq!(r.0, 1);
    assert!(r.1.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"moonhost\" tests=\"1\" failures=\"1\""), "{}", r.1);
    assert!(
        r.1.contains("<property name=\"strategy\" value=\"pct:2\"/>"),
        "{}",
        r.1
    );
    assert!(r.1.contains("<testsuite name=\"depth2\""), "{}", r.1);
    assert!(
        r.1.contains("<failure type=\"failure\" message=\"failed under "),
        "{}",
        r.1
    );
    assert!(r.1.trim_end().ends_with("</testsuites>"), "{}", r.1);
    assert!(r.2.contains("explored 50 schedules: "), "{}", r.2);
    assert!(r.2.contains("0 passed, 1 failed"), "{}", r.2);
}

#[test]
fn trace_export_writes_chrome_trace_events_with_paired_flows() {
    let app = fixture("depth2");
    let trace = temp("chrome.jsonl");
    let json = temp("chrome.json");
    let tr = trace.to_str().unwrap();
    run(&[
        "test",
        &app,
        "--seed",
        "11",
        "--strategy",
        "pct:2:15",
        "--trace",
        tr,
    ]);
    let r = run(&["trace", "export", tr, "--out", json.to_str().unwrap()]);
    assert_eq!(r.0, 0, "{}", r.2);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).expect("valid JSON");
    let evs = v["traceEvents"].as_array().expect("traceEvents");
    let mut starts = std::collections::BTreeSet::new();
    let mut ends = std::collections::BTreeSet::new();
    let mut last = 0.0;
    for e in evs {
        let ts = e["ts"].as_f64().expect("every event has ts");
        assert!(ts >= last, "timestamps never go back: {e}");
        last = ts;
        match e["ph"].as_str().expect("ph") {
            "s" => assert!(starts.insert(e["id"].as_u64().unwrap())),
            "f" => assert!(ends.insert(e["id"].as_u64().unwrap())),
            "X" => assert!(e["dur"].as_f64().unwrap() >= 0.0),
            "M" | "i" => {}
            other => panic!("unexpected phase {other}"),
        }
    }
    assert!(!starts.is_empty(), "messages become flows");
    assert_eq!(starts, ends, "every flow has a start and an end");
    let tracks = evs.iter().filter(|e| e["name"] == "thread_name").count();
    assert_eq!(tracks, 11, "one track per process");
    let bad = temp("bad.jsonl");
    std::fs::write(&bad, "nope\n").unwrap();
    let r = run(&["trace", "export", bad.to_str().unwrap()]);
    assert_eq!(
        (r.0, r.2.trim_end().ends_with("line 1: not a JSON object")),
        (2, true)
    );
}

#[test]
fn run_explores_an_entry_and_prints_replay_commands() {
    let app = fixture("faults");
    let r = run(&[
        "run",
        &app,
        "faults:always_main",
        "--explore",
        "3",
        "--strategy",
        "pos",
    ]);
    assert_eq!(r.0, 1, "{} {}", r.1, r.2);
    assert!(
        r.1.contains("failed under 3 of 3 explored schedules"),
        "{}",
        r.1
    );
    assert!(
        r.1.contains("  seed 2: sim.always failed: arithmetic_holds\n"),
        "{}",
        r.1
    );
    let replay = format!("replay: moonhost run {app} faults:always_main --seed 2 --strategy pos");
    assert!(r.1.contains(&replay), "{}", r.1);
    assert!(
        r.1.ends_with(
            "explored 3 schedules: 3 failed, 1 distinct failures; sometimes never hit: none\n"
        ),
        "{}",
        r.1
    );
    let ok = run(&["run", &app, "faults:always_main"]);
    assert_eq!(ok.0, 0, "no exploration without a seed: {}", ok.2);
}

/// SPEC §14.2's fairness rule (a turn that ends with its process still ready drops it below
/// every other priority) reaches a process a change point lowered: seed 1 of `pct:3:121`
/// lowers the ponger of this test to priority 2 at step 6, and the two endless loops beside
/// it, demoted only below the initial priorities, then took every turn until the test timed
/// out waiting for a pong.
#[test]
fn demoted_loops_go_below_a_process_a_change_point_lowered() {
    let suites = format!("{}/lua/tests", env!("CARGO_MANIFEST_DIR"));
    let test = "test.preempt:tests:spinners_are_preempted_and_others_run";
    let (code, out, err) = run(&[
        "test",
        &suites,
        test,
        "--seed",
        "1",
        "--strategy",
        "pct:3:121",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("1 passed, 0 failed"), "{out}{err}");
}
