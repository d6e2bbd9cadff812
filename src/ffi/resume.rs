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
    Take(Box<dyn Deferred>),
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
                        HANDOFF.set(Some(&**d as *const dyn Deferred));
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
