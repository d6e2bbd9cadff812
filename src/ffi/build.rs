//! Building a Lua value graph from a copied one with the C API, for rebuilding payloads in
//! the receiving process (`payload`'s `Payload` is the [`Source`]): one raw `lua_pcall` per
//! rebuild, tables made with `lua_createtable` pre-sized from the copy, integer keys stored
//! with `lua_rawseti`, no mlua handle but one per result.
//!
//! A build first assumes the graph has no references (shared tables, cycles: the common
//! message has none) and keeps nothing; at the first reference it meets, the rest of that
//! try is placeholders (`false`, a valid key) and then dropped, and the build starts again
//! keeping every table, by id, in a scratch table on the stack, so no pass over the graph
//! looks for references beforehand. A reference to a table not
//! built yet is `nil`. The frames here hold nothing with a destructor, so an error the C API
//! raises (out of memory, a nil or NaN key in a hand-made payload) unwinds to the protected
//! call (or the receiving coroutine's handler) and comes back as an `Err`.
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use mlua::{Lua, Value, ffi};
use std::ffi::{c_int, c_void};

/// One node of a graph to build.
#[derive(Debug)]
pub enum Shape<'a, S> {
    /// `nil`.
    Nil,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Num(f64),
    /// A string's bytes.
    Str(&'a [u8]),
    /// A table: its id, how many of its keys are integers (sizes the array part; the other
    /// entries size the hash part), and its pairs in the order to store them.
    Table {
        /// The id references use.
        id: u32,
        /// Integer keys among the entries.
        narr: u32,
        /// Key/value pairs.
        entries: &'a [(S, S)],
    },
    /// The table with this id, built earlier.
    Ref(u32),
}

/// A graph that can be built: each node tells its shape.
pub trait Source: Sized {
    /// What this node is.
    fn shape(&self) -> Shape<'_, Self>;
}

/// Builds `root`.
///
/// # Errors
/// Lua allocation failures; a nil or NaN key.
pub fn one<S: Source>(lua: &Lua, root: &S) -> mlua::Result<Value> {
    let mut out = Value::Nil;
    protected(lua, std::slice::from_ref(root), |v| out = v)?;
    Ok(out)
}

/// Builds every root of `roots`, as one graph (references may cross between them).
///
/// # Errors
/// As [`one`].
pub fn many<S: Source>(lua: &Lua, roots: &[S]) -> mlua::Result<Vec<Value>> {
    let mut out = Vec::with_capacity(roots.len());
    protected(lua, roots, |v| out.push(v))?;
    Ok(out)
}

/// Roots to build on the stack of the task they are handed to ([`super::resume::Push::Take`]):
/// the same graph [`one`] or [`many`] builds, with `true` after it (a receive's `value, ok`),
/// made without a protected call or an mlua handle.
#[derive(Debug)]
pub struct Handoff<S> {
    /// The values: one root is the value itself, several are put in an array.
    pub roots: smallvec::SmallVec<[S; 1]>,
}

impl<S: Source + std::fmt::Debug> super::resume::Deferred for Handoff<S> {
    unsafe fn push(&self, l: *mut ffi::lua_State) -> c_int {
        // SAFETY: as `Deferred::push` promises: `l` runs with LUA_MINSTACK free slots
        // (checked again per table), and a raise unwinds to its own handler through frames
        // that hold nothing to drop.
        unsafe {
            match self.roots.as_slice() {
                [] => ffi::lua_pushnil(l),
                [one] => graph(l, std::slice::from_ref(one), Layout::One),
                many => graph(l, many, Layout::Array),
            }
            ffi::lua_pushboolean(l, 1);
            2
        }
    }
}

/// A graph shared with its owner (a payload object's value), built on the stack of the task
/// that asked for it: one value, no protected call, no mlua handle (`p:data()`).
#[derive(Debug)]
pub struct Shared<S>(pub std::rc::Rc<S>);

impl<S: Source + std::fmt::Debug> super::resume::Deferred for Shared<S> {
    unsafe fn push(&self, l: *mut ffi::lua_State) -> c_int {
        // SAFETY: as `Deferred::push` promises; the graph stays alive through the `Rc` this
        // value holds while it builds.
        unsafe { push_value(l, &*self.0) };
        1
    }
}

/// Pushes `v` built on `l`.
///
/// # Safety
/// As [`super::resume::Deferred::push`]: `l` runs with free slots, and a raise unwinds to
/// its own handler through frames that hold nothing to drop.
pub(super) unsafe fn push_value<S: Source>(l: *mut ffi::lua_State, v: &S) {
    // SAFETY: as the caller promises.
    unsafe { graph(l, std::slice::from_ref(v), Layout::One) }
}

/// How [`graph`] leaves its roots on the stack.
#[derive(Clone, Copy)]
enum Layout {
    /// The first root alone (there is one).
    One,
    /// Each root in turn.
    Each,
    /// One array of them.
    Array,
}

/// The state of one build: the scratch table keeping every table by id (0: none, on the
/// first try), and whether a reference was met without it.
struct Ctx {
    scratch: c_int,
    missed: bool,
}

/// Pushes `roots` built as one graph, laid out as `layout` says: first without keeping any
/// table, again keeping all of them if that met a reference.
///
/// # Safety
/// `s` runs inside a protected call or is the running coroutine in a C function (a raise is
/// its own), with free slots; the frames up to where a raise lands hold nothing to drop.
unsafe fn graph<S: Source>(s: *mut ffi::lua_State, roots: &[S], layout: Layout) {
    // SAFETY: as the caller promises; what the first try pushed is dropped (lua_settop to
    // the base) before the second; the scratch table sits under the results until removed.
    unsafe {
        let base = ffi::lua_gettop(s);
        let mut ctx = Ctx {
            scratch: 0,
            missed: false,
        };
        lay_out(s, roots, layout, &mut ctx);
        if !ctx.missed {
            return;
        }
        ffi::lua_settop(s, base);
        ffi::luaL_checkstack(s, 1, c"payload nested too deeply".as_ptr());
        ffi::lua_createtable(s, 0, 0);
        ctx = Ctx {
            scratch: ffi::lua_gettop(s),
            missed: false,
        };
        lay_out(s, roots, layout, &mut ctx);
        ffi::lua_remove(s, ctx.scratch);
    }
}

/// One try of [`graph`].
///
/// # Safety
/// As [`graph`].
unsafe fn lay_out<S: Source>(s: *mut ffi::lua_State, roots: &[S], layout: Layout, ctx: &mut Ctx) {
    // SAFETY: as the caller promises; the array (for `Array`) stays at `t` while its roots
    // are pushed above it and stored.
    unsafe {
        match layout {
            Layout::One => push(s, &roots[0], ctx),
            Layout::Each => {
                for r in roots {
                    ffi::luaL_checkstack(s, 2, c"payload has too many values".as_ptr());
                    push(s, r, ctx);
                }
            }
            Layout::Array => {
                let n = roots.len().min(c_int::MAX as usize) as c_int;
                ffi::luaL_checkstack(s, 2, c"payload has too many values".as_ptr());
                ffi::lua_createtable(s, n, 0);
                let t = ffi::lua_gettop(s);
                for (i, r) in roots.iter().enumerate() {
                    push(s, r, ctx);
                    ffi::lua_rawseti(s, t, i as ffi::lua_Integer + 1);
                }
            }
        }
    }
}

/// Runs [`run`] in a protected call on mlua's current state and hands its results, in
/// order, to `take` as handles.
fn protected<S: Source>(lua: &Lua, roots: &[S], take: impl FnMut(Value)) -> mlua::Result<()> {
    let job = &roots as *const &[S] as *mut c_void;
    // SAFETY: `run::<S>` reads its light userdata as the `&[S]` passed here, which lives
    // on this frame past the call, and raises only with nothing of its own to drop.
    unsafe { super::pcall::call(lua, run::<S>, job, &Value::Nil, "building a payload", take) }
}

/// The protected body: builds the job's roots and returns them.
unsafe extern "C-unwind" fn run<S: Source>(s: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by `protected` through `pcall::call` with the roots as its first
    // argument (a light userdata pointing to a live `&[S]`); a raise from here unwinds to
    // that pcall, and these frames hold nothing with a destructor. The argument is removed
    // from under the results before returning them.
    unsafe {
        let roots = *(ffi::lua_touserdata(s, 1) as *const &[S]);
        graph(s, roots, Layout::Each);
        // The job and the unused second argument go from under the results.
        ffi::lua_remove(s, 1);
        ffi::lua_remove(s, 1);
        roots.len() as c_int
    }
}

/// Pushes `v`, built.
///
/// # Safety
/// As [`graph`], with a free slot.
unsafe fn push<S: Source>(s: *mut ffi::lua_State, v: &S, ctx: &mut Ctx) {
    // SAFETY: as the caller promises; the string is copied by Lua.
    unsafe {
        if ctx.missed {
            // The try is lost: the rest is a placeholder, a valid key and value.
            ffi::lua_pushboolean(s, 0);
            return;
        }
        match v.shape() {
            Shape::Nil => ffi::lua_pushnil(s),
            Shape::Bool(b) => ffi::lua_pushboolean(s, c_int::from(b)),
            Shape::Int(i) => ffi::lua_pushinteger(s, i),
            Shape::Num(n) => ffi::lua_pushnumber(s, n),
            Shape::Str(b) => {
                ffi::lua_pushlstring(s, b.as_ptr() as *const _, b.len());
            }
            Shape::Ref(id) if ctx.scratch != 0 => {
                ffi::lua_rawgeti(s, ctx.scratch, ffi::lua_Integer::from(id) + 1);
            }
            Shape::Ref(_) => {
                ctx.missed = true;
                ffi::lua_pushboolean(s, 0);
            }
            Shape::Table { id, narr, entries } => table(s, id, narr, entries, ctx),
        }
    }
}

/// Pushes a new table holding `entries`, kept under `id` when the build keeps tables.
///
/// # Safety
/// As [`push`].
unsafe fn table<S: Source>(
    s: *mut ffi::lua_State,
    id: u32,
    narr: u32,
    entries: &[(S, S)],
    ctx: &mut Ctx,
) {
    let narr = (narr as usize).min(entries.len());
    let nrec = entries.len() - narr;
    let size = |n: usize| n.min(c_int::MAX as usize) as c_int;
    // SAFETY: as the caller promises. luaL_checkstack raises (inside the protected call)
    // when the stack cannot hold the table, a key and a value; the table stays at `t` while
    // its pairs are pushed and stored above it.
    unsafe {
        ffi::luaL_checkstack(s, 3, c"payload nested too deeply".as_ptr());
        ffi::lua_createtable(s, size(narr), size(nrec));
        let t = ffi::lua_gettop(s);
        if ctx.scratch != 0 {
            ffi::lua_pushvalue(s, t);
            ffi::lua_rawseti(s, ctx.scratch, ffi::lua_Integer::from(id) + 1);
        }
        for (k, v) in entries {
            if let Shape::Int(i) = k.shape() {
                push(s, v, ctx);
                ffi::lua_rawseti(s, t, i);
            } else {
                push(s, k, ctx);
                push(s, v, ctx);
                ffi::lua_rawset(s, t);
            }
        }
    }
}
