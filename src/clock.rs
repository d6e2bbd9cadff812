//! The one clock seam: every time source of the runtime reads this type.
//!
//! Runtime time is a monotonic count of nanoseconds since the runtime started; wall time is
//! that count plus the wall-clock instant at start, so `time.now()` and timer deadlines never
//! disagree. A virtual clock only moves when the scheduler advances it, which is what the
//! simulation mode (SPEC §7) builds on. Called by the scheduler, timers and the `time` module.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Where the clock's readings come from.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// Readings follow the machine's monotonic clock from `start`.
    Real { start: Instant },
    /// Readings are `now`, moved only by [`Clock::advance_to`].
    Virtual { now: u64 },
}

/// The runtime's clock: monotonic nanoseconds plus a fixed wall-clock origin.
#[derive(Debug, Clone)]
pub struct Clock {
    source: Source,
    /// Unix time in nanoseconds at runtime nanosecond 0.
    wall_origin_ns: i64,
}

impl Clock {
    /// A clock that follows real time.
    pub fn real() -> Self {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as i64)
            .unwrap_or(0);
        Clock {
            source: Source::Real {
                start: Instant::now(),
            },
            wall_origin_ns: wall,
        }
    }

    /// A virtual clock that starts at `wall_origin_ns` (unix nanoseconds) and stands still
    /// until advanced.
    pub fn virtual_at(wall_origin_ns: i64) -> Self {
        Clock {
            source: Source::Virtual { now: 0 },
            wall_origin_ns,
        }
    }

    /// Unix nanoseconds at runtime nanosecond 0.
    pub fn wall_origin(&self) -> i64 {
        self.wall_origin_ns
    }

    /// Whether this clock is virtual.
    pub fn is_virtual(&self) -> bool {
        matches!(self.source, Source::Virtual { .. })
    }

    /// Nanoseconds since the runtime started.
    pub fn now(&self) -> u64 {
        match self.source {
            Source::Real { start } => start.elapsed().as_nanos() as u64,
            Source::Virtual { now } => now,
        }
    }

    /// Unix time in nanoseconds.
    pub fn wall_ns(&self) -> i64 {
        self.wall_origin_ns.saturating_add(self.now() as i64)
    }

    /// Moves a virtual clock forward to `t`; a real clock ignores this.
    pub fn advance_to(&mut self, t: u64) {
        if let Source::Virtual { now } = &mut self.source
            && t > *now
        {
            *now = t;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_clock_moves_only_forward() {
        let mut c = Clock::virtual_at(1_000);
        assert_eq!(c.now(), 0);
        c.advance_to(50);
        c.advance_to(10);
        assert_eq!(c.now(), 50);
        assert_eq!(c.wall_ns(), 1_050);
    }

    #[test]
    fn real_clock_is_monotonic() {
        let c = Clock::real();
        let a = c.now();
        let b = c.now();
        assert!(b >= a);
        assert!(!c.is_virtual());
    }
}
