//! The scheduler loop of a [`Runtime`]: taking the next task, resuming it with what it
//! waits for, interpreting how it stopped (blocked, preempted, finished, failed), and the
//! per-slice limits (memory, instructions) around each resume. Only this module resumes
//! coroutines; bindings record what they need and yield.

use super::{Runtime, collector, lua};
use crate::core::{Core, Next, Resume, Stopped, Turn};
use crate::error::{Error, Result};
use crate::ffi;
use crate::ffi::resume::Push;
use crate::ffi::resume::Resumed as Done;
use crate::ids::{ProcId, TaskId};
use crate::lua::object::{outcome_values, plain_pushes};
use crate::message::Exit;
use crate::payload::Payload;
use crate::preempt;
use crate::softcap;
use mlua::{MultiValue, Thread, Value};
use std::cell::RefMut;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

/// Virtual time a resume that ends by blocking takes.
const VIRTUAL_RESUME_NS: u64 = 1_000;
/// Virtual time a resume that runs until preempted (or returns) takes.
const VIRTUAL_SLICE_NS: u64 = 10_000;

/// How one resume ended, or a panic in a binding.
type Resumed = std::thread::Result<ffi::resume::Resumed>;

impl Runtime {
    /// With nothing runnable, waits for (or jumps to) the next timer. Returns false when
    /// nothing can ever become runnable.
    pub(super) fn idle(&mut self, bound: &super::bound::Bound) -> Result<bool> {
        let mut core = self.core();
        if core.has_runnable() {
            return Ok(true);
        }
        if core.tracer().is_replaying()
            && let Some(t) = core.tracer().next_turn_time()
        {
            core.advance_clock_to(t);
            return Ok(true);
        }
        let Some(deadline) = core.next_deadline() else {
            return Ok(false);
        };
        if self.manual_clock {
            // Only the host moves a manual clock.
            return Ok(false);
        }
        if core.clock().is_virtual() {
            // Never past a virtual limit: the run then ends exactly at it.
            core.advance_clock_to(bound.cap(deadline));
            return Ok(true);
        }
        let mut wait = Duration::from_nanos(deadline.saturating_sub(core.clock().now()));
        drop(core);
        if let Some(u) = bound.wall_until() {
            wait = wait.min(u.saturating_duration_since(Instant::now()));
        }
        if self.between_turns.is_some() {
            wait = wait.min(super::BETWEEN_TURNS_POLL);
        }
        loop {
            match self.poll.poll(&mut self.events, Some(wait)) {
                Ok(()) => return Ok(true),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::Poll(e.to_string())),
            }
        }
    }

    /// Resumes the next runnable task. Returns false when the turn should end: nothing was
    /// runnable, the root ended, a timer is due, or a replay's recorded turn ended.
    pub(super) fn step(&mut self) -> Result<bool> {
        let mut core = self.core();
        let mut turn = match core.next_turn() {
            Next::Run(turn) => turn,
            Next::Empty => {
                // Taking the next task may have ended processes marked for killing.
                let crashed = core.has_crashes();
                drop(core);
                self.crash_pending |= crashed;
                return Ok(false);
            }
            Next::Diverged(tid) => {
                drop(core);
                self.note_divergence(tid);
                let crashed = self.core().has_crashes();
                self.crash_pending |= crashed;
                return Ok(false);
            }
        };
        // A process that crossed its soft memory cap (`softcap`) waits for a collection.
        if self.collector.must_collect(turn.proc) || self.collector.waiting() != 0 {
            drop(core);
            if !self.reconciled(&mut turn) {
                return Ok(self.defer(turn));
            }
            core = self.core();
        }
        // Filled in place: the values are not moved out of a return value into the resume.
        let mut args = self.resume_vals.take();
        let heap = ffi::heap::Heap::of(&turn.thread);
        let prepared = self.prepare(core, &turn, &heap, &mut args);
        let slice = &turn.slice;
        let cap = self
            .fuel
            .mem_base
            .get()
            .saturating_add(slice.allowance)
            .min(slice.ceiling);
        let (ceiling, capped) = (slice.ceiling, cap < slice.ceiling);
        preempt::begin_slice(&self.fuel, turn.thread.state(), slice.budget);
        let res: Resumed = match prepared {
            Ok(()) => catch_unwind(AssertUnwindSafe(|| {
                ffi::resume::resume(&self.lua, &turn.thread, &args)
            })),
            Err(e) => Ok(Done::Failed(e)),
        };
        args.clear();
        self.resume_vals.set(args);
        preempt::end_slice(&self.fuel);
        self.fuel.headroom.set(0);
        ffi::tables::set_bound(0);
        self.fuel.cap_heap_at(&self.lua, &heap, ceiling);
        let (crossed, refusal_left) = (self.fuel.over.take(), self.fuel.refuse.take());
        self.collector.after_slice(turn.proc, crossed, refusal_left);
        let mut core = self.core();
        self.account(&mut core, turn.proc, &heap, &res);
        self.conclude(&mut core, turn.task, turn.proc, turn.thread, res, capped);
        let (crashed, go_on) = (core.has_crashes(), go_on(&mut core));
        drop(core);
        self.crash_pending |= crashed;
        Ok(go_on)
    }

    /// Sets up the slice of `turn` (fuel, memory cap) and puts its resume values in `args`,
    /// in the borrow of the core that took the turn.
    fn prepare<'a>(
        &'a self,
        mut core: RefMut<'a, Core>,
        turn: &Turn,
        heap: &ffi::heap::Heap<'_>,
        args: &mut Args,
    ) -> mlua::Result<()> {
        let slice = &turn.slice;
        let lua = &self.lua;
        let base = used_memory(lua, heap);
        let cap = base.saturating_add(slice.allowance).min(slice.ceiling);
        self.fuel
            .refill(slice.budget, base, slice.allowance, slice.ceiling);
        self.fuel.cap_heap_at(lua, heap, cap);
        // The cap is soft: `softcap`.
        self.fuel.headroom.set(softcap::headroom(slice.limit));
        self.fuel.refuse.set(self.collector.refuses(turn.proc));
        ffi::tables::set_bound(slice.tables);
        let resume = core.take_resume(turn.task);
        resume_args(lua, &mut core, resume, args)
    }

    /// Charges the resume's heap growth and instructions to its process, and moves a
    /// virtual clock by the work done.
    fn account(&self, core: &mut Core, proc: ProcId, heap: &ffi::heap::Heap<'_>, res: &Resumed) {
        let after = used_memory(&self.lua, heap);
        core.charge(
            proc,
            self.fuel.mem_base.get(),
            after,
            self.fuel.budget.get(),
        );
        self.fuel.budget.set(u64::MAX);
        spend_virtual(core, matches!(res, Ok(Done::Yielded { block: true, .. })));
    }

    /// Acts on how the resume stopped: park or requeue a suspended task, end a finished or
    /// failed process. `capped` says the process's own limit (not the runtime's ceiling)
    /// bounded its heap.
    fn conclude(
        &self,
        core: &mut Core,
        tid: TaskId,
        proc: ProcId,
        thread: Thread,
        res: Resumed,
        capped: bool,
    ) {
        if !core.is_alive(proc) {
            return;
        }
        if let Some(reason) = self.fuel.doomed.take() {
            core.restore_thread(tid, thread);
            core.end_process(proc, Exit::Error(reason.to_string()), None);
            return;
        }
        match res {
            Ok(Done::Yielded { block, in_c }) => {
                let how = if block {
                    Stopped::Blocked
                } else {
                    Stopped::Yielded
                };
                self.trace_stop(core, proc, &thread, how);
                core.suspended(tid, thread, how, in_c);
            }
            Ok(Done::Finished(vals)) => {
                if core.task_returned(tid, &thread) {
                    let (depth, bytes) = core.payload_limits(Some(proc));
                    let exit = classify(&vals, depth, bytes);
                    lua::recycle(&self.lua, core, thread);
                    core.end_process(proc, exit, None);
                }
            }
            Ok(Done::Failed(e)) => {
                let (msg, tb) = failure(
                    &e,
                    capped,
                    core.limits_of(proc).map(|l| l.memory_bytes),
                    core.heap_share(),
                );
                // The dead coroutine keeps its frames: shown in stock's shape (issue 15).
                let tb = tb.map(|_| lua::thread_traceback(&self.lua, &thread));
                core.restore_thread(tid, thread);
                core.end_process(proc, Exit::Error(msg), tb);
            }
            Err(panic) => {
                let what = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panic".into());
                log::error!("binding panicked: {what}");
                core.end_process(proc, Exit::Error(format!("internal error: {what}")), None);
            }
        }
    }

    /// Traces a suspension (and the stack of a replay that diverged here), when anything
    /// is recorded: untraced runs pay one check.
    #[inline]
    fn trace_stop(
        &self,
        core: &mut crate::core::Core,
        proc: crate::ids::ProcId,
        thread: &Thread,
        how: Stopped,
    ) {
        if core.tracer().is_on()
            || core.tracer().diverged.is_some()
            || log::log_enabled!(log::Level::Debug)
        {
            self.trace_stop_now(core, proc, thread, how);
        }
    }

    #[cold]
    fn trace_stop_now(
        &self,
        core: &mut crate::core::Core,
        proc: crate::ids::ProcId,
        thread: &Thread,
        how: Stopped,
    ) {
        let ev = if how == Stopped::Blocked {
            "park"
        } else {
            "yield"
        };
        core.trace_with(ev, |c| vec![("pid", c.pid_string_of(proc).into())]);
        if let Some(d) = &mut core.tracer().diverged {
            d.note_stack(lua::thread_traceback(&self.lua, thread));
        }
        if log::log_enabled!(log::Level::Debug) {
            let what = if how == Stopped::Blocked {
                "parked"
            } else {
                "yielded"
            };
            log::debug!("{} {what}", core.pid_string_of(proc));
        }
    }

    /// When the process about to run crossed its soft memory cap (`softcap`), collects
    /// garbage and scales every process's charge down so that together they do not exceed
    /// the live heap: memory a process allocated but someone else's slice freed stops
    /// counting against it. The collection runs in bounded steps over as many of the
    /// process's turns as it needs (`runtime/collector.rs`): false while it has not ended
    /// (the process waits). The process goes on at the first cycle end (of the cycle under
    /// way) that leaves it under its limit; still over, it waits until a whole cycle has
    /// ended, and then its next crossing fails.
    fn reconciled(&mut self, turn: &mut Turn) -> bool {
        if !self.collector.must_collect(turn.proc) {
            // Reconciled meanwhile by another's collection: a later request starts afresh.
            self.collector.forget(turn.proc);
            return true;
        }
        let done = self
            .collector
            .advance(&self.lua, turn.proc, collector::STEPS_PER_TURN);
        let early = !done && self.collector.cycle_ended();
        if !done && !early {
            return false;
        }
        let live = crate::ffi::heap::used(&self.lua);
        // A borrow of the core field alone: the collector stays free.
        let mut core = self
            .core
            .try_borrow_mut()
            .expect("the core is only borrowed briefly, never across a resume");
        self.collector.forget_dead(|p| core.is_alive(p));
        let heap = core.reconcile_heaps(turn.proc, live);
        // After a crossing of the soft cap: stock's emergency collection would have failed
        // the allocation if the process is still over its limit (or the runtime its ceiling).
        let still_over = softcap::still_over(heap, turn.slice.limit) || live >= turn.slice.ceiling;
        if early {
            if still_over {
                // The cycle under way may have kept its garbage: wait for a whole one.
                return false;
            }
            self.collector.forget(turn.proc);
        }
        turn.slice.allowance = turn.slice.limit.saturating_sub(heap);
        self.collector.collected(turn.proc, still_over);
        true
    }

    /// Spends `turn` on the collection its process waits for: it goes back to the queue
    /// unresumed, traced as a preemption. Returns whether the turn goes on.
    #[cold]
    fn defer(&mut self, turn: Turn) -> bool {
        let mut core = self.core();
        self.trace_stop(&mut core, turn.proc, &turn.thread, Stopped::Yielded);
        spend_virtual(&mut core, false);
        core.defer_turn(turn);
        let (crashed, go_on) = (core.has_crashes(), go_on(&mut core));
        drop(core);
        self.crash_pending |= crashed;
        go_on
    }

    /// Attaches the Lua stack of task `tid` to a divergence found before it ran.
    fn note_divergence(&mut self, tid: TaskId) {
        let (thread, proc) = {
            let c = self.core();
            (c.thread_of(tid), c.proc_of_task(tid))
        };
        if let Some(p) = proc {
            self.core().note_diverging(p);
        }
        if let Some(th) = thread {
            let tb = lua::thread_traceback(&self.lua, &th);
            if let Some(d) = &mut self.core().tracer().diverged {
                d.note_stack(tb);
            }
        }
    }
}

/// Bytes `lua` uses, read in place where it can be (`ffi::heap`).
#[inline]
fn used_memory(lua: &mlua::Lua, heap: &ffi::heap::Heap<'_>) -> usize {
    heap.used().unwrap_or_else(|| lua.used_memory())
}

/// Whether the turn goes on after a step: the root runs, and no timer (or replayed turn
/// end) is due.
#[inline]
fn go_on(core: &mut Core) -> bool {
    core.root_exit().is_none()
        && if core.tracer().is_replaying() {
            core.tracer().next_turn_time().is_none()
        } else {
            !core.timer_due()
        }
}

/// Moves a virtual clock by the work of one resume (`blocked`: one that ended by
/// blocking), so timers still fire beside a busy process.
#[inline]
fn spend_virtual(core: &mut Core, blocked: bool) {
    if core.clock().is_virtual() && core.virtual_work() {
        let cost = if blocked {
            VIRTUAL_RESUME_NS
        } else {
            VIRTUAL_SLICE_NS
        };
        let t = core.clock().now() + cost;
        core.advance_clock_to(t);
    }
}

/// What a task is resumed with (the runtime's `resume_vals`, reused).
type Args = Vec<Push>;

/// Puts in `vals` the values a task is resumed with: the entry and its arguments on the
/// first run, the outcome it blocked for, or nothing. Built inside the task's slice, so its
/// own memory limit pays for them.
fn resume_args(
    lua: &mlua::Lua,
    core: &mut Core,
    (resume, in_c): (Resume, bool),
    vals: &mut Args,
) -> mlua::Result<()> {
    match resume {
        Resume::Nothing => {}
        Resume::Outcome(o) if o.case.is_none() => {
            let (a, b) = plain_pushes(lua, core, o.done, in_c)?;
            vals.push(a);
            if let Some(b) = b {
                vals.push(b);
            }
        }
        Resume::Outcome(o) => {
            vals.extend(outcome_values(lua, core, o)?.into_iter().map(Push::from))
        }
        Resume::Start { entry, host, args } => {
            let (chunk, method) = core
                .entries_mut()
                .start(lua, entry)
                .map_err(|e| mlua::Error::runtime(e.to_string()))?;
            vals.push(Push::Value(Value::Function(chunk)));
            vals.push(method.map_or(Push::Nil, |m| Push::Value(Value::String(m))));
            vals.push(Push::Int(i64::from(entry)));
            vals.push(Push::Int(i64::from(host)));
            // Plain arguments (none, numbers, booleans, nil) go as they are: the build of a
            // graph is a protected call (~650 instructions for a spawn without arguments).
            if let Some(plain) = args.iter().map(Payload::plain).collect::<Option<Vec<_>>>() {
                vals.extend(plain.into_iter().map(Push::from));
            } else {
                vals.extend(
                    Payload::to_lua_many(lua, &args)?
                        .into_iter()
                        .map(Push::from),
                );
            }
        }
    }
    Ok(())
}

/// The exit message and traceback of a resume that raised: memory errors name the limit
/// that was reached (the process's own when `capped`, else the runtime's ceiling).
fn failure(
    e: &mlua::Error,
    capped: bool,
    limit: Option<usize>,
    ceiling: usize,
) -> (String, Option<String>) {
    let (msg, tb) = split_error(e);
    if !is_memory_error(e) {
        return (msg, tb);
    }
    let msg = match limit {
        Some(limit) if capped => format!(
            "memory limit exceeded: the process may use {} of Lua heap",
            show_bytes(limit)
        ),
        _ => format!(
            "memory ceiling reached: the runtime may use {} of Lua heap",
            show_bytes(ceiling)
        ),
    };
    (msg, tb)
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
