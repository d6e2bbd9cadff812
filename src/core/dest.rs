//! Destinations: a PID string or registered name resolved to a process ([`Core::resolve`]).
//!
//! A PID string is recognised without a parse: [`Pids`] remembers, for the addresses of the
//! PID strings sends were given lately, the slot each one resolved to, and a send whose
//! destination sits at a remembered address is checked against the string the process in
//! that slot was given at its spawn (`Process::pid_text`). Lua's short strings are interned,
//! so every copy of one PID string a script holds is one string at one address: a process
//! that sends to a peer, a server that answers many clients, each finds its destination
//! with one array read and one comparison of ~25 bytes. The address only picks the entry:
//! the comparison decides (a string freed and another made at its address compares
//! unequal, and PID strings are never reused within a run, so equal bytes name the live
//! process itself). Anything else — a first send, a name, an ended PID — is resolved by
//! parsing, with its errors, and a PID string remembered for next time. Registered names
//! are never remembered: a name may move to another process at any time.

use super::Core;
use crate::error::ResolveError;
use crate::ids::{NumMap, PidRef, ProcId};

/// Entries of the address cache (a power of two): 4 KiB.
const RECENT: usize = 256;

/// The live processes by PID number, and the cache of destination addresses (see the
/// module's documentation).
#[derive(Debug)]
pub struct Pids {
    /// PID number -> process, for live processes only.
    by_num: NumMap<ProcId>,
    /// Address of a PID string's bytes -> the slot it resolved to.
    recent: Box<[(usize, ProcId); RECENT]>,
}

impl Default for Pids {
    fn default() -> Self {
        Pids {
            by_num: NumMap::default(),
            recent: Box::new([(0, ProcId::default()); RECENT]),
        }
    }
}

impl Pids {
    /// Notes that live process `proc` has PID number `num`.
    pub fn insert(&mut self, num: u64, proc: ProcId) {
        self.by_num.insert(num, proc);
    }

    /// Forgets PID number `num` (its process ended).
    pub fn remove(&mut self, num: u64) {
        self.by_num.remove(&num);
    }

    /// The live process with PID number `num`.
    pub fn get(&self, num: u64) -> Option<ProcId> {
        self.by_num.get(&num).copied()
    }

    /// The entry for a string whose bytes start at `addr`.
    #[inline(always)]
    fn entry(addr: usize) -> usize {
        // Fibonacci hashing of the address without its alignment bits.
        ((addr as u64 >> 3).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - RECENT.trailing_zeros()))
            as usize
    }
}

impl Core {
    /// Resolves a destination (PID string or registered name).
    ///
    /// # Errors
    /// [`ResolveError::Unknown`] for a malformed PID or unknown name;
    /// [`ResolveError::Ended`] for a PID whose process has ended.
    pub fn resolve(&self, dest: &[u8]) -> Result<ProcId, ResolveError> {
        self.resolve_parsed(dest).map(|(p, _)| p)
    }

    /// [`Core::resolve`], with the PID `dest` parsed as when it is a PID string (not a
    /// name).
    ///
    /// # Errors
    /// As [`Core::resolve`].
    pub fn resolve_parsed(&self, dest: &[u8]) -> Result<(ProcId, Option<PidRef>), ResolveError> {
        if let Some(pid) = self.parse_pid(dest) {
            return self
                .proc_by_pid(pid)
                .map(|p| (p, Some(pid)))
                .ok_or(ResolveError::Ended);
        }
        self.resolve_name(dest).map(|p| (p, None))
    }

    /// Resolves registered name `dest`.
    fn resolve_name(&self, dest: &[u8]) -> Result<ProcId, ResolveError> {
        if let Ok(name) = std::str::from_utf8(dest)
            && let Some(p) = self.names.lookup(name)
        {
            return Ok(p);
        }
        Err(ResolveError::Unknown(
            String::from_utf8_lossy(dest).into_owned(),
        ))
    }

    /// The live process with PID `pid`: its slot, checked to hold that very PID.
    #[inline]
    pub fn proc_by_pid(&self, pid: PidRef) -> Option<ProcId> {
        self.procs
            .get(pid.proc)
            .filter(|pr| pr.pid == pid)
            .map(|_| pid.proc)
    }

    /// The live process with PID number `num` on host `host`.
    pub fn proc_by_num(&self, host: u32, num: u64) -> Option<ProcId> {
        self.pids
            .get(num)
            .filter(|p| self.procs.get(*p).is_some_and(|pr| pr.pid.host == host))
    }

    /// [`Core::resolve`] for a send by `me`: a PID string whose bytes sit where `me`'s
    /// last destination's did, or where one a send resolved lately did, resolves with one
    /// comparison while its process lives; any other destination is resolved as usual
    /// (and a PID string remembered for next time).
    ///
    /// # Errors
    /// As [`Core::resolve`].
    #[inline(always)]
    pub fn resolve_send(
        &mut self,
        me: Option<ProcId>,
        dest: &[u8],
    ) -> Result<ProcId, ResolveError> {
        let addr = dest.as_ptr() as usize;
        // The sender's own last destination first: a ring or a ping-pong process sends to
        // one peer, and a thousand of them would crowd the shared entries out.
        if let Some((at, p)) = me.and_then(|m| self.procs.get(m)).map(|m| m.last_dest)
            && at == addr
            && self.names_itself(p, dest)
        {
            return Ok(p);
        }
        let i = Pids::entry(addr);
        let (at, p) = self.pids.recent[i];
        if at == addr && self.names_itself(p, dest) {
            self.remember(me, i, addr, p);
            return Ok(p);
        }
        let (to, pid) = self.resolve_parsed(dest)?;
        if pid.is_some() {
            self.remember(me, i, addr, to);
        }
        Ok(to)
    }

    /// Whether `dest` is the PID string of live process `p`.
    #[inline(always)]
    fn names_itself(&self, p: ProcId, dest: &[u8]) -> bool {
        self.procs.get(p).is_some_and(|pr| pr.pid_text[..] == *dest)
    }

    /// Remembers that the PID string at `addr` (shared entry `i`) names `to`, as `me`'s
    /// last destination too.
    #[inline(always)]
    fn remember(&mut self, me: Option<ProcId>, i: usize, addr: usize, to: ProcId) {
        self.pids.recent[i] = (addr, to);
        if let Some(m) = me.and_then(|m| self.procs.get_mut(m)) {
            m.last_dest = (addr, to);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::CoreConfig;

    fn core() -> Core {
        Core::new(CoreConfig {
            clock: crate::clock::Clock::real(),
            entries: Default::default(),
            hosts: vec![("app".into(), Default::default())],
            memory_ceiling: usize::MAX,
            tracer: Default::default(),
            seed: 0,
            virtual_work: false,
            sim: Default::default(),
        })
    }

    /// A process (a host mailbox: no coroutine needed) and its PID string.
    fn open(c: &mut Core, name: &str) -> (ProcId, Vec<u8>) {
        let (p, _queue) = c.open_mailbox(name).expect("name free");
        let text = c.pid_string_of(p).into_bytes();
        (p, text)
    }

    #[test]
    fn a_pid_string_resolves_at_any_address_and_again_from_the_cache() {
        let mut c = core();
        let (a, text) = open(&mut c, "a");
        assert_eq!(c.resolve_send(None, &text), Ok(a), "first send: parsed");
        assert_eq!(c.resolve_send(None, &text), Ok(a), "again: remembered");
        let copy = text.clone();
        assert_eq!(
            c.resolve_send(None, &copy),
            Ok(a),
            "another copy of the string"
        );
        assert_eq!(c.resolve_send(None, b"a"), Ok(a), "the registered name");
    }

    #[test]
    fn a_remembered_address_with_other_bytes_resolves_afresh() {
        let mut c = core();
        let (a, text_a) = open(&mut c, "a");
        let (b, text_b) = open(&mut c, "b");
        assert_eq!(text_a.len(), text_b.len());
        let mut buf = text_a.clone();
        assert_eq!(c.resolve_send(None, &buf), Ok(a));
        // Another string at the same address (a string freed, another made in its place).
        buf.copy_from_slice(&text_b);
        assert_eq!(c.resolve_send(None, &buf), Ok(b));
        buf[1] = b'?';
        assert!(matches!(
            c.resolve_send(None, &buf),
            Err(ResolveError::Unknown(_))
        ));
        buf.copy_from_slice(&text_a);
        assert_eq!(c.resolve_send(None, &buf), Ok(a));
    }

    #[test]
    fn an_ended_pid_does_not_reach_the_next_process_in_its_slot() {
        let mut c = core();
        let (a, text_a) = open(&mut c, "a");
        assert_eq!(c.resolve_send(None, &text_a), Ok(a));
        c.close_mailbox(a);
        assert_eq!(c.resolve_send(None, &text_a), Err(ResolveError::Ended));
        // The slot is reused: the old PID string still names the ended process.
        let (b, text_b) = open(&mut c, "b");
        use slotmap::Key;
        let slot = |p: ProcId| p.data().as_ffi() as u32;
        assert_eq!(slot(a), slot(b), "the slot is reused");
        let a_pid = c.parse_pid(&text_a).expect("well formed");
        assert_ne!(text_a, text_b);
        assert_eq!(c.proc_by_pid(a_pid), None);
        assert_eq!(c.resolve_send(None, &text_a), Err(ResolveError::Ended));
        assert_eq!(c.resolve_send(None, &text_b), Ok(b));
    }

    #[test]
    fn live_pids_give_their_own_string_and_ended_ones_a_formatted_one() {
        let mut c = core();
        let (a, text) = open(&mut c, "a");
        let pid = c.pid_of(a).expect("live");
        assert_eq!(c.live_pid_text(pid), Some(&text[..]));
        assert_eq!(c.pid_string(pid).as_bytes(), &text[..]);
        c.close_mailbox(a);
        assert_eq!(c.live_pid_text(pid), None);
        assert_eq!(c.pid_string(pid).as_bytes(), &text[..]);
        assert_eq!(&c.pid_text(pid)[..], &text[..]);
    }

    #[test]
    fn entries_stay_in_range() {
        for addr in [0usize, 8, 16, 0x7fff_ffff_fff8, usize::MAX] {
            assert!(Pids::entry(addr) < RECENT);
        }
    }
}
