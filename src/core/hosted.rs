//! Host mailboxes in the core: processes without a coroutine whose deliveries go to a queue
//! the embedding program reads, and the record of crashed processes it is told about.

use super::processes::new_process;
use super::{Core, Host};
use crate::error::NameTaken;
use crate::hostbox::{Delivery, HostQueue};
use crate::ids::{Pid, PidRef, ProcId};
use crate::limits::Limits;
use crate::message::{Event, EventKind, Exit, Message};
use crate::payload::Payload;
use std::rc::Rc;

/// The host name in host mailboxes' PIDs (no entry id can be `host`: they have a colon).
pub const HOST_MAILBOX_HOST: &str = "host";

/// A process that ended abnormally, as the core records it.
#[derive(Debug, Clone)]
pub struct Crash {
    /// Its PID.
    pub pid: Pid,
    /// The entry it ran.
    pub entry: String,
    /// Its host's name.
    pub host: String,
    /// The error.
    pub error: String,
    /// Where the error was raised.
    pub traceback: Option<String>,
}

impl Core {
    /// The host-visible form of `pid`.
    pub fn public_pid(&self, pid: PidRef) -> Pid {
        let host = self
            .hosts
            .get(pid.host as usize)
            .map_or("?", |h| h.name.as_str());
        Pid::new(host, pid.num)
    }

    /// The live process with host-visible PID `pid`.
    pub fn proc_by_public(&self, pid: &Pid) -> Option<ProcId> {
        let host = self.hosts.iter().position(|h| h.name == pid.host())?;
        self.proc_by_num(host as u32, pid.number())
    }

    /// Opens a host mailbox registered as `name`: its process and the queue it fills.
    ///
    /// # Errors
    /// [`NameTaken`] when a process already holds `name`.
    pub fn open_mailbox(&mut self, name: &str) -> Result<(ProcId, Rc<HostQueue>), NameTaken> {
        if self.names.lookup(name).is_some() {
            return Err(NameTaken);
        }
        let host = match self.hosts.iter().position(|h| h.name == HOST_MAILBOX_HOST) {
            Some(h) => h,
            None => {
                self.hosts.push(Host {
                    name: HOST_MAILBOX_HOST.into(),
                    limits: Limits::default(),
                    live: 0,
                    spawnable: false,
                });
                self.hosts.len() - 1
            }
        };
        self.hosts[host].live += 1;
        let num = self.next_pid;
        self.next_pid += 1;
        let text = crate::ids::pid_text(&self.hosts[host].name, num);
        let queue = Rc::new(HostQueue::default());
        let proc = self.procs.insert_with_key(|proc| {
            let pid = PidRef {
                num,
                proc,
                host: host as u32,
            };
            let mut record = new_process(pid, text, 0, None);
            record.sink = Some(queue.clone());
            record
        });
        let pid = self.procs[proc].pid;
        self.pids.insert(pid.num, proc);
        self.register_name(name, proc)?;
        self.mailboxes.push(proc);
        self.trace_with("mailbox", |c| {
            vec![("pid", c.pid_field(pid)), ("name", name.into())]
        });
        Ok((proc, queue))
    }

    /// Whether `p` is a host mailbox.
    pub fn is_mailbox(&self, p: ProcId) -> bool {
        self.procs.get(p).is_some_and(|p| p.sink.is_some())
    }

    /// Closes host mailbox `p`: sends to it fail from now on.
    pub fn close_mailbox(&mut self, p: ProcId) {
        if self.is_mailbox(p) {
            self.end_process(p, Exit::Normal(Payload::Nil), None);
        }
        self.mailboxes.retain(|m| *m != p);
    }

    /// Closes the host mailboxes whose every handle the host dropped.
    pub fn sweep_mailboxes(&mut self) {
        let dropped: Vec<ProcId> = self
            .mailboxes
            .iter()
            .copied()
            .filter(|p| {
                self.procs
                    .get(*p)
                    .and_then(|pr| pr.sink.as_ref())
                    .is_none_or(|q| Rc::strong_count(q) == 1)
            })
            .collect();
        for p in dropped {
            self.close_mailbox(p);
        }
    }

    /// Whether any host mailbox is open (the host may still send: nothing is deadlocked).
    pub fn has_mailboxes(&self) -> bool {
        !self.mailboxes.is_empty()
    }

    /// Hands a message to host mailbox `to`.
    pub(super) fn deliver_to_host(&mut self, to: ProcId, msg: Box<Message>) {
        if let Some(q) = self.procs.get(to).and_then(|p| p.sink.clone()) {
            q.push(Delivery::Message {
                from: msg.from.map(|f| self.public_pid(f)),
                topic: msg.topic.clone(),
                payload: Payload::combined(&msg.payloads),
            });
        }
        self.recycle(msg);
    }

    /// Hands an event to host mailbox `to` when it is one (EXIT only; a host mailbox has no
    /// links and nothing to cancel); gives the event back otherwise.
    pub(super) fn event_to_host(&mut self, to: ProcId, ev: Event) -> Option<Event> {
        let Some(q) = self.procs.get(to).and_then(|p| p.sink.clone()) else {
            return Some(ev);
        };
        if ev.kind == EventKind::Exit {
            let result = match ev.exit {
                Some(Exit::Normal(v)) => Ok(v),
                Some(Exit::Error(e)) => Err(e),
                None => Ok(Payload::Nil),
            };
            q.push(Delivery::Exit {
                from: self.public_pid(ev.from),
                result,
            });
        }
        None
    }

    /// Records that `proc` is ending abnormally (called by `end_process`).
    pub(super) fn record_crash(&mut self, proc: ProcId, error: &str, traceback: Option<&str>) {
        let Some(p) = self.procs.get(proc) else {
            return;
        };
        if p.sink.is_some() {
            return;
        }
        let pid = self.public_pid(p.pid);
        self.crashes.push(Crash {
            host: pid.host().to_string(),
            pid,
            entry: self.entries.id(p.entry).to_string(),
            error: error.to_string(),
            traceback: traceback.map(str::to_string),
        });
    }

    /// The crashes recorded since the last call.
    pub fn take_crashes(&mut self) -> Vec<Crash> {
        std::mem::take(&mut self.crashes)
    }

    /// Whether crashes wait to be reported.
    pub fn has_crashes(&self) -> bool {
        !self.crashes.is_empty()
    }
}
