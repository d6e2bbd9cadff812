//! Exits of the core: killing, and the SPEC §2.3 order in which a process ends.

use super::{Core, RootExit};
use crate::ids::ProcId;
use crate::message::{Event, EventKind, Exit};
use crate::sim::payload_hash;

impl Core {
    // ----- exits ----------------------------------------------------------------------------

    /// Marks a process to end abnormally with `reason` at its next scheduling point, waking
    /// it if it is parked.
    pub fn kill(&mut self, proc: ProcId, reason: &str) {
        if self.is_mailbox(proc) {
            // No coroutine to end at its next scheduling point: it ends now.
            self.end_process(proc, Exit::Error(reason.to_string()), None);
            return;
        }
        let Some(p) = self.procs.get_mut(proc) else {
            return;
        };
        if p.kill.is_none() {
            p.kill = Some(reason.to_string());
        }
        let (main, pid) = (p.main, p.pid);
        self.touch(proc);
        self.queue(main);
        self.trace_with("kill", |c| {
            vec![("pid", c.pid_field(pid)), ("reason", reason.into())]
        });
    }

    /// Ends a process: unroutable, names released, EXIT to monitors, LINK_DOWN or kill to
    /// links if abnormal, then everything it owned dropped (SPEC §2.3 order).
    pub fn end_process(&mut self, proc: ProcId, exit: Exit, traceback: Option<String>) {
        let Some(p) = self.procs.get(proc) else {
            return;
        };
        let pid = p.pid;
        log::debug!("exit {} {:?}", self.pid_string(pid), exit);
        self.trace_with("exit", |c| {
            let (error, value) = match &exit {
                Exit::Normal(v) => (
                    serde_json::Value::Null,
                    payload_hash(std::slice::from_ref(v)),
                ),
                Exit::Error(e) => (e.as_str().into(), 0),
            };
            vec![
                ("pid", c.pid_field(pid)),
                ("error", error),
                ("value", value.into()),
            ]
        });
        self.pids.remove(pid.num);
        self.release_names(proc);
        let at_ns = self.clock.wall_ns();
        let watchers = std::mem::take(&mut self.procs[proc].watchers);
        let text = self.procs[proc].pid_text.clone();
        for w in watchers {
            if let Some(wp) = self.procs.get_mut(w) {
                wp.monitoring.remove(&proc);
            }
            let ev = Event::ended(EventKind::Exit, pid, &text, &exit, at_ns);
            self.push_event(w, ev);
        }
        let links = std::mem::take(&mut self.procs[proc].links);
        for l in links {
            let Some(lp) = self.procs.get_mut(l) else {
                continue;
            };
            lp.links.remove(&proc);
            if exit.is_normal() {
                continue;
            }
            if lp.trap_links {
                let ev = Event::ended(EventKind::LinkDown, pid, &text, &exit, at_ns);
                self.push_event(l, ev);
            } else {
                self.kill(l, "linked process failed");
            }
        }
        if let Exit::Error(e) = &exit {
            self.record_crash(proc, e, traceback.as_deref());
        }
        self.drop_process(proc);
        // A failed `sim.always` has already set the root's exit.
        if self.root == Some(proc) && self.root_exit.is_none() {
            self.root_exit = Some(RootExit { exit, traceback });
        }
    }

    /// Removes a process and everything it owns without any notification (shutdown).
    pub fn discard_process(&mut self, proc: ProcId) {
        if let Some(p) = self.procs.get(proc) {
            self.pids.remove(p.pid.num);
            self.release_names(proc);
            self.drop_process(proc);
        }
    }

    fn release_names(&mut self, proc: ProcId) {
        for n in std::mem::take(&mut self.procs[proc].names) {
            self.names.unregister(&n);
        }
    }

    fn drop_process(&mut self, proc: ProcId) {
        if !self.calls.is_empty() || !self.supervisors.is_empty() {
            self.end_calls(proc);
        }
        let p = self.procs.remove(proc).expect("end_process checked it");
        self.count_mailbox_bytes(p.mailbox_bytes, false);
        for t in p.timers {
            self.timers.cancel(t);
        }
        for t in std::iter::once(p.main).chain(p.tasks) {
            if let Some(task) = self.tasks.get(t) {
                if let Some(w) = task.wait {
                    self.withdraw(w);
                }
                if let Some(th) = self.tasks.remove(t).and_then(|t| t.thread) {
                    self.task_threads.remove(&(th.to_pointer() as usize));
                }
            }
        }
        // Every channel of its world goes, buffers included: a buffer holding the channel's
        // own object would otherwise keep it alive forever.
        for c in p.chans {
            self.free_chan(c);
        }
        if let Some(h) = self.hosts.get_mut(p.pid.host as usize) {
            h.live = h.live.saturating_sub(1);
        }
    }

    /// Forgets that `thread` is a task (its task finished).
    pub fn forget_task_thread(&mut self, thread: &mlua::Thread) {
        self.task_threads.remove(&(thread.to_pointer() as usize));
    }
}
