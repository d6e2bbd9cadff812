//! End-to-end tests of the `moonhost` binary: `run` exit codes and arguments, usage errors,
//! simulation mode, and garbage input, which must give exit code 2 with a message naming the
//! file or entry and line, never a panic. The `test` subcommand is covered in
//! `tests/cli_test_cmd.rs`.
//!
//! Fixture apps live in `tests/fixtures/<name>/` (see the README there).

mod util;

use std::time::Duration;
use util::{Run, fixture, moonhost};

/// Runs `moonhost run` on entry `entry` of the `run_app` fixture with `args`.
fn run_entry(entry: &str, args: &[&str]) -> Run {
    let app = fixture("run_app");
    let mut all = vec!["run", app.as_str(), entry];
    all.extend_from_slice(args);
    moonhost(&all)
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// Runs `entry` (no arguments), which must end abnormally: exit code 1 and, on a line of
/// its own on stderr, the crash report naming the root's PID, its entry and `error`
/// (`moonhost: process {app:processes|1} (<entry>) failed: <error>`, SPEC §13.1; crashes
/// of other processes are reported before it).
fn run_fails_with(entry: &str, error: &str) -> Run {
    let r = run_entry(entry, &[]);
    assert_eq!(r.code, Some(1), "{}", r.show());
    let want = format!("moonhost: process {{app:processes|1}} ({entry}) failed: {error}");
    assert!(
        r.stderr.lines().any(|l| l == want),
        "want {want:?}\n{}",
        r.show()
    );
    r
}

// ------------------------------------------------------------------------------------------
// run: exit codes
// ------------------------------------------------------------------------------------------

#[test]
fn run_normal_exit_is_0() {
    let r = run_entry("cli:ok_true", &[]);
    assert_eq!(r.code, Some(0), "{}", r.show());
    assert_eq!(r.stdout, "ok_true ran\n");
    assert_eq!(r.stderr, "");
}

#[test]
fn run_every_normal_ending_is_0() {
    // SPEC §2.3: `return v` with anything (false and nothing included) is normal, and so is
    // `return v, e` when e is not a string.
    for entry in ["cli:ok_false", "cli:ok_nothing", "cli:ok_nonstring_error"] {
        let r = run_entry(entry, &[]);
        assert_eq!(r.code, Some(0), "{entry}\n{}", r.show());
        assert_eq!(r.stderr, "", "{entry}");
        assert_eq!(r.stdout, "", "{entry}");
    }
}

#[test]
fn run_function_entry_and_bare_function_chunk() {
    // function.lua runs as a process too; a chunk that returns a function runs it (SPEC §1).
    let r = run_entry("cli:ok_function_entry", &[]);
    assert_eq!(r.code, Some(0), "{}", r.show());
    assert_eq!(r.stdout, "ok_true ran\n");
    let r = run_entry("cli:ok_bare_function", &["x", "y"]);
    assert_eq!(r.code, Some(0), "{}", r.show());
    assert_eq!(r.stdout, "bare function\t2\n");
}

#[test]
fn run_raised_error_is_1_with_message_on_stderr() {
    let r = run_fails_with("cli:fail_raise", "fail.lua:3: boom");
    assert_eq!(r.stdout, "");
}

#[test]
fn run_returned_error_string_is_1() {
    let r = run_fails_with("cli:fail_return", "bad thing happened");
    assert_eq!(r.stdout, "");
}

#[test]
fn run_terminated_root_is_1() {
    run_fails_with("cli:fail_terminate", "process terminated");
}

#[test]
fn run_root_killed_by_linked_failure_is_1() {
    run_fails_with("cli:fail_linked", "linked process failed");
}

#[test]
fn run_unsendable_return_value_is_1() {
    // SPEC §5: a return value holding a function becomes an abnormal exit with that message.
    run_fails_with("cli:fail_return_function", "cannot send function");
}

#[test]
fn run_raised_table_is_1_without_panic() {
    let r = run_entry("cli:fail_raise_table", &[]);
    assert_eq!(r.code, Some(1), "{}", r.show());
    assert!(!r.stderr.trim().is_empty(), "{}", r.show());
}

#[test]
fn run_missing_method_fails_at_load_naming_entry_method_and_file() {
    // Reported when the app loads, whichever entry is run (issue 10).
    for entry in ["cli:fail_missing_method", "cli:ok"] {
        let r = moonhost(&["run", &fixture("bad_method"), entry]);
        assert_eq!(r.code, Some(2), "{}", r.show());
        assert_eq!(
            r.stderr.trim(),
            "moonhost: manifest error: entry cli:fail_missing_method: method 'mian' is not \
             defined in main.lua (a typo in `method`?)",
            "{}",
            r.show()
        );
    }
}

#[test]
fn run_deadlocked_root_is_1_and_ends() {
    let r = run_entry("cli:fail_deadlock", &[]);
    assert_eq!(r.code, Some(1), "{}", r.show());
    assert!(!r.stderr.trim().is_empty(), "says why: {}", r.show());
    assert!(r.elapsed < Duration::from_secs(5), "{:?}", r.elapsed);
}

#[test]
fn run_unknown_entry_is_2() {
    for entry in ["cli:nope", "nope", "other:ok_true", ""] {
        let r = run_entry(entry, &[]);
        assert_eq!(r.code, Some(2), "{entry:?}\n{}", r.show());
        assert!(r.stderr.contains(entry), "names {entry:?}: {}", r.show());
        assert_eq!(r.stdout, "");
    }
}

#[test]
fn run_non_spawnable_entry_is_2() {
    // A library.lua and an unknown kind (kept and ignored) cannot be run.
    for entry in ["cli:lib", "cli:router", "app:processes"] {
        let r = run_entry(entry, &[]);
        assert_eq!(r.code, Some(2), "{entry}\n{}", r.show());
        assert!(r.stderr.contains(entry), "names {entry}: {}", r.show());
    }
}

#[test]
fn run_ends_when_the_root_ends() {
    // The root leaves a child sleeping for an hour; the run ends with the root.
    let r = run_entry("cli:ok_leaves_children", &[]);
    assert_eq!(r.code, Some(0), "{}", r.show());
    assert_eq!(r.stdout, "spawned a sleeper\n");
    assert!(r.elapsed < Duration::from_secs(10), "{:?}", r.elapsed);
}

#[test]
fn run_output_is_complete_when_it_exits() {
    let r = run_entry("cli:ok_big_output", &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let lines = r.lines();
    assert_eq!(lines.len(), 20000);
    assert_eq!(lines[0], "line\t1");
    assert_eq!(lines[19999], "line\t20000");
}

// ------------------------------------------------------------------------------------------
// run: arguments
// ------------------------------------------------------------------------------------------

#[test]
fn run_passes_args_to_main_as_strings() {
    let r = run_entry(
        "cli:args",
        &["1", "two", "", "3.5", "with space", "--", "--x", "-5"],
    );
    assert_eq!(r.code, Some(0), "{}", r.show());
    assert_eq!(
        r.lines(),
        [
            "count\t7",
            "1\tstring\t[1]",
            "2\tstring\t[two]",
            "3\tstring\t[]",
            "4\tstring\t[3.5]",
            "5\tstring\t[with space]",
            "6\tstring\t[--x]",
            "7\tstring\t[-5]",
        ]
    );
}

#[test]
fn run_without_args_calls_main_with_none() {
    let r = run_entry("cli:args", &[]);
    assert_eq!(r.code, Some(0), "{}", r.show());
    assert_eq!(r.stdout, "count\t0\n");
}

#[test]
fn run_imports_a_library() {
    let r = run_entry("cli:uses_lib", &["21"]);
    assert_eq!(r.code, Some(0), "{}", r.show());
    assert_eq!(r.stdout, "twice\t42\n");
}

#[test]
fn run_unknown_module_warns_at_load_and_require_fails() {
    let app = fixture("modules_warning");
    let r = moonhost(&["run", &app, "cli.modules:unknown_module"]);
    assert_eq!(r.code, Some(0), "{}", r.show());
    assert!(
        r.stderr.contains("no_such_module"),
        "a load-time warning: {}",
        r.show()
    );
    assert_eq!(
        r.lines(),
        [
            "require ok\tfalse",
            "require err\tmodule 'no_such_module' not found"
        ]
    );
}

#[test]
fn usage_errors_are_2() {
    let app = fixture("test_app");
    let cases: [&[&str]; 5] = [
        &[],
        &["run"],
        &["frobnicate"],
        &["test", "--format", "xml", &app],
        &["test", "--timeout", "soon", &app],
    ];
    for args in cases {
        let r = moonhost(args);
        assert_eq!(r.code, Some(2), "{args:?}\n{}", r.show());
        assert!(!r.stderr.is_empty(), "{args:?} explains itself");
    }
}

// ------------------------------------------------------------------------------------------
// simulation mode (SPEC §7)
// ------------------------------------------------------------------------------------------

#[test]
fn seed_skips_sleeps_and_repeats_output() {
    let app = fixture("run_app");
    let a = moonhost(&["run", "--seed", "5", &app, "cli:seeded"]);
    let b = moonhost(&["run", "--seed", "5", &app, "cli:seeded"]);
    assert_eq!(a.code, Some(0), "{}", a.show());
    assert!(a.stdout.contains("slept\ttrue\n"), "{}", a.show());
    assert!(
        a.elapsed < Duration::from_secs(10),
        "an hour of virtual sleep: {:?}",
        a.elapsed
    );
    assert_eq!(a.stdout, b.stdout, "same seed, byte-identical output");
    let c = moonhost(&["run", "--seed", "6", &app, "cli:seeded"]);
    assert_eq!(c.code, Some(0), "{}", c.show());
    assert_ne!(
        first_line(&a.stdout),
        first_line(&c.stdout),
        "uuid depends on the seed"
    );
}

#[test]
fn seed_makes_math_random_deterministic() {
    // SPEC §7: with the same seed, math.random gives the same numbers.
    let app = fixture("run_app");
    let a = moonhost(&["run", "--seed", "5", &app, "cli:seeded_random"]);
    let b = moonhost(&["run", "--seed", "5", &app, "cli:seeded_random"]);
    assert_eq!(a.code, Some(0), "{}", a.show());
    assert_eq!(a.stdout, b.stdout, "math.random under --seed 5");
}

#[test]
fn seed_trace_and_replay() {
    // SPEC §7: `--trace FILE` records the trace; `--replay FILE` re-runs and reports the
    // first divergence (none here).
    let app = fixture("run_app");
    let trace = std::env::temp_dir().join(format!("moonhost-cli-trace-{}.txt", std::process::id()));
    let trace_s = trace.to_string_lossy().into_owned();
    let a = moonhost(&[
        "run",
        "--seed",
        "5",
        "--trace",
        &trace_s,
        &app,
        "cli:seeded",
    ]);
    assert_eq!(a.code, Some(0), "{}", a.show());
    let recorded = std::fs::read(&trace).map(|b| b.len()).unwrap_or(0);
    assert!(recorded > 0, "--trace wrote nothing to {trace_s}");
    // SPEC §14.3: the seed comes from the trace; giving it again is a usage error.
    let twice = moonhost(&[
        "run",
        "--seed",
        "5",
        "--replay",
        &trace_s,
        &app,
        "cli:seeded",
    ]);
    assert_eq!(twice.code, Some(2), "{}", twice.show());
    let b = moonhost(&["run", "--replay", &trace_s, &app, "cli:seeded"]);
    std::fs::remove_file(&trace).ok();
    assert_eq!(b.code, Some(0), "{}", b.show());
    assert_eq!(a.stdout, b.stdout);
    assert!(b.stderr.starts_with("replay: ok ("), "{}", b.show());
}

// ------------------------------------------------------------------------------------------
// garbage input
// ------------------------------------------------------------------------------------------

/// `(fixture, lines the message may point at, words it must contain)`.
const BAD_MANIFESTS: &[(&str, &[u32], &[&str])] = &[
    ("bad_yaml_syntax", &[5], &["source"]),
    ("bad_yaml_tabs", &[3, 4], &["tab"]),
    ("bad_entries_type", &[2], &["entries"]),
    ("bad_entry_scalar", &[3], &["entries"]),
    ("bad_name_type", &[5], &["name"]),
    ("bad_namespace_type", &[1], &["namespace"]),
    ("bad_max_processes", &[5], &["max_processes"]),
    ("bad_meta_type", &[7], &["meta"]),
    ("bad_imports_type", &[7], &["imports"]),
    ("bad_modules_type", &[7], &["modules"]),
    ("missing_namespace", &[1], &["namespace"]),
    ("missing_name", &[7], &["name", "missing"]),
    ("missing_kind", &[7], &["kind", "broken:kindless"]),
    (
        "missing_source_field",
        &[7],
        &["source", "broken:sourceless"],
    ),
    (
        "missing_source_file",
        &[9],
        &["broken:ghost", "does_not_exist.lua"],
    ),
    ("bad_source_scheme", &[5], &["source", "file://"]),
    ("duplicate_id", &[7], &["broken:main"]),
    ("unknown_import", &[3, 8], &["broken:nowhere"]),
    ("empty_manifest", &[1], &["namespace"]),
];

fn names_line(stderr: &str, lines: &[u32]) -> bool {
    lines.iter().any(|n| {
        stderr.contains(&format!("_index.yaml:{n}:"))
            || stderr.contains(&format!("line {n} "))
            || stderr.contains(&format!("line {n}:"))
    })
}

#[test]
fn bad_manifests_are_2_naming_file_line_and_field() {
    let mut problems = Vec::new();
    for (name, lines, words) in BAD_MANIFESTS {
        let app = fixture(name);
        for args in [
            vec!["run", app.as_str(), "broken:main"],
            vec!["test", app.as_str()],
            vec!["test", "--format", "tap", app.as_str()],
        ] {
            let r = moonhost(&args);
            let mut bad = Vec::new();
            if r.code != Some(2) {
                bad.push(format!("exit {:?}", r.code));
            }
            if !r.stderr.contains(&format!("{name}/_index.yaml")) {
                bad.push("file not named".to_string());
            }
            if !names_line(&r.stderr, lines) {
                bad.push(format!("line {lines:?} not named"));
            }
            for w in *words {
                if !r.stderr.contains(w) {
                    bad.push(format!("{w:?} not named"));
                }
            }
            if r.stdout.contains("passed") {
                bad.push("printed a test summary".to_string());
            }
            if !bad.is_empty() {
                problems.push(format!(
                    "{name} {:?}: {}\n  stderr: {}",
                    args[0],
                    bad.join(", "),
                    r.stderr.trim()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn unreadable_or_absent_apps_are_2() {
    let cases = [
        ("binary_manifest", "binary_manifest/_index.yaml"),
        ("no_manifest", "no_manifest"),
        ("does_not_exist", "does_not_exist"),
    ];
    for (name, named) in cases {
        let app = fixture(name);
        for args in [vec!["run", app.as_str(), "x:m"], vec!["test", app.as_str()]] {
            let r = moonhost(&args);
            assert_eq!(r.code, Some(2), "{args:?}\n{}", r.show());
            assert!(r.stderr.contains(named), "names {named}: {}", r.show());
        }
    }
}

#[test]
fn hostile_yaml_is_refused_quickly() {
    // An alias bomb and 5000 nested brackets: refused with a message, no panic, no hang.
    for name in ["alias_bomb", "deep_nesting"] {
        let app = fixture(name);
        let r = moonhost(&["run", &app, "x:m"]);
        assert_eq!(r.code, Some(2), "{name}\n{}", r.show());
        assert!(
            r.stderr.contains(&format!("{name}/_index.yaml")),
            "{}",
            r.show()
        );
        assert!(
            r.elapsed < Duration::from_secs(10),
            "{name}: {:?}",
            r.elapsed
        );
    }
}

#[test]
fn run_lua_syntax_error_is_2_naming_entry_and_line() {
    let r = moonhost(&["run", &fixture("lua_syntax_error"), "broken:main"]);
    assert_eq!(r.code, Some(2), "{}", r.show());
    assert!(
        r.stderr.contains("broken:bad"),
        "names the entry: {}",
        r.show()
    );
    assert!(
        r.stderr.contains("bad.lua:5:"),
        "names file and line: {}",
        r.show()
    );
    assert_eq!(r.stdout, "", "nothing runs");
}
