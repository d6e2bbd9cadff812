//! Timers and process exits of the core: arming and firing timers, killing, and the SPEC
//! §2.3 order in which a process ends.

use crate::core::{Core, Fire, Outcome, RootExit, THREAD_POOL_MAX, TimerTask, Waiter};
use crate::lua::time::TimeObj;
use crate::process::*;
use mlua::{Lua, Thread, Value};

impl Core {
    // ----- timers ---------------------------------------------------------------------------

    /// Arms a timer owned by `owner`.
    pub fn arm(&mut self, owner: ProcId, deadline: u64, fire: Fire) -> TimerId {
        let task = TimerTask { owner, fire };
        let t = match &mut self.perturb {
            Some(rng) => self.timers.insert_ordered(deadline, rng.next_u64(), task),
            None => self.timers.insert(deadline, task),
        };
        if let Some(p) = self.procs.get_mut(owner) {
            p.timers.insert(t);
        }
        t
    }

    /// Disarms a timer; true when it was still armed.
    pub fn disarm(&mut self, t: TimerId) -> bool {
        match self.timers.cancel(t) {
            Some(task) => {
                if let Some(p) = self.procs.get_mut(task.owner) {
                    p.timers.remove(&t);
                }
                true
            }
            None => false,
        }
    }

    /// Fires every timer due at the clock's current time; returns how many fired.
    pub fn fire_due(&mut self, lua: &Lua) -> mlua::Result<usize> {
        if self.tracer.is_replaying() {
            return self.fire_recorded(lua);
        }
        let now = self.clock.now();
        let mut n = 0;
        while let Some((id, deadline, task)) = self.timers.pop_due(now) {
            n += 1;
            if let Some(p) = self.procs.get_mut(task.owner) {
                p.timers.remove(&id);
            } else {
                continue;
            }
            self.fire(lua, deadline, task)?;
        }
        Ok(n)
    }

    /// In a replay, fires the timers the trace says fired here, whatever their deadlines
    /// (a real-clock recording armed them at clock readings a replay cannot repeat).
    fn fire_recorded(&mut self, lua: &Lua) -> mlua::Result<usize> {
        let mut n = 0;
        while let Some((pid, kind)) = self.tracer.next_timer() {
            let owner = self
                .parse_pid(pid.as_bytes())
                .and_then(|p| self.pids.get(&p.num));
            let Some(&owner) = owner else { break };
            let found = self.procs[owner]
                .timers
                .iter()
                .filter_map(|t| self.timers.peek(*t).map(|(d, task)| (d, *t, task)))
                .filter(|(_, _, task)| timer_kind(task.fire) == kind)
                .min_by_key(|(d, _, _)| *d)
                .map(|(d, t, _)| (d, t));
            let Some((deadline, id)) = found else { break };
            let task = self.timers.cancel(id).expect("found armed");
            self.procs[owner].timers.remove(&id);
            self.fire(lua, deadline, task)?;
            n += 1;
        }
        Ok(n)
    }

    fn fire(&mut self, lua: &Lua, deadline: u64, task: TimerTask) -> mlua::Result<()> {
        if self.tracer.is_on() {
            let kind = timer_kind(task.fire);
            let owner = self.procs[task.owner].pid;
            let fields = [("pid", self.pid_field(owner)), ("kind", kind.into())];
            self.trace("timer", &fields);
        }
        match task.fire {
            Fire::Wake(w) => {
                if let Some(wait) = self.waits.get_mut(w) {
                    wait.timer = None;
                    self.complete(lua, Waiter { wait: w, case: 0 }, Outcome::Slept)?;
                }
            }
            Fire::After(chan) => {
                if let Some(c) = self.chans.get_mut(chan) {
                    c.timer = None;
                    let t = self.time_value(lua)?;
                    self.offer(lua, chan, Item::Lua(t))?;
                    self.close(lua, chan)?;
                }
            }
            Fire::Tick { chan, period } => {
                if self.chans.get(chan).is_some_and(|c| !c.q.is_closed()) {
                    let t = self.time_value(lua)?;
                    self.offer(lua, chan, Item::Lua(t))?;
                    let now = self.clock.now();
                    let mut next = deadline + period;
                    if next <= now {
                        next = now + period - (now - deadline) % period;
                    }
                    let id = self.arm(task.owner, next, task.fire);
                    self.chans[chan].timer = Some(id);
                }
            }
        }
        Ok(())
    }

    /// A Time userdata for the clock's current wall time.
    pub fn time_value(&self, lua: &Lua) -> mlua::Result<Value> {
        Ok(Value::UserData(
            lua.create_userdata(TimeObj(self.clock.wall_ns()))?,
        ))
    }

    // ----- exits ----------------------------------------------------------------------------

    /// Marks a process to end abnormally with `reason` at its next scheduling point, waking
    /// it if it is parked.
    pub fn kill(&mut self, proc: ProcId, reason: &str) {
        let Some(p) = self.procs.get_mut(proc) else {
            return;
        };
        if p.kill.is_none() {
            p.kill = Some(reason.to_string());
        }
        let (main, pid) = (p.main, p.pid);
        self.queue(main);
        if self.tracer.is_on() {
            let fields = [("pid", self.pid_field(pid)), ("reason", reason.into())];
            self.trace("kill", &fields);
        }
    }

    /// Ends a process: unroutable, names released, EXIT to monitors, LINK_DOWN or kill to
    /// links if abnormal, then everything it owned dropped (SPEC §2.3 order).
    pub fn end_process(
        &mut self,
        lua: &Lua,
        proc: ProcId,
        exit: Exit,
        traceback: Option<String>,
    ) -> mlua::Result<()> {
        let Some(p) = self.procs.get(proc) else {
            return Ok(());
        };
        let pid = p.pid;
        log::debug!("exit {} {:?}", self.pid_string(pid), exit);
        if self.tracer.is_on() {
            let error = match &exit {
                Exit::Normal(_) => serde_json::Value::Null,
                Exit::Error(e) => e.as_str().into(),
            };
            let fields = [("pid", self.pid_field(pid)), ("error", error)];
            self.trace("exit", &fields);
        }
        self.pids.remove(&pid.num);
        self.release_names(proc);
        let at_ns = self.clock.wall_ns();
        let watchers = std::mem::take(&mut self.procs[proc].watchers);
        for w in watchers {
            let ev = Event::ended(EventKind::Exit, pid, &exit, at_ns);
            self.push_event(lua, w, ev)?;
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
                let ev = Event::ended(EventKind::LinkDown, pid, &exit, at_ns);
                self.push_event(lua, l, ev)?;
            } else {
                self.kill(l, "linked process failed");
            }
        }
        self.drop_process(proc);
        if self.root == Some(proc) {
            self.root_exit = Some(RootExit { exit, traceback });
        }
        Ok(())
    }

    /// Removes a process and everything it owns without any notification (shutdown).
    pub fn discard_process(&mut self, proc: ProcId) {
        if let Some(p) = self.procs.get(proc) {
            self.pids.remove(&p.pid.num);
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
        let p = self.procs.remove(proc).expect("end_process checked it");
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
            self.chans.remove(c);
        }
        if let Some(h) = self.hosts.get_mut(p.pid.host as usize) {
            h.live = h.live.saturating_sub(1);
        }
    }

    /// Keeps a finished coroutine for reuse by a later spawn.
    pub fn recycle(&mut self, thread: Thread) {
        self.task_threads.remove(&(thread.to_pointer() as usize));
        if self.thread_pool.len() < THREAD_POOL_MAX
            && thread.reset(self.lua.proc_main.clone()).is_ok()
        {
            self.thread_pool.push(thread);
        }
    }

    /// Whether anything can still happen without outside input: a runnable task or an armed
    /// timer of a live process.
    pub fn has_work(&self) -> bool {
        !self.run_queue.is_empty() || !self.timers.is_empty()
    }
}

/// The trace name of what a timer does.
fn timer_kind(fire: Fire) -> &'static str {
    match fire {
        Fire::Wake(_) => "sleep",
        Fire::After(_) => "after",
        Fire::Tick { .. } => "tick",
    }
}
