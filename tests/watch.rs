//! `moonhost run --watch` (SPEC §12.3.1) and the SIGUSR1 report (SPEC §12.4), driving the
//! built binary while it runs.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_moonhost");
const PATIENCE: Duration = Duration::from_secs(15);

fn app_dir(name: &str, main: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("moonhost-watch-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let manifest = "namespace: app\nentries:\n  - name: main\n    kind: process.lua\n    \
                    source: file://main.lua\n";
    std::fs::write(dir.join("_index.yaml"), manifest).expect("manifest");
    std::fs::write(dir.join("main.lua"), main).expect("source");
    dir
}

/// One line of the child's output: `(true, line)` from stdout, `(false, line)` from stderr.
type Line = (bool, String);

fn spawn(args: &[&str]) -> (Child, Receiver<Line>) {
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("moonhost starts");
    let (tx, rx) = channel();
    let out = child.stdout.take().expect("stdout");
    let err = child.stderr.take().expect("stderr");
    let tx2 = tx.clone();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send((true, l));
        }
    });
    std::thread::spawn(move || {
        for l in BufReader::new(err).lines().map_while(Result::ok) {
            let _ = tx2.send((false, l));
        }
    });
    (child, rx)
}

/// Collects lines until one equals `want` (from stdout when `stdout`); panics with what
/// came when it does not within [`PATIENCE`].
fn wait_for(rx: &Receiver<Line>, seen: &mut Vec<Line>, stdout: bool, want: &str) {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(50)) {
            let hit = l.0 == stdout && l.1 == want;
            seen.push(l);
            if hit {
                return;
            }
        }
    }
    panic!("no line {want:?}; got {seen:#?}");
}

fn finish(mut child: Child, rx: &Receiver<Line>, seen: &mut Vec<Line>) -> Option<i32> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            std::thread::sleep(Duration::from_millis(50));
            seen.extend(rx.try_iter());
            return status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("moonhost did not end; got {seen:#?}");
        }
        seen.extend(rx.try_iter());
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn rewrite(dir: &Path, text: &str) {
    std::fs::write(dir.join("main.lua"), text).expect("rewrite");
}

/// v1 waits for new code with no timer armed (nothing can wake it but a reload) and
/// upgrades into it carrying a state.
const V1: &str = r#"local M = {}
function M.main()
  print("v1")
  local ev = process.events():receive()
  process.upgrade(nil, "from " .. ev.entry)
end
return M
"#;

#[test]
fn watch_reloads_changed_sources_and_reports_failures() {
    let dir = app_dir("reload", V1);
    let (child, rx) = spawn(&["run", "--watch", dir.to_str().expect("utf-8"), "app:main"]);
    let mut seen = Vec::new();
    wait_for(&rx, &mut seen, true, "v1");
    rewrite(&dir, "return { main = function( }\n");
    wait_for(
        &rx,
        &mut seen,
        false,
        "moonhost: reload failed: app:main: main.lua:1: <name> or '...' expected near '}'",
    );
    rewrite(
        &dir,
        "return { main = function(state) print(\"v2 \" .. state) end }\n",
    );
    wait_for(&rx, &mut seen, false, "moonhost: reloaded app:main");
    let code = finish(child, &rx, &mut seen);
    assert_eq!(code, Some(0), "{seen:#?}");
    assert!(
        seen.contains(&(true, "v2 from app:main".to_string())),
        "{seen:#?}"
    );
}

#[test]
fn watch_conflicts_with_replay() {
    let dir = app_dir("conflict", V1);
    let out = Command::new(BIN)
        .args(["run", "--watch", "--replay", "x.jsonl"])
        .arg(&dir)
        .arg("app:main")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--watch") && err.contains("--replay"), "{err}");
}

#[test]
fn sigusr1_writes_the_report_and_the_run_goes_on() {
    let main = r#"return { main = function()
  process.registry.register("sleepy", process.pid())
  print("started")
  for _ = 1, 20 do time.sleep("50ms") end
  print("done")
end }
"#;
    let dir = app_dir("usr1", main);
    let (child, rx) = spawn(&["run", dir.to_str().expect("utf-8"), "app:main"]);
    let mut seen = Vec::new();
    wait_for(&rx, &mut seen, true, "started");
    let sent = Command::new("kill")
        .args(["-USR1", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let code = finish(child, &rx, &mut seen);
    assert_eq!(code, Some(0), "{seen:#?}");
    let err: Vec<&str> = seen.iter().filter(|l| !l.0).map(|l| l.1.as_str()).collect();
    assert!(
        err.first()
            .is_some_and(|l| l.starts_with("moonhost report: 1 live processes at ")),
        "{seen:#?}"
    );
    assert!(
        err.iter()
            .any(|l| l.contains("\tapp:main\twaiting\tsleep\t") && l.ends_with("\tsleepy")),
        "{seen:#?}"
    );
    assert!(seen.contains(&(true, "done".to_string())), "{seen:#?}");
}
