//! Helpers shared by the fuzz targets: known-bug guards and running a generated app.

use moonhost::Limits;
use moonhost::runtime::Stats;
use moonhost::{App, RunOutcome};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Runtime bugs the harness currently steps around (none now; see README.md). A new one
/// gets a name here, a `skip_known("<name>")` guard at the check it trips,
/// a row in README.md and an `#[ignore]`d regression test, all removed again with the fix.
const KNOWN_BUGS: &[&str] = &[];

/// Whether the harness should step around the known runtime bug `name` so fuzzing can go on
/// past it. `MOONHOST_FUZZ_STRICT=1` checks everything anyway (e.g. to try a fix).
pub fn skip_known(name: &str) -> bool {
    KNOWN_BUGS.contains(&name)
        && std::env::var_os("MOONHOST_FUZZ_STRICT").is_none_or(|v| v.is_empty() || v == "0")
}

/// A scratch folder for one fuzz process, emptied for every input.
pub struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    /// `$TMPDIR/moonhost-fuzz-<target>-<pid>`.
    pub fn new(target: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("moonhost-fuzz-{target}-{}", std::process::id()));
        Scratch { dir }
    }

    /// Writes `files` (name, text) into a freshly emptied folder and returns it.
    pub fn write(&self, files: &[(String, String)]) -> &Path {
        let _ = std::fs::remove_dir_all(&self.dir);
        std::fs::create_dir_all(&self.dir).expect("create scratch dir");
        for (name, text) in files {
            std::fs::write(self.dir.join(name), text).expect("write scratch file");
        }
        &self.dir
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Tight limits for generated programs: small heaps, a bounded instruction budget, short
/// mailboxes and payloads.
pub fn tight_limits() -> Limits {
    Limits {
        max_processes: Some(24),
        memory_bytes: 4 << 20,
        max_instructions: Some(3_000_000),
        mailbox_len: Some(64),
        payload_bytes: Some(64 << 10),
        ..Limits::default()
    }
}

/// What one run of a generated app did.
#[derive(Debug)]
pub struct Report {
    /// How `run` ended.
    pub outcome: RunOutcome,
    /// Wall time `run` took.
    pub elapsed: Duration,
    /// Records left after `shutdown` + `collect` (all zero unless something leaked).
    pub left: Stats,
    /// What `print` wrote.
    pub output: Vec<u8>,
}

/// A `Write` that keeps what it gets (bounded) in a shared buffer.
#[derive(Clone, Default)]
pub struct Sink(pub std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut b = self.0.borrow_mut();
        if b.len() < 1 << 16 {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Loads the app in `dir`, spawns `root` and runs it for at most `limit`, then shuts the
/// runtime down and counts what is left. Panics (failing the fuzz input) when the app does
/// not load, `run` returns an error, or `run` overstays `limit` by more than `slack`.
pub fn run_app(
    dir: &Path,
    root: &str,
    builder: moonhost::RuntimeBuilder,
    limit: Duration,
    slack: Duration,
) -> Report {
    let app = App::load(dir).unwrap_or_else(|e| panic!("generated app does not load: {e}"));
    moonhost::runtime::check_syntax(&app)
        .unwrap_or_else(|e| panic!("generated app has a syntax error: {e}"));
    let sink = Sink::default();
    let mut rt = builder
        .output(sink.clone())
        .build(&app)
        .unwrap_or_else(|e| panic!("runtime does not build: {e}"));
    rt.spawn_root(root, &[])
        .unwrap_or_else(|e| panic!("root does not spawn: {e}"));
    let started = Instant::now();
    let outcome = rt
        .run(Some(limit))
        .unwrap_or_else(|e| panic!("run failed: {e}"));
    let elapsed = started.elapsed();
    assert!(
        elapsed <= limit + slack,
        "run took {elapsed:?} with a limit of {limit:?} (outcome {outcome:?})"
    );
    rt.shutdown();
    rt.collect()
        .unwrap_or_else(|e| panic!("collect failed: {e}"));
    let left = rt.stats();
    drop(rt);
    let output = sink.0.take();
    Report {
        outcome,
        elapsed,
        left,
        output,
    }
}
