//! Resuming a process's coroutine with `lua_resume` directly: scalar values are pushed
//! straight onto the coroutine's stack by type ([`Push`]), others go from mlua's current
//! state to the coroutine with `lua_xmove`, a yield is reported by whether its
//! first value is the BLOCK marker (no `MultiValue`, no hook-yield check), and an error
//! becomes the same `mlua::Error` mlua's `Thread::resume` makes (a Rust error as itself,
//! anything else as a runtime error carrying the coroutine's traceback).
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use super::hot::{BLOCK_MARK, C_BLOCK_MARK, HANDOFF, TAKE_MARK, mark};
use mlua::{Lua, MultiValue, Thread, Value, ffi};
use std::cell::{Cell, RefCell};
use std::ffi::c_int;

/// How one resume ended.
#[derive(Debug)]
pub enum Resumed {
    /// Suspended; `block` says the yield was the BLOCK or C_BLOCK marker (the task recorded a
    /// request).
    Yielded {
        /// Whether the first yielded value was BLOCK or C_BLOCK.
        block: bool,
        /// Whether it was C_BLOCK: a hot binding's own block (`hot::C_BLOCK_MARK`), so the
        /// task may be resumed with [`Push::Take`].
        in_c: bool,
    },
    /// The coroutine returned these values.
    Finished(MultiValue),
    /// The coroutine raised.
    Failed(mlua::Error),
}

/// One value a coroutine is resumed with: scalars are pushed by type, without an mlua
/// value or a trip through mlua's state.
#[derive(Debug)]
pub enum Push {
    /// `nil`.
    Nil,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Num(f64),
    /// Any other value.
    Value(Value),
    /// Values the resumed task builds itself, on its own stack, in the hot binding it
    /// blocked in (only for a task whose block was `in_c`, and only as the one argument):
    /// no protected call and no mlua handle, and a memory error is the task's own.
    Take(Taken),
}

/// What a receive builds on its own stack ([`Push::Take`], `super::hot::Out::Take`): a
/// boxed [`Deferred`], or a small `Copy` one waiting in a thread-local slot (no allocation
/// per message, and `Push` and `Out` stay small: they are moved on every call).
#[derive(Debug)]
pub enum Taken {
    /// Boxed (it owns allocations of its own).
    Boxed(Box<dyn Deferred>),
    /// The one made last by [`Taken::inline`], in the thread-local slot.
    Inline,
}

thread_local! {
    /// The value of the last [`Taken::inline`], until its receive takes it. One at a time
    /// is enough: a hot call's take is built before the call returns, and a resumed task's
    /// at once in the continuation it resumes in, before any Lua code runs.
    static INLINE: Cell<Option<Inline>> = const { Cell::new(None) };
}

impl Taken {
    /// `value` to be built by the next receive that takes an inline value.
    pub fn inline<T: Deferred + Copy + 'static>(value: T) -> Taken {
        INLINE.set(Some(Inline::new(value)));
        Taken::Inline
    }
}

impl From<Box<dyn Deferred>> for Taken {
    fn from(d: Box<dyn Deferred>) -> Taken {
        Taken::Boxed(d)
    }
}

thread_local! {
    /// What a boxed take builds from, while it builds: here, not in a frame a memory error
    /// would skip (what a raise leaves is dropped by [`clear_takes`]).
    static TAKEN: Cell<Option<Box<dyn Deferred>>> = const { Cell::new(None) };
    /// Boxes found in TAKEN by a take: a finalizer run by the collector inside a build may
    /// call a hot binding that takes too, while the outer build still reads its box, so the
    /// box is kept here, not dropped, until [`clear_takes`] (no build runs then).
    static TAKEN_BEFORE: RefCell<Vec<Box<dyn Deferred>>> = const { RefCell::new(Vec::new()) };
    /// Whether TAKEN or TAKEN_BEFORE may hold a box: [`clear_takes`] runs after every
    /// resume, and a plain flag is the cheap look (the two above have destructors, so each
    /// access checks their registration).
    static TAKES_LEFT: Cell<bool> = const { Cell::new(false) };
}

/// Builds boxed take `d` on `l` and returns how many values it pushed.
///
/// # Safety
/// As [`Deferred::push`].
pub(super) unsafe fn push_boxed(l: *mut ffi::lua_State, d: Box<dyn Deferred>) -> c_int {
    let p: *const dyn Deferred = &*d;
    TAKES_LEFT.set(true);
    if let Some(before) = TAKEN.replace(Some(d)) {
        TAKEN_BEFORE.with(|b| b.borrow_mut().push(before));
    }
    // SAFETY: `p` points into the box now in TAKEN, which nothing drops until this build
    // is over (a nested take moves it to TAKEN_BEFORE); as the caller promises for `l`.
    let n = unsafe { (*p).push(l) };
    drop(TAKEN.take());
    // A raise skips this: the flag stays up for `clear_takes`.
    TAKES_LEFT.set(TAKEN_BEFORE.with(|b| !b.borrow().is_empty()));
    n
}

/// Drops what builds left behind (boxes a raise or a nested take left): called between
/// resumes, where no build runs.
pub(super) fn clear_takes() {
    if !TAKES_LEFT.replace(false) {
        return;
    }
    drop(TAKEN.take());
    let before = TAKEN_BEFORE.with(|b| std::mem::take(&mut *b.borrow_mut()));
    drop(before);
}

/// Pushes the value of the last [`Taken::inline`] (a copy of it, so that Lua code a
/// collection runs meanwhile may make another) and returns how many values; `None` when
/// there is none.
///
/// # Safety
/// As [`Deferred::push`].
pub(super) unsafe fn push_inline(l: *mut ffi::lua_State) -> Option<c_int> {
    let value = INLINE.take()?;
    // SAFETY: as the caller promises.
    Some(unsafe { value.push(l) })
}

/// Words an [`Inline`] holds.
const INLINE_WORDS: usize = 16;

/// A `Copy` [`Deferred`] of at most 128 bytes, held by value with the function that pushes
/// it: nothing to allocate, and nothing to drop when a raise unwinds past it.
#[derive(Clone, Copy)]
pub struct Inline {
    /// The value's bytes.
    buf: std::mem::MaybeUninit<[u64; INLINE_WORDS]>,
    /// Pushes the value in `buf`, read as the type it was made from.
    push: unsafe fn(*const u64, *mut ffi::lua_State) -> c_int,
}

impl Inline {
    /// `value`, held inline (a type too large or too aligned does not compile).
    pub fn new<T: Deferred + Copy + 'static>(value: T) -> Inline {
        const {
            assert!(std::mem::size_of::<T>() <= INLINE_WORDS * 8);
            assert!(std::mem::align_of::<T>() <= 8);
        };
        let mut buf = std::mem::MaybeUninit::<[u64; INLINE_WORDS]>::uninit();
        // SAFETY: `buf` is large and aligned enough for a `T` (checked at compile time).
        unsafe { (buf.as_mut_ptr() as *mut T).write(value) };
        Inline {
            buf,
            push: push_as::<T>,
        }
    }
}

/// Pushes the `T` at `p`.
///
/// # Safety
/// `p` holds a `T` (written by [`Inline::new`]); `l` as [`Deferred::push`] requires.
unsafe fn push_as<T: Deferred>(p: *const u64, l: *mut ffi::lua_State) -> c_int {
    // SAFETY: as the caller promises.
    unsafe { (*(p as *const T)).push(l) }
}

impl Deferred for Inline {
    unsafe fn push(&self, l: *mut ffi::lua_State) -> c_int {
        // SAFETY: `buf` holds the value `push` was made for (`Inline::new` pairs them).
        unsafe { (self.push)(self.buf.as_ptr() as *const u64, l) }
    }
}

impl std::fmt::Debug for Inline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Inline")
    }
}

/// Values built on the stack of the task they are handed to ([`Push::Take`]).
pub trait Deferred: std::fmt::Debug {
    /// Pushes the values on `l` and returns how many.
    ///
    /// # Safety
    /// `l` is the running coroutine, inside a hot binding's C function or the continuation
    /// of its block, with LUA_MINSTACK free slots; the values pushed on top are the
    /// binding's results. A raise there (out of memory) unwinds to the coroutine's own
    /// handler, so the implementation keeps nothing to drop in its frames.
    unsafe fn push(&self, l: *mut ffi::lua_State) -> c_int;
}

impl From<Value> for Push {
    fn from(v: Value) -> Push {
        match v {
            Value::Nil => Push::Nil,
            Value::Boolean(b) => Push::Bool(b),
            Value::Integer(i) => Push::Int(i),
            Value::Number(n) => Push::Num(n),
            v => Push::Value(v),
        }
    }
}

/// Resumes `co` (suspended or fresh, of `lua`) with `args`.
pub fn resume(lua: &Lua, co: &Thread, args: &[Push]) -> Resumed {
    let l = co.state();
    let Ok(n) = c_int::try_from(args.len()) else {
        return no_room();
    };
    // SAFETY: `co` is a live coroutine of `lua` (the caller holds its handle) that is not
    // running; the scheduler calls this outside any Lua call of its own, so mlua's current
    // state is the main state, whose stack is free. `co` has room for every value after
    // its lua_checkstack: scalars are pushed on it directly (no allocation, so nothing can
    // raise outside a protected call), other values on the main state after its own
    // checkstack and moved to `co`. lua_resume runs it; what it leaves is read or popped
    // below, so `co`'s stack holds nothing of ours afterwards, except the frame of a hook
    // yield, which Lua itself needs.
    unsafe {
        if ffi::lua_checkstack(l, n) == 0 {
            return no_room();
        }
        let (main, pushed) = lua.exec_raw_lua(|raw| {
            let main = raw.state();
            for (i, a) in args.iter().enumerate() {
                match a {
                    Push::Nil => ffi::lua_pushnil(l),
                    Push::Bool(b) => ffi::lua_pushboolean(l, c_int::from(*b)),
                    Push::Int(v) => ffi::lua_pushinteger(l, *v),
                    Push::Num(v) => ffi::lua_pushnumber(l, *v),
                    Push::Value(v) => {
                        if ffi::lua_checkstack(main, 1) == 0 || raw.push_value(v).is_err() {
                            return (main, Err(i as c_int));
                        }
                        ffi::lua_xmove(main, l, 1);
                    }
                    Push::Take(d) => {
                        ffi::lua_pushlightuserdata(l, mark(&TAKE_MARK));
                        // An inline value waits in its slot: nothing to point at.
                        HANDOFF.set(match d {
                            Taken::Boxed(b) => Some(&**b as *const dyn Deferred),
                            Taken::Inline => None,
                        });
                    }
                }
            }
            (main, Ok(()))
        });
        if let Err(done) = pushed {
            ffi::lua_pop(l, done);
            HANDOFF.set(None);
            return no_room();
        }
        let mut nres: c_int = 0;
        let status = ffi::lua_resume(l, main, n, &mut nres);
        HANDOFF.set(None);
        clear_takes();
        match status {
            ffi::LUA_YIELD => {
                let first = if nres > 0 {
                    ffi::lua_touserdata(l, -nres)
                } else {
                    std::ptr::null_mut()
                };
                let in_c = first == mark(&C_BLOCK_MARK);
                let block = in_c || first == mark(&BLOCK_MARK);
                ffi::lua_pop(l, nres);
                Resumed::Yielded { block, in_c }
            }
            ffi::LUA_OK => Resumed::Finished(results(lua, l, nres)),
            code => Resumed::Failed(error(lua, l, code)),
        }
    }
}

fn no_room() -> Resumed {
    Resumed::Failed(mlua::Error::runtime("moonhost: no room for resume values"))
}

/// The `n` values a finished coroutine `l` returned, popped from it.
///
/// # Safety
/// `l` is a coroutine of `lua` that just returned `n` values and is not running.
unsafe fn results(lua: &Lua, l: *mut ffi::lua_State, n: c_int) -> MultiValue {
    // SAFETY: the values are moved to the main state (room checked) and popped from there
    // as mlua values, last first.
    unsafe {
        lua.exec_raw_lua(|raw| {
            let main = raw.state();
            let mut vals = MultiValue::with_capacity(n as usize);
            if ffi::lua_checkstack(main, n) == 0 {
                ffi::lua_pop(l, n);
                return vals;
            }
            ffi::lua_xmove(l, main, n);
            for _ in 0..n {
                vals.push_front(raw.pop_value());
            }
            vals
        })
    }
}

/// The error coroutine `l` raised (`code`), as mlua's `Thread::resume` reports it.
///
/// # Safety
/// `l` is a coroutine of `lua` that just failed with `code`, its error object on top.
unsafe fn error(lua: &Lua, l: *mut ffi::lua_State, code: c_int) -> mlua::Error {
    // SAFETY: the error object is moved to the main state (room checked) and popped as an
    // mlua value: a Rust error comes back as `Value::Error`. Anything else is turned into
    // its string and the coroutine's traceback inside a protected call (`__tostring` may
    // raise), as mlua does; a memory error keeps its message without a traceback.
    unsafe {
        let v = lua.exec_raw_lua(|raw| {
            let main = raw.state();
            if ffi::lua_checkstack(main, 1) == 0 {
                ffi::lua_pop(l, 1);
                return Value::Nil;
            }
            ffi::lua_xmove(l, main, 1);
            raw.pop_value()
        });
        match v {
            Value::Error(e) => *e,
            Value::String(s) if code == ffi::LUA_ERRMEM => {
                mlua::Error::MemoryError(s.to_string_lossy())
            }
            v => {
                let text = lua.exec_raw::<String>(v, |state| {
                    let s = ffi::luaL_tolstring(state, -1, std::ptr::null_mut());
                    ffi::luaL_traceback(state, l, s, 0);
                    ffi::lua_replace(state, -3);
                    ffi::lua_pop(state, 1);
                });
                match text {
                    Ok(t) if code == ffi::LUA_ERRMEM => mlua::Error::MemoryError(t),
                    Ok(t) => mlua::Error::RuntimeError(t),
                    Err(e) => e,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pushes its number and `true`.
    #[derive(Debug, Clone, Copy)]
    struct Two(i64);

    impl Deferred for Two {
        unsafe fn push(&self, l: *mut ffi::lua_State) -> c_int {
            // SAFETY: the test's state has room for two values.
            unsafe {
                ffi::lua_pushinteger(l, self.0);
                ffi::lua_pushboolean(l, 1);
            }
            2
        }
    }

    /// Runs `push_inline` on a fresh stack: what it pushed, or `None` when it had nothing.
    fn pushed(lua: &Lua) -> Option<(i64, bool)> {
        // SAFETY: exec_raw gives a protected call on mlua's state with room for the two
        // values; they are left as the closure's results.
        let all = unsafe {
            lua.exec_raw::<MultiValue>((), |state| {
                let _ = push_inline(state);
            })
            .expect("runs")
        };
        match all.into_vec().as_slice() {
            [] => None,
            [Value::Integer(n), Value::Boolean(b)] => Some((*n, *b)),
            other => panic!("pushed {other:?}"),
        }
    }

    #[test]
    fn an_inline_value_is_pushed_once_and_the_last_one_made_wins() {
        let lua = Lua::new();
        assert_eq!(pushed(&lua), None, "nothing made yet");
        assert!(matches!(Taken::inline(Two(7)), Taken::Inline));
        assert_eq!(pushed(&lua), Some((7, true)));
        assert_eq!(pushed(&lua), None, "taken once");
        let _ = Taken::inline(Two(1));
        let _ = Taken::inline(Two(2));
        assert_eq!(pushed(&lua), Some((2, true)));
    }
}
