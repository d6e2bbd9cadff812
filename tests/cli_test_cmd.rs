//! End-to-end tests of `moonhost test`: text and TAP output, verdicts, ordering, filters,
//! skips, isolation, timeouts, and apps that do not load.
//!
//! Fixture apps live in `tests/fixtures/<name>/` (see the README there).

mod util;

use std::time::Duration;
use util::{fixture, moonhost};

// ------------------------------------------------------------------------------------------
// test: output, verdicts, ordering, filters
// ------------------------------------------------------------------------------------------

/// Run order of `tests/fixtures/test_app`, with whether each test passes.
const EXPECTED_ORDER: [(&str, bool); 10] = [
    ("t:z_first", true),
    ("t:a_default", true),
    ("t:m_half", false),
    ("t:b_two", false),
    ("t:c_two", true),
    ("t:beta_zero", true),
    ("a.more:x", true),
    ("t:beta_one", false),
    ("t:no_suite_b", true),
    ("t:no_suite_a", true),
];

/// The unindented lines of text output that name a test, as `(id, passed, line)`.
fn text_verdicts<'a>(stdout: &'a str, known: &[&str]) -> Vec<(String, bool, &'a str)> {
    stdout
        .lines()
        .filter(|l| !l.starts_with(char::is_whitespace))
        .filter_map(|l| {
            let id = l
                .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
                .find(|w| known.contains(w))?;
            let lower = l.to_lowercase();
            let passed = lower.contains("pass") || lower.starts_with("ok");
            let failed = lower.contains("fail");
            assert!(passed != failed, "line shows exactly one verdict: {l:?}");
            Some((id.to_string(), passed, l))
        })
        .collect()
}

fn known_ids() -> Vec<&'static str> {
    EXPECTED_ORDER.iter().map(|(id, _)| *id).collect()
}

#[test]
fn runner_text_output_one_line_per_test_and_summary() {
    let r = moonhost(&["test", &fixture("test_app")]);
    assert_eq!(r.code, Some(1), "a test failed\n{}", r.show());
    let verdicts = text_verdicts(&r.stdout, &known_ids());
    let got: Vec<(&str, bool)> = verdicts
        .iter()
        .map(|(id, p, _)| (id.as_str(), *p))
        .collect();
    assert_eq!(
        got, EXPECTED_ORDER,
        "suite, then (meta.order, id)\n{}",
        r.stdout
    );
    for (id, _, line) in &verdicts {
        assert!(
            line.chars().any(|c| c.is_ascii_digit()),
            "{id}: shows its time: {line:?}"
        );
    }
    assert_eq!(
        r.lines().last(),
        Some(&"7 passed, 3 failed"),
        "{}",
        r.stdout
    );
    // Entries that are not tests never run.
    assert!(
        !r.stdout.contains("t:helper") && !r.stdout.contains("t:plain"),
        "{}",
        r.stdout
    );
}

#[test]
fn runner_text_output_shows_failure_message_and_traceback() {
    let r = moonhost(&["test", &fixture("test_app")]);
    let out = &r.stdout;
    // The failing test's line and the indented lines under it.
    let lines: Vec<&str> = out.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("t:b_two"))
        .expect("b_two listed");
    let mut block = lines[at].to_string();
    for l in &lines[at + 1..] {
        if !l.starts_with(char::is_whitespace) {
            break;
        }
        block.push('\n');
        block.push_str(l);
    }
    assert!(
        block.contains("tests.lua:6: b_two broke"),
        "the message: {block}"
    );
    assert!(
        block.contains("stack traceback"),
        "the Lua traceback: {block}"
    );
    let beta_one = out
        .lines()
        .find(|l| l.contains("t:beta_one"))
        .expect("beta_one listed");
    assert!(beta_one.contains("beta_one said no"), "{beta_one}");
}

/// The `ok` / `not ok` lines of TAP output.
fn tap_results<'a>(lines: &[&'a str]) -> Vec<&'a str> {
    lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("ok ") || l.starts_with("not ok "))
        .collect()
}

/// The YAML diagnostic block (between `  ---` and `  ...`) right after test `id`'s `not ok`.
fn tap_diagnostic(lines: &[&str], id: &str) -> String {
    let at = lines
        .iter()
        .position(|l| l.starts_with("not ok ") && l.ends_with(&format!(" - {id}")))
        .unwrap_or_else(|| panic!("no not ok line for {id}"));
    let open = lines[at + 1].trim_end();
    assert_eq!(open, "  ---", "YAML block opens after {id}");
    let close = lines[at + 1..]
        .iter()
        .position(|l| l.trim_end() == "  ...")
        .unwrap_or_else(|| panic!("YAML block for {id} is not closed"));
    lines[at + 2..at + 1 + close].join("\n")
}

#[test]
fn runner_tap_output() {
    let r = moonhost(&["test", "--format", "tap", &fixture("test_app")]);
    assert_eq!(r.code, Some(1), "{}", r.show());
    let lines = r.lines();
    assert_eq!(lines[0], "TAP version 13", "{}", r.stdout);
    assert!(lines.contains(&"1..10"), "a TAP plan: {}", r.stdout);
    let expected: Vec<String> = EXPECTED_ORDER
        .iter()
        .enumerate()
        .map(|(i, (id, ok))| match ok {
            true => format!("ok {} - {id}", i + 1),
            false => format!("not ok {} - {id}", i + 1),
        })
        .collect();
    assert_eq!(tap_results(&lines), expected, "{}", r.stdout);
    assert_eq!(lines.last(), Some(&"7 passed, 3 failed"));
}

#[test]
fn runner_tap_failures_carry_a_yaml_diagnostic() {
    let r = moonhost(&["test", "--format", "tap", &fixture("test_app")]);
    let lines = r.lines();
    let b_two = tap_diagnostic(&lines, "t:b_two");
    let msg = b_two
        .lines()
        .find(|l| l.trim_start().starts_with("message:"))
        .unwrap_or_else(|| panic!("no message in {b_two}"));
    assert!(msg.contains("tests.lua:6: b_two broke"), "{msg}");
    assert!(tap_diagnostic(&lines, "t:beta_one").contains("beta_one said no"));
    assert!(tap_diagnostic(&lines, "t:m_half").contains("message:"));
    // Passing tests have no diagnostic.
    let ok1 = lines.iter().position(|l| *l == "ok 1 - t:z_first");
    assert_eq!(lines[ok1.expect("ok 1") + 1], "ok 2 - t:a_default");
}

#[test]
fn runner_exit_0_when_all_selected_pass() {
    let r = moonhost(&["test", &fixture("test_app"), "z_first", "no_suite"]);
    assert_eq!(r.code, Some(0), "{}", r.show());
    let got: Vec<String> = text_verdicts(&r.stdout, &known_ids())
        .into_iter()
        .map(|(id, passed, _)| {
            assert!(passed);
            id
        })
        .collect();
    assert_eq!(
        got,
        ["t:z_first", "t:no_suite_b", "t:no_suite_a"],
        "{}",
        r.stdout
    );
    assert_eq!(r.lines().last(), Some(&"3 passed, 0 failed"));
}

#[test]
fn runner_filters_keep_ids_containing_any() {
    // "t:b" matches t:b_two, t:beta_zero, t:beta_one; "a.more" matches a.more:x.
    let r = moonhost(&[
        "test",
        "--format",
        "tap",
        &fixture("test_app"),
        "t:b",
        "a.more",
    ]);
    assert_eq!(r.code, Some(1), "{}", r.show());
    assert_eq!(
        tap_results(&r.lines()),
        [
            "not ok 1 - t:b_two",
            "ok 2 - t:beta_zero",
            "ok 3 - a.more:x",
            "not ok 4 - t:beta_one",
        ],
        "{}",
        r.stdout
    );
    assert!(r.lines().contains(&"1..4"));
    assert_eq!(r.lines().last(), Some(&"2 passed, 2 failed"));
}

#[test]
fn runner_filter_matching_nothing_is_1_and_says_so() {
    // A typo'd filter must not pass as "all green" (issue 10).
    let r = moonhost(&["test", &fixture("test_app"), "no_such_test"]);
    assert_eq!(r.code, Some(1), "{}", r.show());
    assert_eq!(r.lines(), ["0 passed, 0 failed"]);
    assert!(
        r.stderr
            .starts_with("moonhost: no test matches 'no_such_test'"),
        "{}",
        r.show()
    );
    let r = moonhost(&[
        "test",
        "--format",
        "tap",
        &fixture("test_app"),
        "no_such_test",
    ]);
    assert_eq!(r.code, Some(1), "{}", r.show());
    assert_eq!(r.lines().first(), Some(&"TAP version 13"));
    assert_eq!(r.lines().last(), Some(&"0 passed, 0 failed"));
}

#[test]
fn runner_single_failing_filter_is_1() {
    let r = moonhost(&["test", &fixture("test_app"), "beta_one"]);
    assert_eq!(r.code, Some(1), "{}", r.show());
    assert_eq!(r.lines().last(), Some(&"0 passed, 1 failed"));
}

#[test]
fn runner_skipped_tests_do_not_run_and_are_counted() {
    let app = fixture("test_skip");
    let r = moonhost(&["test", &app]);
    assert_eq!(r.code, Some(0), "skips are not failures\n{}", r.show());
    assert!(!r.stdout.contains("a skipped test ran"), "{}", r.stdout);
    assert_eq!(r.lines().last(), Some(&"1 passed, 0 failed, 2 skipped"));
    for id in ["skip:b_skipped", "skip:c_skipped_with_reason"] {
        let line = r
            .lines()
            .into_iter()
            .find(|l| l.contains(id))
            .expect("listed");
        assert!(line.to_lowercase().contains("skip"), "{line}");
    }
    let r = moonhost(&["test", "--format", "tap", &app]);
    assert_eq!(r.code, Some(0), "{}", r.show());
    let lines = r.lines();
    assert_eq!(lines[0], "TAP version 13");
    assert!(lines.contains(&"ok 1 - skip:a_runs"), "{}", r.stdout);
    // TAP 13 directive: `ok N - desc # SKIP reason`.
    let b = lines
        .iter()
        .find(|l| l.starts_with("ok 2 - skip:b_skipped"))
        .expect("ok 2");
    assert!(b.contains("# SKIP"), "{b}");
    assert_eq!(
        lines[lines.len() - 2],
        "ok 3 - skip:c_skipped_with_reason # SKIP not ready yet"
    );
    assert_eq!(lines.last(), Some(&"1 passed, 0 failed, 2 skipped"));
}

#[test]
fn runner_leftover_processes_do_not_disturb_the_next_test() {
    let r = moonhost(&["test", &fixture("test_isolation")]);
    assert_eq!(r.code, Some(0), "{}", r.show());
    assert_eq!(r.lines().last(), Some(&"2 passed, 0 failed"));
}

#[test]
fn runner_timeouts_and_deadlocks_fail_and_the_run_goes_on() {
    let r = moonhost(&["test", "--timeout", "0.5", &fixture("test_timeout")]);
    assert_eq!(r.code, Some(1), "{}", r.show());
    let ids = [
        "slow:a_sleeps_forever",
        "slow:b_deadlocks",
        "slow:c_quick",
        "slow:d_spins_forever",
    ];
    let got: Vec<(String, bool)> = text_verdicts(&r.stdout, &ids)
        .into_iter()
        .map(|(id, p, _)| (id, p))
        .collect();
    let want: Vec<(String, bool)> = [false, false, true, false]
        .iter()
        .zip(ids)
        .map(|(p, id)| (id.to_string(), *p))
        .collect();
    assert_eq!(got, want, "{}", r.stdout);
    assert_eq!(r.lines().last(), Some(&"1 passed, 3 failed"));
    assert!(r.elapsed < Duration::from_secs(10), "{:?}", r.elapsed);
}

#[test]
fn runner_missing_app_is_2() {
    for dir in [fixture("no_manifest"), fixture("does_not_exist")] {
        for format in ["text", "tap"] {
            let r = moonhost(&["test", "--format", format, &dir]);
            assert_eq!(r.code, Some(2), "{dir}\n{}", r.show());
            assert!(!r.stderr.is_empty());
            assert!(
                !r.stdout.contains("passed"),
                "no summary for an app that did not load"
            );
        }
    }
}

// ------------------------------------------------------------------------------------------
// test: apps whose Lua does not compile
// ------------------------------------------------------------------------------------------

#[test]
fn runner_lua_syntax_error_is_2() {
    // The app does not load (`run` refuses it with 2), so `test` must not report success.
    let app = fixture("lua_syntax_error");
    for format in ["text", "tap"] {
        let r = moonhost(&["test", "--format", format, &app]);
        assert_eq!(r.code, Some(2), "{format}\n{}", r.show());
        assert!(r.stderr.contains("broken:bad"), "{}", r.show());
        assert!(r.stderr.contains("bad.lua:5:"), "{}", r.show());
    }
}

#[test]
fn runner_lua_syntax_error_in_a_worker_is_a_clear_failure() {
    let app = fixture("lua_syntax_error_test");
    let r = moonhost(&["test", &app]);
    assert!(matches!(r.code, Some(1) | Some(2)), "{}", r.show());
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(
        all.contains("broken:worker"),
        "names the entry: {}",
        r.show()
    );
    assert!(
        all.contains("bad.lua:5:"),
        "names file and line: {}",
        r.show()
    );
    assert!(!all.contains("1 passed"), "{}", r.show());
    let r = moonhost(&["run", &app, "broken:a_test"]);
    assert_eq!(r.code, Some(2), "{}", r.show());
    assert!(r.stderr.contains("bad.lua:5:"), "{}", r.show());
}
