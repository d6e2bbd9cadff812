//! Supervisor calls (SPEC §12.1.5): a synchronous request whose reply never passes through
//! the caller's mailbox, inbox, listeners or events.
//!
//! The caller's binding makes a private reply channel (kind [`ChanKind::Reply`]), delivers
//! the request to the supervisor's inbox as an ordinary message carrying the channel's
//! token, and blocks receiving on the channel. The supervisor answers with
//! [`Core::reply_call`], which puts the reply on that channel (the one wake path); if the
//! supervisor ends first, its pending calls' channels are closed and the callers wake with
//! nothing. Only processes marked with [`Core::mark_supervisor`] accept calls. Nothing here
//! runs for a process that neither calls nor supervises: the exit path checks two empty
//! collections.

use super::Core;
use crate::error::{CallError, DeliverError};
use crate::ids::{ChanId, ProcId};
use crate::message::{ChanKind, Item};
use crate::payload::Payload;
use slotmap::{Key, KeyData};
use smallvec::SmallVec;

/// The topic a call request arrives on in the supervisor's inbox.
pub const CALL_TOPIC: &str = "supervisor.call";

/// A call waiting for its reply.
#[derive(Debug, Clone, Copy)]
pub struct Call {
    /// The process that waits.
    pub caller: ProcId,
    /// The supervisor asked.
    pub target: ProcId,
    /// The caller's private reply channel.
    pub reply: ChanId,
}

impl Core {
    /// Marks `p` as a supervisor: from now until it ends it accepts calls.
    pub fn mark_supervisor(&mut self, p: ProcId) {
        if self.procs.contains_key(p) {
            self.supervisors.insert(p);
        }
    }

    /// Whether `p` is a live supervisor.
    pub fn is_supervisor(&self, p: ProcId) -> bool {
        self.supervisors.contains(&p)
    }

    /// Starts a call from `caller` to `target`: delivers `payloads` (the request, after the
    /// reply token this adds first) on [`CALL_TOPIC`] and returns the reply channel the
    /// caller then receives on. `any` skips the supervisor check (`supervisor.start` waiting
    /// for a supervisor that has not run yet).
    ///
    /// # Errors
    /// [`CallError::NotSupervisor`], or [`CallError::MailboxFull`] from delivery.
    pub fn start_call(
        &mut self,
        caller: ProcId,
        target: ProcId,
        mut payloads: SmallVec<[Payload; 1]>,
        any: bool,
    ) -> Result<ChanId, CallError> {
        if !any && !self.is_supervisor(target) {
            return Err(CallError::NotSupervisor);
        }
        let reply = self.new_chan(caller, ChanKind::Reply, 1);
        payloads.insert(0, Payload::Int(reply.data().as_ffi() as i64));
        let from = self.procs.get(caller).map(|p| p.pid);
        if let Err(DeliverError::MailboxFull) = self.deliver(target, from, CALL_TOPIC, payloads) {
            self.free_reply(reply);
            return Err(CallError::MailboxFull);
        }
        self.calls.push(Call {
            caller,
            target,
            reply,
        });
        Ok(reply)
    }

    /// Answers the call whose reply token is `token` with `payloads`; false when no such
    /// call is pending for the running process (already answered, forged, caller gone).
    pub fn reply_call(&mut self, token: u64, payloads: SmallVec<[Payload; 1]>) -> bool {
        let reply = ChanId::from(KeyData::from_ffi(token));
        let me = self.current_proc();
        let Some(i) = self
            .calls
            .iter()
            .position(|c| c.reply == reply && Some(c.target) == me)
        else {
            return false;
        };
        let call = self.calls.swap_remove(i);
        let bytes = Payload::size_of_all(&payloads);
        let from = self.procs.get(call.target).map(|p| p.pid);
        let msg = self.message(0, from, CALL_TOPIC, payloads, bytes);
        self.offer(call.reply, Item::Msg(msg))
    }

    /// Frees a reply channel once its call is over (answered or abandoned).
    pub fn free_reply(&mut self, reply: ChanId) {
        self.calls.retain(|c| c.reply != reply);
        self.free_chan(reply);
    }

    /// Whether `c` is a call's reply channel (a task waiting on it is in a call).
    pub(super) fn is_reply_chan(&self, c: ChanId) -> bool {
        self.chans.get(c).is_some_and(|c| c.kind == ChanKind::Reply)
    }

    /// Forgets calls to and from `proc`, which is ending: callers of it wake with nothing.
    pub(super) fn end_calls(&mut self, proc: ProcId) {
        self.supervisors.remove(&proc);
        let (mut orphaned, mut kept) = (Vec::new(), Vec::new());
        for c in std::mem::take(&mut self.calls) {
            if c.target == proc {
                orphaned.push(c.reply);
            } else if c.caller != proc {
                kept.push(c);
            }
        }
        self.calls = kept;
        for reply in orphaned {
            self.close(reply);
        }
    }
}
