//! Lua bindings: `install` builds the raw Rust functions, runs the prelude that wraps them
//! into the `process`, `channel`, `time` and `uuid` modules, and sets the preemption hook.

pub mod args;
pub mod calendar;
pub mod channel;
pub mod duration;
pub mod errors;
pub mod process;
pub mod time;

use mlua::{Function, HookTriggers, Lua, Table, Value, VmState};
use std::cell::Cell;
use std::io::Write;
use std::rc::Rc;

/// The prelude's source.
const PRELUDE: &str = include_str!("../../lua/prelude.lua");

/// Where `print` writes.
pub struct Output(pub Box<dyn Write>);

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Output")
    }
}

/// The random source of `uuid.v4` (splitmix64).
#[derive(Debug)]
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// A random UUID v4 string.
pub fn uuid_v4(rng: &mut Rng) -> String {
    let (a, b) = (rng.next_u64(), rng.next_u64());
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.to_be_bytes());
    bytes[8..].copy_from_slice(&b.to_be_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let h: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// State the preemption hook shares with the scheduler.
#[derive(Debug)]
pub struct HookState {
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
    /// Set when a binding has parked the running task and returned BLOCK: until the task
    /// yields, a preemption must not happen (its wake-up values would be lost).
    pub parking: Cell<bool>,
    /// Instructions run in a row where the process could not yield (Lua called from C
    /// without a continuation); reset at every resume.
    pub stuck: Cell<u64>,
}

impl Default for HookState {
    fn default() -> Self {
        HookState {
            budget: Cell::new(u64::MAX),
            progress: Cell::new(0),
            slice: Cell::new(u64::from(HOOK_EVERY_INSTRUCTIONS)),
            doomed: Cell::new(None),
            parking: Cell::new(false),
            mem_base: Cell::new(0),
            mem_allowance: Cell::new(usize::MAX),
            mem_ceiling: Cell::new(usize::MAX),
            stuck: Cell::new(0),
        }
    }
}

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

/// What the runtime keeps from the prelude.
#[derive(Debug)]
pub struct Installed {
    /// Function every main task starts in.
    pub proc_main: Function,
    /// Builds event tables.
    pub make_event: Function,
    /// `register_entry(idx, id, method, imports)`.
    pub register_entry: Function,
    /// `register_host(idx, allowed_module_names)`.
    pub register_host: Function,
    /// Modules `require` finds by name.
    pub builtin: Table,
}

/// Installs the bindings, the prelude and the preemption hook into `lua`.
///
/// # Errors
/// Only if the prelude fails to load, which would be a bug.
pub fn install(lua: &Lua, hook: Rc<HookState>, slice: u32) -> mlua::Result<Installed> {
    let raw = lua.create_table()?;
    raw.set("BLOCK", args::block())?;
    raw.set("RAISE", args::raise_mark())?;
    raw.set("PREEMPT", args::preempt())?;
    channel::open(lua, &raw)?;
    process::open(lua, &raw)?;
    time::open(lua, &raw)?;
    // Calendar time and error objects (SPEC §9).
    calendar::open(lua, &raw)?;
    errors::open(lua, &raw)?;
    open_misc(lua, &raw)?;
    let h = hook.clone();
    raw.set(
        "doomed",
        lua.create_function(move |_, ()| Ok(h.doomed.get()))?,
    )?;
    let h = hook.clone();
    raw.set(
        "gc_collect",
        lua.create_function(move |lua, full: bool| collect_in_slice(lua, &h, full))?,
    )?;
    let exports: Table = lua.load(PRELUDE).set_name("@prelude.lua").call(raw)?;
    channel::register(lua, exports.get("chan_methods")?)?;
    calendar::register(lua, exports.get("time_methods")?)?;
    install_hook(lua, hook, slice)?;
    Ok(Installed {
        proc_main: exports.get("proc_main")?,
        make_event: exports.get("make_event")?,
        register_entry: exports.get("register_entry")?,
        register_host: exports.get("register_host")?,
        builtin: exports.get("builtin")?,
    })
}

fn open_misc(lua: &Lua, raw: &Table) -> mlua::Result<()> {
    raw.set(
        "write",
        lua.create_function(|lua, s: mlua::LuaString| {
            if let Some(mut out) = lua.app_data_mut::<Output>() {
                let mut line = s.as_bytes().to_vec();
                line.push(b'\n');
                let _ = out.0.write_all(&line);
                let _ = out.0.flush();
            }
            Ok(())
        })?,
    )?;
    raw.set(
        "compile",
        lua.create_function(|lua, e: i64| {
            let found = args::core(lua)?
                .entries
                .get(e as usize)
                .and_then(|info| info.source.clone().map(|s| (info.id.clone(), s)));
            let Some((id, (text, name))) = found else {
                return args::raise(lua, format!("no Lua source for entry #{e}"));
            };
            match crate::runtime::compile_entry(lua, &id, &text, &name) {
                Ok(f) => args::ret(lua, f),
                Err(err) => args::raise(lua, err.to_string()),
            }
        })?,
    )?;
    raw.set(
        "is_task",
        lua.create_function(|lua, co: Value| match co {
            Value::Thread(t) => Ok(args::core(lua)?
                .task_threads
                .contains(&(t.to_pointer() as usize))),
            _ => Ok(false),
        })?,
    )?;
    raw.set(
        "tune_coroutine",
        lua.create_function(|_, co: Value| {
            if let Value::Thread(t) = &co {
                vm::set_hook_interval(t.state(), COROUTINE_HOOK_INSTRUCTIONS);
            }
            Ok(co)
        })?,
    )?;
    raw.set(
        "force_metatable",
        lua.create_function(|_, (t, mt): (Table, Option<Table>)| t.set_metatable(mt))?,
    )?;
    raw.set(
        "preempted",
        lua.create_function(|_, co: Value| match co {
            Value::Thread(t) => Ok(vm::is_hook_yielded(t.state())),
            _ => Ok(false),
        })?,
    )?;
    raw.set(
        "uuid_v4",
        lua.create_function(|lua, ()| {
            let mut rng = lua
                .app_data_mut::<Rng>()
                .ok_or_else(|| mlua::Error::runtime("no random source"))?;
            Ok(uuid_v4(&mut rng))
        })?,
    )?;
    raw.set(
        "unix_now",
        lua.create_function(|lua, ()| {
            Ok(args::core(lua)?.clock.wall_ns().div_euclid(1_000_000_000))
        })?,
    )?;
    raw.set(
        "virtual_seconds",
        lua.create_function(|lua, ()| {
            let c = args::core(lua)?;
            Ok(c.clock.is_virtual().then(|| c.clock.now() as f64 / 1e9))
        })?,
    )?;
    raw.set(
        "traceback",
        lua.create_function(|lua, (msg, level): (Value, Option<usize>)| match msg {
            Value::String(_) | Value::Nil => {
                let text = msg.as_string().map(|s| s.to_string_lossy());
                Ok(Value::String(
                    lua.traceback(text.as_deref(), level.unwrap_or(1))?,
                ))
            }
            other => Ok(other),
        })?,
    )?;
    Ok(())
}

/// `collectgarbage("collect" | "step")` from a script: the growth so far stays charged to
/// the slice, and what the collection frees (much of it other processes' garbage) does not
/// widen what the rest of the slice may allocate.
fn collect_in_slice(lua: &Lua, hook: &HookState, full: bool) -> mlua::Result<bool> {
    let pre = lua.used_memory();
    let grown = pre.saturating_sub(hook.mem_base.get());
    let done = if full {
        lua.gc_collect()?;
        true
    } else {
        lua.gc_step()?
    };
    let post = lua.used_memory();
    let left = hook.mem_allowance.get().saturating_sub(grown);
    // The growth up to here is kept in the base, so the slice's charge still includes it.
    hook.mem_base.set(post.saturating_sub(grown.min(post)));
    hook.mem_allowance.set(left.saturating_add(grown));
    let cap = post.saturating_add(left).min(hook.mem_ceiling.get());
    if cap != usize::MAX {
        let _ = lua.set_memory_limit(cap);
    }
    Ok(done)
}

fn install_hook(lua: &Lua, hook: Rc<HookState>, slice: u32) -> mlua::Result<()> {
    let triggers = HookTriggers::new().every_nth_instruction(slice.max(1));
    hook.slice.set(u64::from(slice.max(1)));
    lua.set_global_hook(triggers, move |lua, _| {
        let state = lua.state();
        let yieldable = vm::is_yieldable(state);
        // A doomed process yields to the scheduler, which ends it; where it cannot yield,
        // the error unwinds it (and every catch point re-raises it).
        let doom = |reason: &'static str| {
            hook.doomed.set(Some(reason));
            if yieldable {
                Ok(VmState::Yield)
            } else {
                Err(mlua::Error::runtime(reason))
            }
        };
        if let Some(reason) = hook.doomed.get() {
            return doom(reason);
        }
        // Instructions since the last call: this coroutine's hook interval.
        let ran = vm::hook_interval(state);
        let left = hook.budget.get();
        if left < ran {
            return doom(INSTRUCTION_LIMIT);
        }
        hook.budget.set(left - ran);
        let progress = hook.progress.get() + ran;
        if yieldable {
            hook.stuck.set(0);
            if progress >= hook.slice.get() && !hook.parking.get() {
                hook.progress.set(0);
                return Ok(VmState::Yield);
            }
            hook.progress.set(progress);
            return Ok(VmState::Continue);
        }
        hook.progress.set(progress);
        let stuck = hook.stuck.get() + ran;
        hook.stuck.set(stuck);
        if stuck > STUCK_INSTRUCTIONS_MAX {
            return doom(STUCK_IN_C);
        }
        Ok(VmState::Continue)
    })
}

/// The Lua stack of a suspended (or finished) coroutine, as `debug.traceback` prints it.
pub fn thread_traceback(lua: &Lua, thread: &mlua::Thread) -> String {
    vm::traceback(lua.state(), thread.state())
}

/// The questions about a coroutine that mlua's safe API cannot answer.
#[allow(unsafe_code)]
mod vm {
    use mlua::ffi;
    use std::ffi::CStr;

    /// Whether the running coroutine `state` may yield here (false inside Lua called from
    /// C without a continuation).
    pub fn is_yieldable(state: *mut ffi::lua_State) -> bool {
        // SAFETY: `state` is the coroutine mlua handed to the hook, alive for the whole hook
        // call; lua_isyieldable only reads its call-depth counter.
        unsafe { ffi::lua_isyieldable(state) != 0 }
    }

    /// The traceback of coroutine `co`, built on the stack of `main` (which must not be
    /// running Lua code of its own right now: the scheduler calls this between resumes).
    pub fn traceback(main: *mut ffi::lua_State, co: *mut ffi::lua_State) -> String {
        // SAFETY: both states belong to the one Lua instance of the caller and are alive
        // (the caller holds the coroutine's handle). luaL_traceback only reads `co`'s call
        // info and pushes one string on `main`, which has room after lua_checkstack; the
        // string is copied out before lua_settop restores `main`'s stack.
        unsafe {
            if ffi::lua_checkstack(main, 8) == 0 {
                return String::new();
            }
            let top = ffi::lua_gettop(main);
            ffi::luaL_traceback(main, co, std::ptr::null(), 0);
            let mut len = 0usize;
            let p = ffi::lua_tolstring(main, -1, &mut len);
            let text = if p.is_null() {
                String::new()
            } else {
                String::from_utf8_lossy(std::slice::from_raw_parts(p as *const u8, len))
                    .into_owned()
            };
            ffi::lua_settop(main, top);
            text
        }
    }

    /// Instructions between hook calls on coroutine `state`.
    pub fn hook_interval(state: *mut ffi::lua_State) -> u64 {
        // SAFETY: `state` is the running coroutine handed to the hook; lua_gethookcount
        // only reads a field.
        u64::try_from(unsafe { ffi::lua_gethookcount(state) })
            .unwrap_or(1)
            .max(1)
    }

    /// Makes the count hook of coroutine `co` (inherited from its creator) fire every
    /// `count` instructions.
    pub fn set_hook_interval(co: *mut ffi::lua_State, count: i32) {
        // SAFETY: `co` is a live coroutine (the caller holds its handle) that is not
        // running; lua_sethook with the hook function and mask it already has only changes
        // its count fields.
        unsafe {
            let f = ffi::lua_gethook(co);
            if f.is_some() {
                let mask = ffi::lua_gethookmask(co);
                ffi::lua_sethook(co, f, mask, count);
            }
        }
    }

    /// Whether the suspended coroutine `state` was stopped by the preemption hook rather
    /// than by `coroutine.yield`: a hook yield leaves a Lua function on top of its stack,
    /// a `coroutine.yield` leaves the C function `yield`.
    pub fn is_hook_yielded(state: *mut ffi::lua_State) -> bool {
        // SAFETY: `state` comes from a live `mlua::Thread` (the caller holds it), so the
        // coroutine is not collected during the call. lua_getstack/lua_getinfo only read
        // its call info into `ar`, a zeroed lua_Debug owned by this frame; `ar.what` points
        // to a static string set by lua_getinfo when it returns non-zero.
        unsafe {
            let mut ar = std::mem::zeroed::<ffi::lua_Debug>();
            ffi::lua_getstack(state, 0, &mut ar) != 0
                && ffi::lua_getinfo(state, c"S".as_ptr(), &mut ar) != 0
                && !ar.what.is_null()
                && CStr::from_ptr(ar.what).to_bytes() != b"C"
        }
    }
}

/// Adds a module that `require(name)` returns in every process.
///
/// # Errors
/// Only Lua allocation failures.
pub fn register_module(builtin: &Table, name: &str, module: Value) -> mlua::Result<()> {
    builtin.set(name, module)
}
