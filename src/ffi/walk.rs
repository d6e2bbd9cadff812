//! Reading a Lua value graph off the stack with the C API, for copying values out of a
//! process (`payload`'s copier is the [`Sink`]): type tags, `lua_next` over tables and
//! `lua_tolstring` on strings, no mlua handle per value, no protected call.
//!
//! The walker only classifies and iterates; the sink decides everything else (limits,
//! sharing, what a userdata becomes) and owns the nodes it makes, so the order of its calls
//! is the whole contract: for every value met, [`Sink::value`] first, then exactly one of
//! `leaf`, `open` (then, for a new table, `entry` per pair in `lua_next` order — key walked
//! before value — and `close`), `userdata` or `refuse`.
//!
//! Nothing here raises: every C function called is one that cannot (`lua_next` raises only
//! for a key missing from its table, and tables cannot change during a walk: the walker
//! runs no Lua code, and the garbage collector — whose finalizers could, were scripts
//! allowed `__gc` or a userdata's finalizer to touch tables — is stopped while the sink looks
//! at a userdata, the one place that calls back into mlua and may allocate). So Rust values
//! with destructors may live in these frames.
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use super::hot::{Arg, Call};
use mlua::{Lua, Value, ffi};
use std::ffi::c_int;

/// A value copied as it is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Leaf<'a> {
    /// `nil`.
    Nil,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Num(f64),
    /// A string's bytes, borrowed from the Lua stack for the call.
    Str(&'a [u8]),
}

/// What [`Sink::open`] makes of a table.
#[derive(Debug)]
pub enum Open<N, T> {
    /// Met before in this walk: this node stands for it, its entries are not walked again.
    Seen(N),
    /// New: its entries go into this.
    New(T),
}

/// What a walk builds (see the module's documentation for the order of calls).
pub trait Sink {
    /// A copied value.
    type Node;
    /// A table being filled.
    type Table;
    /// Why the walk stops.
    type Error;
    /// Called first for every value met.
    ///
    /// # Errors
    /// Stops the walk (a size limit, say).
    fn value(&mut self) -> Result<(), Self::Error>;
    /// A scalar or string.
    ///
    /// # Errors
    /// Stops the walk.
    fn leaf(&mut self, leaf: Leaf<'_>) -> Result<Self::Node, Self::Error>;
    /// A table with identity `ptr` (its address), nested `depth` levels below the walk's
    /// roots, whose array border is `len`.
    ///
    /// # Errors
    /// Stops the walk (too deep, say).
    fn open(
        &mut self,
        ptr: usize,
        depth: usize,
        len: usize,
    ) -> Result<Open<Self::Node, Self::Table>, Self::Error>;
    /// One key/value pair of a table, in `lua_next` order.
    fn entry(&mut self, table: &mut Self::Table, key: Self::Node, value: Self::Node);
    /// A table whose entries are all in.
    fn close(&mut self, table: Self::Table) -> Self::Node;
    /// A full userdata (channel objects included), as an mlua value.
    ///
    /// # Errors
    /// Stops the walk (a value that cannot be copied).
    fn userdata(&mut self, v: &Value, depth: usize) -> Result<Self::Node, Self::Error>;
    /// A boxed or flat value (`super::boxed`, a payload object say) with identity `ptr`
    /// (its block's address), nested `depth` levels below the roots, read in place: its
    /// node, or `None` to be handed it as an mlua value ([`Sink::userdata`]) instead.
    fn boxed(
        &mut self,
        b: super::boxed::Boxed<'_>,
        ptr: usize,
        depth: usize,
    ) -> Option<Result<Self::Node, Self::Error>> {
        let _ = (b, ptr, depth);
        None
    }
    /// The error for a value of type `what` that cannot be copied: `"function"`,
    /// `"thread"`, `"userdata"` (light userdata, or one mlua cannot hand over), or `"table"`
    /// (no stack room to walk it).
    fn refuse(&mut self, what: &'static str) -> Self::Error;
}

/// Walks arguments `first..` (1-based) of a hot call, handing each root's node to `out`.
///
/// # Errors
/// The sink's first error; the stack is left as it was.
pub fn args<S: Sink>(
    lua: &Lua,
    call: &Call<'_>,
    first: usize,
    sink: &mut S,
    mut out: impl FnMut(S::Node),
) -> Result<(), S::Error> {
    let l = call.state();
    for i in first..=call.count() {
        // Scalars and strings were read off the stack already.
        let leaf = match call.arg(i) {
            Arg::Nil => Leaf::Nil,
            Arg::Bool(b) => Leaf::Bool(b),
            Arg::Int(n) => Leaf::Int(n),
            Arg::Num(n) => Leaf::Num(n),
            Arg::Str(s) => Leaf::Str(s),
            Arg::Absent | Arg::Chan(_) | Arg::Clock(_) | Arg::Boxed(_) | Arg::Other => {
                // SAFETY: `l` is the coroutine running the hot call, and `i` one of its
                // arguments (1..=count), so a valid absolute index of its frame.
                out(unsafe { walk(lua, l, i as c_int, 0, sink)? });
                continue;
            }
        };
        sink.value()?;
        out(sink.leaf(leaf)?);
    }
    Ok(())
}

/// Walks `v` as a root.
///
/// # Errors
/// The sink's first error.
pub fn value<S: Sink>(v: &Value, sink: &mut S) -> Result<S::Node, S::Error> {
    sink.value()?;
    let t = match v {
        Value::Nil => return sink.leaf(Leaf::Nil),
        Value::Boolean(b) => return sink.leaf(Leaf::Bool(*b)),
        Value::Integer(i) => return sink.leaf(Leaf::Int(*i)),
        Value::Number(n) => return sink.leaf(Leaf::Num(*n)),
        Value::String(s) => return sink.leaf(Leaf::Str(&s.as_bytes())),
        Value::UserData(_) => return sink.userdata(v, 0),
        Value::Function(_) => return Err(sink.refuse("function")),
        Value::Thread(_) => return Err(sink.refuse("thread")),
        Value::Table(t) => t,
        _ => return Err(sink.refuse("userdata")),
    };
    let lua = t.weak_lua().upgrade();
    lua.exec_raw_lua(|raw| {
        let s = raw.state();
        // SAFETY: `s` is mlua's current state, given the room push_value needs (2 slots) for
        // the table, which push_value
        // moves from mlua's reference thread (no allocation); the walk starts at it (its
        // `value` call done above) and it is popped again, whatever the walk returns.
        unsafe {
            if ffi::lua_checkstack(s, 2) == 0 || raw.push_value(v).is_err() {
                return Err(sink.refuse("table"));
            }
            let top = ffi::lua_gettop(s);
            let r = table(&lua, s, top, 0, sink);
            ffi::lua_settop(s, top - 1);
            r
        }
    })
}

/// Walks the value at absolute index `idx` of `l`, `depth` levels below the roots.
///
/// # Safety
/// `l` is a live thread of `lua`'s state, running or stopped in a C function (so no Lua code
/// of its own runs during the walk), and `idx` a valid absolute index of it.
unsafe fn walk<S: Sink>(
    lua: &Lua,
    l: *mut ffi::lua_State,
    idx: c_int,
    depth: usize,
    sink: &mut S,
) -> Result<S::Node, S::Error> {
    sink.value()?;
    // SAFETY: as the caller promises; each getter is called on a value of its type, and
    // lua_tolstring only on strings (on a number it would convert it in place, which
    // would break a `lua_next` whose key it is).
    unsafe {
        match ffi::lua_type(l, idx) {
            ffi::LUA_TNIL => sink.leaf(Leaf::Nil),
            ffi::LUA_TBOOLEAN => sink.leaf(Leaf::Bool(ffi::lua_toboolean(l, idx) != 0)),
            ffi::LUA_TNUMBER if ffi::lua_isinteger(l, idx) != 0 => {
                sink.leaf(Leaf::Int(ffi::lua_tointegerx(l, idx, std::ptr::null_mut())))
            }
            ffi::LUA_TNUMBER => {
                sink.leaf(Leaf::Num(ffi::lua_tonumberx(l, idx, std::ptr::null_mut())))
            }
            ffi::LUA_TSTRING => {
                let mut len = 0usize;
                let p = ffi::lua_tolstring(l, idx, &mut len);
                sink.leaf(Leaf::Str(std::slice::from_raw_parts(p as *const u8, len)))
            }
            ffi::LUA_TTABLE => table(lua, l, idx, depth, sink),
            ffi::LUA_TUSERDATA => userdata(lua, l, idx, depth, sink),
            ffi::LUA_TFUNCTION => Err(sink.refuse("function")),
            ffi::LUA_TTHREAD => Err(sink.refuse("thread")),
            _ => Err(sink.refuse("userdata")),
        }
    }
}

/// Walks the table at absolute index `idx` (its `value` call already made).
///
/// # Safety
/// As [`walk`], with a table at `idx`.
unsafe fn table<S: Sink>(
    lua: &Lua,
    l: *mut ffi::lua_State,
    idx: c_int,
    depth: usize,
    sink: &mut S,
) -> Result<S::Node, S::Error> {
    // SAFETY: as the caller promises. The key and value lua_next pushes sit at `top + 1`
    // and `top + 2` (room checked); the value is popped after each pair and the key after
    // the last, or both on an error, so the stack ends as it began. The key is only read,
    // so it stays valid for the next lua_next, which therefore cannot raise.
    unsafe {
        let ptr = ffi::lua_topointer(l, idx) as usize;
        let len = ffi::lua_rawlen(l, idx);
        let mut t = match sink.open(ptr, depth, len)? {
            Open::Seen(n) => return Ok(n),
            Open::New(t) => t,
        };
        if ffi::lua_checkstack(l, 3) == 0 {
            return Err(sink.refuse("table"));
        }
        let top = ffi::lua_gettop(l);
        ffi::lua_pushnil(l);
        while ffi::lua_next(l, idx) != 0 {
            let pair = match walk(lua, l, top + 1, depth + 1, sink) {
                Ok(k) => walk(lua, l, top + 2, depth + 1, sink).map(|v| (k, v)),
                Err(e) => Err(e),
            };
            match pair {
                Ok((k, v)) => sink.entry(&mut t, k, v),
                Err(e) => {
                    ffi::lua_settop(l, top);
                    return Err(e);
                }
            }
            ffi::lua_settop(l, top + 1);
        }
        Ok(sink.close(t))
    }
}

/// Hands the userdata at absolute index `idx` to the sink as an mlua value.
///
/// The collector keeps running: scripts cannot set finalizers (`__gc` is refused, LUA_API
/// "Finalizers"), so a step taken meanwhile runs only Rust drops of moonhost's and mlua's
/// userdata, which change no Lua table. (Stopping and restarting it here cost a whole
/// collector step at the next allocation, every time: `LUA_GCRESTART` zeroes the debt,
/// which made forwarding `msg:payload()` ~200,000 instructions a message.)
///
/// # Safety
/// As [`walk`], with a full userdata at `idx`.
unsafe fn userdata<S: Sink>(
    lua: &Lua,
    l: *mut ffi::lua_State,
    idx: c_int,
    depth: usize,
    sink: &mut S,
) -> Result<S::Node, S::Error> {
    // SAFETY: as the caller promises: the value at `idx` stays there while the sink reads
    // the boxed value in it. Otherwise the value is pushed on
    // `l` and moved to mlua's current state, a thread of the same Lua, where pop_value takes
    // it into a handle (room checked on both for the value and pop_value's metatable look).
    unsafe {
        if let Some(b) = super::boxed::read_at(l, idx) {
            let ptr = ffi::lua_topointer(l, idx) as usize;
            if let Some(r) = sink.boxed(b, ptr, depth) {
                return r;
            }
        }
        let v = lua.exec_raw_lua(|raw| {
            let s = raw.state();
            // One slot for the value and one for pop_value's own look at its metatable.
            if ffi::lua_checkstack(l, 2) == 0 || ffi::lua_checkstack(s, 2) == 0 {
                return None;
            }
            ffi::lua_pushvalue(l, idx);
            if s != l {
                ffi::lua_xmove(l, s, 1);
            }
            Some(raw.pop_value())
        });
        match v {
            Some(v) => sink.userdata(&v, depth),
            None => Err(sink.refuse("userdata")),
        }
    }
}
