//! Destinations: a PID string or registered name resolved to a process ([`Core::resolve`]),
//! and the destination a process last sent to, remembered so that its next send to the
//! same PID string skips the parse and the number lookup (a ping-pong or ring process sends
//! to one peer over and over).
//!
//! The cache maps the exact bytes of a PID string to the process they resolved to and that
//! process's PID. It never decides on its own: [`Core::resolve_from`] uses an entry only
//! when the process it names is alive with that very PID (PID numbers are never reused in a
//! run, so a slot taken over by another process, or an ended one, fails the check and the
//! destination is resolved afresh, with its errors). Registered names are never cached:
//! a name may move to another process at any time.

use super::Core;
use crate::error::ResolveError;
use crate::ids::{PidRef, ProcId};

/// Longest PID string kept (`{app:processes|123456789}` is 25 bytes); longer ones are
/// resolved every time.
pub const DEST_CACHE_BYTES: usize = 40;

/// One remembered destination (see the module's documentation).
#[derive(Debug, Clone, Copy)]
pub struct DestCache {
    /// Length of the PID string in `bytes` (0: nothing remembered).
    len: u8,
    /// The PID string.
    bytes: [u8; DEST_CACHE_BYTES],
    /// The process it resolved to.
    proc: ProcId,
    /// That process's PID when it did.
    pid: PidRef,
}

impl Default for DestCache {
    fn default() -> Self {
        DestCache {
            len: 0,
            bytes: [0; DEST_CACHE_BYTES],
            proc: ProcId::default(),
            pid: PidRef { host: 0, num: 0 },
        }
    }
}

impl DestCache {
    /// The process and PID `dest` resolved to when it was remembered, if these are its
    /// bytes exactly. The caller checks that the process still lives with that PID.
    #[inline(always)]
    pub fn get(&self, dest: &[u8]) -> Option<(ProcId, PidRef)> {
        let len = usize::from(self.len);
        (len != 0 && dest.len() == len && self.bytes[..len] == *dest)
            .then_some((self.proc, self.pid))
    }

    /// Remembers that PID string `dest` resolved to `proc`, whose PID is `pid` (nothing
    /// when the string is empty or longer than [`DEST_CACHE_BYTES`]).
    pub fn put(&mut self, dest: &[u8], proc: ProcId, pid: PidRef) {
        if dest.is_empty() || dest.len() > DEST_CACHE_BYTES {
            return;
        }
        self.bytes[..dest.len()].copy_from_slice(dest);
        self.len = dest.len() as u8;
        self.proc = proc;
        self.pid = pid;
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

    /// The live process with PID `pid`.
    pub fn proc_by_pid(&self, pid: PidRef) -> Option<ProcId> {
        self.pids
            .get(&pid.num)
            .copied()
            .filter(|p| self.procs.get(*p).is_some_and(|pr| pr.pid == pid))
    }

    /// [`Core::resolve`] for a send by process `me`: a PID string `me` sent to last time
    /// resolves without a parse while its process lives with that PID; any other
    /// destination is resolved as usual (and a PID string remembered for next time).
    ///
    /// # Errors
    /// As [`Core::resolve`].
    #[inline(always)]
    pub fn resolve_from(
        &mut self,
        me: Option<ProcId>,
        dest: &[u8],
    ) -> Result<ProcId, ResolveError> {
        let Some(me) = me else {
            return self.resolve(dest);
        };
        if let Some((p, pid)) = self.procs.get(me).and_then(|m| m.dest.get(dest))
            && self.procs.get(p).is_some_and(|pr| pr.pid == pid)
        {
            return Ok(p);
        }
        self.resolve_and_remember(me, dest)
    }

    fn resolve_and_remember(&mut self, me: ProcId, dest: &[u8]) -> Result<ProcId, ResolveError> {
        // Parsed once; only a PID string is remembered (a registered name may change hands).
        let (to, pid) = self.resolve_parsed(dest)?;
        if let Some(pid) = pid
            && let Some(m) = self.procs.get_mut(me)
        {
            m.dest.put(dest, to, pid);
        }
        Ok(to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slotmap::SlotMap;

    fn ids() -> (ProcId, ProcId) {
        let mut m: SlotMap<ProcId, ()> = SlotMap::with_key();
        (m.insert(()), m.insert(()))
    }

    #[test]
    fn an_entry_answers_only_its_exact_bytes() {
        let (a, _) = ids();
        let pid = PidRef { host: 0, num: 7 };
        let mut c = DestCache::default();
        assert_eq!(c.get(b""), None, "an empty cache answers nothing");
        c.put(b"{app|7}", a, pid);
        assert_eq!(c.get(b"{app|7}"), Some((a, pid)));
        assert_eq!(c.get(b"{app|70}"), None);
        assert_eq!(c.get(b"{app|"), None);
        assert_eq!(c.get(b"{app|8}"), None);
    }

    #[test]
    fn a_new_entry_replaces_the_old_one() {
        let (a, b) = ids();
        let mut c = DestCache::default();
        c.put(b"{app|7}", a, PidRef { host: 0, num: 7 });
        c.put(b"{app|9}", b, PidRef { host: 0, num: 9 });
        assert_eq!(c.get(b"{app|7}"), None);
        assert_eq!(c.get(b"{app|9}"), Some((b, PidRef { host: 0, num: 9 })));
    }

    #[test]
    fn long_destinations_are_not_kept() {
        let (a, _) = ids();
        let long = vec![b'x'; DEST_CACHE_BYTES + 1];
        let mut c = DestCache::default();
        c.put(&long, a, PidRef { host: 0, num: 1 });
        assert_eq!(c.get(&long), None);
        assert_eq!(c.get(&long[..DEST_CACHE_BYTES]), None);
    }
}
