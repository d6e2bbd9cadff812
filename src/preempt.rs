//! Fuel per slice: how many instructions and how much heap one resume may use, and the
//! count hook that enforces it (preempting where the process can yield, ending it where it
//! cannot and keeps running).

use crate::ffi;
use crate::watchdog::{self, Registration};
use mlua::{HookTriggers, Lua, VmState};
use std::cell::{Cell, OnceCell};
use std::rc::Rc;

/// Why a process over its instruction limit ends.
pub const INSTRUCTION_LIMIT: &str = "instruction limit exceeded";
/// Why a process that runs too long where it cannot yield ends.
pub const STUCK_IN_C: &str = "process ran too long inside a call that cannot yield \
     (Lua called from a C function, e.g. a table.sort comparator)";

/// Instructions between two preemption checks.
pub const HOOK_EVERY_INSTRUCTIONS: u32 = 10_000;
/// Instructions a process may run past its slice in a simulation (which has no watchdog)
/// before it is ended: it got there only where it cannot yield, or in coroutines made
/// there. About 16 ms of hooked VM time on this machine (release build), so such a slice
/// stays under 50 ms; a real-clock run ends it by time instead ([`watchdog::OVERDUE_TICKS`]).
pub const STUCK_INSTRUCTIONS_MAX: u64 = 2_000_000;
/// Under the watchdog, a slice running past its time is ended after
/// [`watchdog::OVERDUE_TICKS`] only once it has also run this many instructions since: a
/// busy loop does so in a few milliseconds, while a thread the OS did not run (a loaded
/// machine) has run none. Strictly more, so that a host's instruction limit of this size
/// is reported as that limit.
pub const STUCK_WATCHED_INSTRUCTIONS: u64 = 2_000_000;
/// What a preemption that could not reach the scheduler costs, in instructions: the hook
/// yield and the prelude's resume around it (a coroutine made where the process cannot
/// yield is preempted every [`COROUTINE_HOOK_INSTRUCTIONS`] and resumed at once).
pub const FAILED_PREEMPTION_INSTRUCTIONS: u64 = 1_000;
/// Instructions between hook calls in coroutines a script creates: short-lived coroutines
/// restart Lua's per-coroutine count, so theirs is kept small to leave little uncounted.
pub const COROUTINE_HOOK_INSTRUCTIONS: i32 = 1_000;

/// State the preemption hook shares with the scheduler.
#[derive(Debug)]
pub struct Fuel {
    /// Instructions the running process may still run (its instruction limit), set by the
    /// scheduler before each resume and read back after.
    pub budget: Cell<u64>,
    /// Instructions run since the last preemption (reset at every resume).
    pub progress: Cell<u64>,
    /// Instructions between two preemptions.
    pub slice: Cell<u64>,
    /// Set when the running process must end (instruction limit, stuck in C); the
    /// scheduler ends it after the resume returns.
    pub doomed: Cell<Option<&'static str>>,
    /// Heap size the running slice's growth is measured from.
    pub mem_base: Cell<usize>,
    /// Heap growth the running slice may still make.
    pub mem_allowance: Cell<usize>,
    /// Heap of the whole runtime.
    pub mem_ceiling: Cell<usize>,
    /// Instructions run in a row where the process could not yield (Lua called from C
    /// without a continuation); reset at every resume.
    pub stuck: Cell<u64>,
    /// The watchdog registration of a real-clock run (unset: preemption by count alone).
    pub watch: OnceCell<Registration>,
    /// The heap limit last given to Lua (0: none yet), so a resume sets it only when it
    /// changes.
    pub heap_cap: Cell<usize>,
    /// The watchdog tick ([`watchdog::ticks`]) when the process last began running where
    /// it cannot yield, and the coroutine it did so in.
    pub stuck_since: Cell<u64>,
    /// The process coroutine running without a hook in this slice (null: none).
    pub armable: Cell<*mut mlua::ffi::lua_State>,
    /// The coroutine [`preempt_soon`] gave a one-instruction hook (null: none), and the
    /// hook interval it had before (0: no hook).
    pub soon: Cell<(*mut mlua::ffi::lua_State, i32)>,
    /// How far past its cap (its soft cap, [`Fuel::heap_cap`]) the running slice may grow
    /// before the allocator refuses (0: no slice runs, every cap is hard; see `softcap`).
    pub headroom: Cell<usize>,
    /// Set when an allocation of the running slice crossed its soft cap and was let
    /// through: the slice yields where it can, and the scheduler collects before the
    /// process runs again.
    pub over: Cell<bool>,
    /// Set for a slice after whose collection the process was still over its limit: its
    /// next allocation over the cap fails with Lua's memory error (cleared when it does).
    pub refuse: Cell<bool>,
}

impl Default for Fuel {
    fn default() -> Self {
        Fuel {
            budget: Cell::new(u64::MAX),
            progress: Cell::new(0),
            slice: Cell::new(u64::from(HOOK_EVERY_INSTRUCTIONS)),
            doomed: Cell::new(None),
            mem_base: Cell::new(0),
            mem_allowance: Cell::new(usize::MAX),
            mem_ceiling: Cell::new(usize::MAX),
            stuck: Cell::new(0),
            heap_cap: Cell::new(0),
            stuck_since: Cell::new(0),
            watch: OnceCell::new(),
            armable: Cell::new(std::ptr::null_mut()),
            soon: Cell::new((std::ptr::null_mut(), 0)),
            headroom: Cell::new(0),
            over: Cell::new(false),
            refuse: Cell::new(false),
        }
    }
}

impl Fuel {
    /// Limits Lua's heap to `cap` bytes, unless that is the limit already.
    #[inline]
    pub fn cap_heap(&self, lua: &Lua, cap: usize) {
        if self.heap_cap.get() != cap {
            self.heap_cap.set(cap);
            crate::ffi::heap::set_limit(lua, cap);
        }
    }

    /// [`Fuel::cap_heap`] for the scheduler, which holds `heap` (of `lua`): the limit is
    /// written in place where it can be (`ffi::heap`).
    #[inline]
    pub fn cap_heap_at(&self, lua: &Lua, heap: &ffi::heap::Heap<'_>, cap: usize) {
        if self.heap_cap.get() != cap {
            self.heap_cap.set(cap);
            if !heap.set_limit(cap) {
                let _ = lua.set_memory_limit(cap);
            }
        }
    }

    /// Fills the tank for one resume: `budget` instructions, `allowance` bytes of growth
    /// from a heap of `base` bytes, under the runtime's `ceiling`.
    pub fn refill(&self, budget: u64, base: usize, allowance: usize, ceiling: usize) {
        self.stuck.set(0);
        self.progress.set(0);
        self.budget.set(budget);
        self.mem_base.set(base);
        self.mem_allowance.set(allowance);
        self.mem_ceiling.set(ceiling);
    }
}

/// Collector work a script asks for (`collectgarbage` steps): the growth so far stays
/// charged to the slice, and what the work frees (much of it other processes' garbage)
/// does not widen what the rest of the slice may allocate.
///
/// # Errors
/// Only errors Lua's collector reports.
pub fn collect_in_slice<T>(
    lua: &Lua,
    fuel: &Fuel,
    work: impl FnOnce() -> mlua::Result<T>,
) -> mlua::Result<T> {
    let pre = crate::ffi::heap::used(lua);
    let grown = pre.saturating_sub(fuel.mem_base.get());
    let done = work()?;
    let post = crate::ffi::heap::used(lua);
    let left = fuel.mem_allowance.get().saturating_sub(grown);
    // The growth up to here is kept in the base, so the slice's charge still includes it.
    fuel.mem_base.set(post.saturating_sub(grown.min(post)));
    fuel.mem_allowance.set(left.saturating_add(grown));
    let cap = post.saturating_add(left).min(fuel.mem_ceiling.get());
    if cap != usize::MAX {
        fuel.cap_heap(lua, cap);
    }
    Ok(done)
}

/// Makes a coroutine a script creates check its fuel more often (see
/// [`COROUTINE_HOOK_INSTRUCTIONS`]).
/// Under the watchdog the creating process may run without a hook; the coroutine gets
/// one all the same, since the watchdog only arms process coroutines.
pub fn tune_coroutine(co: &mlua::Thread) {
    ffi::protect::reset(co.state());
    ffi::set_count_hook(co.state(), COROUTINE_HOOK_INSTRUCTIONS);
}

/// Prepares coroutine `co` for a slice with `budget` instructions left. Under the
/// watchdog, a process without an instruction limit runs without any hook (the watchdog
/// arms one when the slice overruns); one with a limit keeps its count hook.
#[inline]
pub fn begin_slice(fuel: &Fuel, co: *mut mlua::ffi::lua_State, budget: u64) {
    let Some(w) = fuel.watch.get() else {
        return;
    };
    if budget == u64::MAX {
        if ffi::has_hook(co) {
            ffi::clear_hook(co);
        }
        fuel.armable.set(co);
        ffi::set_armable(co);
    } else if !ffi::has_hook(co) {
        let every = i32::try_from(fuel.slice.get()).unwrap_or(i32::MAX);
        ffi::set_count_hook(co, every);
    }
    w.slot().begin();
}

/// Ends the slice [`begin_slice`] started: the watchdog no longer arms its coroutine.
#[inline]
pub fn end_slice(fuel: &Fuel) {
    fuel.soon.set((std::ptr::null_mut(), 0));
    if let Some(w) = fuel.watch.get() {
        ffi::set_armable(std::ptr::null_mut());
        fuel.armable.set(std::ptr::null_mut());
        w.slot().end();
    }
}

/// Preempts by watchdog from now on (real-clock runs): registers the runtime and makes
/// mlua recognise hook yields by the suspended frame alone, since process coroutines then
/// may have no hook while suspended by one. Without the signal handler, keeps counting.
///
/// # Errors
/// Lua errors from the one-off coroutine that sets mlua's mode.
pub fn watch(lua: &Lua, fuel: &Fuel) -> mlua::Result<()> {
    if !ffi::remember_global_hook(lua.state()) {
        return Ok(());
    }
    let Some(reg) = Registration::new() else {
        return Ok(());
    };
    // A coroutine suspended by a hook and then stripped of it: mlua notes that hooks can
    // be removed while yielded and from then on looks at the suspended frame.
    let f = lua
        .load("local a = 1 local b = a + 1 return b")
        .into_function()?;
    let co = lua.create_thread(f)?;
    co.set_hook(HookTriggers::new().every_nth_instruction(1), |_, _| {
        Ok(VmState::Yield)
    })?;
    co.resume::<()>(())?;
    co.remove_hook();
    let _ = fuel.watch.set(reg);
    Ok(())
}

/// Installs the count hook: every `slice` instructions it charges the running process,
/// preempts it where it can yield, and dooms it when over its limit or stuck in C.
///
/// # Errors
/// Only if mlua refuses the hook.
pub fn install(lua: &Lua, fuel: Rc<Fuel>, slice: u32) -> mlua::Result<()> {
    let triggers = HookTriggers::new().every_nth_instruction(slice.max(1));
    fuel.slice.set(u64::from(slice.max(1)));
    lua.set_global_hook(triggers, move |lua, _| on_count(&fuel, lua.state()))?;
    // Kept for every run: `tune_coroutine` gives coroutines this hook in simulations too.
    ffi::remember_global_hook(lua.state());
    Ok(())
}

fn on_count(fuel: &Fuel, state: *mut mlua::ffi::lua_State) -> mlua::Result<VmState> {
    let yieldable = ffi::is_yieldable(state);
    let (soon, interval) = fuel.soon.get();
    if state == soon {
        // The one-instruction hook of `preempt_soon`: the C call is over, the slice is due.
        fuel.soon.set((std::ptr::null_mut(), 0));
        if interval > 0 {
            ffi::set_count_hook(state, interval);
        } else {
            ffi::clear_hook(state);
        }
        if yieldable && fuel.doomed.get().is_none() {
            return Ok(VmState::Yield);
        }
    }
    if let Some(reason) = fuel.doomed.get() {
        return doom(fuel, reason, yieldable);
    }
    if yieldable && state == fuel.armable.get() {
        // Armed by the watchdog on a process running without a hook: preempt it, and let
        // it run hookless again.
        ffi::clear_hook(state);
        return Ok(VmState::Yield);
    }
    // Instructions since the last call: this coroutine's hook interval.
    let ran = ffi::hook_interval(state);
    let left = fuel.budget.get();
    if left < ran {
        return doom(fuel, INSTRUCTION_LIMIT, yieldable);
    }
    fuel.budget.set(left - ran);
    match charge_slice(fuel, ran, yieldable) {
        // Over its soft memory cap: stop where it can, so the scheduler collects.
        Charged::Run if yieldable && fuel.over.get() => Ok(VmState::Yield),
        Charged::Run => Ok(VmState::Continue),
        Charged::Yield => Ok(VmState::Yield),
        Charged::Doom(reason) => doom(fuel, reason, yieldable),
    }
}

/// Charges `steps` of C work (the pattern matcher's) done where coroutine `state` can yield
/// once the C call returns: the slice's progress grows, and once it is due `state` stops
/// at its first instruction after the call ([`preempt_soon`]). Nothing counts as overrun:
/// the call itself is bounded by its caller.
pub fn charge_c_work(fuel: &Fuel, state: *mut mlua::ffi::lua_State, steps: u64) {
    let progress = fuel.progress.get().saturating_add(steps);
    fuel.progress.set(progress);
    let due =
        progress >= fuel.slice.get() || fuel.watch.get().is_some_and(|w| w.slot().preempt_due());
    if due {
        preempt_soon(fuel, state);
    }
}

/// Makes coroutine `state`, inside a C call of a slice that is due, run the count hook at
/// its next instruction (the first after the call), which yields there; [`on_count`] then
/// gives it back the hook interval it had. A coroutine that never runs another instruction
/// in this slice (it failed, or the call raised past it) is forgotten at [`end_slice`].
/// Armed again at every charge, since the watchdog's signal may re-arm the coroutine with
/// its own longer count meanwhile.
pub fn preempt_soon(fuel: &Fuel, state: *mut mlua::ffi::lua_State) {
    if fuel.soon.get().0 != state {
        let interval = if ffi::has_hook(state) {
            i32::try_from(ffi::hook_interval(state)).unwrap_or(i32::MAX)
        } else {
            0
        };
        fuel.soon.set((state, interval));
    }
    ffi::set_count_hook(state, 1);
}

/// What running on after [`charge_slice`] may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charged {
    /// Go on: the slice has time left, or the code cannot yield here.
    Run,
    /// Yield: the slice has had its time.
    Yield,
    /// End the process, for this reason.
    Doom(&'static str),
}

/// Charges `ran` instructions (or instruction-equivalents of a C call) to the running
/// slice. Once the slice is due (its instructions used up, or the watchdog's tick passed),
/// every further instruction counts as overrun until the slice ends, wherever it runs: in
/// Lua that cannot yield, or in coroutines made there whose preemptions cannot reach the
/// scheduler (a fresh coroutine is yieldable, so "can this coroutine yield" proves
/// nothing). Only the end of the slice (a new [`Fuel::refill`]) clears it. A process that
/// overruns by [`STUCK_INSTRUCTIONS_MAX`] (simulation), or under the watchdog for
/// [`watchdog::OVERDUE_TICKS`] and by [`STUCK_WATCHED_INSTRUCTIONS`], is ended.
pub fn charge_slice(fuel: &Fuel, ran: u64, yieldable: bool) -> Charged {
    let progress = fuel.progress.get().saturating_add(ran);
    fuel.progress.set(progress);
    let watch = fuel.watch.get().map(Registration::slot);
    if progress < fuel.slice.get() && !watch.is_some_and(|w| w.preempt_due()) {
        return Charged::Run;
    }
    let before = fuel.stuck.get();
    if before == 0 {
        fuel.stuck_since.set(watchdog::ticks());
    }
    let over = before.saturating_add(ran);
    fuel.stuck.set(over);
    // Where it can yield, this charge gets its chance to end the slice: only what ran
    // past the slice before it (a preemption that failed, Lua that could not yield) counts.
    let over = if yieldable { before } else { over };
    let stuck = match watch {
        Some(_) => {
            over > STUCK_WATCHED_INSTRUCTIONS
                && watchdog::ticks().saturating_sub(fuel.stuck_since.get())
                    >= watchdog::OVERDUE_TICKS
        }
        None => over > STUCK_INSTRUCTIONS_MAX,
    };
    if stuck {
        Charged::Doom(STUCK_IN_C)
    } else if yieldable {
        // Only a preemption that fails to end the slice pays this.
        fuel.stuck.set(
            fuel.stuck
                .get()
                .saturating_add(FAILED_PREEMPTION_INSTRUCTIONS),
        );
        Charged::Yield
    } else {
        Charged::Run
    }
}

/// A doomed process yields to the scheduler, which ends it; where it cannot yield, the
/// hook raises (and every catch point re-raises the error).
fn doom(fuel: &Fuel, reason: &'static str, yieldable: bool) -> mlua::Result<VmState> {
    fuel.doomed.set(Some(reason));
    if yieldable {
        Ok(VmState::Yield)
    } else {
        Err(mlua::Error::runtime(reason))
    }
}
