//! Runs every example of the user guide (`examples/guide`, see its README) through the built
//! `moonhost` binary, the way a reader would:
//! `moonhost run examples/guide app.test.process:<entry>`, and checks the exit status and the
//! exact lines it prints.

mod util;

use std::time::Duration;
use util::{Run, moonhost};

const APP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/guide");

/// stderr without the crash reports of processes that failed on purpose
/// (`moonhost: process <pid> (<entry>) failed: <error>` and its traceback, SPEC §13.1).
fn beside_crash_reports(stderr: &str) -> String {
    let mut out = String::new();
    let mut in_report = false;
    for line in stderr.lines() {
        if line.starts_with("moonhost: process {") && line.contains(" failed: ") {
            in_report = true;
            continue;
        }
        if in_report && (line == "stack traceback:" || line.starts_with('\t')) {
            continue;
        }
        in_report = false;
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The crash reports on stderr, one line each.
fn crash_reports(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("moonhost: process {") && l.contains(" failed: "))
        .collect()
}

/// Runs a guide entry and checks that it ended normally, writing nothing to stderr but the
/// crash reports of processes that fail on purpose.
fn run_ok(entry: &str) -> Run {
    let id = format!("app.test.process:{entry}");
    let r = moonhost(&["run", APP, &id]);
    assert_eq!(
        r.code,
        Some(0),
        "{id} should exit 0\nstdout:\n{}\nstderr:\n{}",
        r.stdout,
        r.stderr
    );
    assert!(
        !r.stderr.contains("panicked"),
        "{id} panicked:\n{}",
        r.stderr
    );
    assert_eq!(beside_crash_reports(&r.stderr), "", "{id} wrote to stderr");
    r
}

/// `{app:processes|N}` -> N.
fn pid_number(s: &str) -> u64 {
    let n = s
        .strip_prefix("{app:processes|")
        .and_then(|r| r.strip_suffix('}'))
        .unwrap_or_else(|| panic!("not a PID on host app:processes: {s:?}"));
    n.parse()
        .unwrap_or_else(|_| panic!("PID number is not an integer: {s:?}"))
}

/// Splits a printed line at tabs and checks the first column.
fn columns<'a>(line: &'a str, first: &str) -> Vec<&'a str> {
    let cols: Vec<&str> = line.split('\t').collect();
    assert_eq!(cols[0], first, "line {line:?}");
    cols
}

#[test]
fn spawn_example_prints_the_child_pid() {
    let r = run_ok("spawn_example");
    let lines = r.lines();
    assert_eq!(lines.len(), 1, "{}", r.stdout);
    let cols = columns(lines[0], "Started worker:");
    assert_eq!(cols.len(), 2, "{lines:?}");
    // The root is the first process; its child comes next (numbers are sequential).
    assert!(pid_number(cols[1]) >= 2, "{}", cols[1]);
}

#[test]
fn own_pid_prints_a_pid() {
    let r = run_ok("own_pid");
    let lines = r.lines();
    assert_eq!(lines.len(), 1, "{}", r.stdout);
    let cols = columns(lines[0], "My PID:");
    assert_eq!(cols.len(), 2);
    pid_number(cols[1]);
}

#[test]
fn send_example_reaches_the_listener() {
    let r = run_ok("send_example");
    let lines = r.lines();
    assert_eq!(lines.len(), 3, "{}", r.stdout);
    assert!(lines.contains(&"Sent:\ttrue"), "{lines:?}");
    let received = lines
        .iter()
        .position(|l| *l == "Received:\thello from parent")
        .unwrap_or_else(|| panic!("no Received line: {lines:?}"));
    let cols = columns(lines[2], "Worker exited:");
    assert!(received < 2, "the worker prints before it exits: {lines:?}");
    assert_eq!(cols.len(), 3, "{lines:?}");
    pid_number(cols[1]);
    assert_eq!(cols[2], "true", "the listener returns true");
}

#[test]
fn topic_listener_receives_only_its_topic() {
    let r = run_ok("topic_listener");
    assert_eq!(
        r.lines(),
        ["Received:\thello listener", "Listener returned:\ttrue"],
        "a message on another topic must not reach the listener channel"
    );
}

#[test]
fn inbox_select_routes_by_topic_and_is_terminated() {
    let r = run_ok("inbox_select");
    assert_eq!(
        crash_reports(&r.stderr).len(),
        1,
        "the terminated worker is reported"
    );
    assert!(
        crash_reports(&r.stderr)[0]
            .ends_with("(app.test.process:inbox_worker) failed: process terminated")
    );
    let lines = r.lines();
    let inbox: Vec<&&str> = lines
        .iter()
        .filter(|l| l.starts_with("Inbox got:"))
        .collect();
    assert_eq!(
        inbox.len(),
        1,
        "only the other_topic message goes to the inbox; specific_topic has a listener: {lines:?}"
    );
    // The guide prints msg.topic / msg.payload (methods, not calls).
    let cols = columns(inbox[0], "Inbox got:");
    assert_eq!(cols.len(), 3, "{lines:?}");
    assert_eq!(
        lines.last(),
        Some(&"Worker stopped:\tprocess terminated"),
        "{lines:?}"
    );
    assert_eq!(lines.len(), 2, "{lines:?}");
}

#[test]
fn message_echo_replies_with_the_payload() {
    let r = run_ok("message_echo");
    assert_eq!(r.lines(), ["Echo reply:\tping"]);
}

#[test]
fn spawn_monitored_gets_exit_with_result() {
    let r = run_ok("spawn_monitored");
    let lines = r.lines();
    assert_eq!(
        lines.len(),
        2,
        "no 'Exit error:' line on a normal exit: {lines:?}"
    );
    let cols = columns(lines[0], "Worker exited:");
    assert_eq!(cols.len(), 2);
    pid_number(cols[1]);
    assert_eq!(lines[1], "Worker result:\tevents exit worker done");
}

#[test]
fn explicit_monitor_and_unmonitor() {
    let r = run_ok("explicit_monitor");
    let lines = r.lines();
    assert_eq!(lines.len(), 4, "{lines:?}");
    let first = pid_number(columns(lines[0], "Monitoring:")[1]);
    assert_eq!(lines[1], "Unmonitored:\ttrue");
    assert_eq!(lines[2], "No EXIT after unmonitor");
    let cols = columns(lines[3], "Monitored worker exited:");
    assert_eq!(cols.len(), 3, "{lines:?}");
    assert!(
        pid_number(cols[1]) > first,
        "PIDs are sequential: {lines:?}"
    );
    assert_eq!(cols[2], "long work done");
}

#[test]
fn spawn_linked_child_dies_with_its_parent() {
    let r = run_ok("spawn_linked");
    let crashes = crash_reports(&r.stderr);
    assert_eq!(
        crashes.len(),
        2,
        "parent and linked child are reported: {crashes:?}"
    );
    assert!(crashes[1].ends_with("(app.test.process:child_worker) failed: linked process failed"));
    let lines = r.lines();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let parent = columns(lines[0], "Parent exited:");
    assert!(
        parent[1].ends_with("linked_parent.lua:13: parent crashed on purpose"),
        "a raised error carries its chunk:line: prefix: {lines:?}"
    );
    assert_eq!(lines[1], "Child exited:\tlinked process failed");
}

#[test]
fn link_then_unlink_does_not_propagate() {
    let r = run_ok("link_unlink");
    assert_eq!(crash_reports(&r.stderr).len(), 1, "only the target fails");
    let lines = r.lines();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(lines[0], "Linked:\ttrue");
    assert_eq!(lines[1], "Unlinked:\ttrue");
    let target = columns(lines[2], "Target failed:");
    assert!(
        target[1].ends_with("error_exit_worker.lua:4: error_exit_worker failed on purpose"),
        "{lines:?}"
    );
    assert_eq!(lines[3], "Still running after the unlinked target failed");
}

#[test]
fn trap_links_receives_link_down() {
    let r = run_ok("trap_links");
    assert_eq!(
        crash_reports(&r.stderr).len(),
        1,
        "only the linked worker fails"
    );
    let lines = r.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let cols = columns(lines[0], "Linked process died:");
    assert_eq!(cols.len(), 2);
    assert!(pid_number(cols[1]) >= 2);
}

#[test]
fn registry_register_and_lookup() {
    let r = run_ok("registry_register");
    let lines = r.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let cols = columns(lines[0], "Registered:");
    assert_eq!(cols.len(), 3, "{lines:?}");
    let suffix = cols[1].strip_prefix("my_service_").expect("name prefix");
    assert!(
        suffix.parse::<u64>().is_ok(),
        "os.time() is an integer: {lines:?}"
    );
    pid_number(cols[2]);
}

#[test]
fn registry_unregister_then_lookup_fails() {
    let r = run_ok("registry_unregister");
    let lines = r.lines();
    assert_eq!(lines.len(), 3, "{lines:?}");
    columns(lines[0], "Registered:");
    assert_eq!(
        lines[1],
        "Lookup after unregister:\tnil\tname not registered"
    );
    assert_eq!(
        lines[2], "Name was not registered",
        "a second unregister returns false"
    );
}

fn check_pool_output(r: &Run) {
    let mut seen: Vec<(u32, i64)> = r
        .lines()
        .into_iter()
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(cols.len(), 2, "line {l:?}");
            let n = cols[0]
                .strip_prefix("Worker ")
                .and_then(|s| s.strip_suffix(" completed:"))
                .unwrap_or_else(|| panic!("not a completion line: {l:?}"));
            let n: u32 = n.parse().expect("task id");
            // Integers stay integers through the payload copy: "20", not "20.0".
            let v: i64 = cols[1]
                .parse()
                .unwrap_or_else(|_| panic!("value is not an integer: {l:?}"));
            (n, v)
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [(1, 20), (2, 40), (3, 60), (4, 80), (5, 100)],
        "{}",
        r.stdout
    );
}

#[test]
fn worker_pool_completes_five_workers() {
    let r = run_ok("worker_pool");
    check_pool_output(&r);
    // Each worker sleeps 100ms and timers never fire early.
    assert!(r.elapsed >= Duration::from_millis(100), "{:?}", r.elapsed);
}

#[test]
fn worker_pool_is_deterministic_under_a_seed() {
    let args = ["run", "--seed", "42", APP, "app.test.process:worker_pool"];
    let a = moonhost(&args);
    let b = moonhost(&args);
    assert_eq!(a.code, Some(0), "{}", a.stderr);
    check_pool_output(&a);
    assert_eq!(a.stdout, b.stdout, "same seed, same output");
}

#[test]
fn task_worker_alone_fails_without_a_task() {
    // The guide's task_worker indexes its argument: run with none, it fails, and the CLI says
    // why on stderr with exit code 1.
    let r = moonhost(&["run", APP, "app.test.process:task_worker"]);
    assert_eq!(
        r.code,
        Some(1),
        "stdout:\n{}\nstderr:\n{}",
        r.stdout,
        r.stderr
    );
    assert!(r.stderr.contains("task_worker.lua:9:"), "{}", r.stderr);
    assert!(r.stderr.contains("attempt to index"), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

#[test]
fn readme_lists_every_runner() {
    let readme = std::fs::read_to_string(format!("{APP}/README.md")).expect("README");
    let manifest = std::fs::read_to_string(format!("{APP}/process/_index.yaml")).expect("manifest");
    let names: Vec<&str> = manifest
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- name: "))
        .collect();
    assert!(names.len() >= 20, "{names:?}");
    for n in names {
        assert!(
            readme.contains(&format!("`{n}`")),
            "README does not list {n}"
        );
    }
}
