//! `Limits`: what one host lets its processes use, and the sizes written in manifests.
//!
//! Every limit has a sane default; a `process.host` entry may set any of them in its
//! manifest, and the embedding program may set defaults for all hosts or replace one host's
//! limits through the builder. Read by the core (spawn, send, mailbox) and the scheduler
//! (memory and instructions per slice).

/// Default Lua heap a process may hold: 128 MiB.
pub const DEFAULT_MEMORY_BYTES: usize = 128 << 20;
/// Default deepest table nesting in a payload.
pub const DEFAULT_PAYLOAD_DEPTH: usize = 64;
/// Deepest nesting any host may allow: copying recurses once per level, and deeper would
/// risk the host's stack.
pub const MAX_PAYLOAD_DEPTH: usize = 1_000;
/// Default most hash entries one table may hold: a rehash of that many string keys (the
/// slowest kind, ~100 ns each with the vendored rehash's prefetching) takes ~25 ms on the
/// reference machine; a weak table may hold a quarter of it, which keeps collector steps
/// short (LUA_API.md "Collections").
pub const DEFAULT_TABLE_ENTRIES: usize = 1 << 18;
/// The smallest table bound a host may set (smaller tables never ask for the bound).
pub const MIN_TABLE_ENTRIES: usize = 1 << 10;
/// Standard modules a host may give back to its processes.
pub const ALLOWABLE_MODULES: &[&str] = &["io", "os"];

/// Limits of one host.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Most live processes on the host (`None`: unbounded).
    pub max_processes: Option<u64>,
    /// Lua heap one process may grow by; over it, the process fails with a memory error.
    pub memory_bytes: usize,
    /// Instructions one process may run in its whole life (`None`: unbounded).
    pub max_instructions: Option<u64>,
    /// Messages that may wait in one process's mailbox; a send to a full mailbox returns
    /// `nil, "mailbox full"` (`None`: unbounded).
    pub mailbox_len: Option<usize>,
    /// Largest payload (bytes of strings plus 16 per value) a process may send.
    pub payload_bytes: Option<usize>,
    /// Deepest table nesting a process may send.
    pub payload_depth: usize,
    /// Standard modules (`io`, `os`) given back to the host's processes in full.
    pub allow: Vec<String>,
    /// Most hash entries one table may hold (a weak table: a quarter; its array part: 16 times
    /// as many slots);
    /// growing past it raises `table overflow (...)`. Rounded down to a power of two, at
    /// least 1024 (see [`Limits::table_bound`]).
    pub table_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_processes: None,
            memory_bytes: DEFAULT_MEMORY_BYTES,
            max_instructions: None,
            mailbox_len: None,
            payload_bytes: None,
            payload_depth: DEFAULT_PAYLOAD_DEPTH,
            allow: Vec::new(),
            table_entries: DEFAULT_TABLE_ENTRIES,
        }
    }
}

impl Limits {
    /// The table bound in force: [`Limits::table_entries`] rounded down to a power of two,
    /// at least 1024.
    #[inline]
    pub fn table_bound(&self) -> usize {
        let n = self.table_entries.max(MIN_TABLE_ENTRIES);
        1 << (usize::BITS - 1 - n.leading_zeros())
    }
}

/// The limits a manifest sets on one host; unset fields keep the runtime's defaults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LimitOverrides {
    /// `max_processes`.
    pub max_processes: Option<u64>,
    /// `max_memory` (bytes, or a size such as `64MiB`).
    pub memory_bytes: Option<usize>,
    /// `max_instructions`.
    pub max_instructions: Option<u64>,
    /// `mailbox_limit`.
    pub mailbox_len: Option<usize>,
    /// `max_payload_bytes`.
    pub payload_bytes: Option<usize>,
    /// `max_payload_depth`.
    pub payload_depth: Option<usize>,
    /// `allow`.
    pub allow: Option<Vec<String>>,
    /// `max_table_entries`.
    pub table_entries: Option<usize>,
}

impl LimitOverrides {
    /// `base` with these overrides applied.
    pub fn apply(&self, base: &Limits) -> Limits {
        Limits {
            max_processes: self.max_processes.or(base.max_processes),
            memory_bytes: self.memory_bytes.unwrap_or(base.memory_bytes),
            max_instructions: self.max_instructions.or(base.max_instructions),
            mailbox_len: self.mailbox_len.or(base.mailbox_len),
            payload_bytes: self.payload_bytes.or(base.payload_bytes),
            payload_depth: self
                .payload_depth
                .unwrap_or(base.payload_depth)
                .min(MAX_PAYLOAD_DEPTH),
            allow: self.allow.clone().unwrap_or_else(|| base.allow.clone()),
            table_entries: self.table_entries.unwrap_or(base.table_entries),
        }
    }
}

/// Parses a size: a plain number of bytes, or a number with `B`, `KB`, `MB`, `GB` (powers
/// of 1000) or `KiB`, `MiB`, `GiB` (powers of 1024).
///
/// # Errors
/// A message naming the text.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let scale: f64 = match unit.trim() {
        "" | "B" => 1.0,
        "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        other => return Err(format!("unknown size unit {other:?} in {s:?}")),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("invalid size {s:?} (use bytes or e.g. 64MiB)"))?;
    let bytes = n * scale;
    if !bytes.is_finite() || bytes < 0.0 || bytes > usize::MAX as f64 {
        return Err(format!("size out of range: {s:?}"));
    }
    Ok(bytes as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("2 KB"), Ok(2000));
        assert_eq!(parse_size("1.5KiB"), Ok(1536));
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("MiB").is_err());
    }

    #[test]
    fn overrides_replace_only_what_they_set() {
        let base = Limits {
            mailbox_len: Some(10),
            ..Limits::default()
        };
        let o = LimitOverrides {
            memory_bytes: Some(1 << 20),
            ..LimitOverrides::default()
        };
        let l = o.apply(&base);
        assert_eq!(l.memory_bytes, 1 << 20);
        assert_eq!(l.mailbox_len, Some(10));
        assert_eq!(l.payload_depth, DEFAULT_PAYLOAD_DEPTH);
        assert_eq!(l.table_entries, DEFAULT_TABLE_ENTRIES);
    }

    #[test]
    fn the_table_bound_is_a_power_of_two_at_least_the_minimum() {
        let bound = |n| {
            Limits {
                table_entries: n,
                ..Limits::default()
            }
            .table_bound()
        };
        assert_eq!(bound(1 << 17), 1 << 17);
        assert_eq!(bound(300_000), 1 << 18);
        assert_eq!(bound(0), MIN_TABLE_ENTRIES);
        assert_eq!(bound(usize::MAX), 1 << (usize::BITS - 1));
    }
}
