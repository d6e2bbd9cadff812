//! The host's side of the processes (SPEC §13.3): spawning without a parent, sending from
//! Rust, host mailboxes, monitoring from a mailbox, and crash reports (§13.1).

use super::Runtime;
use crate::core::Core;
use crate::error::{Error, ResolveError, Result};
use crate::hostbox::{CrashReport, Mailbox};
use crate::ids::{Pid, PidRef, ProcId};
use crate::lua;
use crate::payload::{CopyError, Payload};
use smallvec::smallvec;

/// What the runtime does with a crash report when the builder set no `on_crash` hook.
pub(super) type CrashHook = Box<dyn FnMut(&CrashReport)>;

impl Runtime {
    /// Starts `entry` on `host` with `args`, with no parent (nobody is linked to it or
    /// monitors it). It runs on the next `run_for`/`run`.
    ///
    /// # Errors
    /// [`Error::NotFound`]: `entry not found: <id>` (with a suggestion when an id is close),
    /// `<id> is a <kind> entry, not a process`, `host not found: <name>`;
    /// [`Error::Refused`]: `max processes limit exceeded`.
    pub fn spawn(&mut self, entry: &str, host: &str, args: Vec<Payload>) -> Result<Pid> {
        let mut core = self.core();
        let Some(e) = core.entries().find_spawnable(entry) else {
            return Err(Error::NotFound(core.entries().not_spawnable(entry)));
        };
        let Some(h) = core.find_host(host) else {
            return Err(Error::NotFound(format!("host not found: {host}")));
        };
        core.check_spawn(h)
            .map_err(|e| Error::Refused(e.to_string()))?;
        let thread = lua::task_thread(&self.lua, &mut core)?;
        let pid = core
            .spawn(thread, e, h, args, None, None)
            .map_err(|e| Error::Refused(e.to_string()))?;
        Ok(core.public_pid(pid))
    }

    /// Sends `payload` on `topic` to `to` (a PID string or a registered name), as
    /// `process.send` would; in Lua `msg:from()` is `""`.
    ///
    /// # Errors
    /// [`Error::NotFound`] (`process not found`, or `could not resolve ...`) and
    /// [`Error::Refused`] (`mailbox full`, payload limits, `cannot send to @ topics`).
    pub fn send(&mut self, to: &str, topic: &str, payload: Payload) -> Result<()> {
        self.send_as(None, to, topic, payload)
    }

    /// As [`Runtime::send`], from host mailbox `from`: `msg:from()` is the mailbox's PID, so
    /// scripts can answer it.
    ///
    /// # Errors
    /// As [`Runtime::send`]; [`Error::NotFound`] when `from` is closed.
    pub fn send_from(
        &mut self,
        from: &Mailbox,
        to: &str,
        topic: &str,
        payload: Payload,
    ) -> Result<()> {
        let sender = {
            let core = self.core();
            let p = mailbox_proc(&core, from)?;
            core.pid_of(p)
        };
        self.send_as(sender, to, topic, payload)
    }

    fn send_as(
        &mut self,
        from: Option<PidRef>,
        to: &str,
        topic: &str,
        payload: Payload,
    ) -> Result<()> {
        if topic.starts_with('@') {
            return Err(Error::Refused("cannot send to @ topics".into()));
        }
        let mut core = self.core();
        let (depth, bytes) = core.payload_limits(None);
        let (size, nesting) = payload.measure();
        if nesting > depth {
            return Err(Error::Refused(CopyError::TooDeep(depth).to_string()));
        }
        if size > bytes {
            return Err(Error::Refused(CopyError::TooLarge(bytes).to_string()));
        }
        let dest = core.resolve(to.as_bytes()).map_err(|e| match e {
            ResolveError::Ended => Error::NotFound(e.to_string()),
            other => Error::NotFound(other.to_string()),
        })?;
        core.deliver(dest, from, topic, smallvec![payload])
            .map_err(|e| Error::Refused(e.to_string()))
    }

    /// Opens a host mailbox registered under `name` (scripts send to it by that name or by
    /// its PID, `{host|N}`). It lives until every handle is dropped or
    /// [`Runtime::close_mailbox`].
    ///
    /// # Errors
    /// [`Error::Refused`]: `name already registered: <name>`.
    pub fn mailbox(&mut self, name: &str) -> Result<Mailbox> {
        if name.is_empty() {
            return Err(Error::Refused("name cannot be empty".into()));
        }
        let mut core = self.core();
        let (proc, queue) = core
            .open_mailbox(name)
            .map_err(|e| Error::Refused(format!("{e}: {name}")))?;
        let pid = core
            .pid_of(proc)
            .map(|p| core.public_pid(p))
            .expect("just opened");
        Ok(Mailbox::new(pid, name.to_string(), queue))
    }

    /// Closes a host mailbox now: its name is released and sends to it fail as to an ended
    /// process. Deliveries already queued stay readable through the handle.
    pub fn close_mailbox(&mut self, mailbox: &Mailbox) {
        let mut core = self.core();
        if let Ok(p) = mailbox_proc(&core, mailbox) {
            core.close_mailbox(p);
        }
    }

    /// Makes `mailbox` receive a [`Delivery::Exit`](crate::Delivery::Exit) when `pid` ends.
    ///
    /// # Errors
    /// As `process.monitor`: [`Error::NotFound`] `pid not registered` for an ended process,
    /// [`Error::Refused`] `already monitoring pid`.
    pub fn monitor(&mut self, mailbox: &Mailbox, pid: &Pid) -> Result<()> {
        let mut core = self.core();
        let watcher = mailbox_proc(&core, mailbox)?;
        let target = core
            .proc_by_public(pid)
            .ok_or_else(|| Error::NotFound("pid not registered".into()))?;
        if core.monitor(watcher, target) {
            Ok(())
        } else {
            Err(Error::Refused("already monitoring pid".into()))
        }
    }

    /// Hands the crashes recorded since the last call to the `on_crash` hook, or to
    /// `log::error!` (target `moonhost::crash`) when there is none.
    pub(super) fn report_crashes(&mut self) {
        self.crash_pending = false;
        let crashes = {
            let mut core = self.core();
            if !core.has_crashes() {
                return;
            }
            core.take_crashes()
        };
        for c in crashes {
            let report = CrashReport {
                pid: c.pid,
                entry: c.entry,
                host: c.host,
                error: c.error,
                traceback: c.traceback,
            };
            match &mut self.crash_hook {
                Some(hook) => hook(&report),
                None => log::error!(target: "moonhost::crash", "{report}"),
            }
        }
    }
}

/// The live process of host mailbox `m`.
fn mailbox_proc(core: &Core, m: &Mailbox) -> Result<ProcId> {
    core.proc_by_public(m.pid())
        .filter(|p| core.is_mailbox(*p))
        .ok_or_else(|| Error::NotFound(format!("mailbox closed: {}", m.name())))
}
