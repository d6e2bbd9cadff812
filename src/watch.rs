//! What `moonhost run` does between scheduler turns: `--watch` (SPEC §12.3.1) polls the
//! app's source files and reloads changed code, and SIGUSR1 (SPEC §12.4) writes the process
//! report to stderr. Both run from the runtime's between-turns hook, and from [`wait`]
//! while a watched run has nothing to do but wait for new code.

use crate::entry::ReloadReport;
use crate::error::Result;
use crate::ffi::signal;
use crate::manifest::App;
use crate::runtime::{BetweenTurns, Interrupt, RunOutcome, Runtime};
use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime};

/// Least wall time between two looks at the source files.
pub const WATCH_EVERY: Duration = Duration::from_millis(500);

/// How long a watched run with nothing to do sleeps between looks.
const IDLE_SLEEP: Duration = Duration::from_millis(100);

/// A file's modification time and size.
type Stamp = Option<(SystemTime, u64)>;

/// The app's source files and how they looked at the last look.
#[derive(Debug)]
pub struct Watch {
    files: Vec<(PathBuf, Stamp)>,
    next: Instant,
}

impl Watch {
    /// Watches every source file of `app` (entries and libraries).
    pub fn of(app: &App) -> Watch {
        let mut paths: Vec<PathBuf> = app
            .entries
            .iter()
            .filter_map(|e| e.source.as_ref().map(|s| s.path.clone()))
            .collect();
        paths.sort();
        paths.dedup();
        Watch {
            files: paths
                .into_iter()
                .map(|p| (stamp(&p), p))
                .map(|(s, p)| (p, s))
                .collect(),
            next: Instant::now() + WATCH_EVERY,
        }
    }

    /// At most every [`WATCH_EVERY`]: when a file's stamp changed, reloads and prints what
    /// was reloaded. Returns whether any entry's code was replaced.
    pub fn poll(&mut self, rt: &mut Runtime) -> bool {
        let now = Instant::now();
        if now < self.next {
            return false;
        }
        self.next = now + WATCH_EVERY;
        let mut changed = false;
        for (path, seen) in &mut self.files {
            let s = stamp(path);
            if s != *seen {
                *seen = s;
                changed = true;
            }
        }
        if !changed {
            return false;
        }
        let r = rt.reload();
        print_reload(&r);
        r.is_ok_and(|r| !r.changed.is_empty())
    }
}

fn stamp(path: &std::path::Path) -> Stamp {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// Writes `moonhost: reloaded <id>` / `moonhost: reload failed: <id>: <message>` lines.
pub fn print_reload(r: &Result<ReloadReport>) {
    match r {
        Ok(r) => {
            for id in &r.changed {
                eprintln!("moonhost: reloaded {id}");
            }
            for (id, msg) in &r.failed {
                eprintln!("moonhost: reload failed: {id}: {msg}");
            }
        }
        Err(e) => eprintln!("moonhost: reload failed: {e}"),
    }
}

/// The hook `run` calls at every turn boundary: the SIGUSR1 report, then the watch.
pub fn hook(watch: Option<Rc<RefCell<Watch>>>) -> BetweenTurns {
    if let Err(e) = signal::install_usr1_handler() {
        log::warn!("SIGUSR1 report unavailable: {e}");
    }
    Box::new(move |rt: &mut Runtime| {
        report_on_signal(rt);
        if let Some(w) = &watch {
            w.borrow_mut().poll(rt);
        }
    })
}

fn report_on_signal(rt: &Runtime) {
    if signal::take_usr1() {
        eprint!("{}", rt.report());
    }
}

/// Runs a watched root: while nothing can run (the root waits for something only new
/// code would send), looks at the files until a reload replaces code, then runs again.
/// Ctrl-C ends it.
pub fn wait(
    rt: &mut Runtime,
    watch: &Rc<RefCell<Watch>>,
    stop: &Interrupt,
    mut outcome: Result<RunOutcome>,
) -> Result<RunOutcome> {
    while matches!(outcome, Ok(RunOutcome::Deadlock | RunOutcome::Idle)) {
        std::thread::sleep(IDLE_SLEEP);
        if stop.is_pending() {
            return Ok(RunOutcome::Interrupted);
        }
        report_on_signal(rt);
        if watch.borrow_mut().poll(rt) {
            outcome = rt.run(None);
        }
    }
    outcome
}
