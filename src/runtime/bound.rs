//! How long [`Runtime::run`](super::Runtime::run) may go on: a wall-clock limit, or in a
//! simulation a limit of virtual time (SPEC §14.8: the per-test `--timeout` counts virtual
//! time, so an endless loop reaches it at the same step in every run) with a wall-clock
//! guard of [`WALL_GUARD_FACTOR`] times the limit behind it.
//!
//! Used by the run loop (after each step, and when it idles) and by the scheduler's idle
//! wait, which never jumps a virtual clock past the limit.

use super::RunOutcome;
use crate::core::Core;
use std::time::{Duration, Instant};

/// A simulated run still ends after this many times its virtual limit of wall time.
pub const WALL_GUARD_FACTOR: u32 = 10;

/// The limits of one run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bound {
    /// When wall time is up (the limit itself, or the guard of a virtual limit).
    wall_until: Option<Instant>,
    /// When virtual time is up (runtime nanoseconds), for a virtual limit.
    virtual_until: Option<u64>,
}

impl Bound {
    /// A wall-clock limit from now (none: unbounded).
    pub fn wall(limit: Option<Duration>) -> Bound {
        Bound {
            wall_until: limit.map(|l| Instant::now() + l),
            virtual_until: None,
        }
    }

    /// `limit` of virtual time from the clock's reading `now`, guarded by
    /// [`WALL_GUARD_FACTOR`] × `limit` of wall time.
    pub fn virtual_from(now: u64, limit: Duration) -> Bound {
        let ns = u64::try_from(limit.as_nanos()).unwrap_or(u64::MAX);
        Bound {
            wall_until: Some(Instant::now() + limit.saturating_mul(WALL_GUARD_FACTOR)),
            virtual_until: Some(now.saturating_add(ns)),
        }
    }

    /// Whether no limit is set (the run loop then skips every check).
    pub fn is_unbounded(&self) -> bool {
        self.wall_until.is_none() && self.virtual_until.is_none()
    }

    /// How the run ends when a limit has passed: `TimedOut`, or `WallGuard` when a virtual
    /// limit's wall-clock guard passed first.
    pub fn passed(&self, core: &Core) -> Option<RunOutcome> {
        if let Some(v) = self.virtual_until
            && core.clock().now() >= v
        {
            return Some(RunOutcome::TimedOut);
        }
        match self.wall_until {
            Some(w) if Instant::now() >= w => Some(if self.virtual_until.is_some() {
                RunOutcome::WallGuard
            } else {
                RunOutcome::TimedOut
            }),
            _ => None,
        }
    }

    /// The wall-clock instant an idle wait must end by.
    pub fn wall_until(&self) -> Option<Instant> {
        self.wall_until
    }

    /// Where a virtual clock may jump when idle: `deadline`, or the limit if sooner.
    pub fn cap(&self, deadline: u64) -> u64 {
        self.virtual_until.map_or(deadline, |v| deadline.min(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_virtual_bound_caps_clock_jumps_at_its_limit() {
        let b = Bound::virtual_from(500, Duration::from_nanos(1_000));
        assert_eq!(b.cap(10_000), 1_500);
        assert_eq!(b.cap(700), 700);
        assert!(!b.is_unbounded());
        assert!(Bound::wall(None).is_unbounded());
        assert_eq!(Bound::wall(None).cap(9), 9);
    }
}
