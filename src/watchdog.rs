//! Preemption without a permanent count hook: a watchdog thread looks at every registered
//! runtime each tick, and when one slice has been running for a tick it asks for a
//! preemption and interrupts the runtime's thread with a signal whose handler arms a
//! one-shot count hook on the running process coroutine (NOTES.md, "Preemption"). It also
//! counts its ticks ([`ticks`]), by which the preemption hook ends code that has run for
//! [`OVERDUE_TICKS`] where it cannot yield.
//!
//! The runtime thread pays two atomic stores per slice; Lua code between preemptions runs
//! at full VM speed. Only real-clock runs use it: a simulation preempts by instruction
//! count so that a seed replays the same.

use crate::ffi;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

/// How often the watchdog looks: a slice is preempted after one to two ticks.
pub const TICK: Duration = Duration::from_millis(2);
/// Ticks a slice may run past its time (which the watchdog marks after one to two ticks)
/// before the process is ended: 36 ms at least, since each tick sleeps [`TICK`], so such a
/// slice ends after 40 to 45 ms on an idle machine (no slice may hold the thread over
/// 50 ms). Counting ticks rather than reading a clock the watchdog updates means a watchdog
/// delayed by a loaded machine can only end such code later, never sooner.
pub const OVERDUE_TICKS: u64 = 18;

/// Ticks since the watchdog started.
static TICKS: AtomicU64 = AtomicU64::new(0);

/// The watchdog's tick count (it stands still while nothing is watched).
#[inline]
pub fn ticks() -> u64 {
    TICKS.load(Ordering::Relaxed)
}

/// What one runtime shares with the watchdog.
#[derive(Debug, Default)]
pub struct Slot {
    /// Odd while a slice runs; bumped at each start and end (only the runtime writes it).
    seq: AtomicU64,
    /// The OS thread running the slices (see [`ffi::this_thread`]).
    thread: AtomicU64,
    /// Set by the watchdog: the running slice has had its time and should yield.
    preempt: AtomicBool,
}

impl Slot {
    /// Marks the start of a slice on the calling thread.
    #[inline]
    pub fn begin(&self) {
        self.preempt.store(false, Ordering::Relaxed);
        let s = self.seq.load(Ordering::Relaxed) | 1;
        self.seq.store(s.wrapping_add(2), Ordering::Release);
    }

    /// Marks the end of the running slice.
    #[inline]
    pub fn end(&self) {
        let s = self.seq.load(Ordering::Relaxed);
        self.seq.store((s | 1).wrapping_add(1), Ordering::Release);
    }

    /// Whether the running slice has had its time.
    #[inline]
    pub fn preempt_due(&self) -> bool {
        self.preempt.load(Ordering::Relaxed)
    }
}

/// A registered runtime, as the watchdog tracks it.
struct Watched {
    slot: Arc<Slot>,
    /// The slice seen at the last tick.
    seen: u64,
    /// Whether that slice has been interrupted.
    acted: bool,
}

struct Board {
    slots: Mutex<Vec<Watched>>,
    changed: Condvar,
}

fn board() -> &'static Board {
    static BOARD: OnceLock<Board> = OnceLock::new();
    BOARD.get_or_init(|| {
        let b = Board {
            slots: Mutex::new(Vec::new()),
            changed: Condvar::new(),
        };
        if let Err(e) = std::thread::Builder::new()
            .name("moonhost-watchdog".into())
            .spawn(watch)
        {
            log::error!("the preemption watchdog did not start: {e}");
        }
        b
    })
}

/// A runtime's registration: watched while it lives.
#[derive(Debug)]
pub struct Registration {
    slot: Arc<Slot>,
}

impl Registration {
    /// Registers the calling thread's runtime. `None` when the signal handler cannot be
    /// installed (the runtime then preempts by instruction count alone).
    pub fn new() -> Option<Registration> {
        if let Err(e) = ffi::install_watchdog_handler() {
            log::warn!("preemption watchdog unavailable: {e}");
            return None;
        }
        let slot = Arc::new(Slot::default());
        slot.thread.store(ffi::this_thread(), Ordering::Relaxed);
        let b = board();
        let mut slots = b.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.push(Watched {
            slot: slot.clone(),
            seen: 0,
            acted: false,
        });
        b.changed.notify_one();
        Some(Registration { slot })
    }

    /// The shared slot.
    pub fn slot(&self) -> &Arc<Slot> {
        &self.slot
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // Under the lock, so no signal is sent to this thread after it returns.
        let mut slots = board().slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.retain(|w| !Arc::ptr_eq(&w.slot, &self.slot));
    }
}

/// The watchdog thread: sleeps while nothing is registered, else looks every [`TICK`].
fn watch() {
    let b = board();
    let mut slots = b.slots.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if slots.is_empty() {
            slots = b.changed.wait(slots).unwrap_or_else(|e| e.into_inner());
            continue;
        }
        TICKS.fetch_add(1, Ordering::Relaxed);
        for w in slots.iter_mut() {
            look(w);
        }
        drop(slots);
        std::thread::sleep(TICK);
        slots = b.slots.lock().unwrap_or_else(|e| e.into_inner());
    }
}

/// One look at one runtime: a slice still running since the last look is preempted (its
/// thread signalled once).
fn look(w: &mut Watched) {
    let s = w.slot.seq.load(Ordering::Acquire);
    if s != w.seen || s & 1 == 0 {
        w.seen = s;
        w.acted = false;
        return;
    }
    if w.acted {
        return;
    }
    w.slot.preempt.store(true, Ordering::Release);
    w.acted = true;
    ffi::interrupt_thread(w.slot.thread.load(Ordering::Relaxed));
}
