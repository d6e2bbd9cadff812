//! Identities: the arena keys records refer to each other by, and the PID a script sees.
//!
//! A stale key means "gone" (for `send`, SPEC's `process not found`), never a panic. A PID
//! is `{host|number}`: the host's entry id and a number never reused within a run.

use slotmap::new_key_type;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

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

/// The user-visible identity of a process: host index and a number never reused in a run,
/// with the arena slot the process lives in, so that finding a process from its PID
/// (a message's sender, an event's origin) is one slot lookup, not a hash lookup.
///
/// Two PIDs are equal when host and number are: the slot is where the process was found
/// (`ProcId::default()`, which names no slot, for a PID parsed from a string of an ended
/// process), not part of its identity.
#[derive(Debug, Clone, Copy)]
pub struct PidRef {
    /// Sequence number, unique within the run.
    pub num: u64,
    /// The arena slot of the process (stale once it has ended).
    pub proc: ProcId,
    /// Index of the host in the core's host table.
    pub host: u32,
}

impl PartialEq for PidRef {
    fn eq(&self, other: &PidRef) -> bool {
        self.num == other.num && self.host == other.host
    }
}

impl Eq for PidRef {}

impl std::hash::Hash for PidRef {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.num.hash(state);
        self.host.hash(state);
    }
}

/// A PID string, made once per process (`Process::pid_text`): inline up to 32 bytes
/// (`{app:processes|123456789}` is 25), on the heap past that.
pub type PidText = smallvec::SmallVec<[u8; 32]>;

/// The PID string of `{host|num}` as a [`PidText`].
pub fn pid_text(host: &str, num: u64) -> PidText {
    let mut buf = [0u8; 32];
    match write_pid(host, num, &mut buf) {
        Some(n) => PidText::from_slice(&buf[..n]),
        None => PidText::from_vec(format_pid(host, num).into_bytes()),
    }
}

/// Hashes the PID numbers the core maps to processes: they are assigned in sequence, so
/// one multiplication (Fibonacci hashing) spreads them over the table; SipHash's defence
/// against chosen keys buys nothing for numbers the runtime picks itself.
#[derive(Debug, Default, Clone, Copy)]
pub struct NumHasher(u64);

impl Hasher for NumHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    /// Addresses: the low 4 bits (allocation alignment, always zero) are shifted out so the
    /// product's low bits, which pick the bucket, differ between neighbouring blocks.
    fn write_usize(&mut self, n: usize) {
        self.write_u64((n as u64) >> 4);
    }
}

/// A set of addresses the runtime itself allocated (coroutines of tasks), hashed as
/// [`NumMap`]'s keys are.
pub type AddrSet = HashSet<usize, BuildHasherDefault<NumHasher>>;

/// A map keyed by PID number.
pub type NumMap<V> = HashMap<u64, V, BuildHasherDefault<NumHasher>>;

/// A set of slotmap keys (they hash as one `u64`: [`NumHasher`]'s one multiplication), for
/// sets that are never iterated in hash order where it shows.
pub type KeySet<K> = HashSet<K, BuildHasherDefault<NumHasher>>;

/// Formats a PID as `{host|num}`.
pub fn format_pid(host: &str, num: u64) -> String {
    // By hand, not `format!`: PIDs are formatted per spawn and per EXIT event, and the
    // formatting machinery cost ~1,300 instructions where this costs ~100.
    let (digits, i) = decimal(num);
    let digits = &digits[i..];
    let mut s = String::with_capacity(host.len() + digits.len() + 3);
    s.push('{');
    s.push_str(host);
    s.push('|');
    for &d in digits {
        s.push(char::from(d));
    }
    s.push('}');
    s
}

/// The decimal digits of `num`: they are `digits[i..]` of the returned `(digits, i)`.
fn decimal(num: u64) -> ([u8; 20], usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = num;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    (digits, i)
}

/// Writes `{host|num}` (what [`format_pid`] makes) at the start of `out` and returns its
/// length; `None` when it does not fit.
pub fn write_pid(host: &str, num: u64, out: &mut [u8]) -> Option<usize> {
    let (digits, i) = decimal(num);
    let digits = &digits[i..];
    let len = host.len() + digits.len() + 3;
    let out = out.get_mut(..len)?;
    let (open, rest) = out.split_at_mut(1);
    let (name, rest) = rest.split_at_mut(host.len());
    let (bar, rest) = rest.split_at_mut(1);
    let (num, close) = rest.split_at_mut(digits.len());
    open[0] = b'{';
    name.copy_from_slice(host.as_bytes());
    bar[0] = b'|';
    num.copy_from_slice(digits);
    close[0] = b'}';
    Some(len)
}

/// Splits `{host|num}` into the host name and the number; `None` when malformed.
pub fn parse_pid(s: &[u8]) -> Option<(&[u8], u64)> {
    let inner = s.strip_prefix(b"{")?.strip_suffix(b"}")?;
    let bar = inner.iter().rposition(|&b| b == b'|')?;
    let (host, digits) = (&inner[..bar], &inner[bar + 1..]);
    // Digits read in place (no UTF-8 check and `str::parse` per send); at most 20 of them
    // and no overflow, as `u64::from_str` would accept.
    if digits.is_empty() || digits.len() > 20 {
        return None;
    }
    let mut num: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        num = num.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some((host, num))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_pid_writes_what_format_pid_makes() {
        let mut buf = [0u8; 32];
        for (host, n) in [("app:processes", 42), ("h", 0), ("h", u64::MAX), ("", 7)] {
            let len = write_pid(host, n, &mut buf).expect("fits");
            assert_eq!(&buf[..len], format_pid(host, n).as_bytes());
        }
        assert_eq!(write_pid("a-long-host-name", u64::MAX, &mut buf), None);
        assert_eq!(write_pid("abc", 12, &mut [0u8; 8]), Some(8));
        assert_eq!(write_pid("abc", 123, &mut [0u8; 8]), None);
    }

    #[test]
    fn pid_strings_round_trip() {
        let s = format_pid("app:processes", 42);
        assert_eq!(s, "{app:processes|42}");
        for n in [0, 7, 10, 99, 100, 1_000_001, u64::MAX] {
            let s = format_pid("h", n);
            assert_eq!(s, format!("{{h|{n}}}"));
            assert_eq!(parse_pid(s.as_bytes()), Some((&b"h"[..], n)));
        }
        assert_eq!(parse_pid(s.as_bytes()), Some((&b"app:processes"[..], 42)));
    }

    #[test]
    fn neighbouring_addresses_fall_in_distinct_buckets() {
        use std::hash::BuildHasher;
        let build = BuildHasherDefault::<NumHasher>::default();
        // Blocks 16 bytes apart, as the allocator hands out coroutines: the low 10 bits of
        // their hashes (the bucket of a 1024-slot table) must all differ.
        let base = 0x7f00_1234_5670usize;
        let buckets: std::collections::HashSet<u64> = (0..1024)
            .map(|i| build.hash_one(base + 16 * i) & 1023)
            .collect();
        assert_eq!(buckets.len(), 1024);
        let mut set = AddrSet::default();
        assert!(set.insert(base) && set.insert(base + 8) && !set.insert(base));
        assert!(set.remove(&(base + 8)) && set.contains(&base) && !set.contains(&(base + 8)));
    }

    #[test]
    fn pid_numbers_in_sequence_spread_over_the_map() {
        let mut m: NumMap<u64> = NumMap::default();
        for n in 0..10_000u64 {
            m.insert(n, n * 2);
        }
        assert!((0..10_000u64).all(|n| m.get(&n) == Some(&(n * 2))));
        assert_eq!(m.get(&10_000), None);
        // Sequential keys must not share hashes (a bad hash would make the map a list).
        let hashes: std::collections::HashSet<u64> = (0..10_000u64)
            .map(|n| {
                let mut h = NumHasher::default();
                h.write_u64(n);
                h.finish() >> 57
            })
            .collect();
        assert_eq!(
            hashes.len(),
            128,
            "the top 7 bits (hashbrown's tag) take every value"
        );
    }

    #[test]
    fn malformed_pids_are_refused() {
        for bad in [
            "",
            "{}",
            "{a}",
            "{a|}",
            "{a|x}",
            "a|1",
            "{a|1",
            "{a|-1}",
            "{a|+1}",
            "{a|1 }",
            "{a|18446744073709551616}",
            "{a|000000000000000000001}",
        ] {
            assert_eq!(parse_pid(bad.as_bytes()), None, "{bad}");
        }
        assert_eq!(parse_pid(b"{a|b|3}"), Some((&b"a|b"[..], 3)));
        assert_eq!(
            parse_pid(b"{a|18446744073709551615}"),
            Some((&b"a"[..], u64::MAX))
        );
        assert_eq!(parse_pid(b"{a|007}"), Some((&b"a"[..], 7)));
    }
}

/// A process identity as the embedding host sees it: the string Lua sees
/// (`{app:processes|7}`), parsed into its host and number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pid {
    host: String,
    num: u64,
}

impl Pid {
    /// A PID on host `host` with number `num`.
    pub fn new(host: &str, num: u64) -> Pid {
        Pid {
            host: host.to_string(),
            num,
        }
    }

    /// The host's entry id (`app:processes`), or `host` for a host mailbox.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The number, unique within a run.
    pub fn number(&self) -> u64 {
        self.num
    }
}

impl std::fmt::Display for Pid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&format_pid(&self.host, self.num))
    }
}

/// Why a string is not a PID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PidParseError(pub String);

impl std::fmt::Display for PidParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not a PID: '{}' (expected {{host|number}})", self.0)
    }
}

impl std::error::Error for PidParseError {}

impl std::str::FromStr for Pid {
    type Err = PidParseError;

    fn from_str(s: &str) -> Result<Pid, PidParseError> {
        match parse_pid(s.as_bytes()) {
            Some((host, num)) if !host.is_empty() => Ok(Pid {
                host: String::from_utf8_lossy(host).into_owned(),
                num,
            }),
            _ => Err(PidParseError(s.to_string())),
        }
    }
}

#[cfg(test)]
mod pid_tests {
    use super::*;

    #[test]
    fn pid_round_trips_through_display_and_from_str() {
        let p = Pid::new("app:processes", 7);
        assert_eq!(p.to_string(), "{app:processes|7}");
        assert_eq!("{app:processes|7}".parse::<Pid>(), Ok(p));
        assert!("app:processes|7".parse::<Pid>().is_err());
        assert!("{|7}".parse::<Pid>().is_err());
        let e = "nope".parse::<Pid>().unwrap_err();
        assert_eq!(e.to_string(), "not a PID: 'nope' (expected {host|number})");
    }
}
