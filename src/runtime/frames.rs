//! Running in frames (SPEC §13.4): `run_for` a wall-clock budget, a manual clock the host
//! advances, and the time until the next timer.

use super::{RootExit, Runtime, TURN_BUDGET_RESUMES};
use crate::error::{Error, Result};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How a [`Runtime::run_for`] call ended.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Step {
    /// Nothing is runnable; `next_timer` is the time until the earliest armed timer (on
    /// the runtime's clock, manual or real).
    Idle {
        /// Time until the earliest armed timer, if any.
        next_timer: Option<Duration>,
    },
    /// The budget ran out with work left.
    Busy,
    /// The process started by `spawn_root` ended during this call.
    RootExited(RootExit),
    /// [`Interrupt::interrupt`](crate::Interrupt::interrupt) was called.
    Interrupted,
}

impl Runtime {
    /// Runs processes until `budget` (wall-clock time of this call) is spent or nothing is
    /// runnable. Never sleeps: with the real clock, timers that are due fire; with the
    /// manual clock none become due during the call. A process that never yields is
    /// preempted, so the call returns within the budget plus about a slice; the others get
    /// their turns on later calls.
    ///
    /// # Errors
    /// Only internal failures of the Lua state.
    pub fn run_for(&mut self, budget: Duration) -> Result<Step> {
        let deadline = Instant::now() + budget;
        loop {
            if let Some(exit) = self.frame_turn(deadline)? {
                return Ok(exit);
            }
            if self.interrupt.flag.swap(false, Ordering::SeqCst) {
                return Ok(Step::Interrupted);
            }
            let (runnable, due) = {
                let mut core = self.core();
                (core.has_runnable(), core.timer_due())
            };
            if !runnable && !due {
                return Ok(Step::Idle {
                    next_timer: self.next_deadline(),
                });
            }
            if Instant::now() >= deadline {
                return Ok(Step::Busy);
            }
        }
    }

    /// One turn of `run_for`: timers fired, then resumes until the turn's budget, the
    /// frame's deadline, a due timer or an empty run queue. `Some` ends the frame.
    fn frame_turn(&mut self, deadline: Instant) -> Result<Option<Step>> {
        if let Some(exit) = self.start_turn() {
            return Ok(Some(self.root_exited(exit)));
        }
        for _ in 0..TURN_BUDGET_RESUMES {
            let go_on = self.step()?;
            if self.crash_pending {
                self.report_crashes();
            }
            if !go_on {
                let exited = self.core().root_exit().cloned();
                if let Some(exit) = exited {
                    return Ok(Some(self.root_exited(exit)));
                }
                break;
            }
            if Instant::now() >= deadline {
                return Ok(Some(Step::Busy));
            }
        }
        Ok(None)
    }

    fn root_exited(&mut self, exit: RootExit) -> Step {
        self.core().clear_root();
        Step::RootExited(exit)
    }

    /// Moves the manual clock forward by `by`: timers due at or before the new time become
    /// ready in deadline order (then arming order) and run on the next `run_for`.
    ///
    /// # Errors
    /// [`Error::Clock`] when the runtime was not built with a manual clock.
    pub fn advance_clock(&mut self, by: Duration) -> Result<()> {
        if !self.manual_clock {
            return Err(Error::Clock(
                "advance_clock: the clock is not manual (build the runtime with .manual_clock())"
                    .into(),
            ));
        }
        let mut core = self.core();
        let now = core.clock().now();
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        core.advance_clock_to(now.saturating_add(by));
        core.fire_due();
        Ok(())
    }

    /// Time until the earliest armed timer, on the runtime's clock (so a host's own event
    /// loop can sleep exactly that long); `None` when no timer is armed.
    pub fn next_deadline(&self) -> Option<Duration> {
        let mut core = self.core();
        let now = core.clock().now();
        core.next_deadline()
            .map(|d| Duration::from_nanos(d.saturating_sub(now)))
    }
}
