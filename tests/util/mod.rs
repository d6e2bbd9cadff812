//! Helpers shared by the tests that drive the built `moonhost` binary (`mod util;` in each).

// Each test crate uses only some of these.
#![allow(dead_code)]

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_moonhost");
/// A command that has not ended by then is hung; the slowest one needs a few seconds.
const HANG_LIMIT: Duration = Duration::from_secs(20);

/// How one `moonhost` command ended.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    /// Exit code, stdout and stderr, for assertion messages.
    pub fn show(&self) -> String {
        format!(
            "exit {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// The path of fixture app `tests/fixtures/<name>` (see the README there).
pub fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Reads a child's pipe to the end on its own thread.
fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut b = Vec::new();
        pipe.read_to_end(&mut b).expect("read pipe");
        String::from_utf8_lossy(&b).into_owned()
    })
}

/// Runs `moonhost <args>` with logging at its default level, killing it if it hangs, and
/// checks that it did not panic.
pub fn moonhost(args: &[&str]) -> Run {
    let started = Instant::now();
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start moonhost");
    let out = drain(child.stdout.take().expect("stdout"));
    let err = drain(child.stderr.take().expect("stderr"));
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if started.elapsed() > HANG_LIMIT {
            child.kill().ok();
            child.wait().ok();
            panic!("moonhost {args:?} did not end within {HANG_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let r = Run {
        code: status.code(),
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
        elapsed: started.elapsed(),
    };
    let panicked = r.stderr.contains("panicked") || r.stdout.contains("panicked");
    assert!(!panicked, "moonhost {args:?} panicked\n{}", r.show());
    let signalled = r.code.is_none();
    assert!(
        !signalled,
        "moonhost {args:?} was killed by a signal\n{}",
        r.show()
    );
    r
}

/// An app in a fresh temporary folder named after `tag`: entries `r:root` (method `main`)
/// and `r:idle` (method `idle`), both in `root.lua` with the text `root`; and the folder.
pub fn root_idle_app(tag: &str, root: &str) -> (moonhost::App, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("moonhost-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create app dir");
    std::fs::write(dir.join("_index.yaml"), ROOT_IDLE_MANIFEST).expect("write manifest");
    std::fs::write(dir.join("root.lua"), root).expect("write root");
    (moonhost::App::load(&dir).expect("app loads"), dir)
}

const ROOT_IDLE_MANIFEST: &str = "namespace: r
entries:
  - name: root
    kind: process.lua
    source: file://root.lua
    method: main
  - name: idle
    kind: process.lua
    source: file://root.lua
    method: idle
";
