//! `Runtime::processes`, `process_info`, `traceback` and `report` (SPEC §12.4) between
//! frames of a run.

mod util;

use moonhost::{App, ProcState, Runtime, WaitKind};
use std::time::Duration;

#[test]
fn the_report_lists_every_process_and_the_tracebacks_of_waiting_ones() {
    let app = App::load(util::fixture("observe")).expect("fixture loads");
    let mut rt = Runtime::builder().build(&app).expect("runtime");
    let root = rt.spawn_root("obs:main", &[]).expect("spawn");
    let _ = rt.run_for(Duration::from_millis(50)).expect("runs");
    let procs = rt.processes();
    assert_eq!(procs.len(), 2);
    assert_eq!(procs[0].pid, root);
    assert_eq!(procs[0].names, vec!["root".to_string()]);
    assert_eq!(procs[1].parent.as_deref(), Some(root.as_str()));
    let child = rt.process_info("child").expect("child is live");
    assert_eq!(child.state, ProcState::Waiting);
    assert_eq!(child.waiting_on, Some(WaitKind::Receive));
    assert_eq!(rt.process_info("nobody"), None);
    let tb = rt.traceback(&root).expect("root is live");
    assert!(tb.starts_with("stack traceback:\n"), "{tb}");
    assert!(tb.contains("main.lua:4:"), "{tb}");
    let report = rt.report();
    let lines: Vec<&str> = report.lines().collect();
    assert!(
        lines[0].starts_with("moonhost report: 2 live processes at "),
        "{report}"
    );
    assert_eq!(
        lines[1],
        "PID\tENTRY\tSTATE\tWAIT\tMAILBOX\tMEMORY\tINSTRUCTIONS\tNAMES"
    );
    assert!(
        lines[2].starts_with(&format!("{root}\tobs:main\twaiting\treceive\t0\t")),
        "{report}"
    );
    assert!(lines[2].ends_with("\troot"), "{report}");
    assert!(
        report.contains(&format!("traceback {root}\n  stack traceback:\n")),
        "{report}"
    );
}

#[test]
fn run_report_prints_the_processes_left_behind_and_a_deadlock_always_does() {
    let app = util::fixture("observe");
    let r = util::moonhost(&["run", app.as_str(), "obs:main"]);
    assert_eq!(r.code, Some(1), "{}", r.show());
    let at = r
        .stderr
        .find("moonhost report: 2 live processes")
        .expect("report");
    assert!(r.stderr[..at].contains("deadlock"), "{}", r.show());
    assert!(r.stderr.contains("\tchild\n"), "{}", r.show());
    let ok = util::moonhost(&["run", "--report", app.as_str(), "obs:main", "x"]);
    assert!(
        ok.stderr.contains("moonhost report: 1 live processes"),
        "{}",
        ok.show()
    );
}
