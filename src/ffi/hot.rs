//! Raw C entry points of the hot bindings (`process.send`, channel `receive`…).
//!
//! A hot binding is a C closure over two upvalues: its mlua function (the "slow" binding,
//! which handles every case) and a plain Rust function (the "fast" binding). The C function
//! reads the arguments straight off the Lua stack into [`Arg`]s, calls the fast binding, and
//! pushes what it returns, raises, or yields the BLOCK marker to the scheduler itself: no
//! mlua callback, no `MultiValue`, no prelude wrapper in between. Whatever the fast binding
//! does not handle ([`Out::Slow`]) goes to the slow binding with the same arguments, whose
//! BLOCK and RAISE markers the C function turns into a yield or an error as the prelude did.
//!
//! A fast binding reaches the core with [`Call::held`] (the core is not in mlua's app data:
//! looking for it there finds nothing, and the binding would take its slow path every time).
//!
//! Nothing with a destructor and no `RefCell` borrow is alive in these frames when they call
//! a Lua function that may raise or yield (`lua_error`, `lua_yieldk`, `lua_call`, pushing a
//! string): those `longjmp`. Messages to raise wait in a thread-local buffer, not the frame.
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use mlua::{Function, Lua, Value, ffi};
use std::cell::RefCell;
use std::ffi::{c_int, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// What a binding raises instead of blocking where its task cannot yield (a `table.sort`
/// comparator, a `string.gsub` callback, a `load` reader, a metamethod, a finalizer).
pub const CANNOT_YIELD: &str = "attempt to block where the process cannot yield";

/// The BLOCK marker's address: a binding that parked its task returns it for the
/// scheduler's yield.
pub static BLOCK_MARK: u8 = 0;
/// The RAISE marker's address: it precedes a message to raise at the caller.
pub static RAISE_MARK: u8 = 0;
/// The NO_YIELD marker's address: what a blocked coroutine is resumed with when its block
/// could not reach the scheduler.
pub static NO_YIELD_MARK: u8 = 0;
/// The C_BLOCK marker's address: what a hot binding's own block yields instead of BLOCK, so
/// the scheduler knows the task waits in [`after_block`] (a block yielded from Lua code, or
/// passed up by the prelude's coroutine wrapper, yields BLOCK). It means BLOCK everywhere
/// else.
pub static C_BLOCK_MARK: u8 = 0;
/// The TAKE marker's address: a task blocked in [`after_block`] resumed with it builds its
/// results itself, on its own stack, from the [`super::resume::Deferred`] the resume hands
/// over (`super::resume::Push::Take`).
pub static TAKE_MARK: u8 = 0;

thread_local! {
    /// The values a resume hands over with TAKE: set by `super::resume::resume` for the
    /// length of its `lua_resume`, read by [`after_block`]. A raw pointer, not a borrow, so
    /// a memory error raised while building leaves no borrow flag set.
    pub(super) static HANDOFF: std::cell::Cell<Option<*const dyn super::resume::Deferred>> =
        const { std::cell::Cell::new(None) };
}

pub(super) fn mark(m: &'static u8) -> *mut c_void {
    m as *const u8 as *mut c_void
}

/// Most arguments a fast binding sees; calls with more go to the slow binding.
pub const MAX_ARGS: usize = 8;

/// One argument of a hot call, read off the Lua stack without making a handle.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Arg<'a> {
    /// Past the last argument.
    Absent,
    /// `nil`.
    Nil,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Num(f64),
    /// A string's bytes (borrowed from the Lua stack for the call).
    Str(&'a [u8]),
    /// A channel object's id.
    Chan(u64),
    /// A timer or ticker object.
    Clock(super::timerobj::Clock),
    /// A boxed Rust value (`ffi::boxed`), such as a message object.
    Boxed(super::boxed::Boxed<'a>),
    /// A table, function, other userdata or thread: the fast binding leaves it to the slow
    /// one.
    Other,
}

/// The arguments of one hot call.
#[derive(Debug)]
pub struct Call<'a> {
    state: *mut ffi::lua_State,
    slot: *const super::cell::Slot,
    args: [Arg<'a>; MAX_ARGS],
    n: usize,
}

impl<'a> Call<'a> {
    /// Number of arguments.
    pub fn count(&self) -> usize {
        self.n
    }

    /// Argument `i` (1-based), [`Arg::Absent`] past the last.
    pub fn arg(&self, i: usize) -> Arg<'a> {
        if (1..=self.n).contains(&i) {
            self.args[i - 1]
        } else {
            Arg::Absent
        }
    }

    /// The arguments from `i` (1-based) on.
    pub fn rest(&self, i: usize) -> &[Arg<'a>] {
        &self.args[(i - 1).min(self.n)..self.n]
    }

    /// Argument `i` (1-based) as an mlua handle (a reference slot), if it is a table.
    pub fn table(&self, lua: &Lua, i: usize) -> Option<mlua::Table> {
        if !(1..=self.n).contains(&i) {
            return None;
        }
        let idx = i as c_int;
        // SAFETY: `idx` is an argument of the running frame; a C function has LUA_MINSTACK
        // free slots, so pushing one copy fits. The copy moves to mlua's current state (of
        // the same Lua; room checked), where pop_value takes it into a handle: neither
        // runs Lua code.
        unsafe {
            if ffi::lua_type(self.state, idx) != ffi::LUA_TTABLE {
                return None;
            }
            lua.exec_raw_lua(|raw| {
                let to = raw.state();
                if ffi::lua_checkstack(to, 1) == 0 {
                    return None;
                }
                ffi::lua_pushvalue(self.state, idx);
                if to != self.state {
                    ffi::lua_xmove(self.state, to, 1);
                }
                match raw.pop_value() {
                    Value::Table(t) => Some(t),
                    _ => None,
                }
            })
        }
    }

    /// Borrows the runtime's shared state (`ffi::cell`) through this closure's own slot.
    ///
    /// # Errors
    /// As [`super::cell::held`].
    pub fn held<T: 'static>(&self) -> Result<super::cell::Held<T>, super::cell::CellError> {
        // SAFETY: `slot` was read from the closure's `Hot`: the state's slot, which lives in
        // the registry as long as the state.
        unsafe { &*self.slot }.held()
    }

    /// The calling coroutine, whose frame holds the arguments.
    pub(super) fn state(&self) -> *mut ffi::lua_State {
        self.state
    }

    /// Whether the calling coroutine may yield here.
    pub fn can_yield(&self) -> bool {
        super::is_yieldable(self.state)
    }
}

/// What a fast binding did.
#[derive(Debug)]
pub enum Out {
    /// Return one value.
    One(Value),
    /// Return two values.
    Two(Value, Value),
    /// Return one string, pushed by the C function (no mlua handle made for it).
    Str(String),
    /// Return the string [`text`] copied into the thread-local buffer (no allocation once
    /// the buffer has grown to it).
    Stashed,
    /// Return a new object (built on the Lua stack, no mlua handle).
    Made(super::timerobj::Made),
    /// Return the channel object of argument 1, a timer or ticker over the channel of these
    /// id bits (made on the first call, the same object after).
    ClockChannel(u64),
    /// Return a new boxed value of the kind (`ffi::boxed`), built on the Lua stack.
    Boxed(super::boxed::Kind, Box<dyn std::any::Any>),
    /// Return a received event and `true`: its table built on the Lua stack
    /// ([`super::event::push_ready`]), no protected call, no mlua handle.
    Event(super::event::Ready),
    /// Return values built on the Lua stack from what the fast binding took (a received
    /// message's tables): no protected call, no mlua handle, and a memory error raised
    /// while building is the caller's own.
    Take(super::resume::Taken),
    /// Return `nil` and the message.
    Fail(String),
    /// Raise the message at the caller (with its position, as `error(msg, 2)` would).
    Raise(String),
    /// The task's request is recorded: yield BLOCK to the scheduler and return what the
    /// task is resumed with.
    Block,
    /// Not handled: call the slow binding with the same arguments.
    Slow,
}

/// A fast binding.
pub type Fast = for<'a> fn(&Lua, &Call<'a>) -> Out;

/// Makes the hot binding over `fast` and `slow` (see the module's documentation).
///
/// # Errors
/// Only Lua allocation failures.
pub fn function(lua: &Lua, fast: Fast, slow: Function) -> mlua::Result<Function> {
    // SAFETY: exec_raw runs the closure inside a protected call with `slow` pushed on the
    // stack; it pushes the state's slot (`ffi::cell`, room checked) and a userdata holding
    // the fast binding, the `Lua` and the slot's address (plain values: no `__gc` needed),
    // drops the slot and pops `slow` and the userdata into the upvalues of one new C
    // closure, which exec_raw returns as a `Function`. The `Lua` pointed to lives in the
    // state's extra data and the slot in the registry, as long as the state and so the
    // closure.
    unsafe {
        lua.exec_raw::<Function>(slow, |state| {
            ffi::luaL_checkstack(state, 4, std::ptr::null());
            let slot = super::cell::push_slot(state);
            let lua: *const Lua = Lua::get_or_init_from_ptr(state);
            let hot = ffi::lua_newuserdatauv(state, std::mem::size_of::<Hot>(), 0) as *mut Hot;
            hot.write(Hot { fast, lua, slot });
            ffi::lua_remove(state, -2);
            ffi::lua_pushcclosure(state, trampoline, 2);
        })
    }
}

/// What a hot closure knows besides its slow binding (its upvalue 2, one userdata: one
/// read per call).
struct Hot {
    fast: Fast,
    lua: *const Lua,
    slot: *const super::cell::Slot,
}

thread_local! {
    /// The message being raised: it lives here, not in a frame that `lua_error` skips.
    /// A string returned by [`Out::Stashed`] waits here too.
    static MESSAGE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The C function of every hot binding.
unsafe extern "C-unwind" fn trampoline(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: `l` is the running coroutine calling this C closure, made by `function` with
    // the slow binding as upvalue 1 and its `Hot` as upvalue 2 (whose `Lua` lives as long
    // as the state).
    unsafe {
        let n = ffi::lua_gettop(l);
        let hot = &*(ffi::lua_touserdata(l, ffi::lua_upvalueindex(2)) as *const Hot);
        let lua = &*hot.lua;
        let out = if n as usize <= MAX_ARGS {
            run_fast(l, hot, n)
        } else {
            Out::Slow
        };
        match out {
            Out::Slow => call_slow(l, n),
            out => finish(l, lua, out),
        }
    }
}

/// Reads the arguments and calls the fast binding, turning a panic into an error to raise.
///
/// # Safety
/// `l` is the running coroutine inside `trampoline`, with `n` <= [`MAX_ARGS`] arguments;
/// `hot` is its closure's.
unsafe fn run_fast(l: *mut ffi::lua_State, hot: &Hot, n: c_int) -> Out {
    // SAFETY: reading values at indices 1..=n of the caller's own frame does not allocate
    // or raise; a string's bytes stay valid while it is on the stack, and the call's
    // arguments stay there until the fast binding returns. The `Lua` and the slot live as
    // long as the state.
    unsafe {
        let lua = &*hot.lua;
        let mut call = Call {
            state: l,
            slot: hot.slot,
            args: [Arg::Absent; MAX_ARGS],
            n: n as usize,
        };
        for i in 0..call.n {
            call.args[i] = read_arg(l, i as c_int + 1);
        }
        let fast = hot.fast;
        catch_unwind(AssertUnwindSafe(|| fast(lua, &call)))
            .unwrap_or_else(|_| Out::Raise("moonhost: internal error in a binding".into()))
    }
}

/// # Safety
/// `idx` is a valid index of `l`'s running frame.
unsafe fn read_arg<'a>(l: *mut ffi::lua_State, idx: c_int) -> Arg<'a> {
    // SAFETY: as in `run_fast`; each getter is called on a value of its own type.
    unsafe {
        match ffi::lua_type(l, idx) {
            ffi::LUA_TNIL => Arg::Nil,
            ffi::LUA_TBOOLEAN => Arg::Bool(ffi::lua_toboolean(l, idx) != 0),
            ffi::LUA_TNUMBER if ffi::lua_isinteger(l, idx) != 0 => {
                Arg::Int(ffi::lua_tointegerx(l, idx, std::ptr::null_mut()))
            }
            ffi::LUA_TNUMBER => Arg::Num(ffi::lua_tonumberx(l, idx, std::ptr::null_mut())),
            ffi::LUA_TSTRING => {
                let mut len = 0usize;
                let p = ffi::lua_tolstring(l, idx, &mut len);
                Arg::Str(std::slice::from_raw_parts(p as *const u8, len))
            }
            ffi::LUA_TUSERDATA => {
                // One look at the block for every kind: each decoder checks its length and tag.
                let block = ffi::lua_touserdata(l, idx) as *const u64;
                let len = ffi::lua_rawlen(l, idx);
                if let Some(c) = super::chan::decode(block, len) {
                    Arg::Chan(c)
                } else if let Some(c) = super::timerobj::decode(block, len) {
                    Arg::Clock(c)
                } else {
                    super::boxed::decode(block, len).map_or(Arg::Other, Arg::Boxed)
                }
            }
            _ => Arg::Other,
        }
    }
}

/// Pushes, raises or yields what the fast binding returned.
///
/// # Safety
/// `l` is the running coroutine inside `trampoline`.
unsafe fn finish(l: *mut ffi::lua_State, lua: &Lua, out: Out) -> c_int {
    // SAFETY: a C function has LUA_MINSTACK free slots; pushing two values fits. The values
    // are dropped before returning; `raise` and `block` own nothing of this frame, nor
    // does an event's build (`Out::Event` holds plain bytes and numbers) or a take's (its
    // box waits in TAKEN), which may raise a memory error: `l` is the coroutine that called
    // this C function from Lua.
    unsafe {
        match out {
            Out::One(v) => {
                push(l, lua, v);
                1
            }
            Out::Two(a, b) => {
                push(l, lua, a);
                push(l, lua, b);
                2
            }
            Out::Str(text) => {
                stash(text);
                push_stashed(l);
                1
            }
            Out::Stashed => {
                push_stashed(l);
                1
            }
            Out::Made(m) => {
                super::timerobj::push(l, m);
                1
            }
            Out::ClockChannel(bits) => {
                super::timerobj::push_channel(l, 1, bits);
                1
            }
            Out::Boxed(kind, value) => {
                super::boxed::push(l, kind, value);
                1
            }
            Out::Event(e) => {
                // `e` is a plain copy in this frame: no finalizer can change it, and a
                // memory error raised while building leaves nothing here to drop.
                super::event::push_ready(l, &e);
                ffi::lua_pushboolean(l, 1);
                2
            }
            Out::Take(super::resume::Taken::Boxed(d)) => super::resume::push_boxed(l, d),
            // Plain bytes in this frame: a raise while building leaves nothing to drop.
            Out::Take(super::resume::Taken::Inline) => match super::resume::push_inline(l) {
                Some(n) => n,
                None => raise_message(l, "moonhost: internal error: nothing handed over".into()),
            },
            Out::Fail(msg) => {
                ffi::lua_pushnil(l);
                stash(msg);
                push_stashed(l);
                2
            }
            Out::Raise(msg) => {
                stash(msg);
                raise_stashed(l)
            }
            Out::Block => block(l),
            Out::Slow => call_slow(l, ffi::lua_gettop(l)),
        }
    }
}

/// Pushes `v` on `l` and drops it.
///
/// # Safety
/// `l` is a running coroutine of the Lua `v` belongs to, with a free stack slot.
pub(super) unsafe fn push(l: *mut ffi::lua_State, lua: &Lua, v: Value) {
    // SAFETY: scalars are pushed directly. Other values go through mlua's own push onto its
    // current state (which has room after lua_checkstack) and lua_xmove to `l`: both states
    // belong to the same Lua, and neither call allocates or raises.
    unsafe {
        match v {
            Value::Nil => ffi::lua_pushnil(l),
            Value::Boolean(b) => ffi::lua_pushboolean(l, c_int::from(b)),
            Value::Integer(i) => ffi::lua_pushinteger(l, i),
            Value::Number(n) => ffi::lua_pushnumber(l, n),
            Value::LightUserData(p) => ffi::lua_pushlightuserdata(l, p.0),
            v => {
                let pushed = lua.exec_raw_lua(|raw| {
                    let from = raw.state();
                    if ffi::lua_checkstack(from, 2) == 0 || raw.push_value(&v).is_err() {
                        return false;
                    }
                    if from != l {
                        ffi::lua_xmove(from, l, 1);
                    }
                    true
                });
                if !pushed {
                    ffi::lua_pushnil(l);
                }
            }
        }
    }
}

/// Returns the string `bytes` from a fast binding: copied into the buffer a raised message
/// uses, reused from call to call (a message object's topic or sender, with no allocation).
pub fn text(bytes: &[u8]) -> Out {
    MESSAGE.with(|m| {
        let mut m = m.borrow_mut();
        m.clear();
        m.extend_from_slice(bytes);
    });
    Out::Stashed
}

fn stash(msg: String) {
    MESSAGE.with(|m| *m.borrow_mut() = msg.into_bytes());
}

/// Raises `msg` at the caller's position (it waits in the thread-local buffer, not here).
///
/// # Safety
/// `l` is the running coroutine inside a C function, with a free slot.
pub(super) unsafe fn raise_message(l: *mut ffi::lua_State, msg: String) -> c_int {
    stash(msg);
    // SAFETY: as the caller promises.
    unsafe { raise_stashed(l) }
}

/// Pushes the stashed message.
///
/// # Safety
/// `l` has a free stack slot.
unsafe fn push_stashed(l: *mut ffi::lua_State) {
    let (p, len) = MESSAGE.with(|m| {
        let m = m.borrow();
        (m.as_ptr(), m.len())
    });
    // SAFETY: the buffer is not touched until the next stash, and lua_pushlstring copies it
    // before it can run a finalizer (the GC step comes after the copy).
    unsafe { ffi::lua_pushlstring(l, p as *const _, len) };
}

/// Raises the stashed message at the caller's position.
///
/// # Safety
/// `l` is the running coroutine inside a C function.
unsafe fn raise_stashed(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: as the caller promises; `raise_top` does the rest.
    unsafe {
        push_stashed(l);
        raise_top(l)
    }
}

/// Raises the message on top of the stack at the caller's position.
///
/// # Safety
/// `l` is the running coroutine inside a C function, a string on top and a free slot.
unsafe fn raise_top(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: luaL_where(1) pushes the position of the function that called this C
    // function, moved under the message; the concatenation is the message `error(msg, 2)`
    // makes. lua_error does not return; nothing in this frame needs dropping.
    unsafe {
        ffi::luaL_where(l, 1);
        ffi::lua_insert(l, -2);
        ffi::lua_concat(l, 2);
        ffi::lua_error(l)
    }
}

/// Yields C_BLOCK to the scheduler; the values the task is resumed with become the results.
///
/// # Safety
/// `l` is the running coroutine inside a C function, and may yield (the binding checked).
unsafe fn block(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: the frame's arguments are no longer needed; lua_yieldk with a continuation
    // does not return here (the continuation takes over on resume).
    unsafe {
        ffi::lua_settop(l, 0);
        ffi::lua_pushlightuserdata(l, mark(&C_BLOCK_MARK));
        ffi::lua_yieldk(l, 1, 0, Some(after_block))
    }
}

/// Where a blocked hot binding continues: the resume values are its results, or NO_YIELD
/// says the block could not reach the scheduler, or TAKE says to build them here from what
/// the resume handed over.
unsafe extern "C-unwind" fn after_block(
    l: *mut ffi::lua_State,
    _status: c_int,
    _ctx: ffi::lua_KContext,
) -> c_int {
    // SAFETY: `l` is the resumed coroutine in the C function's frame, holding only the resume
    // values (`block` emptied the frame before yielding). A handed-over value lives in the
    // resume's arguments for the whole `lua_resume` running this; its build may raise a
    // memory error here, in the coroutine, like any table constructor (nothing in this frame
    // needs dropping).
    unsafe {
        let first = ffi::lua_touserdata(l, 1);
        if first == mark(&NO_YIELD_MARK) {
            stash(CANNOT_YIELD.to_string());
            return raise_stashed(l);
        }
        if first == mark(&TAKE_MARK) {
            ffi::lua_settop(l, 0);
            let pushed = match HANDOFF.get() {
                Some(d) => Some((*d).push(l)),
                None => super::resume::push_inline(l),
            };
            return match pushed {
                Some(n) => n,
                None => raise_message(l, "moonhost: internal error: nothing handed over".into()),
            };
        }
        ffi::lua_gettop(l)
    }
}

/// Calls the slow binding with the `n` arguments and handles its BLOCK and RAISE markers.
///
/// # Safety
/// `l` is the running coroutine inside `trampoline`, with `n` arguments.
pub(super) unsafe fn call_slow(l: *mut ffi::lua_State, n: c_int) -> c_int {
    // SAFETY: upvalue 1 is the slow binding; lua_callk may raise, and nothing in this frame
    // needs dropping. The call has a continuation so the binding sees the coroutine as
    // yieldable where its caller is (a plain lua_call would make it a non-yieldable call);
    // the binding itself never yields, so the continuation runs only through `slow_done`.
    unsafe {
        if ffi::lua_checkstack(l, 2) == 0 {
            stash("stack overflow".into());
            return raise_stashed(l);
        }
        ffi::lua_pushvalue(l, ffi::lua_upvalueindex(1));
        ffi::lua_insert(l, 1);
        ffi::lua_callk(l, n, ffi::LUA_MULTRET, 0, Some(slow_done));
        slow_done(l, ffi::LUA_OK, 0)
    }
}

/// The slow binding's results: BLOCK becomes the yield, RAISE an error at the caller,
/// anything else is returned.
unsafe extern "C-unwind" fn slow_done(
    l: *mut ffi::lua_State,
    _status: c_int,
    _ctx: ffi::lua_KContext,
) -> c_int {
    // SAFETY: `l` is the running coroutine in the hot binding's frame, holding only the slow
    // binding's results; the markers are compared by address.
    unsafe {
        let top = ffi::lua_gettop(l);
        if top == 0 {
            return 0;
        }
        let first = ffi::lua_touserdata(l, 1);
        if first == mark(&BLOCK_MARK) {
            block(l)
        } else if first == mark(&RAISE_MARK) {
            ffi::lua_pushvalue(l, 2);
            raise_top(l)
        } else {
            top
        }
    }
}

#[cfg(test)]
#[path = "hot_tests.rs"]
mod tests;
