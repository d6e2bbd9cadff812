//! Simulation mode end to end (SPEC §7): seeded runs repeat byte for byte, traces replay
//! (also of real-clock runs), an edited trace reports its first divergence, and
//! `test --explore` finds a race and prints a command that reproduces it.

mod util;

use std::path::PathBuf;
use util::{fixture, moonhost};

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("moonhost-sim-{}-{name}", std::process::id()))
}

fn run(args: &[&str]) -> (i32, String, String) {
    let r = moonhost(args);
    (r.code.unwrap_or(-1), r.stdout, r.stderr)
}

#[test]
fn one_seed_gives_identical_output_and_trace() {
    let app = fixture("determinism");
    let app = app.as_str();
    let (t1, t2) = (temp("det1.jsonl"), temp("det2.jsonl"));
    let a = run(&[
        "run",
        "--seed",
        "3",
        "--trace",
        t1.to_str().unwrap(),
        app,
        "det:main",
    ]);
    let b = run(&[
        "run",
        "--seed",
        "3",
        "--trace",
        t2.to_str().unwrap(),
        app,
        "det:main",
    ]);
    assert_eq!(a.0, 0, "{}", a.2);
    assert_eq!(a.1, b.1, "stdout differs under one seed");
    let (ta, tb) = (std::fs::read(&t1).unwrap(), std::fs::read(&t2).unwrap());
    assert!(!ta.is_empty());
    assert_eq!(ta, tb, "trace differs under one seed");
    assert!(a.1.contains("slept an hour:\ttrue"), "{}", a.1);
    let c = run(&["run", "--seed", "4", app, "det:main"]);
    assert_ne!(
        a.1, c.1,
        "another seed gave the very same uuid and random numbers"
    );
}

#[test]
fn a_seeded_trace_replays_and_an_edited_one_reports_the_divergence() {
    let app = fixture("determinism");
    let app = app.as_str();
    let t = temp("edit.jsonl");
    let rec = run(&[
        "run",
        "--seed",
        "9",
        "--trace",
        t.to_str().unwrap(),
        app,
        "det:main",
    ]);
    let rep = run(&["run", "--replay", t.to_str().unwrap(), app, "det:main"]);
    assert_eq!(rep.0, 0, "{}", rep.2);
    assert_eq!(rec.1, rep.1, "a replay printed something else");
    let text = std::fs::read_to_string(&t).expect("trace");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let n = lines
        .iter()
        .position(|l| l.contains("\"ev\":\"resume\"") && l.contains("|3}"))
        .expect("a resume of process 3");
    lines[n] = lines[n].replace("|3}", "|77}");
    std::fs::write(&t, lines.join("\n")).expect("write");
    let bad = run(&["run", "--replay", t.to_str().unwrap(), app, "det:main"]);
    assert_eq!(bad.0, 1);
    assert!(
        bad.2.contains(&format!("diverged at trace line {}", n + 1)),
        "{}",
        bad.2
    );
    assert!(
        bad.2.contains("expected: ") && bad.2.contains("|77}"),
        "{}",
        bad.2
    );
    assert!(
        bad.2.contains("actual:   ") && bad.2.contains("|3}"),
        "{}",
        bad.2
    );
    // The process involved, named with its entry (it had not run: no Lua stack to show).
    assert!(
        bad.2
            .contains("process: {app:processes|3} (entry det:worker)"),
        "{}",
        bad.2
    );
}

#[test]
fn a_real_clock_recording_replays_without_divergence() {
    let app = fixture("realtime");
    let app = app.as_str();
    let t = temp("rt.jsonl");
    let rec = run(&["run", "--trace", t.to_str().unwrap(), app, "rt:main"]);
    assert_eq!(rec.0, 0, "{}", rec.2);
    let rep = run(&["run", "--replay", t.to_str().unwrap(), app, "rt:main"]);
    assert_eq!(rep.0, 0, "{}", rep.2);
    assert_eq!(rep.1, "ticks\t10\n");
}

#[test]
fn explore_finds_the_race_and_its_seed_reproduces_it() {
    let app = fixture("race");
    let app = app.as_str();
    let plain = run(&["test", app]);
    assert_eq!(
        plain.0, 0,
        "FIFO scheduling hears the first sender first: {}",
        plain.1
    );
    let ex = run(&["test", app, "--explore", "20"]);
    assert_eq!(ex.0, 1, "{}", ex.1);
    let line =
        ex.1.lines()
            .find(|l| l.trim_start().starts_with("replay: moonhost test"))
            .expect("a replay command");
    let args: Vec<&str> = line.trim_start()["replay: moonhost ".len()..]
        .split_whitespace()
        .collect();
    let again = run(&args);
    assert_eq!(
        again.0, 1,
        "the reported seed did not reproduce: {}",
        again.1
    );
    assert!(again.1.contains("heard b first"), "{}", again.1);
    let seed_pos = args.iter().position(|a| *a == "--seed").expect("seed") + 1;
    let other = run(&["test", app, "--seed", args[seed_pos]]);
    assert_eq!(
        other.0, 0,
        "without perturbation the seed alone passes: {}",
        other.1
    );
}

#[test]
fn a_minute_of_virtual_sleep_takes_no_wall_time() {
    let r = moonhost(&["test", &fixture("virtual_sleep"), "--seed", "1"]);
    assert_eq!(r.code, Some(0), "{}", r.show());
    assert!(r.stdout.contains("2 passed, 0 failed"), "{}", r.show());
    // Not a speed check: 60 s of sleeping on the real clock could not finish in 15 s.
    assert!(r.elapsed.as_secs() < 15, "{:?}", r.elapsed);
}
