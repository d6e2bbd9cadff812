//! The scheduler loop of a [`Runtime`]: taking the next task, resuming it with what it
//! waits for, interpreting how it stopped (parked, preempted, finished, failed), and the
//! per-slice limits (memory, instructions) around each resume. Only this module resumes
//! coroutines; bindings describe what they need and return.

use super::*;

impl Runtime {
    /// With nothing runnable, waits for (or jumps to) the next timer. Returns false when
    /// nothing can ever become runnable.
    pub(super) fn idle(&mut self, until: Option<Instant>) -> Result<bool> {
        let mut core = self.core();
        if !core.run_queue.is_empty() {
            return Ok(true);
        }
        if core.tracer.is_replaying()
            && let Some(t) = core.tracer.next_turn_time()
        {
            core.clock.advance_to(t);
            return Ok(true);
        }
        let Some(deadline) = core.timers.next_deadline() else {
            return Ok(false);
        };
        if core.clock.is_virtual() {
            core.clock.advance_to(deadline);
            return Ok(true);
        }
        let mut wait = Duration::from_nanos(deadline.saturating_sub(core.clock.now()));
        drop(core);
        if let Some(u) = until {
            wait = wait.min(u.saturating_duration_since(Instant::now()));
        }
        loop {
            match self.poll.poll(&mut self.events, Some(wait)) {
                Ok(()) => return Ok(true),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::Poll(e.to_string())),
            }
        }
    }

    /// When the process about to run has been charged over half its memory limit (and
    /// grown by an eighth of it since the last check), collects garbage and scales every
    /// process's charge down so that together they do not exceed the live heap: memory a
    /// process allocated but someone else's slice freed stops counting against it.
    fn reconcile(&self, mut slice: Slice, tid: crate::process::TaskId) -> Slice {
        let core = self.core();
        let Some(proc) = core.tasks.get(tid).map(|t| t.proc) else {
            return slice;
        };
        let p = &core.procs[proc];
        let limit = slice.allowance + p.heap;
        if p.heap <= limit / 2 || p.heap < p.heap_checked + limit / 8 {
            return slice;
        }
        drop(core);
        let _ = self.lua.gc_collect();
        let live = self.lua.used_memory();
        let mut core = self.core();
        let total: usize = core.procs.values().map(|p| p.heap).sum();
        if total > live {
            for p in core.procs.values_mut() {
                p.heap = (p.heap as u128 * live as u128 / total as u128) as usize;
            }
        }
        let p = &mut core.procs[proc];
        p.heap_checked = p.heap;
        slice.allowance = limit.saturating_sub(p.heap);
        slice
    }

    /// Whether the turn ends before its budget: a timer is due (so it fires on time), or,
    /// in a replay, the recorded turn ended here.
    pub(super) fn turn_ends(&mut self) -> bool {
        let mut c = self.core();
        if c.tracer.is_replaying() {
            return c.tracer.next_turn_time().is_some();
        }
        let now = c.clock.now();
        c.timers.next_deadline().is_some_and(|d| d <= now)
    }

    /// Attaches the Lua stack of task `tid` to a divergence found before it ran.
    fn note_divergence(&mut self, tid: crate::process::TaskId) {
        let thread = self.core().tasks.get(tid).and_then(|t| t.thread.clone());
        if let Some(th) = thread {
            let tb = lua::thread_traceback(&self.lua, &th);
            if let Some(d) = &mut self.core().tracer.diverged {
                d.traceback.get_or_insert(tb);
            }
        }
    }

    /// Resumes the next runnable task; false when the run queue is empty.
    pub(super) fn step(&mut self) -> Result<bool> {
        let lua = &self.lua;
        let (tid, thread, resume, slice) = {
            let mut core = self.core();
            loop {
                let Some(tid) = core.pop_task() else {
                    return Ok(false);
                };
                let Some(task) = core.tasks.get_mut(tid) else {
                    continue;
                };
                task.queued = false;
                let proc = task.proc;
                if let Some(reason) = core.procs[proc].kill.clone() {
                    core.end_process(lua, proc, Exit::Error(reason), None)?;
                    continue;
                }
                let task = &mut core.tasks[tid];
                let Some(thread) = task.thread.take() else {
                    continue;
                };
                let resume = std::mem::take(&mut task.resume);
                core.current = Some(tid);
                if core.tracer.is_on() {
                    core.tracer.step += 1;
                    let pid = core.pid_field(core.procs[proc].pid);
                    core.trace("resume", &[("pid", pid)]);
                    if core.tracer.diverged.is_some() {
                        core.tasks[tid].thread = Some(thread);
                        core.current = None;
                        drop(core);
                        self.note_divergence(tid);
                        return Ok(false);
                    }
                }
                let p = &core.procs[proc];
                let limit = core.hosts[p.pid.host as usize].limits.memory_bytes;
                let slice = Slice {
                    allowance: limit.saturating_sub(p.heap),
                    budget: p.instructions_left.unwrap_or(u64::MAX),
                    ceiling: core.memory_ceiling,
                };
                break (tid, thread, resume, slice);
            }
        };
        let slice = self.reconcile(slice, tid);
        let args = match resume_args(lua, resume) {
            Ok(a) => a,
            Err(e) => {
                // Arguments that cannot be rebuilt (out of memory, too many tables) fail the
                // process that would have received them, not the runtime.
                let mut core = self.core();
                core.current = None;
                if let Some(t) = core.tasks.get_mut(tid) {
                    t.thread = Some(thread);
                }
                if let Some(proc) = core.tasks.get(tid).map(|t| t.proc) {
                    let msg = format!("cannot start: {}", split_error(&e).0);
                    core.end_process(lua, proc, Exit::Error(msg), None)?;
                }
                return Ok(true);
            }
        };
        self.hook.stuck.set(0);
        self.hook.progress.set(0);
        self.hook.parking.set(false);
        self.hook.budget.set(slice.budget);
        let before = lua.used_memory();
        let cap = before.saturating_add(slice.allowance).min(slice.ceiling);
        self.hook.mem_base.set(before);
        self.hook.mem_allowance.set(slice.allowance);
        self.hook.mem_ceiling.set(slice.ceiling);
        let _ = lua.set_memory_limit(cap);
        let res = catch_unwind(AssertUnwindSafe(|| thread.resume::<MultiValue>(args)));
        let _ = lua.set_memory_limit(slice.ceiling);
        let after = lua.used_memory();
        let base = self.hook.mem_base.get();
        let mut core = self.core();
        core.current = None;
        if core.clock.is_virtual() && core.virtual_work {
            // Work takes virtual time too, so timers still fire beside a busy process.
            let parked = matches!(&res, Ok(Ok(v)) if v.front().is_some_and(is_block));
            let cost = if parked {
                VIRTUAL_RESUME_NS
            } else {
                VIRTUAL_SLICE_NS
            };
            let t = core.clock.now() + cost;
            core.clock.advance_to(t);
        }
        let Some(proc) = core.tasks.get(tid).map(|t| t.proc) else {
            return Ok(true);
        };
        let p = &mut core.procs[proc];
        p.heap = (p.heap + after).saturating_sub(base);
        if p.instructions_left.is_some() {
            p.instructions_left = Some(self.hook.budget.get());
        }
        self.hook.budget.set(u64::MAX);
        if let Some(reason) = self.hook.doomed.take() {
            if let Some(t) = core.tasks.get_mut(tid) {
                t.thread = Some(thread);
            }
            core.end_process(lua, proc, Exit::Error(reason.to_string()), None)?;
            return Ok(true);
        }
        match res {
            Ok(Ok(vals)) if thread.is_resumable() => {
                let parked = vals.front().is_some_and(is_block);
                if core.tracer.is_on() {
                    let pid = core.pid_field(core.procs[proc].pid);
                    core.trace(if parked { "park" } else { "yield" }, &[("pid", pid)]);
                    if core.tracer.diverged.is_some()
                        && core
                            .tracer
                            .diverged
                            .as_ref()
                            .is_some_and(|d| d.traceback.is_none())
                    {
                        let tb = lua::thread_traceback(lua, &thread);
                        if let Some(d) = &mut core.tracer.diverged {
                            d.traceback = Some(tb);
                        }
                    }
                }
                core.tasks[tid].thread = Some(thread);
                if log::log_enabled!(log::Level::Debug) {
                    let pid = core.pid_string(core.procs[proc].pid);
                    log::debug!("{pid} {}", if parked { "parked" } else { "yielded" });
                }
                if !parked {
                    core.queue(tid);
                }
            }
            Ok(Ok(vals)) => {
                if core.procs[proc].main == tid {
                    let (depth, bytes) = core.payload_limits(Some(proc));
                    let exit = classify(&vals, depth, bytes);
                    core.recycle(thread);
                    core.end_process(lua, proc, exit, None)?;
                } else {
                    core.tasks.remove(tid);
                    core.procs[proc].tasks.retain(|t| *t != tid);
                    core.task_threads.remove(&(thread.to_pointer() as usize));
                }
            }
            Ok(Err(e)) => {
                let (mut msg, tb) = split_error(&e);
                if is_memory_error(&e) {
                    msg = if cap < slice.ceiling {
                        let limit = core.hosts[core.procs[proc].pid.host as usize]
                            .limits
                            .memory_bytes;
                        format!(
                            "memory limit exceeded: the process may use {} of Lua heap",
                            show_bytes(limit)
                        )
                    } else {
                        format!(
                            "memory ceiling reached: the runtime may use {} of Lua heap",
                            show_bytes(slice.ceiling)
                        )
                    };
                }
                core.end_process(lua, proc, Exit::Error(msg), tb)?;
            }
            Err(panic) => {
                let what = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panic".into());
                log::error!("binding panicked: {what}");
                core.end_process(
                    lua,
                    proc,
                    Exit::Error(format!("internal error: {what}")),
                    None,
                )?;
            }
        }
        Ok(true)
    }
}

/// What the scheduler lets one resume use.
#[derive(Debug, Clone, Copy)]
struct Slice {
    /// Heap the process may still grow by.
    allowance: usize,
    /// Instructions it may still run.
    budget: u64,
    /// Heap of the whole runtime.
    ceiling: usize,
}

fn is_memory_error(e: &mlua::Error) -> bool {
    match e {
        mlua::Error::MemoryError(_) => true,
        mlua::Error::CallbackError { cause, .. } => is_memory_error(cause),
        mlua::Error::WithContext { cause, .. } => is_memory_error(cause),
        _ => false,
    }
}

/// `128 MiB`-style sizes for messages.
pub fn show_bytes(n: usize) -> String {
    const UNITS: [(&str, usize); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (u, s) in UNITS {
        if n >= s && n.is_multiple_of(s) {
            return format!("{} {u}", n / s);
        }
    }
    format!("{n} bytes")
}

fn resume_args(lua: &Lua, resume: Resume) -> mlua::Result<MultiValue> {
    Ok(match resume {
        Resume::Nothing => MultiValue::new(),
        Resume::Values(v) => v.into_iter().collect(),
        Resume::Start { entry, host, args } => {
            let mut mv = MultiValue::with_capacity(args.len() + 2);
            mv.push_back(Value::Integer(entry as i64));
            mv.push_back(Value::Integer(host as i64));
            mv.extend(Payload::to_lua_many(lua, &args)?);
            mv
        }
    })
}

/// Applies SPEC §2.3's table of endings to a main function's return values.
/// The value is copied under the process's payload limits (`depth`, `bytes`).
pub fn classify(vals: &MultiValue, depth: usize, bytes: usize) -> Exit {
    if let Some(Value::String(e)) = vals.get(1) {
        return Exit::Error(e.to_string_lossy());
    }
    let v = vals.front().cloned().unwrap_or(Value::Nil);
    match Payload::copy_limited([&v], depth, bytes) {
        Ok(mut p) => Exit::Normal(p.pop().unwrap_or(Payload::Nil)),
        Err(e) => Exit::Error(e.to_string()),
    }
}

/// Splits a Lua error into its message and traceback.
pub fn split_error(e: &mlua::Error) -> (String, Option<String>) {
    let text = match e {
        mlua::Error::RuntimeError(s) => s.clone(),
        mlua::Error::MemoryError(s) => format!("not enough memory: {s}"),
        mlua::Error::CallbackError { traceback, cause } => {
            return (cause.to_string(), Some(traceback.clone()));
        }
        other => other.to_string(),
    };
    match text.find("\nstack traceback:") {
        Some(i) => (text[..i].to_string(), Some(text[i + 1..].to_string())),
        None => (text, None),
    }
}
