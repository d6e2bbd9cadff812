//! Quotas on what a process keeps outside the Lua heap (issue 11): armed timers, channels,
//! topic subscriptions, registered names, queued CANCEL events, and the messages waiting in
//! every mailbox of the runtime. Each one is a record the Lua heap limit does not see; a
//! process that reaches its quota gets `nil, err` from the call that would pass it, and
//! waiting messages may use at most half the runtime's memory ceiling, which the Lua heap's
//! own ceiling gives up while they wait.

use super::{Core, Fire};
use crate::ids::ProcId;

/// Armed timers (sleeps, `time.after`, timers, tickers) per process: one per this many
/// bytes of its host's memory limit (131,072 for the default 128 MiB).
pub const BYTES_PER_TIMER: usize = 1_024;
/// Armed tickers per process: each fires again and again, so fewer.
pub const MAX_TICKERS_PER_PROCESS: usize = 1_000;
/// Live channels (user channels, timer channels, subscriptions) per process: one per this
/// many bytes of its host's memory limit (262,144 for the default 128 MiB).
pub const BYTES_PER_CHANNEL: usize = 512;
/// Topic subscriptions per process.
pub const MAX_LISTENERS_PER_PROCESS: usize = 1_000;
/// Registered names per process.
pub const MAX_NAMES_PER_PROCESS: usize = 1_000;
/// Bytes of one subscribed topic: each subscription keeps its topic outside the Lua heap.
pub const MAX_TOPIC_BYTES: usize = 1_024;
/// Bytes of one registered name.
pub const MAX_NAME_BYTES: usize = 1_024;
/// Bytes of one CANCEL reason.
pub const MAX_REASON_BYTES: usize = 16 << 10;
/// Events waiting in one process's events channel beyond which a CANCEL is refused.
pub const MAX_PENDING_EVENTS: usize = 256;
/// Values a process may keep waiting in its channels' buffers: one per this many bytes of
/// its host's memory limit (262,144 for the default 128 MiB). Each is a buffer slot and one
/// of mlua's reference slots outside the Lua heap, whatever the value.
pub const BYTES_PER_BUFFERED_VALUE: usize = 512;
/// Values waiting in channel buffers runtime-wide: each holds one of the ~1 million
/// reference slots mlua has for the whole Lua state (NOTES.md), which every process needs.
pub const MAX_BUFFERED_VALUES: usize = 262_144;
/// Bytes one channel record takes outside the Lua heap (record, buffer, slotmap slot),
/// counted against the runtime's ceiling; measured ~225 on a flood of `channel.new(1)`.
pub const CHANNEL_RECORD_BYTES: usize = 256;
/// Bytes one armed timer takes outside the Lua heap besides its channel (task, heap entry,
/// slotmap slot).
pub const TIMER_RECORD_BYTES: usize = 128;
/// Sixteenths of the runtime's memory ceiling channel and timer records may take, all
/// processes together.
pub const RECORD_SIXTEENTHS_OF_CEILING: usize = 2;
/// Sixteenths of the runtime's memory ceiling the Lua heap may use. Lua counts the bytes
/// it asks for, the allocator hands out more: glibc rounds every chunk up to 16 bytes plus
/// an 8-byte header, so a heap of one-slot tables (72 bytes counted, 96 allocated) takes
/// 1.33x what Lua counts. The rest of the ceiling covers that, so the process's RSS stays
/// under the ceiling (`tests/flood_rss.rs`).
pub const HEAP_SIXTEENTHS_OF_CEILING: usize = 12;
/// Timers and channels a process makes between two collections a quota may force.
const MADE_PER_FORCED_COLLECT: usize = MAX_TICKERS_PER_PROCESS / 2;

/// Which quota a refused call reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quota {
    /// One timer per [`BYTES_PER_TIMER`] of the memory limit.
    Timers(usize),
    /// [`MAX_TICKERS_PER_PROCESS`].
    Tickers,
    /// One channel per [`BYTES_PER_CHANNEL`] of the memory limit.
    Channels(usize),
    /// [`MAX_LISTENERS_PER_PROCESS`].
    Listeners,
    /// [`MAX_TOPIC_BYTES`].
    TopicBytes,
    /// [`MAX_NAMES_PER_PROCESS`].
    Names,
    /// [`MAX_PENDING_EVENTS`] of the target.
    Events,
    /// One buffered value per [`BYTES_PER_BUFFERED_VALUE`] of the memory limit.
    Buffered(usize),
    /// [`MAX_BUFFERED_VALUES`] runtime-wide.
    BufferedTotal,
    /// [`RECORD_SIXTEENTHS_OF_CEILING`] of the ceiling (this many bytes) runtime-wide.
    Records(usize),
}

impl std::fmt::Display for Quota {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Quota::Timers(max) => {
                write!(f, "too many armed timers in this process (at most {max})")
            }
            Quota::Tickers => write!(
                f,
                "too many armed tickers in this process (at most {MAX_TICKERS_PER_PROCESS})"
            ),
            Quota::Channels(max) => write!(f, "too many channels in this process (at most {max})"),
            Quota::Listeners => write!(
                f,
                "too many topic subscriptions in this process (at most {MAX_LISTENERS_PER_PROCESS})"
            ),
            Quota::TopicBytes => write!(f, "topic too long (at most {MAX_TOPIC_BYTES} bytes)"),
            Quota::Names => write!(
                f,
                "too many registered names for this process (at most {MAX_NAMES_PER_PROCESS})"
            ),
            Quota::Events => write!(
                f,
                "too many events waiting for the target (at most {MAX_PENDING_EVENTS})"
            ),
            Quota::Buffered(max) => write!(
                f,
                "too many values waiting in this process's channels (at most {max})"
            ),
            Quota::Records(max) => write!(
                f,
                "too many channels and timers runtime-wide (their records may use {} MiB)",
                max >> 20
            ),
            Quota::BufferedTotal => write!(
                f,
                "too many values waiting in channels runtime-wide (at most {MAX_BUFFERED_VALUES})"
            ),
        }
    }
}

impl Core {
    /// `proc`'s host memory limit over `bytes_each` (at least 1,000).
    fn per_memory(&self, proc: ProcId, bytes_each: usize) -> usize {
        let limit = self
            .procs
            .get(proc)
            .map_or(0, |p| self.hosts[p.pid.host as usize].limits.memory_bytes);
        (limit / bytes_each).max(1_000)
    }

    /// Whether a quota reached by `proc` may run a full collection (to free timers and
    /// channels it dropped) before refusing: once per [`MADE_PER_FORCED_COLLECT`] made, so
    /// a loop that keeps hitting the quota cannot turn it into a collection loop.
    pub fn quota_may_collect(&mut self, proc: ProcId) -> bool {
        match self.procs.get_mut(proc) {
            Some(p) if p.made_since_collect >= MADE_PER_FORCED_COLLECT => {
                p.made_since_collect = 0;
                true
            }
            _ => false,
        }
    }

    fn made_one(&mut self, proc: ProcId) {
        if let Some(p) = self.procs.get_mut(proc) {
            p.made_since_collect += 1;
        }
    }

    /// Whether `proc` may arm one more timer and make one more channel for it (frees
    /// collected channels first, whose timers count until then).
    pub fn timer_room(&mut self, proc: ProcId) -> Result<(), Quota> {
        self.channel_room(proc)?;
        let max = self.per_memory(proc, BYTES_PER_TIMER);
        let full = |c: &Core| c.procs.get(proc).is_some_and(|p| p.timers.len() >= max);
        if full(self) {
            self.sweep();
            if full(self) {
                return Err(Quota::Timers(max));
            }
        }
        self.made_one(proc);
        Ok(())
    }

    /// Whether `proc` may arm one more ticker (and timer, and channel). Counting its
    /// tickers walks its timers, only once it has [`MAX_TICKERS_PER_PROCESS`] timers.
    pub fn ticker_room(&mut self, proc: ProcId) -> Result<(), Quota> {
        let tickers = |c: &Core| {
            let Some(p) = c.procs.get(proc) else {
                return 0;
            };
            if p.timers.len() < MAX_TICKERS_PER_PROCESS {
                return 0;
            }
            p.timers
                .iter()
                .filter(|t| {
                    matches!(c.timers.peek(**t), Some((_, task)) if matches!(task.fire, Fire::Tick { .. }))
                })
                .count()
        };
        if tickers(self) >= MAX_TICKERS_PER_PROCESS {
            self.sweep();
            if tickers(self) >= MAX_TICKERS_PER_PROCESS {
                return Err(Quota::Tickers);
            }
        }
        self.timer_room(proc)
    }

    /// Bytes the channel and timer records of every process take (an estimate).
    fn record_bytes(&self) -> usize {
        self.chans.len() * CHANNEL_RECORD_BYTES + self.timers.len() * TIMER_RECORD_BYTES
    }

    /// Whether `proc` may make one more channel.
    pub fn channel_room(&mut self, proc: ProcId) -> Result<(), Quota> {
        let most = self.memory_ceiling / 16 * RECORD_SIXTEENTHS_OF_CEILING;
        if self.record_bytes() + CHANNEL_RECORD_BYTES + TIMER_RECORD_BYTES > most {
            self.sweep();
            if self.record_bytes() + CHANNEL_RECORD_BYTES + TIMER_RECORD_BYTES > most {
                return Err(Quota::Records(most));
            }
        }
        let max = self.per_memory(proc, BYTES_PER_CHANNEL);
        let full = |c: &Core| c.procs.get(proc).is_some_and(|p| p.chans.len() >= max);
        if full(self) {
            self.sweep();
            if full(self) {
                return Err(Quota::Channels(max));
            }
        }
        self.made_one(proc);
        Ok(())
    }

    /// Whether `proc` may subscribe to one more topic, of `topic_bytes`.
    pub fn listener_room(&self, proc: ProcId, topic_bytes: usize) -> Result<(), Quota> {
        if topic_bytes > MAX_TOPIC_BYTES {
            return Err(Quota::TopicBytes);
        }
        match self.procs.get(proc) {
            Some(p) if p.listeners.len() >= MAX_LISTENERS_PER_PROCESS => Err(Quota::Listeners),
            _ => Ok(()),
        }
    }

    /// Whether `proc` may hold one more registered name.
    pub fn name_room(&self, proc: ProcId) -> Result<(), Quota> {
        match self.procs.get(proc) {
            Some(p) if p.names.len() >= MAX_NAMES_PER_PROCESS => Err(Quota::Names),
            _ => Ok(()),
        }
    }

    /// Whether one more refusable event (CANCEL) may wait for `proc`.
    pub fn event_room(&mut self, proc: ProcId) -> Result<(), Quota> {
        let events = self.procs.get(proc).and_then(|p| p.events);
        let waiting = events
            .and_then(|ch| self.chans.get_mut(ch))
            .map_or(0, |c| c.q.buffer_mut().len());
        if waiting >= MAX_PENDING_EVENTS {
            Err(Quota::Events)
        } else {
            Ok(())
        }
    }

    /// Whether one more value may wait in a buffer of `proc`'s channels (frees collected
    /// channels first, whose buffers count until then).
    pub(super) fn buffer_room(&mut self, proc: ProcId) -> Result<(), Quota> {
        let r = self.buffer_room_now(proc);
        if r.is_err() {
            self.sweep();
            return self.buffer_room_now(proc);
        }
        r
    }

    fn buffer_room_now(&self, proc: ProcId) -> Result<(), Quota> {
        if self.buffered_total >= MAX_BUFFERED_VALUES {
            return Err(Quota::BufferedTotal);
        }
        let max = self.per_memory(proc, BYTES_PER_BUFFERED_VALUE);
        match self.procs.get(proc) {
            Some(p) if p.buffered >= max => Err(Quota::Buffered(max)),
            _ => Ok(()),
        }
    }

    /// Counts `n` values entering (`true`) or leaving the buffers of `proc`'s channels.
    pub(super) fn count_buffered(&mut self, proc: ProcId, n: usize, entering: bool) {
        let step = |v: usize| {
            if entering {
                v.saturating_add(n)
            } else {
                v.saturating_sub(n)
            }
        };
        self.buffered_total = step(self.buffered_total);
        if let Some(p) = self.procs.get_mut(proc) {
            p.buffered = step(p.buffered);
        }
    }

    /// Forgets the buffered values of channel `c`, which is being freed.
    pub(super) fn uncount_chan(&mut self, c: &mut super::Chan) {
        let n =
            c.q.buffer_mut()
                .iter()
                .filter(|i| matches!(i, crate::message::Item::Lua(_)))
                .count();
        if n > 0 {
            self.count_buffered(c.owner, n, false);
        }
    }

    /// Whether `bytes` more may wait in mailboxes runtime-wide: at most half the memory
    /// ceiling.
    pub(super) fn mailboxes_have_room(&self, bytes: usize) -> bool {
        self.mailbox_total.saturating_add(bytes) <= self.memory_ceiling / 2
    }

    /// Counts `bytes` entering (`true`) or leaving a mailbox, runtime-wide.
    pub(super) fn count_mailbox_bytes(&mut self, bytes: usize, entering: bool) {
        self.mailbox_total = if entering {
            self.mailbox_total.saturating_add(bytes)
        } else {
            self.mailbox_total.saturating_sub(bytes)
        };
    }

    /// The Lua heap's share of the memory ceiling (see [`HEAP_SIXTEENTHS_OF_CEILING`]).
    pub fn heap_share(&self) -> usize {
        self.memory_ceiling / 16 * HEAP_SIXTEENTHS_OF_CEILING
    }

    /// What the Lua heap may use while messages wait and records live: its share minus
    /// their bytes.
    pub(super) fn heap_ceiling(&self) -> usize {
        self.heap_share()
            .saturating_sub(self.mailbox_total)
            .saturating_sub(self.record_bytes())
    }
}
