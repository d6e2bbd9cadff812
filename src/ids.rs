//! Identities: the arena keys records refer to each other by, and the PID a script sees.
//!
//! A stale key means "gone" (for `send`, SPEC's `process not found`), never a panic. A PID
//! is `{host|number}`: the host's entry id and a number never reused within a run.

use slotmap::new_key_type;

new_key_type! {
    /// A process in the arena.
    pub struct ProcId;
    /// A task (one schedulable coroutine of a process).
    pub struct TaskId;
    /// A channel.
    pub struct ChanId;
    /// A parked receive, send, select or sleep.
    pub struct WaitId;
    /// An armed timer.
    pub struct TimerId;
}

/// The user-visible identity of a process: host index and a number never reused in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PidRef {
    /// Index of the host in the core's host table.
    pub host: u32,
    /// Sequence number, unique within the run.
    pub num: u64,
}

/// Formats a PID as `{host|num}`.
pub fn format_pid(host: &str, num: u64) -> String {
    format!("{{{host}|{num}}}")
}

/// Splits `{host|num}` into the host name and the number; `None` when malformed.
pub fn parse_pid(s: &[u8]) -> Option<(&[u8], u64)> {
    let inner = s.strip_prefix(b"{")?.strip_suffix(b"}")?;
    let bar = inner.iter().rposition(|&b| b == b'|')?;
    let (host, num) = (&inner[..bar], &inner[bar + 1..]);
    let num: u64 = std::str::from_utf8(num).ok()?.parse().ok()?;
    Some((host, num))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_strings_round_trip() {
        let s = format_pid("app:processes", 42);
        assert_eq!(s, "{app:processes|42}");
        assert_eq!(parse_pid(s.as_bytes()), Some((&b"app:processes"[..], 42)));
    }

    #[test]
    fn malformed_pids_are_refused() {
        for bad in ["", "{}", "{a}", "{a|}", "{a|x}", "a|1", "{a|1", "{a|-1}"] {
            assert_eq!(parse_pid(bad.as_bytes()), None, "{bad}");
        }
        assert_eq!(parse_pid(b"{a|b|3}"), Some((&b"a|b"[..], 3)));
    }
}
