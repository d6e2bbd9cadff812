//! `--explore` progress on a terminal: schedules done, failures so far and schedules per
//! second, redrawn in place on stderr at most ten times a second. Nothing at all is drawn
//! when stderr is not a terminal, so piped output stays byte-for-byte deterministic.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Shortest time between two redraws.
const REDRAW: Duration = Duration::from_millis(100);

/// A progress line for `total` schedules.
#[derive(Debug)]
pub struct Progress {
    on: bool,
    total: u64,
    done: u64,
    failed: u64,
    started: Instant,
    drawn: Option<Instant>,
}

impl Progress {
    /// A progress line, live only when stderr is a terminal.
    pub fn new(total: u64) -> Progress {
        Progress {
            on: std::io::stderr().is_terminal(),
            total,
            done: 0,
            failed: 0,
            started: Instant::now(),
            drawn: None,
        }
    }

    /// One schedule finished (`failed` when it failed).
    pub fn tick(&mut self, failed: bool) {
        self.done += 1;
        self.failed += u64::from(failed);
        if !self.on || self.drawn.is_some_and(|d| d.elapsed() < REDRAW) {
            return;
        }
        self.drawn = Some(Instant::now());
        let rate = self.done as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
        let mut e = std::io::stderr();
        let _ = write!(
            e,
            "\r\x1b[2Kexplore: {}/{} schedules, {} failed, {rate:.0} schedules/s",
            self.done, self.total, self.failed
        );
        let _ = e.flush();
    }

    /// Clears the line.
    pub fn finish(&mut self) {
        if self.on && self.drawn.is_some() {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
}
