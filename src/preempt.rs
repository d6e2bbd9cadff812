//! Fuel per slice: how many instructions and how much heap one resume may use, and the
//! count hook that enforces it (preempting where the process can yield, ending it where it
//! cannot and keeps running).

use crate::ffi;
use mlua::{HookTriggers, Lua, VmState};
use std::cell::Cell;
use std::rc::Rc;

/// Why a process over its instruction limit ends.
pub const INSTRUCTION_LIMIT: &str = "instruction limit exceeded";
/// Why a process that runs too long where it cannot yield ends.
pub const STUCK_IN_C: &str = "process ran too long inside a call that cannot yield \
     (Lua called from a C function, e.g. a table.sort comparator)";

/// Instructions between two preemption checks.
pub const HOOK_EVERY_INSTRUCTIONS: u32 = 10_000;
/// Instructions a process may run where it cannot yield before it is ended.
pub const STUCK_INSTRUCTIONS_MAX: u64 = 100_000_000;
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
        }
    }
}

impl Fuel {
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

/// `collectgarbage("collect" | "step")` from a script: the growth so far stays charged to
/// the slice, and what the collection frees (much of it other processes' garbage) does not
/// widen what the rest of the slice may allocate.
///
/// # Errors
/// Only errors Lua's collector reports.
pub fn collect_in_slice(lua: &Lua, fuel: &Fuel, full: bool) -> mlua::Result<bool> {
    let pre = lua.used_memory();
    let grown = pre.saturating_sub(fuel.mem_base.get());
    let done = if full {
        lua.gc_collect()?;
        true
    } else {
        lua.gc_step()?
    };
    let post = lua.used_memory();
    let left = fuel.mem_allowance.get().saturating_sub(grown);
    // The growth up to here is kept in the base, so the slice's charge still includes it.
    fuel.mem_base.set(post.saturating_sub(grown.min(post)));
    fuel.mem_allowance.set(left.saturating_add(grown));
    let cap = post.saturating_add(left).min(fuel.mem_ceiling.get());
    if cap != usize::MAX {
        let _ = lua.set_memory_limit(cap);
    }
    Ok(done)
}

/// Makes a coroutine a script creates check its fuel more often (see
/// [`COROUTINE_HOOK_INSTRUCTIONS`]).
pub fn tune_coroutine(co: &mlua::Thread) {
    ffi::set_hook_interval(co.state(), COROUTINE_HOOK_INSTRUCTIONS);
}

/// Installs the count hook: every `slice` instructions it charges the running process,
/// preempts it where it can yield, and dooms it when over its limit or stuck in C.
///
/// # Errors
/// Only if mlua refuses the hook.
pub fn install(lua: &Lua, fuel: Rc<Fuel>, slice: u32) -> mlua::Result<()> {
    let triggers = HookTriggers::new().every_nth_instruction(slice.max(1));
    fuel.slice.set(u64::from(slice.max(1)));
    lua.set_global_hook(triggers, move |lua, _| on_count(&fuel, lua.state()))
}

fn on_count(fuel: &Fuel, state: *mut mlua::ffi::lua_State) -> mlua::Result<VmState> {
    let yieldable = ffi::is_yieldable(state);
    if let Some(reason) = fuel.doomed.get() {
        return doom(fuel, reason, yieldable);
    }
    // Instructions since the last call: this coroutine's hook interval.
    let ran = ffi::hook_interval(state);
    let left = fuel.budget.get();
    if left < ran {
        return doom(fuel, INSTRUCTION_LIMIT, yieldable);
    }
    fuel.budget.set(left - ran);
    let progress = fuel.progress.get() + ran;
    if yieldable {
        fuel.stuck.set(0);
        if progress >= fuel.slice.get() {
            fuel.progress.set(0);
            return Ok(VmState::Yield);
        }
        fuel.progress.set(progress);
        return Ok(VmState::Continue);
    }
    fuel.progress.set(progress);
    let stuck = fuel.stuck.get() + ran;
    fuel.stuck.set(stuck);
    if stuck > STUCK_INSTRUCTIONS_MAX {
        return doom(fuel, STUCK_IN_C, yieldable);
    }
    Ok(VmState::Continue)
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
